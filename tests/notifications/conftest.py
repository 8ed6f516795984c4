from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from cases.models import Case, ResponseStep, StepStatus, StepType
from cases.services import case_open
from referrals.models import Agency, Referral, ReferralStatus

EMAILS = {"worker": "alice@example.org", "supervisor": "sofia@example.org", "other_worker": "oscar@example.org"}


@pytest.fixture
def owners(personas: dict[str, User]) -> dict[str, User]:
    for key, email in EMAILS.items():
        User.objects.filter(pk=personas[key].pk).update(email=email)
        personas[key].refresh_from_db()
    return personas


def open_case(owner: User) -> Case:
    """A case assigned to the owner (a worker opening a case takes it)."""
    return case_open(actor=owner, facts={"incident_description": "FREE TEXT NEVER MAILED"}, text_decision="keep")


def overdue_step(case: Case, code: str = "notif-test", hours_late: int = 1, **fields: Any) -> ResponseStep:
    step_type, _ = StepType.objects.get_or_create(code=code, defaults={"label": f"Step {code}"})
    return ResponseStep.objects.create(
        case=case, step_type=step_type, due_at=timezone.now() - timedelta(hours=hours_late), **fields
    )


def overdue_referral(case: Case, owner: User, status: str = ReferralStatus.SENT, days_late: int = 1) -> Referral:
    agency, _ = Agency.objects.get_or_create(
        code="notif-test-police", defaults={"name": "Test Police", "kind": "police", "expected_response_days": 7}
    )
    return Referral.objects.create(
        case=case,
        kind="police",
        agency=agency,
        owner=owner,
        created_by=owner,
        consent="victim",
        status=status,
        outcome="investigation_opened" if status == ReferralStatus.COMPLETED else "",
        follow_up_on=timezone.localdate() - timedelta(days=days_late),
    )


def step_done(step: ResponseStep) -> None:
    ResponseStep.objects.filter(pk=step.pk).update(status=StepStatus.DONE)
