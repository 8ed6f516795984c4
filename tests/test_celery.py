"""A real worker consumes the configured broker (the filesystem queue, or Redis on CI)."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_prerun
from django.db import transaction

from health.models import Heartbeat
from health.tasks import heartbeat
from helpline.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker() -> Iterator[list[str]]:
    """A worker thread on the test queue; yields the ids of the tasks it starts."""
    app.control.purge()
    started: list[str] = []

    def record(task_id: str, **kwargs: Any) -> None:
        started.append(task_id)

    task_prerun.connect(record, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield started
    finally:
        task_prerun.disconnect(record)


def wait_for(condition: Any, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_task_enqueued_in_a_rolled_back_transaction_never_runs(worker: list[str]) -> None:
    with transaction.atomic():
        heartbeat.delay_on_commit()
        transaction.set_rollback(True)
    with transaction.atomic():
        heartbeat.delay_on_commit()  # the marker: once this one ran, the first would have too

    assert wait_for(lambda: Heartbeat.objects.exists())
    time.sleep(2)
    assert len(worker) == 1
    assert Heartbeat.objects.count() == 1


def test_task_enqueued_in_a_committed_transaction_runs_once(worker: list[str]) -> None:
    with transaction.atomic():
        heartbeat.delay_on_commit()
        assert not worker  # nothing is sent before the commit
    assert wait_for(lambda: Heartbeat.objects.exists())
    time.sleep(2)
    assert len(worker) == 1
    assert list(Heartbeat.objects.values_list("task_id", flat=True)) == worker


def test_a_redelivered_heartbeat_records_nothing_new() -> None:
    heartbeat.apply(task_id="same-message")
    heartbeat.apply(task_id="same-message")
    assert Heartbeat.objects.filter(task_id="same-message").count() == 1


def test_celery_settings_are_safe() -> None:
    conf = app.conf
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
