"""The guidance handout: what the helpline tells a victim or their parent, made from the case's facts.

It is built from fixed wording (the helpline guidance's, or the organisation's own: ``HandoutWording``) and from
catalogue entries only: the platforms' names and the agencies of the organisation's country. Nothing typed into
the case (description, notes, identifiers) and nothing about the person reaches it.
"""

import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.models import Answer, Case, Risk, StepStatus
from guidance.models import Audience, HandoutWording, Section
from referrals.models import Agency, AgencyKind

HANDOUT_STEP = "handout_given"

# The checklist step that stands for each part: a part whose step is marked not applicable is left out.
STEP_OF = {
    Section.NOT_THEIR_FAULT: "not_their_fault",
    Section.NO_PAYMENT: "advise_no_pay",
    Section.ALREADY_PAID: "no_further_payment",
    Section.STOP_CONTACT: "stop_contact",
    Section.PRESERVE_EVIDENCE: "preserve_evidence",
    Section.BLOCK: "block_offender",
    Section.REPORT_POLICE: "report_police",
    Section.REMOVAL: "removal_request",
    Section.SAFETY: "safety_plan",
    Section.SUPPORT: "wellbeing_support",
}

# The guidance's wording, by part and audience; "age_advice" also by age (12 and under, older).
P, Y = Audience.PARENT, Audience.YOUNG_PERSON
DEFAULTS: dict[tuple[str, ...], Any] = {
    (Section.NOT_THEIR_FAULT, P): gettext_lazy(
        "It is not your child's fault. The person doing this is committing a crime and uses fear and shame to keep "
        "children quiet. Tell your child they are not to blame and that help is available."
    ),
    (Section.NOT_THEIR_FAULT, Y): gettext_lazy(
        "This is not your fault. The person doing this is committing a crime. Nothing is so bad that you cannot "
        "talk to someone, and help is there for you."
    ),
    (Section.NO_MORE_IMAGES, P): gettext_lazy(
        "Do not send any more images or videos. Giving in does not end the demands: they come back for more."
    ),
    (Section.NO_MORE_IMAGES, Y): gettext_lazy(
        "Do not send any more pictures or videos, whatever they threaten. Sending more does not make them stop."
    ),
    (Section.NO_PAYMENT, P): gettext_lazy("Do not pay. Paying rarely ends the threats and often brings new demands."),
    (Section.NO_PAYMENT, Y): gettext_lazy("Do not pay them. Paying does not make them go away."),
    (Section.ALREADY_PAID, P): gettext_lazy(
        "Money was already paid: do not pay again, and keep the receipts and payment details for the police."
    ),
    (Section.ALREADY_PAID, Y): gettext_lazy(
        "If you already paid, do not pay again. Keep the receipts: they help the police."
    ),
    (Section.STOP_CONTACT, P): gettext_lazy(
        "Stop all contact with the offender. Do not reply to threats and do not negotiate."
    ),
    (Section.STOP_CONTACT, Y): gettext_lazy("Stop replying to them. Do not argue or bargain with them."),
    (Section.PRESERVE_EVIDENCE, P): gettext_lazy(
        "Before blocking, keep the evidence: screenshots of the messages and of the offender's profile, their "
        "usernames and links, and any payment details. Do not delete the messages or the account."
    ),
    (Section.PRESERVE_EVIDENCE, Y): gettext_lazy(
        "Before you block them, take screenshots of the messages and of their profile, and note their usernames. "
        "Do not delete anything: it is proof."
    ),
    (Section.BLOCK, P): gettext_lazy(
        "Block the offender on every platform, and their phone number and e-mail address. {platforms}"
    ),
    (Section.BLOCK, Y): gettext_lazy(
        "Block them everywhere they contacted you, and their phone number and e-mail address. {platforms}"
    ),
    (Section.REPORT_POLICE, P): gettext_lazy("Report it to the police: {police}."),
    (Section.REPORT_POLICE, Y): gettext_lazy(
        "This is a crime you can report to the police ({police}). An adult you trust can do it with you."
    ),
    (Section.REMOVAL, P): gettext_lazy(
        "Images have been shared online: ask {regulator} to have them removed, and report them to the platform."
    ),
    (Section.REMOVAL, Y): gettext_lazy(
        "If pictures of you were shared, they can be taken down: {regulator} can help, with an adult you trust."
    ),
    (Section.AGE_ADVICE, P, "younger"): gettext_lazy(
        "For children of 12 and under: stay close to how they use their devices, check which apps and games let "
        "strangers send messages, set privacy settings, and teach your child to refuse any request for pictures "
        "and to come to you straight away."
    ),
    (Section.AGE_ADVICE, P, "older"): gettext_lazy(
        "Talk with your child openly and without judgement. Switching off a device or deleting an app does not "
        "make the threat go away; your support does. They may fear being punished: reassure them."
    ),
    (Section.AGE_ADVICE, Y, "younger"): gettext_lazy(
        "Tell a parent or another adult you trust now. You will not be in trouble."
    ),
    (Section.AGE_ADVICE, Y, "older"): gettext_lazy(
        "Talk to an adult you trust: a parent, a teacher, a counsellor. You do not have to deal with this alone."
    ),
    (Section.SAFETY, P): gettext_lazy(
        "If your child is thinking of hurting themselves or is in danger now, stay with them and call the "
        "emergency number straight away."
    ),
    (Section.SAFETY, Y): gettext_lazy(
        "If you are thinking of hurting yourself or feel in danger now, call the emergency number or tell an adult "
        "near you straight away. You matter."
    ),
    (Section.SUPPORT, P): gettext_lazy("Support for your child and for you: {support}."),
    (Section.SUPPORT, Y): gettext_lazy("You can get support: {support}."),
    (Section.CONTACT, P): gettext_lazy("You can come back to {organisation} at any time."),
    (Section.CONTACT, Y): gettext_lazy("You can contact {organisation} again at any time."),
}


