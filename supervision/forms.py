from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from supervision.selectors import assignable_to


class BoardForm(forms.Form):
    days = forms.IntegerField(
        label=_("No contact for (days)"),
        min_value=1,
        max_value=365,
        required=False,
        error_messages={
            "invalid": _("Give a whole number of days from 1 to 365."),
            "min_value": _("Give a whole number of days from 1 to 365."),
            "max_value": _("Give a whole number of days from 1 to 365."),
        },
    )


class CaseIdsField(forms.Field):
    """The ids of the cases ticked in a list."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": _("The selection is not a list of cases."), "required": _("Select cases.")}

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        if not all(isinstance(v, str) and v.isascii() and v.isdigit() and len(v) < 19 for v in values):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return [int(v) for v in values]


class ReassignForm(forms.Form):
    cases = CaseIdsField(error_messages={"required": _("Select at least one case.")})
    assign_to: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Give the selected cases to"),
        queryset=None,
        error_messages={
            "required": _("Choose who should take the selected cases."),
            "invalid_choice": _("Choose an active worker or supervisor of your organisation."),
        },
    )

    def __init__(self, *args: Any, organisation_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assign_to"].queryset = assignable_to(organisation_id)  # type: ignore[attr-defined]
