"""The domain rules every list, board, reminder and digest shares, written once as QuerySet methods."""

from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from cases.models import Case, ResponseStep, Status, StepStatus, StepType, Term
from referrals.models import Agency, Referral, ReferralStatus
from tests.factories import UserFactory


def make_case(worker: User, status: str = Status.OPEN) -> Case:
    closed = status == Status.CLOSED
    return Case.objects.create(
        organisation=worker.organisation,
        reference=f"Q-{Case.objects.count() + 1}",
        created_by=worker,
        first_contact_at=timezone.now(),
        status=status,
        closure_reason=Term.objects.filter(vocabulary="closure_reason").first() if closed else None,
        closed_at=timezone.now() if closed else None,
    )


def step(case: Case, *, due_in: timedelta, status: str = StepStatus.TODO) -> ResponseStep:
    step_type = StepType.objects.exclude(pk__in=case.steps.values("step_type")).first()
    assert step_type is not None
    return ResponseStep.objects.create(case=case, step_type=step_type, status=status, due_at=timezone.now() + due_in)


def test_open_cases_are_all_but_the_closed(personas: dict[str, User]) -> None:
    cases = {status: make_case(personas["worker"], status) for status in Status.values}
    assert set(Case.objects.open()) == {case for status, case in cases.items() if status != Status.CLOSED}


def test_a_step_is_overdue_when_still_to_do_after_its_due_time(personas: dict[str, User]) -> None:
    case = make_case(personas["worker"])
    late = step(case, due_in=-timedelta(hours=1))
    step(case, due_in=timedelta(hours=1))  # not due yet
    step(case, due_in=-timedelta(hours=1), status=StepStatus.DONE)
    step(case, due_in=-timedelta(hours=1), status=StepStatus.NOT_APPLICABLE)
    assert list(ResponseStep.objects.overdue()) == [late]
    assert not ResponseStep.objects.overdue(now=timezone.now() - timedelta(hours=2)).exists()


def test_cases_with_overdue_steps(personas: dict[str, User]) -> None:
    late, on_time = make_case(personas["worker"]), make_case(personas["worker"])
    step(late, due_in=-timedelta(minutes=5))
    step(on_time, due_in=timedelta(days=1))
    assert list(Case.objects.with_overdue_steps()) == [late]


def test_a_follow_up_is_overdue_when_under_way_past_its_date(personas: dict[str, User], db: Any) -> None:
    case = make_case(personas["worker"])
    agency = Agency.objects.first()
    assert agency is not None
    today = timezone.localdate()

    def referral(status: str, follow_up_in: int | None) -> Referral:
        follow_up = None if follow_up_in is None else today + timedelta(days=follow_up_in)
        return Referral.objects.create(
            case=case,
            kind="police",
            agency=agency,
            status=status,
            follow_up_on=follow_up,
            created_by=case.created_by,
            owner=case.created_by,
            consent="victim",
        )

    late = referral(ReferralStatus.ACKNOWLEDGED, -1)
    referral(ReferralStatus.SENT, 0)  # due today: not overdue yet
    referral(ReferralStatus.DECLINED, -3)  # no longer under way
    referral(ReferralStatus.IN_PROGRESS, None)
    assert list(Referral.objects.follow_up_overdue()) == [late]
    assert late.follow_up_overdue
    assert set(Referral.objects.under_way().values_list("status", flat=True)) == {"sent", "acknowledged", "in_progress"}


def test_only_administrators_and_superusers_are_staff(db: Any) -> None:
    for role in Role.values:
        user = UserFactory.build(role=role)
        user.set_staff_status()
        assert user.is_staff == (role == Role.ADMINISTRATOR)
    operator = UserFactory.build(role=Role.ANALYST, is_superuser=True)
    operator.set_staff_status()
    assert operator.is_staff
