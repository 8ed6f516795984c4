"""Imports put each row's incident description through the free-text guard, in the case's country, in both
modes: the row is refused (nothing imported), or what was found is removed and the row imported."""

from typing import Any

import pytest

from accounts.models import User
from cases.models import Case
from imports.models import ImportStatus
from tests.imports.helpers import problems, row, run

pytestmark = pytest.mark.django_db

# A national Italian mobile (read in the victim's country) and a Cash App $cashtag.
TEXT = "He called from 347 1234567 and asked for money at $darkcash77."


@pytest.fixture
def sofia(personas: dict[str, User]) -> User:
    return personas["supervisor"]


# Without a victim country, national numbers are read in the helpline's.
@pytest.mark.parametrize("changes", [{}, {"victim_country": "", "victim_region": ""}])
def test_a_row_with_identifiers_is_refused(sofia: User, changes: dict[str, Any]) -> None:
    job = run(sofia, [row(reference="OLD-1"), row(reference="OLD-2", incident_description=TEXT, **changes)])
    assert job.status == ImportStatus.REJECTED
    assert problems(job) == {(3, "incident_description")}
    message = job.errors[0]["message"]
    assert "phone number" in message and "Cash App $cashtag" in message
    assert "1234567" not in str(job.errors) and "darkcash" not in str(job.errors)
    assert not Case.objects.exists()


def test_a_row_with_identifiers_is_imported_without_them(sofia: User) -> None:
    job = run(sofia, [row(reference="OLD-1", incident_description=TEXT, victim_country="IT")], identifiers="redact")
    assert job.status == ImportStatus.DONE and job.redacted_rows == 1
    case = Case.objects.get(reference="OLD-1")
    assert case.incident_description == (
        "He called from [phone number removed] and asked for money at [Cash App $cashtag removed]."
    )
    assert "1234567" not in str(job.notices) and "darkcash" not in str(job.notices)
