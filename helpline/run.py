"""``make run``: migrate, load the demo data, then web, worker and beat together.

Without DATABASE_URL this process starts the embedded PostgreSQL once, passes
its URL to the three processes and stops it after they have stopped, so the
database is never left running behind Ctrl-C.
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
        from helpline.embedded import embedded_database_url

        env["DATABASE_URL"] = embedded_database_url(Path(env.get("HELPLINE_VAR_DIR", BASE_DIR / "var")))
    manage = [str(BIN / "python"), "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, check=True)
    subprocess.run([*manage, "seed_demo"], env=env, check=True)
    print(f"\nStarting web on http://127.0.0.1:{PORT}, a Celery worker and Celery beat. Ctrl-C stops all three.\n")
    manager = Manager()
    for name, command in PROCESSES.items():
        manager.add_process(name, command, env=env)
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
