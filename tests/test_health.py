from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
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
