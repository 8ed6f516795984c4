from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import Action
from audit.services import access_log_record
from cases.models import StepType, Term
from helpline.admin import ScopedAdminMixin, site


class TaxonomyAdmin(ScopedAdminMixin, admin.ModelAdmin[Any]):
    """Taxonomies are shared by every organisation; entries are deactivated, never deleted."""

    list_editable = ["position", "active"]
    search_fields = ["code", "label"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_changelist_formset(self, request: HttpRequest, **kwargs: Any) -> Any:
        # The list's inputs have no <label>: name them for screen readers.
        formset = super().get_changelist_formset(request, **kwargs)
        for field in formset.form.base_fields.values():
            field.widget.attrs["aria-label"] = field.label
        return formset

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["code"] if obj is not None else []  # codes are what the API and reports use

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        access_log_record(
            action=Action.CHANGE if change else Action.CREATE,
            request=request,
            obj=obj,
            detail={"fields": form.changed_data},
        )


@admin.register(Term, site=site)
class TermAdmin(TaxonomyAdmin):
    list_display = ["label", "vocabulary", "code", "position", "active"]
    list_filter = ["vocabulary", "active"]


@admin.register(StepType, site=site)
class StepTypeAdmin(TaxonomyAdmin):
    list_display = ["label", "code", "position", "active"]
    list_filter = ["active"]
