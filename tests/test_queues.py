"""Reminders and digests have a queue of their own, imports and exports another: a long import never holds up a
reminder. The workers here are real ``celery worker`` processes, started as make run starts them."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from accounts.models import User
from helpline.celery import app, queue_name, queue_names
from imports.models import ImportJob, ImportStatus
from imports.services import LOCK_CLASS
from notifications.models import Notification
from notifications.tasks import send_reminders
from tests.imports.helpers import as_csv, row, upload
from tests.notifications.conftest import open_case, overdue_step
from tests.workers import database_url_for_workers, purge, wait_for

ON_THE_DEFAULT_QUEUE = {"health.tasks.heartbeat"}


def queue_of(task: str) -> str:
    return app.amqp.router.route({}, task)["queue"].name


def test_each_task_goes_to_the_queue_of_its_kind() -> None:
    default = app.conf.task_default_queue
    assert queue_of("notifications.tasks.send_reminders") == f"{default}.reminders"
    assert queue_of("notifications.tasks.send_supervisor_digests") == f"{default}.reminders"
    assert queue_of("notifications.tasks.send_notification_email") == f"{default}.reminders"
    assert queue_of("imports.tasks.import_process") == f"{default}.bulk"
    assert queue_of("reports.tasks.report_export") == f"{default}.bulk"
    assert queue_of("reports.tasks.refresh_statistics") == f"{default}.bulk"
    assert queue_of("health.tasks.heartbeat") == default
    # A heartbeat goes to the queue it checks.
    for kind in ("reminders", "bulk"):
        assert app.amqp.router.route({}, "health.tasks.heartbeat", (), {"queue": kind})["queue"].name == queue_name(
            kind
        )
    assert queue_names() == [default, f"{default}.bulk", f"{default}.reminders"]


def test_every_task_of_the_project_has_chosen_its_queue() -> None:
    """A new task says in settings.TASK_QUEUES which queue it belongs to, or is added here to stay on the default."""
    app.loader.import_default_modules()
    ours = {name for name in app.tasks if not name.startswith("celery.")}
    assert ours == set(settings.TASK_QUEUES) | ON_THE_DEFAULT_QUEUE
    for task, kind in settings.TASK_QUEUES.items():
        assert queue_of(task) == queue_name(kind)


def test_an_explicit_queue_wins_over_the_route() -> None:
    assert app.amqp.router.route({"queue": "elsewhere"}, "imports.tasks.import_process")["queue"].name == "elsewhere"


class Workers:
    """Two worker processes on a default queue of their own: one takes the default queue and the reminders, the other
    the imports and exports, one task at a time each."""

    def __init__(self, tmp: Path) -> None:
        self.queue = f"queues-test-{uuid.uuid4().hex[:12]}"
        self.tmp = tmp
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *kinds: str) -> Path:
        env = {**os.environ, "DATABASE_URL": database_url_for_workers(), "CELERY_TASK_DEFAULT_QUEUE": self.queue}
        queues = ",".join(queue_names(*kinds))  # this process's default queue is the workers' (fixture below)
        log = self.tmp / f"{name}.log"
        command = [str(Path(sys.executable).parent / "celery"), "-A", "helpline", "worker", "--concurrency=1"]
        options = ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
        process = subprocess.Popen(
            [*command, "-Q", queues, *options, f"--hostname={name}-{self.queue}@%h"],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append(process)
        assert wait_for(lambda: "ready." in log.read_text(), seconds=60), log.read_text()
        return log

    def stop_all(self) -> None:
        for process in self.running:
            process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    """The workers, and this process sending to their queues as it would to its own."""
    found = Workers(tmp_path)
    own = app.conf.task_default_queue
    app.conf.task_default_queue = found.queue
    try:
        yield found
    finally:
        found.stop_all()
        purge(*queue_names())
        app.conf.task_default_queue = own


def waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        found = cursor.fetchone()
    return bool(found and found[0])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reminder_is_sent_while_an_import_is_still_running(workers: Workers, personas: dict[str, User]) -> None:
    """The import is held in the middle of its first batch by the lock that keeps an organisation's imports one at a
    time; the reminder goes through the other worker meanwhile."""
    workers.start("reminders", "default", "reminders")
    bulk_log = workers.start("bulk", "bulk")
    supervisor = personas["supervisor"]
    User.objects.filter(pk=personas["worker"].pk).update(email="alice@example.org")
    steps = [overdue_step(open_case(personas["worker"]), code=f"queues-{n}") for n in range(2)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, supervisor.organisation_id])
    try:
        job = upload(supervisor, as_csv([row(reference="QUEUED-1"), row(reference="QUEUED-2")]))  # sent on commit
        assert wait_for(waiting_on_a_lock, seconds=60), bulk_log.read_text()
        assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.IMPORTING

        send_reminders.delay()
        assert wait_for(
            lambda: Notification.objects.filter(step__in=steps, emailed_at__isnull=False).count() == len(steps),
            seconds=60,
        )
        assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.IMPORTING
        assert waiting_on_a_lock()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, supervisor.organisation_id])
    assert wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == ImportStatus.DONE, seconds=60)
