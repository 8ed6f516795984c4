"""The app against a real primary and its streaming replica, run by test_replica_streaming.py in a process of its
own (``manage.py shell``), with DATABASE_URL on the primary and REPORTS_DATABASE_URL on the replica, both as the
runtime role. It prints what it saw as one JSON line; the test checks it.

REPLICA_TEST_PRIMARY and REPLICA_TEST_STANDBY are superuser connections to the two servers, to pause and resume
the replica's replay and to see where each one is.
"""

import json
import os
import time
from typing import Any

import psycopg
from django.db import connections
from django.test import Client, override_settings
from django.test.utils import setup_test_environment
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import User
from accounts.roles import Role
from audit.models import AccessLog
from cases.services import case_open
from reports import services
from reports.engine import Params
from reports.models import Export
from reports.replica import ReplicaStatus
from reports.rollups import rollups_refresh
from tests.factories import OrganisationFactory, TOTPDeviceFactory, UserFactory


def superuser(name: str) -> psycopg.Connection[Any]:
    return psycopg.connect(os.environ[name], autocommit=True)


def primary_position() -> str:
    with superuser("REPLICA_TEST_PRIMARY") as primary:
        row = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()
        assert row is not None
        return str(row[0])


def wait_for_standby(function: str, seconds: float = 20) -> None:
    """Until the replica has received (or replayed) everything the primary has written so far."""
    target = primary_position()
    deadline = time.monotonic() + seconds
    with superuser("REPLICA_TEST_STANDBY") as standby:
        while time.monotonic() < deadline:
            row = standby.execute(f"SELECT {function}() >= %s::pg_lsn", [target]).fetchone()
            if row and row[0]:
                return
            time.sleep(0.05)
    raise TimeoutError(f"the replica's {function} did not reach {target}")


def set_replay(paused: bool) -> None:
    with superuser("REPLICA_TEST_STANDBY") as standby:
        standby.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDeviceFactory.create(user=user).persistent_id
    session.save()
    return client


def new_cases(tables: list[dict[str, Any]]) -> Any:
    return next(table for table in tables if table["key"] == "new_cases")["total"]["values"][0]


def observe(client: Client, params: dict[str, str]) -> dict[str, Any]:
    page = client.get("/reports/", params)
    api = client.get("/api/v1/reports/", params)
    replica: ReplicaStatus | None = page.context["replica"] if page.status_code == 200 else None
    return {
        "page_status": page.status_code,
        "page_note": replica.note if replica else None,
        "page_note_shown": replica is not None and replica.note in page.content.decode(),
        "page_far_behind": replica.far_behind if replica else None,
        "api_status": api.status_code,
        "new_cases": new_cases(api.json()["tables"]) if api.status_code == 200 else None,
        "replica": api.json().get("replica"),
    }


def open_cases(worker: User, count: int) -> None:
    for _ in range(count):
        case_open(actor=worker, facts={"victim_age": 15, "victim_gender": "female"})
    rollups_refresh()  # the statistics store, written on the primary


def views_logged_on_standby() -> int:
    with superuser("REPLICA_TEST_STANDBY") as standby:
        row = standby.execute("SELECT count(*) FROM audit_accesslog WHERE object_type = 'report'").fetchone()
        return int(row[0]) if row else -1


def main() -> None:
    setup_test_environment()
    organisation = OrganisationFactory.create(name="Replica Helpline")
    worker = UserFactory.create(username="replica-worker", organisation=organisation, role=Role.WORKER)
    supervisor = UserFactory.create(username="replica-supervisor", organisation=organisation, role=Role.SUPERVISOR)
    client = signed_in(supervisor)
    today = timezone.localdate()
    params = {"start": f"{today.year}-01", "end": f"{today:%Y-%m}"}
    seen: dict[str, Any] = {"aliases": sorted(connections)}

    open_cases(worker, 3)
    wait_for_standby("pg_last_wal_replay_lsn")
    seen["caught_up"] = observe(client, params)
    wait_for_standby("pg_last_wal_replay_lsn")  # the access log of those reads too

    set_replay(paused=True)
    open_cases(worker, 2)
    wait_for_standby("pg_last_wal_receive_lsn")
    time.sleep(1.2)  # the replica is now more than a second behind
    views_before = AccessLog.objects.filter(object_type="report").count()
    with override_settings(REPORTS_REPLICA_MAX_LAG=1):
        seen["paused"] = observe(client, params)
    seen["views_logged_on_primary"] = AccessLog.objects.filter(object_type="report").count() - views_before
    seen["views_logged_on_standby"] = views_logged_on_standby() - views_before
    start = today.replace(month=1, day=1)
    export = services.export_request(
        user=supervisor, params=Params(organisations=(organisation.pk,), start=start, end=today), format="json"
    )
    services.export_run(export_id=export.pk)
    made = Export.objects.get(pk=export.pk)
    seen["export"] = {
        "status": made.status,
        "error": made.error,
        "new_cases": new_cases(json.loads(bytes(made.content or b""))["tables"]) if made.content else None,
    }

    set_replay(paused=False)
    wait_for_standby("pg_last_wal_replay_lsn")
    seen["resumed"] = observe(client, params)
    print("REPLICA-SESSION " + json.dumps(seen))
