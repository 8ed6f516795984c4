from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from audit.models import Action
from audit.services import access_log_record
from helpline import gate

# Texts of Django's admin and auth pages that Django's own Italian catalogue leaves untranslated; named here so
# that makemessages copies them into ours, which Django consults first.
DJANGO_TEXTS_MISSING_IN_ITALIAN = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),  # noqa: RUF001
    gettext_noop("Raw passwords are not stored, so there is no way to see the user’s password."),  # noqa: RUF001
    gettext_noop("Reset password"),
)


class HelplineAdminSite(admin.AdminSite):
    """Administration for administrators of an organisation.

    Nobody else learns that it exists: a signed-in user of another role gets a 404.
    """

    site_header = _("Helpline administration")
    site_title = _("Helpline administration")
    index_title = _("Users, organisation and settings")

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_authenticated
            and user.is_active
            and user.is_staff
            and (user.is_superuser or user.role == "administrator")
        )

    def admin_view(self, view: Any, cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.user.is_authenticated and not self.has_permission(request):
                gate.refuse(request, object_type="admin", object_id=request.path[:64])
            return inner(request, *args, **kwargs)

        return guarded

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if request.user.is_authenticated:
            if not self.has_permission(request):
                raise Http404
            return redirect("admin:index")
        return redirect(f"{reverse('login')}?{urlencode({'next': request.GET.get('next', reverse('admin:index'))})}")

    def password_change(self, request: HttpRequest, extra_context: Any = None) -> Any:
        # One place to change one's own password, validated and logged the same way.
        return redirect("password_change")

    def get_urls(self) -> list[URLPattern | URLResolver]:
        own = path("r/<int:content_type_id>/<path:object_id>/", self.admin_view(self.view_on_site), name="view_on_site")
        return [own, *(url for url in super().get_urls() if getattr(url, "name", None) != "view_on_site")]

    def view_on_site(self, request: HttpRequest, content_type_id: int, object_id: str) -> HttpResponse:
        """Django's shortcut to a record's own page, for records of this site's models only, looked up in the
        administrator's scope; anything it cannot resolve is a 404.

        Django's would look up any content type's record in the whole database: another organisation's, or one of
        a model without a table of its own (pghistory's events), which fails.
        """
        try:
            model = ContentType.objects.get_for_id(content_type_id).model_class()
        except ContentType.DoesNotExist:
            raise Http404 from None
        if model is None or not self.is_registered(model) or not hasattr(model, "get_absolute_url"):
            raise Http404
        found = self.get_model_admin(model).get_object(request, unquote(object_id))
        if found is None:
            raise Http404
        return redirect(found.get_absolute_url())


site = HelplineAdminSite(name="admin")


class CheckedChangeList(ChangeList):
    """A change list whose filters are checked before they reach the database.

    A NUL (PostgreSQL text cannot hold one) or a date hierarchy at the end of the calendar (the day, month or year
    after 9999) is a wrong filter, answered as Django answers any other: the list again, flagged.
    """

    def get_filters(self, request: HttpRequest) -> Any:
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            raise IncorrectLookupParameters("A NUL character in the filters.")
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error


class AuditedSaveMixin:
    """Each save through the admin leaves one access-log row naming the fields it changed."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        access_log_record(
            action=Action.CHANGE if change else Action.CREATE,
            request=request,
            obj=obj,
            detail={"fields": form.changed_data},
        )


class ScopedAdminMixin:
    """A record outside the administrator's scope is a 404, never a hint that it exists."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return CheckedChangeList

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        # A kind of record nobody may delete is refused before the record is looked up.
        if not self.has_delete_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        response = super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        return self._record_view(request, response, object_id)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        found = super().get_object(request, object_id, from_field)  # type: ignore[misc]
        if found is None:
            gate.refuse(request, object_type=self.opts.label_lower, object_id=str(object_id)[:64])  # type: ignore[attr-defined]
        return found

    def _record_view(self, request: HttpRequest, response: Any, object_id: str = "") -> Any:
        if request.method == "GET" and response.status_code == 200:
            label = self.opts.label_lower  # type: ignore[attr-defined]
            if request.GET:
                gate.read(request, object_type=label, object_id=object_id, query=request.GET.urlencode())
            else:
                gate.read(request, object_type=label, object_id=object_id)
        return response

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        return self._record_view(request, super().changelist_view(request, extra_context))  # type: ignore[misc]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        response = super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        return self._record_view(request, response, object_id)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        response = super().history_view(request, object_id, extra_context)  # type: ignore[misc]
        return self._record_view(request, response, object_id)
