"""Reports read from the replica's database alias, and write on the primary (reports/replica.py).

Here the ``reports`` alias is a second connection to the test database whose transactions are read-only, as a hot
standby's are: a write sent to it fails. The data must be committed for that connection to see it
(transaction=True); serialized_rollback brings the migrations' data back afterwards. The real streaming replica is
in test_replica_streaming.py.
"""

import copy
import logging
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connections, router
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from accounts.models import User
from audit.models import AccessLog, Action
from cases.services import case_open
from reports import services
from reports.engine import Params
from reports.models import ExportStatus
from reports.replica import REPORTS, ReplicaStatus, age_in_words, figures_connection, reading_replica
from reports.rollups import rollups_refresh


def with_replica(test: Callable[..., None]) -> Callable[..., None]:
    """The test runs with the replica's alias, on committed data."""
    marked = pytest.mark.django_db(transaction=True, serialized_rollback=True, databases=["default", REPORTS])(test)
    return pytest.mark.usefixtures("replica_alias")(marked)


@pytest.fixture(scope="module")
def replica_alias(django_db_setup: None) -> Iterator[None]:
    """The ``reports`` alias, as REPORTS_DATABASE_URL makes it, on the test database, and the router."""
    primary = copy.deepcopy(connections["default"].settings_dict)
    options = {**primary["OPTIONS"], "options": "-c default_transaction_read_only=on"}
    connections.settings[REPORTS] = {**primary, "OPTIONS": options, "TEST": {**primary["TEST"], "MIRROR": "default"}}
    try:
        with override_settings(DATABASE_ROUTERS=["reports.replica.ReplicaRouter"]):
            yield
    finally:
        connections[REPORTS].close()
        del connections[REPORTS]
        del connections.settings[REPORTS]


def this_year() -> dict[str, str]:
    today = timezone.localdate()
    return {"start": f"{today.year}-01", "end": f"{today:%Y-%m}"}


def open_cases(worker: User, count: int) -> None:
    for _ in range(count):
        case_open(actor=worker, facts={"victim_age": 15, "victim_gender": "female"})
    rollups_refresh()  # the statistics store, written on the primary


class Queries:
    """The SQL each database was sent."""

    def __init__(self, *aliases: str) -> None:
        self.captured = {alias: CaptureQueriesContext(connections[alias]) for alias in aliases}

    def __enter__(self) -> "Queries":
        for captured in self.captured.values():
            captured.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        for captured in self.captured.values():
            captured.__exit__(*exc)

    def sent(self, alias: str, part: str = "") -> list[str]:
        return [query["sql"] for query in self.captured[alias].captured_queries if part in query["sql"]]


def figures_read_on_the_replica_only(queries: Queries) -> None:
    for table in ("reports_store_part", "reports_rolluprefresh"):
        assert queries.sent(REPORTS, table), f"{table} was not read on the replica"
        assert not queries.sent("default", table), f"{table} was read on the primary"
    assert not [sql for sql in queries.sent(REPORTS) if not sql.lstrip().upper().startswith("SELECT")]


def year_params(user: User) -> Params:
    today = timezone.localdate()
    return Params(organisations=(user.organisation_id,), start=today.replace(month=1, day=1), end=today)


@with_replica
def test_only_reads_inside_reading_replica_go_to_the_replica() -> None:
    assert figures_connection() is connections["default"]
    with reading_replica() as status:
        assert status == ReplicaStatus(lag=0.0, receiving=True)  # not a standby: its own data is current
        with Queries(REPORTS) as queries, reading_replica() as again:
            assert again is status and not queries.sent(REPORTS)  # entered again: asked once
        assert figures_connection() is connections[REPORTS]
        assert User.objects.all().db == REPORTS
        assert router.db_for_write(User) == "default"
    assert figures_connection() is connections["default"]
    assert User.objects.all().db == "default"


