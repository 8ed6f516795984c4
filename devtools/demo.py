"""Synthetic referrals for the demo cases, with realistic delays and outcomes."""

import random
from datetime import timedelta
from typing import Any

from django.db import transaction

from cases.models import Case, Status
from referrals import services
from referrals.models import Agency, Referral, ReferralStatus, ReferralTransition

S = ReferralStatus
# Per kind: the agency for minors, for adults, and how the referrals usually end.
PLAN: dict[str, tuple[str, str, list[tuple[str, float]]]] = {
    "police": (
        "polizia_postale",
        "polizia_postale",
        [
            ("investigation_opened", 0.5),
            ("no_further_action", 0.35),
            ("offender_identified", 0.1),
            ("charges_laid", 0.05),
        ],
    ),
    "hash_matching": ("take_it_down", "stopncii", [("removed", 0.6), ("not_found", 0.3), ("partly_removed", 0.1)]),
    "platform": ("instagram", "instagram", [("removed", 0.55), ("not_removed", 0.25), ("partly_removed", 0.2)]),
    "takedown": ("esafety", "esafety", [("removed", 0.7), ("partly_removed", 0.2), ("not_removed", 0.1)]),
}


def _pick(draw: random.Random, weighted: list[tuple[str, float]]) -> str:
    return draw.choices([value for value, _ in weighted], [weight for _, weight in weighted])[0]


@transaction.atomic
def demo_referrals(*, cases: list[Case], seed: int = 0) -> int:
    """Refer about a third of the cases; older ones have their answers, newer ones are still waiting."""
    draw = random.Random(seed)  # noqa: S311 - synthetic demo data, not security
    agencies = {agency.code: agency for agency in Agency.objects.filter(organisation__isnull=True)}
    made = 0
    for case in cases:
        if draw.random() > 0.35 or case.assigned_to is None:
            continue
        kinds = ["police"]
        if case.content_distributed == "yes":
            kinds.append("takedown")
        if draw.random() < 0.5:
            kinds.append("hash_matching")
        if draw.random() < 0.4:
            kinds.append("platform")
        for kind in kinds:
            minor_code, adult_code, outcomes = PLAN[kind]
            agency = agencies.get(minor_code if case.is_minor else adult_code)
            if agency is None:
                continue
            made += _one(draw, case, kind, agency, outcomes)
    return made


def _one(draw: random.Random, case: Case, kind: str, agency: Agency, outcomes: list[tuple[str, float]]) -> int:
    actor: Any = case.assigned_to
    referral = services.referral_create(
        actor=actor, case=case, kind=kind, agency=agency, consent="guardian" if case.is_minor else "victim"
    )
    services.referral_transition(actor=actor, referral=referral, to=S.SENT)
    sent = case.first_contact_at + timedelta(hours=draw.randint(2, 72))
    moves = [(S.SENT, sent)]
    acknowledged = sent + timedelta(hours=draw.randint(4, 24 * agency.expected_response_days * 2))
    age = (case.updated_at - case.first_contact_at).days
    if case.status == Status.CLOSED or age > 60:
        services.referral_transition(actor=actor, referral=referral, to=S.ACKNOWLEDGED)
        done = acknowledged + timedelta(days=draw.randint(1, 45))
        services.referral_transition(actor=actor, referral=referral, to=S.COMPLETED, outcome=_pick(draw, outcomes))
        moves += [(S.ACKNOWLEDGED, acknowledged), (S.COMPLETED, done)]
        Referral.objects.filter(pk=referral.pk).update(
            sent_at=sent,
            acknowledged_at=acknowledged,
            closed_at=done,
            follow_up_on=(sent + timedelta(days=agency.expected_response_days)).date(),
        )
    else:
        Referral.objects.filter(pk=referral.pk).update(
            sent_at=sent, follow_up_on=(sent + timedelta(days=agency.expected_response_days)).date()
        )
    # The demo history is backdated to the case's own time line.
    for to, at in moves:
        ReferralTransition.objects.filter(referral=referral, to_status=to).update(at=at)
    ReferralTransition.objects.filter(referral=referral, to_status=S.DRAFT).update(at=sent - timedelta(minutes=30))
    return 1
