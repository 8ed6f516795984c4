"""`make backup` and `make restore`: every row of every table comes back, and nothing bad goes in.

pg_dump reads the test database from another process, so the data must be committed
(transaction=True); serialized_rollback brings the migrations' data back after the flush.
"""

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyrage
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
    dump = backup.backup(connection.settings_dict, tmp_path, out=lambda line: None)
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
    dump = backup.backup(connection.settings_dict, tmp_path, out=lambda line: None)
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
    dump = backup.backup(connection.settings_dict, tmp_path, out=lambda line: None)
    before = backup.table_counts(connection.settings_dict)

    with pytest.raises(backup.BackupError, match=r"(?s)not empty.*Create an empty database"):
        backup.restore(dump, connection.settings_dict, out=lambda line: None)
    assert backup.table_counts(connection.settings_dict) == before


@pytest.fixture
def key_pair(settings: Any) -> pyrage.x25519.Identity:
    identity = pyrage.x25519.Identity.generate()
    settings.BACKUP_PUBLIC_KEY = str(identity.to_public())
    settings.BACKUP_IDENTITY = ""  # the machine making backups need not have the private key
    return identity


def test_an_encrypted_backup_holds_no_case_data_and_restores_with_the_private_key(
    some_data: Case, key_pair: pyrage.x25519.Identity, settings: Any, scratch_database: dict[str, Any], tmp_path: Path
) -> None:
    dump = backup.backup(connection.settings_dict, tmp_path, out=lambda line: None)
    assert dump.name.endswith(".dump.age")
    content = dump.read_bytes()
    assert content.startswith(b"age-encryption.org/v1") and b"Backed up and restored" not in content
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name or "plain" in p.name]  # no clear copy left

    with pytest.raises(backup.BackupError, match="set BACKUP_IDENTITY"):
        backup.restore(dump, scratch_database, out=lambda line: None)
    settings.BACKUP_IDENTITY = str(pyrage.x25519.Identity.generate())
    with pytest.raises(backup.BackupError, match="cannot be decrypted"):
        backup.restore(dump, scratch_database, out=lambda line: None)
    assert backup.table_counts(scratch_database) == {}

    left = Path(settings.BACKUP_WORK_DIR) / f"{dump.name}.0a1b.plain"  # what a killed restore would leave
    left.write_bytes(b"decrypted case data")
    settings.BACKUP_IDENTITY = (
        f"# created: today\n# public key: {key_pair.to_public()}\n{key_pair}\n"  # age-keygen's file
    )
    restored = backup.restore(dump, scratch_database, out=lambda line: None)
    assert restored == backup.table_counts(connection.settings_dict)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")] and not left.exists()  # no clear copy
    assert list((Path(settings.BACKUP_WORK_DIR)).glob("helpline-*")) == []


def test_one_backup_or_restore_at_a_time(some_data: Case, settings: Any, tmp_path: Path) -> None:
    """A restore drill started during a long backup would otherwise remove the backup's clear copy, or the other
    way round."""
    with backup._clear_workspace(), pytest.raises(backup.BackupError, match="Another backup or restore"):
        backup.backup(connection.settings_dict, tmp_path, out=lambda line: None)
    assert list(tmp_path.iterdir()) == []


def test_production_makes_no_backup_in_the_clear(some_data: Case, settings: Any, tmp_path: Path) -> None:
    settings.PRODUCTION, settings.BACKUP_PUBLIC_KEY = True, ""
    with pytest.raises(backup.BackupError, match="BACKUP_PUBLIC_KEY is not set"):
        backup.backup(connection.settings_dict, tmp_path, out=lambda line: None)
    assert list(tmp_path.iterdir()) == []


def test_the_newest_backups_are_kept(some_data: Case, settings: Any, tmp_path: Path, monkeypatch: Any) -> None:
    settings.BACKUP_KEEP = 2
    made = []
    for second in range(3):
        monkeypatch.setattr(backup, "datetime", type("At", (), {"now": staticmethod(lambda s=second: At(s))}))
        made.append(backup.backup(connection.settings_dict, tmp_path, out=lambda line: None))
    assert backup.backups(tmp_path) == made[1:]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        name for dump in made[1:] for name in (dump.name, f"{dump.name}.sha256", f"{dump.name}.counts.json")
    )


class At:
    """A moment of the backups' clock, a second apart, for their file names."""

    def __init__(self, second: int) -> None:
        self.second = second

    def __format__(self, spec: str) -> str:
        return f"20261206-1200{self.second:02d}"


def test_the_restore_drill_checks_the_newest_backup_and_leaves_no_database(
    some_data: Case, key_pair: pyrage.x25519.Identity, settings: Any, tmp_path: Path
) -> None:
    settings.BACKUP_IDENTITY = str(key_pair)
    dump = backup.backup(connection.settings_dict, tmp_path, out=lambda line: None)
    lines: list[str] = []
    backup.drill(connection.settings_dict, tmp_path, out=lines.append)
    assert lines and "as when it was made" in lines[0]

    counts = backup.counts_path(dump)
    tampered = json.loads(counts.read_text())
    tampered["cases_case"] += 1
    counts.write_text(json.dumps(tampered))
    with pytest.raises(backup.BackupError, match=r"cases_case: 2 when backed up, 1 restored"):
        backup.drill(connection.settings_dict, tmp_path, out=lambda line: None)
    with backup.connect(connection.settings_dict, dbname="postgres") as admin:
        left = admin.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'helpline_drill_%'").fetchone()
    assert left == (0,)
