"""The app's database role cannot rewrite or switch off the append-only audit trail.

Web, worker and beat connect as a runtime role that owns nothing (audit/database_roles.py). These tests
make such a role for the test database, as every migrate does for DATABASE_URL's, log in as it and try
every way around the append-only rule on the access log, the history tables and the report snapshots.
The data must be committed for the other sessions to see it (transaction=True); serialized_rollback
brings the migrations' data (taxonomies, agencies) back after each test's flush.
"""

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pghistory
import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from psycopg import errors, sql

from accounts.models import User
from audit.database_roles import append_only_tables, runtime_role_grant, runtime_role_problems
from audit.models import AccessLog
from cases.models import Case, Note
from cases.services import case_open, note_add
from helpline import backup
from reports.engine import add_months
from reports.models import Snapshot
from reports.rollups import rollups_refresh
from reports.snapshots import snapshot_create
from retention.selectors import erasable_counts, retention_policy_for
from retention.services import legal_hold_set, retention_apply
from tests.retention.conftest import make_case, tables_holding

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(scope="module")
def runtime_role(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """A runtime role for the test database, granted as after a migrate; dropped afterwards."""
    role = f"{connection.settings_dict['NAME']}_runtime"[:63]
    with django_db_blocker.unblock():
        with transaction.atomic(), connection.cursor() as cursor:
            runtime_role_grant(cursor, role=role)
        yield role
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')


def settings_as(role: str) -> dict[str, Any]:
    return {**connection.settings_dict, "USER": role, "PASSWORD": ""}


@pytest.fixture
def as_runtime(runtime_role: str) -> Iterator[psycopg.Connection[Any]]:
    """A session of the runtime role on the test database, as web, worker and beat open."""
    with backup.connect(settings_as(runtime_role)) as conn:
        yield conn


@contextmanager
def django_connected_as(role: str) -> Iterator[None]:
    """Django's own connection logs in as ``role`` meanwhile, so that services run as the app runs them."""
    settings_dict = connection.settings_dict
    saved = settings_dict["USER"], settings_dict["PASSWORD"]
    connection.close()
    settings_dict["USER"], settings_dict["PASSWORD"] = role, ""
    try:
        yield
    finally:
        connection.close()
        settings_dict["USER"], settings_dict["PASSWORD"] = saved


def scalar(query: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()[0]


def contents(table: str) -> list[str]:
    """Every row of the table as text, as the owner reads it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT r::text FROM {table} AS r ORDER BY 1")  # noqa: S608 - a table name of ours
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def audited(personas: dict[str, User]) -> Case:
    """Access-log rows, history rows and a snapshot, committed."""
    case = make_case(personas["worker"], "audited", closed_months_ago=None).case
    snapshot_create(organisation=personas["worker"].organisation, month=add_months(date.today().replace(day=1), -1))
    assert AccessLog.objects.exists() and Snapshot.objects.exists()
    assert scalar("SELECT count(*) FROM cases_caseevent") and scalar("SELECT count(*) FROM cases_noteevent")
    return case


def all_pgtrigger_triggers() -> str:
    """The value of pgtrigger.ignore that switches off every trigger of django-pgtrigger."""
    return str(scalar("SELECT '{' || string_agg(tgname, ',') || '}' FROM pg_trigger WHERE tgname LIKE 'pgtrigger_%%'"))


def tricks(table: str) -> dict[str, list[str]]:
    """Ways around the append-only rule, each the statements run before tampering with the table."""
    owner = scalar("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = %s::regclass", [table])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgname, t.tgfoid::regproc::text FROM pg_trigger t "
            "WHERE t.tgrelid = %s::regclass AND NOT t.tgisinternal",
            [table],
        )
        triggers = cursor.fetchall()
    let_through = "RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN coalesce(NEW, OLD); END $$"
    return {
        "plainly": [],
        "ignoring its triggers (pgtrigger.ignore)": [f"SET LOCAL pgtrigger.ignore = '{all_pgtrigger_triggers()}'"],
        "as a replica (session_replication_role)": ["SET LOCAL session_replication_role = replica"],
        "with its triggers disabled": [f"ALTER TABLE {table} DISABLE TRIGGER ALL"],
        "with its triggers dropped": [f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, _ in triggers]
        or [f"DROP TRIGGER IF EXISTS no_such_trigger ON {table}"],
        "with the trigger functions replaced": [
            "CREATE OR REPLACE FUNCTION public._pgtrigger_should_ignore(trigger_name name) RETURNS boolean "
            "LANGUAGE sql AS $$ SELECT true $$",
            *(f"CREATE OR REPLACE FUNCTION {function}() {let_through}" for _, function in triggers),
        ],
        "as the owner (SET ROLE)": [f'SET LOCAL ROLE "{owner}"'],
        "after taking the table over": [f"ALTER TABLE {table} OWNER TO CURRENT_USER"],
        "after granting itself the privileges": [f"GRANT UPDATE, DELETE, TRUNCATE ON {table} TO CURRENT_USER"],
        "after making itself a superuser": ["ALTER ROLE CURRENT_USER SUPERUSER"],
    }


TAMPERING = {
    "UPDATE": "UPDATE {table} SET id = id",
    "DELETE": "DELETE FROM {table}",
    "TRUNCATE": "TRUNCATE {table}",
}


def attempt(conn: psycopg.Connection[Any], setup: list[str], tampering: str) -> Exception | None:
    """Run the trick's statements (each may be refused), then the tampering; what refused it, if anything."""
    refused: Exception | None = None
    try:
        with conn.transaction():
            for statement in setup:
                try:
                    with conn.transaction():  # a savepoint: a refused trick does not stop the attempt
                        conn.execute(statement)
                except psycopg.Error:
                    pass
            conn.execute(tampering)
            raise _RolledBack
    except _RolledBack:
        pass
    except psycopg.Error as error:
        refused = error
    return refused


class _RolledBack(Exception):
    """Undoes a tampering that went through, so that the next attempt starts from the same rows."""


def test_the_owner_of_the_access_log_can_switch_its_triggers_off(audited: Case) -> None:
    """What the runtime role guards against: the owner of the access log can switch its protection off."""
    with backup.connect(connection.settings_dict) as owner:
        for name in ["plainly", "as the owner (SET ROLE)"]:
            refused = attempt(owner, tricks("audit_accesslog")[name], "UPDATE audit_accesslog SET username = 'x'")
            assert isinstance(refused, errors.RaiseException), name
        for name in [
            "ignoring its triggers (pgtrigger.ignore)",
            "as a replica (session_replication_role)",
            "with its triggers disabled",
            "with its triggers dropped",
            "with the trigger functions replaced",
        ]:
            assert attempt(owner, tricks("audit_accesslog")[name], "UPDATE audit_accesslog SET username = 'x'") is None
    assert not AccessLog.objects.filter(username="x").exists()


@pytest.mark.parametrize(
    "trick",
    [
        "plainly",
        "ignoring its triggers (pgtrigger.ignore)",
        "as a replica (session_replication_role)",
        "with its triggers disabled",
        "with its triggers dropped",
        "with the trigger functions replaced",
        "as the owner (SET ROLE)",
        "after taking the table over",
        "after granting itself the privileges",
        "after making itself a superuser",
    ],
)
def test_the_runtime_role_cannot_rewrite_the_audit_trail(
    trick: str, audited: Case, as_runtime: psycopg.Connection[Any]
) -> None:
    tables = append_only_tables()
    assert {"audit_accesslog", "reports_snapshot", "cases_caseevent", "cases_noteevent"} <= set(tables)
    before = {table: contents(table) for table in tables}
    triggers_before = scalar("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgtrigger_%%' AND tgenabled = 'O'")
    let_through = []
    for table in tables:
        for what, statement in TAMPERING.items():
            refused = attempt(as_runtime, tricks(table)[trick], statement.format(table=table))
            if not isinstance(refused, errors.InsufficientPrivilege):
                let_through.append(f"{what} {table}: {refused or 'went through'}")
    assert let_through == []
    assert {table: contents(table) for table in tables} == before
    after = scalar("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pgtrigger_%%' AND tgenabled = 'O'")
    assert after == triggers_before
    assert scalar("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [as_runtime.info.user]) is False


def test_the_tricks_themselves_are_refused(audited: Case, as_runtime: psycopg.Connection[Any]) -> None:
    for name, setup in tricks("audit_accesslog").items():
        for statement in setup:
            if name in ("ignoring its triggers (pgtrigger.ignore)", "after granting itself the privileges"):
                continue  # anyone may set a variable, or grant nothing; the tampering itself is refused above
            with pytest.raises(errors.InsufficientPrivilege), as_runtime.transaction():
                as_runtime.execute(statement)


def test_the_runtime_role_reads_and_appends(
    audited: Case, runtime_role: str, personas: dict[str, User], as_runtime: psycopg.Connection[Any]
) -> None:
    worker = personas["worker"]
    logged, history = AccessLog.objects.count(), scalar("SELECT count(*) FROM cases_noteevent")
    with django_connected_as(runtime_role):
        assert scalar("SELECT current_user") == runtime_role
        note_add(actor=worker, case=audited, text="Written by the app's own role")
        snapshot_create(organisation=worker.organisation, month=add_months(date.today().replace(day=1), -2))
        assert Snapshot.objects.count() == 2
        assert AccessLog.objects.count() > logged
    assert Note.objects.filter(text="Written by the app's own role").exists()
    assert scalar("SELECT count(*) FROM cases_noteevent") == history + 1
    assert as_runtime.execute("SELECT count(*) FROM audit_accesslog").fetchone() == (AccessLog.objects.count(),)


def test_retention_erases_history_text_as_the_runtime_role(personas: dict[str, User], runtime_role: str) -> None:
    now = timezone.now()
    worker = personas["worker"]
    old = make_case(worker, "alpha", closed_months_ago=30, supervisor=personas["supervisor"], now=now)
    held = make_case(worker, "bravo", closed_months_ago=30, now=now)
    still_open = make_case(worker, "charlie", closed_months_ago=None, now=now)
    legal_hold_set(actor=personas["administrator"], case=held.case, reason="Court order")
    policy = retention_policy_for(worker.organisation)
    assert erasable_counts(policy, [old.case.pk])[old.case.pk]["history_rows"] > 0

    with django_connected_as(runtime_role):
        outcome = retention_apply(organisation=worker.organisation, now=now)
        # The function erases only closed cases that are not on legal hold, whatever the caller asks.
        with connection.cursor() as cursor:
            for table in ("cases_noteevent", "cases_caseevent", "referrals_takedownitemevent"):
                cursor.execute("SELECT retention_erase_history(%s, %s)", [table, [held.case.pk, still_open.case.pk]])
                assert cursor.fetchone() == (0,)

    assert outcome.cases == 1
    assert erasable_counts(policy, [old.case.pk])[old.case.pk] == {}
    for text in old.texts.values():
        assert tables_holding(text) == [], text
    for made in (held, still_open):
        assert "cases_noteevent" in tables_holding(made.texts["note"])
        assert "cases_caseevent" in tables_holding(made.texts["incident_description"])


def test_the_narrow_functions_are_the_runtime_roles_alone(
    audited: Case, runtime_role: str, as_runtime: psycopg.Connection[Any]
) -> None:
    function = "retention_erase_history(text, bigint[])"
    assert scalar("SELECT has_function_privilege('public', %s, 'EXECUTE')", [function]) is False
    assert scalar("SELECT has_function_privilege(%s, %s, 'EXECUTE')", [runtime_role, function]) is True
    assert scalar("SELECT prosecdef FROM pg_proc WHERE oid = %s::regprocedure", [function]) is True
    with pytest.raises(errors.InvalidParameterValue), as_runtime.transaction():
        as_runtime.execute("SELECT retention_erase_history('audit_accesslog', ARRAY[1]::bigint[])")


def test_the_runtime_role_writes_the_statistics_store(audited: Case, runtime_role: str) -> None:
    with django_connected_as(runtime_role):
        assert rollups_refresh() is True


def test_every_migrate_grants_the_runtime_role_again(
    audited: Case, runtime_role: str, as_runtime: psycopg.Connection[Any], settings: Any
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'REVOKE ALL ON cases_case, audit_accesslog FROM "{runtime_role}"')
    with pytest.raises(errors.InsufficientPrivilege), as_runtime.transaction():
        as_runtime.execute("SELECT count(*) FROM cases_case")

    settings.DATABASE_URL = backup.database_url(settings_as(runtime_role))
    call_command("migrate", verbosity=0)

    assert as_runtime.execute("SELECT count(*) FROM cases_case").fetchone() == (1,)
    assert as_runtime.execute("SELECT count(*) > 0 FROM audit_accesslog").fetchone() == (True,)
    with pytest.raises(errors.InsufficientPrivilege), as_runtime.transaction():
        as_runtime.execute("DELETE FROM audit_accesslog")


def test_a_privileged_role_is_reported_and_the_runtime_role_is_not(audited: Case, runtime_role: str) -> None:
    problems = runtime_role_problems(connection)  # the suite's own role: the owner, a superuser
    assert any("superuser" in problem for problem in problems)
    assert any("append-only tables" in problem for problem in problems)
    with django_connected_as(runtime_role):
        assert runtime_role_problems(connection) == []


def run_in_production(database: dict[str, Any], code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "HELPLINE_DB_ROLE"))}
    env.update(
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="helpline.example.org",
        DATABASE_URL=backup.database_url(database),
    )
    env.pop("DATABASE_OWNER_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_run_as_a_role_that_could_rewrite_the_audit(audited: Case, runtime_role: str) -> None:
    query = "from audit.models import AccessLog; print('rows', AccessLog.objects.count())"
    as_owner = run_in_production(connection.settings_dict, query)
    assert as_owner.returncode != 0
    assert "could rewrite or switch off the append-only audit trail: it is a superuser" in as_owner.stderr
    assert "rows" not in as_owner.stdout

    as_app = run_in_production(settings_as(runtime_role), query)
    assert as_app.returncode == 0, as_app.stderr
    assert f"rows {AccessLog.objects.count()}" in as_app.stdout


@pytest.fixture
def scratch_database() -> Iterator[dict[str, Any]]:
    name = f"helpline_restore_{secrets.token_hex(4)}"
    with backup.connect(connection.settings_dict, dbname="postgres") as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {**connection.settings_dict, "NAME": name}
    finally:
        with backup.connect(connection.settings_dict, dbname="postgres") as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_a_restore_grants_the_runtime_role_and_nothing_more(
    audited: Case, runtime_role: str, scratch_database: dict[str, Any], settings: Any, tmp_path: Any
) -> None:
    dump = backup.backup(connection.settings_dict, tmp_path)
    settings.DATABASE_URL = backup.database_url(settings_as(runtime_role))
    lines: list[str] = []
    backup.restore(dump, scratch_database, out=lines.append)
    assert f'Privileges given to the runtime role "{runtime_role}"' in lines

    with backup.connect({**scratch_database, "USER": runtime_role, "PASSWORD": ""}) as restored:
        assert restored.execute("SELECT count(*) FROM cases_case").fetchone() == (1,)
        with pytest.raises(errors.InsufficientPrivilege), restored.transaction():
            restored.execute("DELETE FROM audit_accesslog")
        # Restored without the dump's privileges: the erasure function is the runtime role's alone again.
        public = restored.execute(
            "SELECT has_function_privilege('public', 'retention_erase_history(text, bigint[])', 'EXECUTE')"
        ).fetchone()
        assert public == (False,)


def test_the_runtime_role_cannot_skip_the_history_or_closure_triggers(
    personas: dict[str, User], as_runtime: psycopg.Connection[Any]
) -> None:
    """The attack: with every pgtrigger trigger ignored, lower a critical case's risk, clear its mark, rewrite it."""
    case = case_open(actor=personas["worker"], facts={"risk_level": "critical"})
    history = scalar("SELECT count(*) FROM cases_caseevent WHERE pgh_obj_id = %s", [case.pk])
    with as_runtime.transaction():
        as_runtime.execute(sql.SQL("SET LOCAL pgtrigger.ignore = {}").format(sql.Literal(all_pgtrigger_triggers())))
        as_runtime.execute(
            "UPDATE cases_case SET risk_level = 'low', closure_needs_approval = false, "
            "incident_description = 'rewritten' WHERE id = %s",
            [case.pk],
        )
    case.refresh_from_db()
    assert case.closure_needs_approval  # the mark stays
    assert scalar("SELECT count(*) FROM cases_caseevent WHERE pgh_obj_id = %s", [case.pk]) == history + 1


def test_the_owner_may_still_skip_triggers_for_bulk_loads(personas: dict[str, User], runtime_role: str) -> None:
    case = case_open(actor=personas["worker"], facts={"risk_level": "low"})
    history = scalar("SELECT count(*) FROM cases_caseevent WHERE pgh_obj_id = %s", [case.pk])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL pgtrigger.ignore = %s", [all_pgtrigger_triggers()])
        cursor.execute("UPDATE cases_case SET offender_count = 2 WHERE id = %s", [case.pk])
    assert scalar("SELECT count(*) FROM cases_caseevent WHERE pgh_obj_id = %s", [case.pk]) == history


def test_who_made_a_change_cannot_be_rewritten_by_the_runtime_role(
    audited: Case, as_runtime: psycopg.Connection[Any]
) -> None:
    with pghistory.context(user=audited.created_by_id, url="/cases/"):
        note_add(actor=audited.created_by, case=audited, text="A note made on a page")
    context = scalar("SELECT id::text FROM pghistory_context ORDER BY created_at DESC LIMIT 1")
    for rewrite in (
        "UPDATE pghistory_context SET metadata = jsonb_set(metadata, '{user}', '4') WHERE id = %s",
        "UPDATE pghistory_context SET metadata = '{}'::jsonb WHERE id = %s",
        "UPDATE pghistory_context SET created_at = now() - interval '1 year' WHERE id = %s",
    ):
        with pytest.raises(errors.RaiseException, match="may grow, never change"), as_runtime.transaction():
            as_runtime.execute(rewrite, [context])
    with as_runtime.transaction():  # what pghistory itself does within one context: add to it
        as_runtime.execute(
            "UPDATE pghistory_context SET metadata = metadata || '{\"step\": 2}' WHERE id = %s", [context]
        )