@with_replica
def test_pages_api_and_exports_read_their_figures_on_the_replica_and_write_on_the_primary(
    client_for: Callable[[str], Client], personas: dict[str, User]
) -> None:
    open_cases(personas["worker"], 6)
    note = "Figures from the reports replica, up to date with the main database."

    with Queries("default", REPORTS) as queries:
        page = client_for("supervisor").get("/reports/", this_year())
    assert page.status_code == 200
    figures_read_on_the_replica_only(queries)
    assert queries.sent("default", 'INSERT INTO "audit_accesslog"')
    assert page.context["replica"] == ReplicaStatus(lag=0.0, receiving=True)
    assert note in page.content.decode()

    with Queries("default", REPORTS) as queries:
        api = client_for("analyst").get("/api/v1/reports/", this_year())
    assert api.status_code == 200
    figures_read_on_the_replica_only(queries)
    assert queries.sent("default", 'INSERT INTO "audit_accesslog"')
    assert api.json()["replica"] == {"lag_seconds": 0.0, "receiving": True, "far_behind": False, "note": note}

    cache.clear()  # the API's tables, which the export would otherwise be made from
    with Queries("default", REPORTS) as queries:
        inline = client_for("analyst").get("/reports/export/", {**this_year(), "format": "csv"})
    assert inline.status_code == 200
    figures_read_on_the_replica_only(queries)
    assert queries.sent(REPORTS, 'FROM "cases_case"')  # how many cases the export covers
    assert queries.sent("default", 'INSERT INTO "audit_accesslog"')

    export = services.export_request(user=personas["analyst"], params=year_params(personas["analyst"]), format="json")
    with Queries("default", REPORTS) as queries:
        assert services.export_run(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE and export.progress == 100, export.error
    figures_read_on_the_replica_only(queries)
    assert queries.sent("default", 'UPDATE "reports_export"')  # claimed, its progress, its file
    assert not queries.sent(REPORTS, "reports_export")

    reads = AccessLog.objects.filter(object_type="report").values_list("action", flat=True)
    assert sorted(reads) == sorted([Action.VIEW, Action.VIEW, Action.EXPORT])


@pytest.fixture
def replica_down() -> Iterator[None]:
    """The replica's address now answers nothing: a port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings_dict = connections[REPORTS].settings_dict
    saved = {key: settings_dict[key] for key in ("HOST", "PORT", "OPTIONS")}
    connections[REPORTS].close()
    options = {key: value for key, value in saved["OPTIONS"].items() if key != "host"}
    settings_dict.update(HOST="127.0.0.1", PORT=str(port), OPTIONS={**options, "connect_timeout": 2})
    try:
        yield
    finally:
        connections[REPORTS].close()
        settings_dict.update(saved)


@with_replica
def test_an_unreachable_replica_is_said_and_the_primary_is_not_read_instead(
    client_for: Callable[[str], Client], personas: dict[str, User], replica_down: None, caplog: Any
) -> None:
    open_cases(personas["worker"], 6)
    message = "The reports database cannot be reached, so no figures can be shown now."
    export = services.export_request(user=personas["analyst"], params=year_params(personas["analyst"]), format="csv")

    with Queries("default") as queries, caplog.at_level(logging.ERROR, logger="reports.replica"):
        page = client_for("supervisor").get("/reports/", this_year())
        api = client_for("analyst").get("/api/v1/reports/", this_year())
        inline = client_for("analyst").get("/reports/export/", {**this_year(), "format": "csv"})
        made = services.export_run(export_id=export.pk)

    assert page.status_code == 503 and message in page.content.decode()
    assert page.context["form"].is_valid()  # the parameters stay on the page, to try again
    assert api.status_code == 503 and api.json()["detail"].startswith(message)
    assert inline.status_code == 503 and message in inline.content.decode()
    export.refresh_from_db()
    assert not made and export.status == ExportStatus.FAILED and export.error.startswith(message)
    assert not queries.sent("default", "reports_store_part") and not queries.sent("default", "reports_rolluprefresh")
    assert not AccessLog.objects.filter(object_type="report").exists()  # nothing was read
    assert "The reports replica cannot be reached (OperationalError)" in caplog.text


@pytest.mark.parametrize(
    ("status", "note"),
    [
        (
            ReplicaStatus(lag=0.0, receiving=True),
            "Figures from the reports replica, up to date with the main database.",
        ),
        (
            ReplicaStatus(lag=0.2, receiving=True),
            "Figures from the reports replica, 1 second behind the main database.",
        ),
        (
            ReplicaStatus(lag=95, receiving=True),
            "Figures from the reports replica, 95 seconds behind the main database.",
        ),
        (
            ReplicaStatus(lag=301, receiving=True),
            "Figures from the reports replica, 6 minutes behind the main database: cases and changes recorded since "
            "are not in them yet.",
        ),
        (
            ReplicaStatus(lag=3 * 3600, receiving=False),
            "Figures from the reports replica, which is not receiving changes from the main database: they may be up "
            "to 3 hours old.",
        ),
        (
            ReplicaStatus(lag=None, receiving=False),
            "Figures from the reports replica, which cannot tell how far behind the main database it is: recent "
            "cases and changes may be missing from them.",
        ),
    ],
)
def test_the_note_says_how_old_the_figures_are(status: ReplicaStatus, note: str) -> None:
    with translation.override("en"):
        assert status.note == note
    assert status.far_behind == (status.lag is None or status.lag > 300)


def test_how_far_behind_is_the_setting(settings: Any) -> None:
    settings.REPORTS_REPLICA_MAX_LAG = 60
    assert ReplicaStatus(lag=61, receiving=True).far_behind
    assert not ReplicaStatus(lag=60, receiving=True).far_behind


def test_the_note_is_in_italian_too() -> None:
    with translation.override("it"):
        assert age_in_words(1) == "1 secondo" and age_in_words(600) == "10 minuti"
        assert "replica" in ReplicaStatus(lag=600, receiving=True).note
        assert "Figures" not in ReplicaStatus(lag=600, receiving=True).note
