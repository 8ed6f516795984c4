from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from devtools.demo import demo_referrals
from devtools.generator import generate_cases
from referrals.models import Referral

pytestmark = pytest.mark.django_db


def test_demo_referrals_are_consistent(personas: dict[str, User]) -> None:
    worker = personas["worker"]
    today = timezone.localdate()
    generate_cases(
        organisation=worker.organisation,
        workers=[worker],
        count=120,
        start=today - timedelta(days=700),
        end=today,
        with_referrals=False,
    )
    made = demo_referrals(cases=list(worker.organisation.cases.select_related("assigned_to").order_by("pk")))
    referrals = list(Referral.objects.all())
    assert made == len(referrals) > 10
    for referral in referrals:
        assert referral.consent and referral.sent_at
        if referral.status == "completed":
            assert referral.outcome
            assert referral.sent_at <= referral.acknowledged_at <= referral.closed_at  # type: ignore[operator]
        moves = list(referral.transitions.values_list("to_status", flat=True))
        assert moves[:2] == ["draft", "sent"]


def test_seed_demo_adds_referrals_once(settings: Any) -> None:
    from django.core.management import call_command

    settings.DEMO_PASSWORD = "demo password for tests"
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = Referral.objects.count()
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert first > 0
    assert Referral.objects.count() == first