def _twelve_or_under(case: Case) -> bool:
    return case.victim_age is not None and case.victim_age <= 12


def _default_keys(section: str, audience: str, younger: bool | None) -> list[tuple[str, ...]]:
    """The keys of ``DEFAULTS`` for a part: the age advice by age (both where the age is not given)."""
    if section != Section.AGE_ADVICE:
        return [(section, audience)]
    ages = ["younger", "older"] if younger is None else ["younger" if younger else "older"]
    return [(section, audience, age) for age in ages]


def default_wording(section: str, audience: str, language: str) -> list[str]:
    """The guidance's wording of a part, in a language (the age advice: 12 and under, then older)."""
    with translation.override(language):
        return [str(DEFAULTS[key]) for key in _default_keys(section, audience, None) if key in DEFAULTS]


@dataclass
class Handout:
    audience: str
    language: str
    title: str
    parts: list[tuple[str, str]]  # (section, text)

    @property
    def text(self) -> str:
        """For a chat or an e-mail."""
        return "\n\n".join([self.title, *(text for _section, text in self.parts)])


def default_audience(case: Case) -> str:
    return Audience.PARENT if _twelve_or_under(case) else Audience.YOUNG_PERSON


def sections_for(case: Case, not_applicable: set[str]) -> list[str]:
    """The parts that apply to the case, from its facts, less those whose checklist step is not applicable."""
    sections = [Section.NOT_THEIR_FAULT, Section.NO_MORE_IMAGES, Section.NO_PAYMENT]
    if case.victim_paid == Answer.YES:
        sections.append(Section.ALREADY_PAID)
    sections += [Section.STOP_CONTACT, Section.PRESERVE_EVIDENCE, Section.BLOCK, Section.REPORT_POLICE]
    if case.content_distributed == Answer.YES:
        sections.append(Section.REMOVAL)
    sections.append(Section.AGE_ADVICE)
    if case.self_harm or case.immediate_danger or case.risk_level == Risk.CRITICAL:
        sections.append(Section.SAFETY)
    sections += [Section.SUPPORT, Section.CONTACT]
    return [section for section in sections if STEP_OF.get(section) not in not_applicable]


def _names(agencies: list[Agency], kind: str, fallback: str) -> str:
    names = [agency.name for agency in agencies if agency.kind == kind]
    return ", ".join(names) if names else fallback


def build(case: Case, *, audience: str, language: str) -> Handout:
    organisation = case.organisation
    not_applicable = set(case.steps.filter(status=StepStatus.NOT_APPLICABLE).values_list("step_type__code", flat=True))
    agencies = list(
        Agency.objects.filter(active=True, country=organisation.country)
        .filter(kind__in=[AgencyKind.POLICE, AgencyKind.REGULATOR, AgencyKind.SUPPORT])
        .filter(Q(organisation__isnull=True) | Q(organisation=organisation))
        .order_by("kind", "name")
    )
    own = {
        (wording.section, wording.audience): wording.text
        for wording in HandoutWording.objects.filter(organisation=organisation, language=language)
    }
    younger = _twelve_or_under(case)
    with translation.override(language):
        platforms = sorted({str(label) for label in case.platforms.values_list("platform__label", flat=True)})
        values = {
            "organisation": organisation.name,
            "police": _names(agencies, AgencyKind.POLICE, _("your local police")),
            "regulator": _names(agencies, AgencyKind.REGULATOR, _("the online-safety regulator")),
            "support": _names(agencies, AgencyKind.SUPPORT, organisation.name),
            "platforms": _("The platforms involved: %(names)s.") % {"names": ", ".join(platforms)} if platforms else "",
        }
        parts = []
        for section in sections_for(case, not_applicable):
            wording = own.get((section, audience))
            if wording is None:
                (key,) = _default_keys(section, audience, younger)
                wording = str(DEFAULTS[key])
            parts.append((section, fill(wording, values).strip()))
        title = (
            _("What to do now: advice for parents and carers")
            if audience == Audience.PARENT
            else _("What to do now: advice for you")
        )
    return Handout(audience=audience, language=language, title=title, parts=parts)


PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(wording: str, values: dict[str, str]) -> str:
    """The wording with its {names} filled in; a name the handout does not know stays as written."""
    return PLACEHOLDER.sub(lambda match: values.get(match[1], match[0]), wording)
