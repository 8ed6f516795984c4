import re
from collections.abc import Collection
from functools import cached_property
from typing import Any

import pycountry
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from cases import services
from cases.models import Case, ContactType, PlatformRole, StepStatus, Term, Vocabulary
from cases.selectors import terms_offered_to

COUNTRIES = [("", "—"), *sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])]
PLATFORM_FIELDS = {f"platforms_{role}": role for role in PlatformRole.values}
PLATFORM_LABELS = {
    "first_contact": _("Platform of first contact"),
    "content_obtained": _("Platform where the content was obtained"),
    "threats": _("Platform where threats were made"),
    "moved_to": _("Platform the offender moved the victim to"),
}


class SpansField(forms.Field):
    """The findings of the free-text guard that the author adds to the offender identifiers, as "start-end"."""

    widget = forms.MultipleHiddenInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)

    def to_python(self, value: Any) -> list[tuple[int, int]]:
        spans = []
        for item in value or []:
            match = re.fullmatch(r"(\d{1,6})-(\d{1,6})", str(item))
            if match is None:
                raise ValidationError(_("Choose among the identifiers found in the text."))
            spans.append((int(match[1]), int(match[2])))
        return spans


class OfferedTerms:
    """The terms an organisation offers for a new choice, of every vocabulary, fetched in one query when a form
    first shows them, or as read with the case (``Case.offered_terms``); the forms of one page share them
    (``terms=``) instead of a query per dropdown."""

    def __init__(
        self, organisation_id: int, in_use: Collection[int] = (), read: dict[str, list[Term]] | None = None
    ) -> None:
        self.organisation_id = organisation_id
        self.in_use = in_use
        self.read = read is not None
        if read is not None:
            self._by_vocabulary = read

    @cached_property
    def _by_vocabulary(self) -> dict[str, list[Term]]:
        by_vocabulary: dict[str, list[Term]] = {}
        for term in terms_offered_to(self.organisation_id, in_use=self.in_use):
            by_vocabulary.setdefault(term.vocabulary, []).append(term)
        return by_vocabulary

    def offer(self, form: forms.BaseForm, name: str, vocabulary: str) -> None:
        """Show the form's field the vocabulary's terms, and check a choice against them when the form is posted."""
        field = form.fields[name]
        assert isinstance(field, forms.ModelChoiceField)
        if self.read and vocabulary not in self._by_vocabulary:
            raise ValueError(
                f"The terms of {vocabulary} were not read with the case (cases.selectors.CASE_PAGE_OFFERS)"
            )
        # The query that checks a choice, made only for a posted form: a form only shown never runs it.
        field.queryset = (
            terms_offered_to(self.organisation_id, vocabulary, self.in_use) if form.is_bound else Term.objects.none()
        )
        empty = [("", field.empty_label)] if field.empty_label is not None else []
        field.choices = lambda: [
            *empty,
            *((term.pk, field.label_from_instance(term)) for term in self._by_vocabulary.get(vocabulary, [])),
        ]


# Keys that reach the fields filled in first on a call (static/js/live-call.js; the page lists them).
CASE_FORM_SHORTCUTS = {
    "channel": "Alt+Shift+C",
    "risk_level": "Alt+Shift+R",
    "victim_age": "Alt+Shift+A",
    "incident_description": "Alt+Shift+W",
}


