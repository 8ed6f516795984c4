"""The nightly run through a real Celery worker, and two runs at the same time."""

import threading
import time
from datetime import datetime

import pytest
from django.conf import settings
from django.db import connection, transaction

from accounts.models import User
from audit.models import AccessLog, Action
from cases.models import Case
from retention import services, tasks
from retention.tasks import apply_retention, apply_retention_for
from tests.retention.conftest import make_case
from tests.workers import TaskWorker, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]


def erased_case_ids() -> list[str]:
    return list(AccessLog.objects.filter(action=Action.ERASE).values_list("object_id", flat=True))


def test_the_nightly_task_is_scheduled() -> None:
    assert settings.CELERY_BEAT_SCHEDULE["retention"]["task"] == "retention.tasks.apply_retention"


def test_the_nightly_task_erases_every_organisation_through_a_worker(
    personas: dict[str, User], now: datetime, task_worker: TaskWorker
) -> None:
    home = make_case(personas["worker"], "alpha", closed_months_ago=30, now=now)
    other = make_case(personas["other_worker"], "bravo", closed_months_ago=30, now=now)
    kept = make_case(personas["worker"], "charlie", closed_months_ago=2, now=now)

    apply_retention.delay()

    expected = sorted([str(home.case.pk), str(other.case.pk)])
    assert wait_for(lambda: sorted(erased_case_ids()) == expected)
    task_worker.wait_until_idle()
    assert sorted(erased_case_ids()) == expected
    assert Case.objects.get(pk=kept.case.pk).incident_description == kept.texts["incident_description"]


def test_a_task_near_its_time_limit_goes_on_in_a_new_one(
    personas: dict[str, User], now: datetime, task_worker: TaskWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "TIME_BUDGET_SECONDS", -1)  # out of time after every batch
    monkeypatch.setattr(tasks, "BATCH_SIZE", 1)
    made = [make_case(personas["worker"], name, closed_months_ago=30, now=now) for name in NAMES[:3]]

    apply_retention_for.delay(personas["worker"].organisation_id)

    expected = sorted(str(m.case.pk) for m in made)
    assert wait_for(lambda: sorted(erased_case_ids()) == expected)
    task_worker.wait_until_idle()
    assert sorted(erased_case_ids()) == expected


def test_a_redelivered_task_erases_and_logs_nothing_new(personas: dict[str, User], now: datetime) -> None:
    make_case(personas["worker"], "alpha", closed_months_ago=30, now=now)
    organisation_id = personas["worker"].organisation_id
    assert apply_retention_for.apply(args=[organisation_id], task_id="same").get() == 1
    assert apply_retention_for.apply(args=[organisation_id], task_id="same").get() == 0
    assert apply_retention_for.apply(args=[987654]).get() == 0  # an organisation that is gone
    assert len(erased_case_ids()) == 1


def test_two_runs_at_once_erase_each_case_once(personas: dict[str, User], now: datetime) -> None:
    worker = personas["worker"]
    made = [make_case(worker, name, closed_months_ago=30, now=now) for name in NAMES]
    start = threading.Barrier(2)
    outcomes: list[services.Outcome] = []

    def run() -> None:
        try:
            start.wait(10)
            outcomes.append(services.retention_apply(organisation=worker.organisation, now=now, batch_size=2))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sum(outcome.cases for outcome in outcomes) == len(made)
    assert sorted(erased_case_ids()) == sorted(str(m.case.pk) for m in made)


def test_a_case_another_run_holds_is_skipped_without_waiting(personas: dict[str, User], now: datetime) -> None:
    worker = personas["worker"]
    busy = make_case(worker, "alpha", closed_months_ago=30, now=now)
    free = make_case(worker, "bravo", closed_months_ago=30, now=now)
    locked, release = threading.Event(), threading.Event()

    def hold_the_row() -> None:
        try:
            with transaction.atomic():
                Case.objects.select_for_update().get(pk=busy.case.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        first = services.retention_apply(organisation=worker.organisation, now=now)
        assert time.monotonic() - started < 10
    finally:
        release.set()
        holder.join(30)
    assert erased_case_ids() == [str(free.case.pk)]
    assert first.cases == 1
    assert services.retention_apply(organisation=worker.organisation, now=now).cases == 1
    assert sorted(erased_case_ids()) == sorted([str(free.case.pk), str(busy.case.pk)])
