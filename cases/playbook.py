"""The playbook: which response steps a case needs, from its facts."""

from datetime import timedelta

from django.utils.translation import gettext as _

from cases.models import Case, Risk

BASE_STEPS = [
    "not_their_fault",
    "advise_no_pay",
    "stop_contact",
    "preserve_evidence",
    "block_offender",
    "report_platform",
    "review_privacy",
    "report_police",
    "wellbeing_support",
]


# The facts playbook_steps reads, as a new case has them.
FACTS_READ = {
    "victim_age": None,
    "risk_level": Case._meta.get_field("risk_level").get_default(),
    "content_distributed": Case._meta.get_field("content_distributed").get_default(),
    "victim_paid": Case._meta.get_field("victim_paid").get_default(),
    "self_harm": False,
    "immediate_danger": False,
}


def playbook_steps(case: Case) -> list[tuple[str, str, timedelta | None]]:
    """(step code, reason, due after) of each step that the case's facts (FACTS_READ) call for."""
    steps: list[tuple[str, str, timedelta | None]] = [(code, "", None) for code in BASE_STEPS]
    if case.victim_age is not None and case.victim_age <= 12:
        steps.append(("trusted_adult", _("Victim is 12 or under"), None))
    if case.risk_level in (Risk.HIGH, Risk.CRITICAL):
        steps.append(("follow_up", _("High or critical risk: follow up within 24 hours"), timedelta(hours=24)))
    if case.content_distributed == "yes":
        steps.append(("removal_request", _("Content already distributed"), None))
        steps.append(("hash_submission", _("Content already distributed"), None))
    if case.victim_paid == "yes":
        steps.append(("no_further_payment", _("Payment already made"), timedelta(hours=1)))
    if case.self_harm or case.immediate_danger:
        steps.append(("safety_plan", _("Self-harm or immediate danger"), timedelta(hours=1)))
    return steps
