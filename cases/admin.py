from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cases import services
from cases.models import ChiCategory, ChiMapping, HiddenTerm, StepType, Term
from helpline import gate
from helpline.admin import AuditedSaveMixin, ScopedAdminMixin, site


class TaxonomyAdmin(AuditedSaveMixin, ScopedAdminMixin, admin.ModelAdmin[Any]):
    """Entries are deactivated, never deleted; what identifies one is fixed once it is created."""

    list_editable = ["position", "active"]
    search_fields = ["code", "label"]
    identity = ["code"]  # what the API, imports and reports name an entry by

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_changelist_formset(self, request: HttpRequest, **kwargs: Any) -> Any:
        # The list's inputs have no <label>: name them for screen readers.
        formset = super().get_changelist_formset(request, **kwargs)
        for field in formset.form.base_fields.values():
            field.widget.attrs["aria-label"] = field.label
        return formset

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.identity) if obj is not None else []


class OwnEntryForm(forms.ModelForm[Any]):
    """A new entry of an administrator is their organisation's, known before validation checks its code."""

    organisation_id: int | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None and "organisation" not in self.fields:
            self.instance.organisation_id = self.organisation_id


class OrganisationTaxonomyAdmin(TaxonomyAdmin):
    """A catalogue of shared entries, which the deployment operator (a superuser) edits, and each organisation's
    own entries, which its administrators add, edit and deactivate and nobody else sees.

    An administrator reads the shared entries and hides those the organisation does not use: they are no longer
    offered to its people, and stay on what already has them.
    """

    form = OwnEntryForm
    hidden_model: Any = None
    actions = ["hide", "offer_again"]

    def is_operator(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        user = gate.signed_in_user(request)
        hidden = self.hidden_model.objects.filter(
            organisation_id=user.organisation_id, **{str(self.opts.model_name): OuterRef("pk")}
        )
        queryset = super().get_queryset(request).select_related("organisation").annotate(hidden=Exists(hidden))
        if self.is_operator(request):
            return queryset
        return queryset.filter(Q(organisation__isnull=True) | Q(organisation_id=user.organisation_id))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = gate.signed_in_user(request)
        if obj is None or self.is_operator(request):
            return super().has_change_permission(request, obj)
        return obj.organisation_id == user.organisation_id and super().has_change_permission(request, obj)

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        if not self.is_operator(request):
            changelist.list_editable = ()  # the list mixes shared entries in: edit one's own on its page
        return changelist

    def get_list_display(self, request: HttpRequest) -> Any:
        return [*super().get_list_display(request), "owner", "hidden_here"]

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if self.is_operator(request) else ["organisation"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "organisation"] if obj is not None and self.is_operator(request) else fields

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        user = gate.signed_in_user(request)
        return type(form.__name__, (form,), {"organisation_id": user.organisation_id})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change and not self.is_operator(request):
            obj.organisation_id = gate.signed_in_user(request).organisation_id
        super().save_model(request, obj, form, change)

    @admin.display(description=_("owner"))
    def owner(self, obj: Any) -> str:
        if obj.organisation_id is None:
            return str(_("shared"))
        return str(obj.organisation)

    @admin.display(description=_("hidden for your organisation"), boolean=True)
    def hidden_here(self, obj: Any) -> bool:
        return bool(obj.hidden)

    def set_hidden(self, request: HttpRequest, entry: Any, hidden: bool) -> None:
        raise NotImplementedError

    def _set_hidden(self, request: HttpRequest, queryset: QuerySet[Any], hidden: bool) -> None:
        shared = list(queryset.filter(organisation__isnull=True))
        for entry in shared:
            self.set_hidden(request, entry, hidden)
        if shared:
            message = (
                ngettext("%(count)d shared entry is hidden.", "%(count)d shared entries are hidden.", len(shared))
                if hidden
                else ngettext(
                    "%(count)d shared entry is offered again.",
                    "%(count)d shared entries are offered again.",
                    len(shared),
                )
            )
            messages.success(request, message % {"count": len(shared)})
        if len(shared) < queryset.count():
            messages.warning(request, _("Your organisation's own entries are not hidden: deactivate them instead."))

    @admin.action(description=_("Hide from my organisation"), permissions=["view"])
    def hide(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._set_hidden(request, queryset, True)

    @admin.action(description=_("Offer again to my organisation"), permissions=["view"])
    def offer_again(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        self._set_hidden(request, queryset, False)


@admin.register(Term, site=site)
class TermAdmin(OrganisationTaxonomyAdmin):
    list_display = ["label", "vocabulary", "code", "position", "active"]
    list_filter = ["vocabulary", "active"]
    identity = ["vocabulary", "code"]
    hidden_model = HiddenTerm

    def set_hidden(self, request: HttpRequest, entry: Any, hidden: bool) -> None:
        services.term_set_hidden(actor=gate.signed_in_user(request), term=entry, hidden=hidden, request=request)


@admin.register(StepType, site=site)
class StepTypeAdmin(TaxonomyAdmin):
    """The step catalogue is shared and named by code in the playbook: administrators read it, the operator edits."""

    list_display = ["label", "code", "position", "active"]
    list_filter = ["active"]


class ChiMappingInline(admin.TabularInline[Any, Any]):
    model = ChiMapping
    extra = 1

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # An administrator reads the mappings of shared terms and of their own, never another organisation's terms.
        mappings = super().get_queryset(request)
        user = gate.signed_in_user(request)
        if user.is_superuser:
            return mappings
        own = Q(term__isnull=True) | Q(term__organisation__isnull=True) | Q(term__organisation_id=user.organisation_id)
        return mappings.filter(own)


@admin.register(ChiCategory, site=site)
class ChiCategoryAdmin(TaxonomyAdmin):
    """Child Helpline International's reasons for contact, and which terms and facts of a case count under each.

    Shared by every organisation: administrators read it, the deployment operator edits it, as the step catalogue.
    A change counts every contact again at the next refresh of the statistics."""

    list_display = ["label", "code", "position", "active"]
    list_filter = ["active"]
    inlines = [ChiMappingInline]
