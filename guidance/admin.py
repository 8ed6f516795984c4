from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from audit.models import Action
from audit.services import access_log_record
from guidance.handout import default_wording
from guidance.models import HandoutWording
from helpline import gate
from helpline.admin import AuditedSaveMixin, ScopedAdminMixin, site


class HandoutWordingForm(forms.ModelForm[HandoutWording]):
    organisation_id: int  # the administrator's (HandoutWordingAdmin.get_form)

    class Meta:
        model = HandoutWording
        fields = ["section", "audience", "language", "text"]
        help_texts = {
            "text": _(
                "Replaces the guidance's wording of this part. It may name {organisation}, {police}, {regulator}, "
                "{platforms} and {support}, which the handout fills in. Never write anything about a person here."
            )
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        same = HandoutWording.objects.filter(
            organisation_id=self.organisation_id,
            section=data.get("section"),
            audience=data.get("audience"),
            language=data.get("language"),
        ).exclude(pk=self.instance.pk)
        if same.exists():
            raise forms.ValidationError(_("This part already has your own wording for this audience and language."))
        return data


@admin.register(HandoutWording, site=site)
class HandoutWordingAdmin(AuditedSaveMixin, ScopedAdminMixin, admin.ModelAdmin[HandoutWording]):
    """The organisation's own wording of the handout, part by part; the guidance's wording where there is none."""

    form = HandoutWordingForm
    list_display = ["section", "audience", "language"]
    list_filter = ["audience", "language"]
    readonly_fields = ["guidance_wording"]

    @admin.display(description=_("the guidance's wording"))
    def guidance_wording(self, obj: HandoutWording) -> str:
        """What the handout says where the organisation has no wording of its own."""
        if obj.pk is None:
            return "—"
        return "\n\n".join(default_wording(obj.section, obj.audience, obj.language))

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"organisation_id": gate.signed_in_user(request).organisation_id})

    def get_queryset(self, request: HttpRequest) -> QuerySet[HandoutWording]:
        return super().get_queryset(request).filter(organisation_id=gate.signed_in_user(request).organisation_id)

    def save_model(self, request: HttpRequest, obj: HandoutWording, form: Any, change: bool) -> None:
        if not change:
            obj.organisation_id = gate.signed_in_user(request).organisation_id
        super().save_model(request, obj, form, change)

    def delete_model(self, request: HttpRequest, obj: HandoutWording) -> None:
        access_log_record(action=Action.CHANGE, request=request, obj=obj, detail={"deleted": True})
        super().delete_model(request, obj)
