from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import Role
from cases.forms import TEXT_DECISION, SpansField
from cases.models import Case, Term, Vocabulary
from cases.selectors import terms_offered_to
from referrals.models import Agency, Consent, ItemContent, ItemStatus, Outcome, ReferralKind, ReferralStatus
from referrals.selectors import agencies_offered_to
from referrals.services import TRANSITIONS


class ReferralForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ReferralKind.choices)
    agency = forms.ModelChoiceField(label=_("Agency"), queryset=Agency.objects.none())
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none(), required=False)
    consent = forms.ChoiceField(
        label=_("Consent"), choices=[("", _("Not recorded yet")), *Consent.choices], required=False
    )
    consent_reason = forms.CharField(label=_("Why consent is not required"), max_length=300, required=False)
    text_decision = forms.ChoiceField(choices=TEXT_DECISION, required=False, widget=forms.HiddenInput)
    move = SpansField()
    external_reference = forms.CharField(label=_("Their reference number"), max_length=100, required=False)
    follow_up_on = forms.DateField(
        label=_("Follow up on"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text=_("Empty: the agency's usual response time after sending."),
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies_offered_to(case.organisation_id)  # type: ignore[attr-defined]
        self.fields["owner"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            organisation_id=case.organisation_id, role__in=[Role.WORKER, Role.SUPERVISOR], is_active=True
        ).order_by("username")


class ConsentForm(forms.Form):
    consent = forms.ChoiceField(label=_("Consent"), choices=Consent.choices)
    reason = forms.CharField(label=_("Why consent is not required"), max_length=300, required=False)
    text_decision = forms.ChoiceField(choices=TEXT_DECISION, required=False, widget=forms.HiddenInput)
    move = SpansField()


class TransitionForm(forms.Form):
    to = forms.ChoiceField(label=_("New status"), choices=[])
    outcome = forms.ChoiceField(
        label=_("Outcome (when completed)"), choices=[("", "—"), *Outcome.choices], required=False
    )
    external_reference = forms.CharField(label=_("Their reference number"), max_length=100, required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
    text_decision = forms.ChoiceField(choices=TEXT_DECISION, required=False, widget=forms.HiddenInput)
    move = SpansField()

    def __init__(self, *args: Any, status: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = TRANSITIONS.get(status, set())
        self.fields["to"].choices = [(s.value, s.label) for s in ReferralStatus if s in allowed]  # type: ignore[attr-defined]


class ItemForm(forms.Form):
    platform = forms.ModelChoiceField(label=_("Platform"), queryset=Term.objects.none())
    link = forms.URLField(label=_("Link"), max_length=500, assume_scheme="https")
    content_type = forms.ChoiceField(label=_("Content"), choices=ItemContent.choices)

    def __init__(self, *args: Any, organisation_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["platform"].queryset = terms_offered_to(organisation_id, Vocabulary.PLATFORM)  # type: ignore[attr-defined]


class ItemStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ItemStatus.choices)


class ReferralListForm(forms.Form):
    """The filters of the referral list; a value its form does not send is an error shown on the page."""

    scope = forms.ChoiceField(
        label=_("Whose"), choices=[("mine", _("Mine")), ("all", _("My organisation's"))], required=False
    )
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("Any")), *ReferralStatus.choices], required=False)
    # An id: a PostgreSQL bigint.
    agency = forms.IntegerField(label=_("Agency"), min_value=1, max_value=2**63 - 1, required=False)
    overdue = forms.BooleanField(label=_("Follow-up overdue"), required=False)
