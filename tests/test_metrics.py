"""/metrics: request and database time by view, queues, heartbeats, the statistics store and reminders, for the
monitoring system alone, and never a case, a person or a reference in a label."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases import services
from health.models import Heartbeat
from notifications.models import Notification
from reports.models import RollupRefresh

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-of-the-monitoring-system-0123456789"


@pytest.fixture
def monitoring(settings: Any) -> Client:
    settings.METRICS_TOKEN = TOKEN
    return Client(headers={"Authorization": f"Bearer {TOKEN}"})


def test_only_the_monitoring_system_reads_the_metrics(settings: Any, client_for: Any) -> None:
    settings.METRICS_TOKEN = TOKEN
    assert Client().get(reverse("metrics")).status_code == 404
    assert Client(headers={"Authorization": f"Bearer {TOKEN[:-1]}"}).get(reverse("metrics")).status_code == 404
    assert client_for("administrator").get(reverse("metrics")).status_code == 404  # no page of the app's users
    assert Client(headers={"Authorization": f"Bearer {TOKEN}"}).get(reverse("metrics")).status_code == 200

    settings.METRICS_TOKEN = ""
    assert Client(headers={"Authorization": "Bearer "}).get(reverse("metrics")).status_code == 404
    settings.METRICS_NETWORKS = ["127.0.0.0/8"]  # the test client's address
    assert Client().get(reverse("metrics")).status_code == 200
    settings.METRICS_NETWORKS = ["10.0.0.0/8"]
    assert Client().get(reverse("metrics")).status_code == 404


def test_requests_are_timed_by_view_never_by_what_they_name(monitoring: Client, client_for: Any, personas: Any) -> None:
    case = services.case_open(actor=personas["worker"], facts={"risk_level": "low"})
    worker = client_for("worker")
    assert worker.get(reverse("case_detail", args=[case.pk])).status_code == 200
    assert worker.get(f"{reverse('case_list')}?reference={case.reference}").status_code == 200
    text = monitoring.get(reverse("metrics")).content.decode()
    assert 'helpline_request_seconds_count{method="GET",status="2xx",view="case_detail"}' in text
    assert 'helpline_request_database_seconds_count{view="case_list"}' in text
    assert case.reference not in text and f"/cases/{case.pk}/" not in text and "alice" not in text


def test_the_state_is_read_when_scraped(monitoring: Client, personas: Any) -> None:
    now = timezone.now()
    old = Heartbeat.objects.create(task_id="b", queue="bulk")
    Heartbeat.objects.filter(pk=old.pk).update(received_at=now - timedelta(minutes=10))
    RollupRefresh.objects.create(started_at=now - timedelta(seconds=40))
    Notification.objects.create(
        recipient=personas["worker"],
        kind="supervisor_digest",
        subject_key=f"digest:{personas['worker'].pk}",
        day=now.date(),
        text="Digest",
        emailed_at=now,
    )
    text = monitoring.get(reverse("metrics")).content.decode()
    age = next(
        line for line in text.splitlines() if line.startswith('helpline_worker_heartbeat_age_seconds{queue="bulk"}')
    )
    assert 600 <= float(age.split()[-1]) < 660
    statistics = next(line for line in text.splitlines() if line.startswith("helpline_statistics_age_seconds "))
    assert 40 <= float(statistics.split()[-1]) < 100
    assert "helpline_reminders_emailed_last_day 1.0" in text
    assert "helpline_queue_messages{queue=" in text


def test_a_worker_counts_its_tasks_by_name_and_outcome(task_worker: Any) -> None:
    from prometheus_client import REGISTRY

    from health.tasks import heartbeat
    from tests.workers import wait_for

    task = {"task": "health.tasks.heartbeat"}

    def done(outcome: str) -> float:
        return REGISTRY.get_sample_value("helpline_celery_tasks_total", {**task, "outcome": outcome}) or 0.0

    succeeded, failed = done("success"), done("failure")
    heartbeat.delay()
    assert wait_for(lambda: done("success") == succeeded + 1)
    heartbeat.apply(args=[1, 2, 3])  # a call the task cannot take
    assert done("failure") == failed + 1
    assert (REGISTRY.get_sample_value("helpline_celery_task_seconds_count", task) or 0) >= 2
