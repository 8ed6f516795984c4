from typing import Any

from axes.utils import reset as axes_reset
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import Organisation, User
from accounts.selectors import organisations_visible_to, users_visible_to
from audit.models import Action
from audit.services import access_log_record
from helpline.admin import ScopedAdminMixin, site


@admin.register(Organisation, site=site)
class OrganisationAdmin(ScopedAdminMixin, admin.ModelAdmin[Organisation]):
    list_display = ["name", "country", "created"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Organisation]:
        return organisations_visible_to(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A rename could probe for the names of other helplines ("already exists").
        return [] if request.user.is_superuser else ["name"]

    def save_model(self, request: HttpRequest, obj: Organisation, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        access_log_record(
            action=Action.CHANGE if change else Action.CREATE,
            request=request,
            obj=obj,
            detail={"fields": form.changed_data},
        )


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "role", "language")


class UserEditForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


@admin.register(User, site=site)
class HelplineUserAdmin(ScopedAdminMixin, UserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    list_display = ["username", "first_name", "last_name", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering = ["username"]
    filter_horizontal = []
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Person"), {"fields": ["first_name", "last_name", "email", "language"]}),
        (_("Access"), {"fields": ["role", "is_active"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["username", "role", "language", "password1", "password2"]})
    ]
    readonly_fields = ["last_login", "date_joined"]
    actions = ["reset_two_factor", "unlock"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return users_visible_to(request.user)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is not None and obj.pk == request.user.pk:
            # Nobody demotes or deactivates themselves, so an organisation keeps an administrator.
            return [*self.readonly_fields, "role", "is_active"]
        return list(self.readonly_fields)

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            access_log_record(
                action=Action.PASSWORD_CHANGED, request=request, object_type="accounts.user", object_id=id
            )
        return response

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Accounts are deactivated, never deleted: the audit trail points at them.
        return False

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        actor: Any = request.user
        if not change:
            obj.organisation = actor.organisation
        obj.is_staff = obj.is_superuser or obj.role == "administrator"
        super().save_model(request, obj, form, change)
        access_log_record(
            action=Action.CHANGE if change else Action.CREATE,
            request=request,
            obj=obj,
            detail={"fields": [f for f in form.changed_data if not f.startswith("password")]},
        )

    @admin.action(description=_("Reset two-factor login (lost phone)"), permissions=["change"])
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.two_factor_reset(user=user, request=request)
        messages.success(request, _("They will enrol a new authenticator at their next login."))

    @admin.action(description=_("Unlock after failed logins"), permissions=["change"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            axes_reset(username=user.username)
            access_log_record(action=Action.CHANGE, request=request, obj=user, detail={"unlocked": True})
        messages.success(request, _("The selected accounts can log in again."))
