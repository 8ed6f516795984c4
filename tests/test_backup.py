"""`make backup` and `make restore`: every row of every table comes back, and nothing bad goes in.

pg_dump reads the test database from another process, so the data must be committed
(transaction=True); serialized_rollback brings the migrations' data back after the flush.
"""

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from psycopg import sql

from accounts.models import User
from audit.models import AccessLog
from cases.models import Case, ResponseStep
from cases.services import case_open
from helpline import backup

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def scratch_database() -> Iterator[dict[str, Any]]:
    """An empty database on the test server, dropped afterwards; yields its Django settings."""
    source = connection.settings_dict
    name = f"helpline_restore_{secrets.token_hex(4)}"
    with backup.connect(source, dbname="postgres") as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield {**source, "NAME": name}
    finally:
        with backup.connect(source, dbname="postgres") as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def some_data(personas: dict[str, User]) -> Case:
    case = case_open(
        actor=personas["worker"], facts={"incident_description": "Backed up and restored"}, text_decision="keep"
    )
    assert ResponseStep.objects.filter(case=case).exists()
    assert AccessLog.objects.filter(object_id=str(case.pk)).exists()
    return case


def test_restore_brings_back_every_row_of_every_table(
    some_data: Case, scratch_database: dict[str, Any], tmp_path: Path
) -> None:
    dump = backup.backup(connection.settings_dict, tmp_path)
    assert dump.name.startswith("helpline-") and dump.suffix == ".dump"
    digest, name = backup.checksum_path(dump).read_text().split()
    assert (digest, name) == (backup.sha256_of(dump), dump.name)

    lines: list[str] = []
    restored = backup.restore(dump, scratch_database, out=lines.append)

    source = backup.table_counts(connection.settings_dict)
    assert restored == source == backup.table_counts(scratch_database)
    assert {"audit_accesslog", "cases_case", "cases_responsestep", "django_migrations"} <= source.keys()
    assert source["cases_case"] == 1 and source["cases_responsestep"] > 0 and source["audit_accesslog"] > 0
    events = {t: n for t, n in source.items() if t.endswith("event")}
    assert events and any(events.values()), "pghistory event tables"
    assert "manage.py migrate --check --plan: Planned operations: No planned migration operations." in lines


def test_damaged_or_unverifiable_dump_is_refused(
    some_data: Case, scratch_database: dict[str, Any], tmp_path: Path
) -> None:
    dump = backup.backup(connection.settings_dict, tmp_path)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))

    with pytest.raises(backup.BackupError, match="Checksum mismatch"):
        backup.restore(dump, scratch_database, out=lambda line: None)
    backup.checksum_path(dump).unlink()
    with pytest.raises(backup.BackupError, match="No checksum file"):
        backup.restore(dump, scratch_database, out=lambda line: None)
    assert backup.table_counts(scratch_database) == {}


def test_restore_into_a_database_with_tables_is_refused(some_data: Case, tmp_path: Path) -> None:
    dump = backup.backup(connection.settings_dict, tmp_path)
    before = backup.table_counts(connection.settings_dict)

    with pytest.raises(backup.BackupError, match=r"(?s)not empty.*Create an empty database"):
        backup.restore(dump, connection.settings_dict, out=lambda line: None)
    assert backup.table_counts(connection.settings_dict) == before
