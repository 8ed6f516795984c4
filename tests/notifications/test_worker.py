"""A real worker process, killed with SIGKILL in the middle of the reminder task, then a fresh one.

Each worker is a separate ``celery worker`` process on a queue of its own, reading the test
database and writing e-mails to files, so that messages sent by any process can be counted.
The kill lands at a known point: the test holds a lock that the worker's next statement waits
for, and kills the worker once PostgreSQL shows it waiting. A killed message is redelivered by
Redis only after the visibility timeout and never by the filesystem broker, so, as beat would,
the test enqueues the task again for the fresh worker. Either way the result must be one
notification and one e-mail per overdue item.
"""

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection, transaction

from accounts.models import User
from notifications import services
from notifications.models import Notification
from notifications.tasks import send_reminders
from tests.notifications.conftest import open_case, overdue_step
from tests.workers import database_url_for_workers, log_shows_all_done, queued, wait_for, wait_until_settled

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ITEMS = 5


class Workers:
    def __init__(self, tmp: Path) -> None:
        self.queue = f"notif-test-{uuid.uuid4().hex[:12]}"
        # The default queue, and the reminders queue that the e-mails are sent to (helpline/celery.py).
        self.queues = [self.queue, f"{self.queue}.reminders"]
        self.mail_dir = tmp / "mail"
        self.mail_dir.mkdir()
        self.tmp = tmp
        self.running: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def start(self) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DATABASE_URL": database_url_for_workers(),
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "EMAIL_URL": f"filemail:///{self.mail_dir}",
        }
        log = self.tmp / f"worker-{len(self.running)}.log"
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"),
                "-A",
                "helpline",
                "worker",
                "--pool=solo",
                "-Q",
                ",".join(self.queues),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
                f"--hostname={self.queue}-{len(self.running)}@%h",
            ],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append(process)
        self.logs.append(log)
        assert wait_for(lambda: "ready." in log.read_text()), log.read_text()
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def idle(self) -> bool:
        """Nothing left in the queue, and the newest worker has finished every task it took."""
        return not queued(*self.queues) and log_shows_all_done(self.logs[-1].read_text())

    def wait_until_idle(self) -> None:
        """Until any duplicate that was coming has come."""
        assert wait_until_settled(self.idle), self.logs[-1].read_text()

    def mails(self) -> list[str]:
        """The subject of every message any worker wrote."""
        return [
            line
            for path in self.mail_dir.iterdir()
            for line in path.read_text().splitlines()
            if line.startswith("Subject: ")
        ]


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    found = Workers(tmp_path)
    try:
        yield found
    finally:
        found.stop_all()


@pytest.fixture
def overdue(owners: dict[str, User]) -> list[int]:
    case = open_case(owners["worker"])
    return [overdue_step(case, code=f"notif-worker-{n}").pk for n in range(ITEMS)]


def waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else a transaction sees the same activity throughout
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def assert_exactly_one_each(workers: Workers, steps: list[int]) -> None:
    assert wait_for(
        lambda: not Notification.objects.filter(emailed_at__isnull=True).exists() and len(workers.mails()) >= ITEMS
    ), workers.mails()
    workers.wait_until_idle()
    assert sorted(Notification.objects.values_list("step_id", flat=True)) == sorted(steps)
    mails = workers.mails()
    assert len(mails) == ITEMS, mails


def test_a_worker_killed_while_creating_reminders(workers: Workers, overdue: list[int]) -> None:
    first = workers.start()
    with transaction.atomic():
        # Held until the worker is dead: its INSERT waits for it.
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Notification._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
        send_reminders.apply_async(queue=workers.queue)
        assert wait_for(waiting_on_a_lock), "the worker never reached the INSERT"
        workers.kill(first)
    assert not Notification.objects.exists()  # a dead worker commits nothing

    workers.start()
    send_reminders.apply_async(queue=workers.queue)  # the next beat run
    assert_exactly_one_each(workers, overdue)


def test_a_worker_killed_while_sending_emails(workers: Workers, overdue: list[int]) -> None:
    assert services.reminders_create() == ITEMS
    ids = list(Notification.objects.order_by("id").values_list("pk", flat=True))
    first = workers.start()
    with transaction.atomic():
        # This e-mail's claim waits for the row lock. Redis hands out the e-mails in order, so two
        # have gone by then; the filesystem broker's order is loose, so any number may have.
        Notification.objects.select_for_update().get(pk=ids[2])
        send_reminders.apply_async(queue=workers.queue)
        assert wait_for(waiting_on_a_lock), "the worker never reached the claim"
        sent_before_the_kill = len(workers.mails())
        assert sent_before_the_kill < ITEMS
        workers.kill(first)
    assert wait_for(lambda: not waiting_on_a_lock())  # the dead worker's claim is rolled back
    assert Notification.objects.filter(emailed_at__isnull=False).count() == sent_before_the_kill
    assert Notification.objects.get(pk=ids[2]).emailed_at is None

    workers.start()
    send_reminders.apply_async(queue=workers.queue)  # the next beat run
    assert_exactly_one_each(workers, overdue)