class CaseForm(forms.ModelForm[Case]):
    """The case form, most urgent fields first; everything else can be filled in later."""

    victim_country = forms.ChoiceField(label=_("Country"), choices=COUNTRIES, required=False)
    offender_country = forms.ChoiceField(label=_("Suspected country"), choices=COUNTRIES, required=False)
    first_contact_at = forms.DateTimeField(
        label=_("First contact"),
        widget=forms.DateTimeInput(format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local"}),
        required=False,
    )
    text_decision = forms.ChoiceField(
        choices=[("redact", _("Remove them")), ("keep", _("Keep as written"))], required=False, widget=forms.HiddenInput
    )
    move = SpansField()
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Case
        fields = [
            *services.SCALAR_FACTS,
            *services.TERM_FACTS,
            *services.MANY_FACTS,
        ]
        widgets = {
            "incident_description": forms.Textarea(attrs={"rows": 4}),
            **{field: forms.CheckboxSelectMultiple for field in services.MANY_FACTS},
        }
        labels = {
            "victim_age": _("Age (years)"),
            "victim_age_unknown": _("or, if the age is not known"),
            "victim_gender": _("Gender"),
            "victim_region": _("Region (ISO 3166-2, e.g. IT-RM)"),
            "channel": _("Channel"),
            "reporter_type": _("Who is contacting"),
            "risk_level": _("Risk"),
            "incident_description": _("Incident description"),
            "sextortion_type": _("Sextortion type"),
            "approaches": _("Approaches"),
            "content_types": _("Content types"),
            "demands": _("Demands"),
            "threats": _("Threats"),
            "victim_complied": _("Victim complied"),
            "victim_paid": _("Victim paid"),
            "amount_band": _("Amount band"),
            "payment_method": _("Payment method"),
            "content_distributed": _("Content distributed"),
            "extorted_again": _("Extorted again"),
            "offender_count": _("Offender count"),
            "offender_known_offline": _("Offender known offline"),
            "organised_network_suspected": _("Organised network suspected"),
        }

    def __init__(self, *args: Any, organisation_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Offered: the organisation's terms, and any deactivated or hidden one the case already has, so saving keeps it.
        terms = OfferedTerms(organisation_id, services.terms_of(self.instance) if self.instance.pk else set())
        for field, vocabulary in {**services.TERM_FACTS, **services.MANY_FACTS}.items():
            terms.offer(self, field, vocabulary)
        current = self.instance.pk and list(self.instance.platforms.all())
        for name, role in PLATFORM_FIELDS.items():
            self.fields[name] = forms.ModelMultipleChoiceField(
                label=PLATFORM_LABELS[role],
                queryset=Term.objects.none(),
                required=False,
                widget=forms.CheckboxSelectMultiple,
                initial=[p.platform_id for p in current if p.role == role] if current else None,
            )
            terms.offer(self, name, Vocabulary.PLATFORM)
        for field, keys in CASE_FORM_SHORTCUTS.items():
            self.fields[field].widget.attrs["aria-keyshortcuts"] = keys
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
            self.fields["first_contact_at"].required = True

    def facts(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        facts = {field: data[field] for field in [*services.SCALAR_FACTS, *services.TERM_FACTS, *services.MANY_FACTS]}
        if facts["first_contact_at"] is None:
            facts.pop("first_contact_at")
        return facts

    def platforms(self) -> list[tuple[Term, str]]:
        return [(term, role) for name, role in PLATFORM_FIELDS.items() for term in self.cleaned_data[name]]


class ContactForm(forms.Form):
    at = forms.DateTimeField(
        label=_("When"),
        widget=forms.DateTimeInput(
            format="%Y-%m-%dT%H:%M", attrs={"type": "datetime-local", "aria-keyshortcuts": "Alt+Shift+C"}
        ),
    )
    channel = forms.ModelChoiceField(label=_("Channel"), queryset=Term.objects.none())
    # Not required, so that a form or script that does not know the field yet records a counselling contact.
    contact_type = forms.TypedChoiceField(
        label=_("Type"),
        choices=ContactType.choices,
        initial=ContactType.COUNSELLING,
        required=False,
        empty_value=ContactType.COUNSELLING.value,
    )
    duration_minutes = forms.IntegerField(label=_("Minutes"), min_value=0, max_value=1440, required=False)

    def __init__(self, *args: Any, terms: OfferedTerms, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        terms.offer(self, "channel", Vocabulary.CHANNEL)


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("New note"),
        max_length=services.NOTE_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3, "aria-keyshortcuts": "Alt+Shift+N"}),
    )
    text_decision = forms.ChoiceField(
        choices=[("redact", _("Remove them")), ("keep", _("Keep as written"))], required=False
    )
    move = SpansField()


class StepForm(forms.Form):
    status = forms.ChoiceField(choices=StepStatus.choices)


class IdentifierForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[], widget=forms.Select(attrs={"aria-keyshortcuts": "Alt+Shift+I"})
    )
    platform = forms.ModelChoiceField(label=_("Platform"), queryset=Term.objects.none(), required=False)
    value = forms.CharField(label=_("Handle, link or number"), max_length=300)

    def __init__(self, *args: Any, terms: OfferedTerms, **kwargs: Any) -> None:
        from cases.models import IdentifierKind

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = IdentifierKind.choices  # type: ignore[attr-defined]
        terms.offer(self, "platform", Vocabulary.PLATFORM)


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        label=_("New status"), choices=[], widget=forms.Select(attrs={"aria-keyshortcuts": "Alt+Shift+S"})
    )
    closure_reason = forms.ModelChoiceField(
        label=_("Reason (when closing)"), queryset=Term.objects.none(), required=False
    )
    # The version of the case the choice was made on (templates/jinja2/cases/_version.html); without it, no check.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, case: Case, user: User, terms: OfferedTerms, **kwargs: Any) -> None:
        from cases.models import Status

        super().__init__(*args, **kwargs)
        terms.offer(self, "closure_reason", Vocabulary.CLOSURE_REASON)
        allowed = services.TRANSITIONS.get(case.status, set())
        self.fields["status"].choices = [(s.value, s.label) for s in Status if s in allowed]  # type: ignore[attr-defined]
        if case.closure_needs_approval and not services.can_approve_closure(user, case):
            # Closing it takes a supervisor's approval, asked for with the closure request below the form: the
            # menu does not offer it, and a forged "closed" reaches the service, which says so.
            offered = [(s.value, s.label) for s in Status if s in allowed - {Status.CLOSED}]
            self.fields["status"].widget.choices = offered
            self.fields["closure_reason"].widget = forms.HiddenInput()


TEXT_DECISION = [("redact", _("Remove them")), ("keep", _("Keep as written"))]


class ClosureRequestForm(forms.Form):
    closure_reason = forms.ModelChoiceField(label=_("Reason"), queryset=Term.objects.none())
    comment = forms.CharField(
        label=_("Comment for the supervisor (optional)"),
        max_length=services.COMMENT_LIMIT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    text_decision = forms.ChoiceField(choices=TEXT_DECISION, required=False)
    move = SpansField()

    def __init__(self, *args: Any, terms: OfferedTerms, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "closure_%s")  # the status form beside it has a closure_reason too
        super().__init__(*args, **kwargs)
        terms.offer(self, "closure_reason", Vocabulary.CLOSURE_REASON)


class ClosureDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("send_back", _("Send back")), ("withdraw", _("Withdraw"))]
    )
    comment = forms.CharField(
        label=_("Why it is sent back"),
        max_length=services.COMMENT_LIMIT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    text_decision = forms.ChoiceField(choices=TEXT_DECISION, required=False)
    move = SpansField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "decision_%s")
        super().__init__(*args, **kwargs)


class AssignForm(forms.Form):
    assigned_to: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label=_("Assign to"), queryset=None, required=False, empty_label=_("Nobody")
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        from accounts.models import User
        from accounts.roles import Role

        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            organisation_id=case.organisation_id, role__in=[Role.WORKER, Role.SUPERVISOR], is_active=True
        ).order_by("username")
