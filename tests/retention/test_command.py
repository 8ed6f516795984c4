"""``manage.py retention``: --dry-run lists per organisation, case and kind; without it, it erases."""

from datetime import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from audit.models import AccessLog, Action
from retention.models import RetentionPolicy
from tests.retention.conftest import make_case, tables_holding

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("retention", *args, stdout=out)
    return out.getvalue()


def test_dry_run_lists_each_case_and_kind_and_erases_nothing(personas: dict[str, User], now: datetime) -> None:
    RetentionPolicy.objects.create(organisation=personas["other_worker"].organisation, erase_notes=False)
    old = make_case(personas["worker"], "alpha", closed_months_ago=30, now=now)
    recent = make_case(personas["worker"], "bravo", closed_months_ago=2, now=now)
    other = make_case(personas["other_worker"], "charlie", closed_months_ago=30, now=now)

    output = run("--dry-run")

    assert "Home Helpline: default policy, 24 months after closure; erases notes, incident_description" in output
    assert "Other Helpline: its policy, 24 months after closure; erases incident_description" in output
    assert f"  {old.case.reference} (closed " in output
    assert "notes 1, referral comments 2, incident description 1, offender identifiers 1, takedown links 1" in output
    assert recent.case.reference not in output
    assert other.case.reference in output
    assert output.count("would erase 1 cases") == 2
    for text in old.texts.values():
        assert text not in output
        assert tables_holding(text)
    assert not AccessLog.objects.filter(action=Action.ERASE).exists()


def test_without_dry_run_it_erases(personas: dict[str, User], now: datetime) -> None:
    old = make_case(personas["worker"], "alpha", closed_months_ago=30, now=now)
    output = run("--organisation", "Home Helpline", "--batch-size", "1")
    assert "Other Helpline" not in output
    assert "erased 1 cases: notes 1" in output
    assert tables_holding(old.texts["note"]) == []
    assert "erased 0 cases: nothing" in run("--organisation", str(personas["worker"].organisation_id))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--organisation", "Nowhere"], "No organisation"),
        (["--organisation", "987654"], "No organisation"),
        (["--batch-size", "0"], "at least 1"),
    ],
)
def test_bad_arguments_are_refused(personas: dict[str, User], args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)
