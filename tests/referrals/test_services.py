"""Referral services: the status machine, consent, takedown items and what they do to the case."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from cases import services as case_services
from cases.models import Case, Status, StepStatus, Term
from referrals import services
from referrals.models import Agency, Referral, ReferralStatus, ReferralTransition

pytestmark = pytest.mark.django_db
S = ReferralStatus


@pytest.fixture
def case(personas: dict[str, User]) -> Case:
    return case_services.case_open(actor=personas["worker"], facts={})


def agency(kind: str, days: int = 7) -> Agency:
    found, _ = Agency.objects.get_or_create(
        code=f"test-{kind}-{days}", defaults={"name": f"Test {kind}", "kind": kind, "expected_response_days": days}
    )
    return found


def draft(actor: User, case: Case, kind: str = "police", consent: str = "victim", **kwargs: Any) -> Referral:
    agency_kind = services.AGENCY_KIND[kind]
    return services.referral_create(
        actor=actor, case=case, kind=kind, agency=agency(agency_kind), consent=consent, **kwargs
    )


def force(referral: Referral, status: str) -> Referral:
    Referral.objects.filter(pk=referral.pk).update(
        status=status, outcome="investigation_opened" if status == S.COMPLETED else ""
    )
    referral.refresh_from_db()
    return referral


ALL_MOVES = [(current, to) for current in S.values for to in S.values if to != current]


@pytest.mark.parametrize(("current", "to"), ALL_MOVES)
def test_every_move_is_allowed_or_refused_as_the_table_says(
    personas: dict[str, User], case: Case, current: str, to: str
) -> None:
    referral = force(draft(personas["worker"], case), current)
    outcome = "investigation_opened" if to == S.COMPLETED else ""
    if to in services.TRANSITIONS[current]:
        moved = services.referral_transition(actor=personas["worker"], referral=referral, to=to, outcome=outcome)
        assert moved.status == to
        assert ReferralTransition.objects.filter(referral=referral, from_status=current, to_status=to).exists()
    else:
        with pytest.raises(ValidationError, match="cannot become"):
            services.referral_transition(actor=personas["worker"], referral=referral, to=to, outcome=outcome)
        referral.refresh_from_db()
        assert referral.status == current


def test_sending_without_consent_is_refused_with_a_clear_message(personas: dict[str, User], case: Case) -> None:
    referral = draft(personas["worker"], case, consent="")
    with pytest.raises(ValidationError) as error:
        services.referral_transition(actor=personas["worker"], referral=referral, to=S.SENT)
    assert error.value.message_dict == {"consent": ["Record consent before sending the referral."]}
    referral.refresh_from_db()
    assert (referral.status, referral.sent_at) == (S.DRAFT, None)
    with pytest.raises(ValidationError, match="why consent is not required"):
        services.referral_record_consent(actor=personas["worker"], referral=referral, consent="not_required")
    services.referral_record_consent(
        actor=personas["worker"], referral=referral, consent="not_required", reason="Adult victim reporting herself"
    )
    assert services.referral_transition(actor=personas["worker"], referral=referral, to=S.SENT).status == S.SENT


def test_times_come_from_the_transitions(personas: dict[str, User], case: Case) -> None:
    referral = draft(personas["worker"], case)
    sent = services.referral_transition(actor=personas["worker"], referral=referral, to=S.SENT)
    assert sent.follow_up_on == timezone.localdate() + timedelta(days=7)
    acknowledged = services.referral_transition(
        actor=personas["supervisor"], referral=sent, to=S.ACKNOWLEDGED, external_reference="PP-2026-113"
    )
    done = services.referral_transition(
        actor=personas["worker"], referral=acknowledged, to=S.COMPLETED, outcome="offender_identified"
    )
    assert done.sent_at and done.acknowledged_at and done.closed_at
    assert done.sent_at <= done.acknowledged_at <= done.closed_at
    assert done.external_reference == "PP-2026-113"
    actors = list(done.transitions.values_list("to_status", "actor__username"))
    assert actors == [("draft", "alice"), ("sent", "alice"), ("acknowledged", "sofia"), ("completed", "alice")]


def test_outcome_must_fit_the_kind(personas: dict[str, User], case: Case) -> None:
    referral = services.referral_transition(
        actor=personas["worker"], referral=draft(personas["worker"], case), to=S.SENT
    )
    with pytest.raises(ValidationError, match="outcome"):
        services.referral_transition(actor=personas["worker"], referral=referral, to=S.COMPLETED, outcome="removed")
    with pytest.raises(ValidationError, match="outcome"):
        services.referral_transition(actor=personas["worker"], referral=referral, to=S.COMPLETED)
    with pytest.raises(ValidationError, match="only when"):
        services.referral_transition(actor=personas["worker"], referral=referral, to=S.DECLINED, outcome="charges_laid")


@pytest.mark.parametrize(
    ("kind", "step"),
    [
        ("police", "report_police"),
        ("takedown", "removal_request"),
        ("platform", "report_platform"),
        ("hash_matching", "hash_submission"),
        ("support", "wellbeing_support"),
    ],
)
def test_sending_marks_the_matching_step_done(personas: dict[str, User], case: Case, kind: str, step: str) -> None:
    referral = draft(personas["worker"], case, kind=kind)
    services.referral_transition(actor=personas["worker"], referral=referral, to=S.SENT)
    done = case.steps.get(step_type__code=step)
    assert (done.status, done.done_by) == (StepStatus.DONE, personas["worker"])


def test_the_case_waits_while_referrals_are_under_way(personas: dict[str, User], case: Case) -> None:
    worker = personas["worker"]
    police = draft(worker, case)
    platform = draft(worker, case, kind="platform")
    case.refresh_from_db()
    assert case.status == Status.OPEN  # drafts do not make a case wait
    police = services.referral_transition(actor=worker, referral=police, to=S.SENT)
    platform = services.referral_transition(actor=worker, referral=platform, to=S.SENT)
    case.refresh_from_db()
    assert case.status == Status.WAITING
    services.referral_transition(actor=worker, referral=police, to=S.COMPLETED, outcome="investigation_opened")
    case.refresh_from_db()
    assert case.status == Status.WAITING  # the platform has not answered yet
    services.referral_transition(actor=worker, referral=platform, to=S.WITHDRAWN)
    case.refresh_from_db()
    assert case.status == Status.OPEN
    kinds = list(case.activities.values_list("kind", flat=True))
    assert kinds.count("referral") == 6 and kinds.count("status") == 2


def test_takedown_items_settle_the_outcome(personas: dict[str, User], case: Case) -> None:
    worker = personas["worker"]
    referral = services.referral_transition(actor=worker, referral=draft(worker, case, kind="takedown"), to=S.SENT)
    instagram = Term.objects.get(vocabulary="platform", code="instagram")
    first = services.takedown_item_add(
        actor=worker, referral=referral, platform=instagram, link="https://instagram.com/p/abc", content_type="image"
    )
    second = services.takedown_item_add(
        actor=worker, referral=referral, platform=instagram, link="https://instagram.com/p/def", content_type="video"
    )
    services.takedown_item_update(actor=worker, item=first, status="removed")
    referral.refresh_from_db()
    assert referral.status == S.SENT  # one item is still requested
    services.takedown_item_update(actor=worker, item=second, status="refused")
    referral.refresh_from_db()
    assert (referral.status, referral.outcome) == (S.COMPLETED, "partly_removed")
    first.refresh_from_db()
    assert first.removed_at is not None


@pytest.mark.parametrize(
    ("statuses", "outcome"),
    [
        (["removed", "removed"], "removed"),
        (["removed", "not_found"], "partly_removed"),
        (["refused", "not_found"], "not_removed"),
        (["not_found"], "not_found"),
        (["removed", "requested"], ""),
        ([], ""),
    ],
)
def test_items_outcome(statuses: list[str], outcome: str) -> None:
    assert services.items_outcome(statuses) == outcome


def test_bad_input_is_refused_and_nothing_saved(personas: dict[str, User], case: Case) -> None:
    worker = personas["worker"]
    police = agency("police")
    with pytest.raises(ValidationError, match="agency"):
        services.referral_create(actor=worker, case=case, kind="takedown", agency=police)
    with pytest.raises(ValidationError, match="kind"):
        services.referral_create(actor=worker, case=case, kind="telepathy", agency=police)
    with pytest.raises(ValidationError, match="owner"):
        services.referral_create(actor=worker, case=case, kind="police", agency=police, owner=personas["other_worker"])
    with pytest.raises(ValidationError, match="consent"):
        services.referral_create(actor=worker, case=case, kind="police", agency=police, consent="maybe")
    assert not Referral.objects.exists()
    referral = draft(worker, case, kind="police")
    instagram = Term.objects.get(vocabulary="platform", code="instagram")
    with pytest.raises(ValidationError, match="takedown and platform"):
        services.takedown_item_add(
            actor=worker, referral=referral, platform=instagram, link="https://x.test/a", content_type="image"
        )
    takedown = draft(worker, case, kind="takedown")
    with pytest.raises(ValidationError):
        services.takedown_item_add(
            actor=worker, referral=takedown, platform=instagram, link="not a link", content_type="image"
        )
    with pytest.raises(ValidationError):
        services.takedown_item_add(
            actor=worker, referral=takedown, platform=instagram, link="https://x.test/a", content_type="poem"
        )
    assert not takedown.items.exists()
