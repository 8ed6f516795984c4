from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import Organisation, User

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_is_idempotent_and_prints_the_logins(settings: Any) -> None:
    settings.DEMO_PASSWORD = "demo password for tests"
    first = seed()
    second = seed()
    assert first == second
    assert "demo password for tests" in first
    assert sorted(Organisation.objects.values_list("name", flat=True)) == ["Demo Helpline", "Other Helpline"]
    users = {u.username: (u.role, u.organisation.name, u.is_demo) for u in User.objects.all()}
    assert users == {
        "demo-worker": ("worker", "Demo Helpline", True),
        "demo-supervisor": ("supervisor", "Demo Helpline", True),
        "demo-analyst": ("analyst", "Demo Helpline", True),
        "demo-admin": ("administrator", "Demo Helpline", True),
        "other-worker": ("worker", "Other Helpline", True),
    }
    assert User.objects.get(username="demo-admin").check_password("demo password for tests")


def test_generated_password_is_kept_between_runs(settings: Any, tmp_path: Any) -> None:
    settings.DEMO_PASSWORD = ""
    settings.VAR_DIR = tmp_path
    assert seed() == seed()
    password = (tmp_path / "demo_password").read_text()
    assert len(password) >= 12
    assert User.objects.get(username="demo-worker").check_password(password)
