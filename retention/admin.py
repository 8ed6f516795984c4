from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from cases.models import Case
from helpline import gate
from helpline.admin import ScopedAdminMixin, site
from retention import services
from retention.models import DEFAULT_MONTHS, LegalHold, RetentionPolicy
from retention.selectors import legal_holds_visible_to, retention_policies_visible_to

POLICY_FIELDS = [
    "months_after_closure",
    "erase_notes",
    "erase_incident_descriptions",
    "erase_offender_identifiers",
    "erase_takedown_links",
]


@admin.register(RetentionPolicy, site=site)
class RetentionPolicyAdmin(ScopedAdminMixin, admin.ModelAdmin[RetentionPolicy]):
    """Each administrator sets their own organisation's policy; nobody deletes one (the default would return)."""

    list_display = ["organisation", *POLICY_FIELDS, "updated_at", "updated_by"]
    readonly_fields = ["updated_at", "updated_by"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RetentionPolicy]:
        return retention_policies_visible_to(gate.signed_in_user(request))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        user = gate.signed_in_user(request)
        scope = ["organisation"] if user.is_superuser and obj is None else []
        return [*scope, *POLICY_FIELDS, *([] if obj is None else self.readonly_fields)]

    def has_add_permission(self, request: HttpRequest) -> bool:
        user = gate.signed_in_user(request)
        if not super().has_add_permission(request):
            return False
        return user.is_superuser or not RetentionPolicy.objects.filter(organisation_id=user.organisation_id).exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        user = gate.signed_in_user(request)
        if not user.is_superuser and not self.get_queryset(request).exists():
            extra_context = {
                **(extra_context or {}),
                "subtitle": _(
                    "Your organisation has no policy of its own: every kind of content is erased "
                    "%(months)s months after a case is closed. Add a policy to change that."
                )
                % {"months": DEFAULT_MONTHS},
            }
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: RetentionPolicy, form: Any, change: bool) -> None:
        user = gate.signed_in_user(request)
        if not change and not user.is_superuser:
            obj.organisation_id = user.organisation_id
        services.retention_policy_save(actor=user, policy=obj, changed=form.changed_data, request=request)


class LegalHoldForm(forms.ModelForm[LegalHold]):
    """A new hold names its case by reference, looked up in the administrator's organisation only."""

    user: User  # set per request by LegalHoldAdmin.get_form
    case_reference = forms.CharField(
        label=gettext_lazy("case reference"), max_length=20, help_text=gettext_lazy("For example SX-2026-00042.")
    )

    class Meta:
        model = LegalHold
        fields = ["reason"]
        widgets = {"reason": forms.Textarea(attrs={"rows": 3})}

    def clean_case_reference(self) -> Case:
        reference = self.cleaned_data["case_reference"].strip().upper()
        cases = Case.objects.filter(reference=reference)
        if not self.user.is_superuser:
            cases = cases.filter(organisation_id=self.user.organisation_id)
        found = list(cases[:2])
        if not found:
            raise forms.ValidationError(_("No case of your organisation has this reference."))
        if len(found) > 1:
            raise forms.ValidationError(_("Several organisations have a case with this reference."))
        if LegalHold.objects.filter(case=found[0]).exists():
            raise forms.ValidationError(_("This case is already on legal hold; change the existing hold."))
        return found[0]


@admin.register(LegalHold, site=site)
class LegalHoldAdmin(ScopedAdminMixin, admin.ModelAdmin[LegalHold]):
    """Cases kept whatever the retention policy says. Deleting a hold releases it."""

    list_display = ["case", "reason", "set_by", "set_at"]
    search_fields = ["case__reference"]
    date_hierarchy = "set_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[LegalHold]:
        return legal_holds_visible_to(gate.signed_in_user(request))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["case_reference", "reason"] if obj is None else ["case", "reason", "set_by", "set_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else ["case", "set_by", "set_at"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = type("ScopedLegalHoldForm", (LegalHoldForm,), {"user": gate.signed_in_user(request)})
            kwargs["fields"] = ["case_reference", "reason"]
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request: HttpRequest, obj: LegalHold, form: Any, change: bool) -> None:
        case = obj.case if change else form.cleaned_data["case_reference"]
        hold = services.legal_hold_set(
            actor=gate.signed_in_user(request), case=case, reason=obj.reason, request=request
        )
        # The admin goes on with ``obj`` (its messages and redirect): make it the saved hold.
        obj.pk, obj.case, obj.set_by, obj.set_at = hold.pk, hold.case, hold.set_by, hold.set_at

    def delete_model(self, request: HttpRequest, obj: LegalHold) -> None:
        services.legal_hold_release(actor=gate.signed_in_user(request), hold=obj, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[LegalHold]) -> None:
        actor = gate.signed_in_user(request)
        for hold in queryset.select_related("set_by"):
            services.legal_hold_release(actor=actor, hold=hold, request=request)
