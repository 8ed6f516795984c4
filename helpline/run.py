"""``make run``: migrate, load the demo data, then web, the two workers and beat together.

Without DATABASE_URL this process starts the embedded PostgreSQL once, passes
its URLs to the other processes and stops it after they have stopped, so the
database is never left running behind Ctrl-C. Migrations run as the owner of the
tables (DATABASE_OWNER_URL); the demo data, web, workers and beat as the runtime
role (DATABASE_URL), which cannot rewrite the audit trail.
"""

import os
import subprocess
import sys
from pathlib import Path

from honcho.manager import Manager

BASE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PORT = int(os.environ.get("PORT", "8000"))
QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "helpline")  # the default of helpline/settings.py
WORKER = f"{BIN}/celery -A helpline worker --loglevel=INFO --concurrency=1"
# One worker for the default queue and the reminders, one for imports, exports and statistics, so that a long
# import never holds up a reminder (helpline/celery.py); one process each, for a machine of two cores.
PROCESSES = {
    "web": f"{BIN}/python manage.py runserver 127.0.0.1:{PORT}",
    "worker": f"{WORKER} --hostname=default@%h --queues={QUEUE},{QUEUE}.reminders",
    "worker-bulk": f"{WORKER} --hostname=bulk@%h --queues={QUEUE}.bulk",
    "beat": f"{BIN}/celery -A helpline beat --loglevel=INFO",
}


def main() -> int:
    os.chdir(BASE_DIR)
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        from helpline.embedded import embedded_database_urls

        var_dir = Path(env.get("HELPLINE_VAR_DIR", BASE_DIR / "var"))
        env["DATABASE_URL"], env["DATABASE_OWNER_URL"] = embedded_database_urls(var_dir)
    manage = [str(BIN / "python"), "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], env={**env, "HELPLINE_DB_ROLE": "owner"}, check=True)
    # The demo data, web, workers and beat connect as the runtime role and never see the owner's URL.
    env.pop("DATABASE_OWNER_URL", None)
    env["HELPLINE_DB_ROLE"] = "runtime"
    subprocess.run([*manage, "seed_demo"], env=env, check=True)
    print(f"\nStarting web on http://127.0.0.1:{PORT}, two Celery workers and Celery beat. Ctrl-C stops them all.\n")
    manager = Manager()
    for name, command in PROCESSES.items():
        manager.add_process(name, command, env=env)
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
