"""``make run``: migrate, load the demo data, then web, worker and beat together.

Without DATABASE_URL this process starts the embedded PostgreSQL once, passes
its URLs to the three processes and stops it after they have stopped, so the
database is never left running behind Ctrl-C. Migrations run as the owner of the
tables (DATABASE_OWNER_URL); the demo data, web, worker and beat as the runtime
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
PROCESSES = {
    "web": f"{BIN}/python manage.py runserver 127.0.0.1:{PORT}",
    "worker": f"{BIN}/celery -A helpline worker --loglevel=INFO --concurrency=2",
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
    # The demo data, web, worker and beat connect as the runtime role and never see the owner's URL.
    env.pop("DATABASE_OWNER_URL", None)
    env["HELPLINE_DB_ROLE"] = "runtime"
    subprocess.run([*manage, "seed_demo"], env=env, check=True)
    print(f"\nStarting web on http://127.0.0.1:{PORT}, a Celery worker and Celery beat. Ctrl-C stops all three.\n")
    manager = Manager()
    for name, command in PROCESSES.items():
        manager.add_process(name, command, env=env)
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
