"""Without DATABASE_URL the project runs its own PostgreSQL, keeps its data and stops it afterwards.

Migrations run as its superuser, the app as a role that owns nothing (audit/database_roles.py).
"""

import os
import subprocess
import sys
from pathlib import Path

import psutil
from django.conf import settings


def manage(var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_ENV", "HELPLINE_DB_ROLE")}
    env["HELPLINE_VAR_DIR"] = str(var_dir)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def postgres_running_on(pgdata: Path) -> bool:
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(pgdata) in " ".join(process.info["cmdline"] or []):
            return True
    return False


def test_embedded_postgres_keeps_its_data_and_stops(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    migrated = manage(var_dir, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    assert (var_dir / "pgdata" / "PG_VERSION").read_text().strip() == "18"

    query = "from django.db import connection; from audit.database_roles import runtime_role_problems; "
    query += "c = connection.cursor(); c.execute('SELECT version(), (SELECT count(*) FROM django_migrations), "
    query += "current_user'); print(*c.fetchone(), runtime_role_problems(connection), sep='|')"
    second = manage(var_dir, "shell", "-c", query)
    assert second.returncode == 0, second.stderr
    version, migrations, user, problems = second.stdout.strip().splitlines()[-1].split("|")
    assert version.startswith("PostgreSQL 18")
    assert int(migrations) > 10  # the first run's schema is still there
    assert (user, problems) == ("helpline_app", "[]")  # the app's role cannot rewrite the audit trail

    assert not postgres_running_on(var_dir / "pgdata")
