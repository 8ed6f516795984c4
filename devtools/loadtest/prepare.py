"""Credentials and ids for the load test, written to a JSON file that locustfile.py reads.

Run with the same settings (above all the same DJANGO_SECRET_KEY) as the server under test, on a
throwaway copy of the database: it issues API tokens, enrols a TOTP device for each account and
stores a session that has passed both factors, as a login through the two-factor form would.

    python devtools/loadtest/prepare.py OUTPUT.json
"""

import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")

from importlib import import_module

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from accounts.middleware import LOGIN_AT  # noqa: E402
from accounts.models import User  # noqa: E402

ORGANISATION = "Demo Helpline"
WORKERS = [
    "demo-worker",
    "demo-helpline-synthetic-worker-1",
    "demo-helpline-synthetic-worker-2",
    "demo-helpline-synthetic-worker-3",
    "demo-helpline-synthetic-worker-4",
]
SUPERVISOR = "demo-supervisor"
SAMPLE = 5000


def verified_session(user: User) -> str:
    """The key of a session past password and second factor, as the login and verify views leave it."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="load test", confirmed=True)
    session = import_module(settings.SESSION_ENGINE).SessionStore()  # the cache's too, if there is one
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "accounts.backends.RoleBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[LOGIN_AT] = time.time()
    session.create()
    assert session.session_key is not None
    return session.session_key


def api_token(username: str) -> str:
    out = io.StringIO()
    call_command("api_token", username, days=1, stdout=out)
    return out.getvalue().strip()


def rows(sql: str, *params: Any) -> list[list[int]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [list(row) for row in cursor.fetchall()]


def ids(sql: str, *params: Any) -> list[int]:
    return [row[0] for row in rows(sql, *params)]


def main() -> None:
    output = Path(sys.argv[1])
    accounts = []
    for username in [*WORKERS, SUPERVISOR]:
        user = User.objects.get(username=username)
        accounts.append({"username": username, "token": api_token(username), "session": verified_session(user)})
    organisation_id = User.objects.get(username=SUPERVISOR).organisation_id
    # Random cases of the organisation, drawn from a block sample so as not to sort a million rows.
    cases = ids(
        "SELECT id FROM cases_case TABLESAMPLE SYSTEM (2) WHERE organisation_id = %s LIMIT %s", organisation_id, SAMPLE
    )
    steps = rows(
        "SELECT s.id, s.case_id FROM cases_responsestep s JOIN cases_case c ON c.id = s.case_id"
        " WHERE c.organisation_id = %s AND c.status <> 'closed' AND s.status = 'todo' ORDER BY random() LIMIT %s",
        organisation_id,
        SAMPLE,
    )
    # Referrals where a move is valid: sent -> acknowledged, acknowledged -> in progress. Each is used once.
    referrals = {
        status: ids(
            "SELECT r.id FROM referrals_referral r JOIN cases_case c ON c.id = r.case_id"
            " WHERE c.organisation_id = %s AND r.status = %s ORDER BY random() LIMIT %s",
            organisation_id,
            status,
            SAMPLE,
        )
        for status in ("sent", "acknowledged")
    }
    data = {
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "accounts": accounts,
        "supervisor": SUPERVISOR,
        "cases": cases,
        "steps": steps,
        "referrals": referrals,
    }
    output.write_text(json.dumps(data))
    print(
        f"{len(accounts)} accounts, {len(cases)} cases, {len(steps)} steps, "
        f"{sum(len(r) for r in referrals.values())} referrals -> {output}"
    )


if __name__ == "__main__":
    main()
