from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu import Connection

from health.models import Heartbeat
from helpline.celery import app

pytestmark = pytest.mark.django_db


def test_healthy(client: Client) -> None:
    Heartbeat.objects.create(task_id="t")
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert (body["database"], body["broker"]) == ("ok", "ok")
    assert 0 <= body["worker_heartbeat_age_seconds"] < 60


def test_the_heartbeat_of_each_queue_is_reported(client: Client) -> None:
    """A worker of the bulk queue that stopped shows, while the others' heartbeats are fresh."""
    Heartbeat.objects.create(task_id="a", queue="default")
    Heartbeat.objects.create(task_id="b", queue="reminders")
    old = Heartbeat.objects.create(task_id="c", queue="bulk")
    Heartbeat.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(minutes=20))
    queues = client.get(reverse("healthz")).json()["queues"]
    assert set(queues) == {"default", "reminders", "bulk"}
    assert queues["default"] < 60 and queues["reminders"] < 60
    assert 20 * 60 <= queues["bulk"] < 21 * 60


def test_beat_sends_a_heartbeat_to_every_queue(settings: Any) -> None:
    sent = {
        entry.get("kwargs", {}).get("queue")
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "health.tasks.heartbeat"
    }
    assert sent == {"default", *settings.TASK_QUEUES.values()}


def test_broker_down_is_503(client: Client, monkeypatch: Any) -> None:
    # A broker address where nothing listens.
    monkeypatch.setattr(app, "connection_for_write", lambda: Connection("redis://127.0.0.1:1/0"))
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["broker"] == "down"


def test_database_down_is_503(client: Client, monkeypatch: Any) -> None:
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", "1")
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", {"connect_timeout": 2})
    try:
        response = client.get(reverse("healthz"))
    finally:
        connection.close()
    assert response.status_code == 503
    assert response.json()["database"] == "down"
