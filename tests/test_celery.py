"""A real worker consumes the configured broker (the filesystem queue, or Redis on CI)."""

import pytest
from django.db import transaction

from health.models import Heartbeat
from health.tasks import heartbeat
from helpline.celery import app
from tests.workers import TaskWorker, wait_for

# serialized_rollback: the migrations' data (roles, age schemes) stay for the transactional tests that come after.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_task_enqueued_in_a_rolled_back_transaction_never_runs(task_worker: TaskWorker) -> None:
    with transaction.atomic():
        heartbeat.delay_on_commit()
        transaction.set_rollback(True)
    with transaction.atomic():
        heartbeat.delay_on_commit()  # the marker: once this one ran, the first would have too

    assert wait_for(lambda: Heartbeat.objects.exists())
    task_worker.wait_until_idle()
    assert len(task_worker.started) == 1
    assert Heartbeat.objects.count() == 1


def test_task_enqueued_in_a_committed_transaction_runs_once(task_worker: TaskWorker) -> None:
    with transaction.atomic():
        heartbeat.delay_on_commit()
        assert not task_worker.started  # nothing is sent before the commit
    assert wait_for(lambda: Heartbeat.objects.exists())
    task_worker.wait_until_idle()
    assert len(task_worker.started) == 1
    assert list(Heartbeat.objects.values_list("task_id", flat=True)) == task_worker.started


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
