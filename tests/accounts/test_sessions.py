"""A request renews the session's idle timeout, writing the session at most once a minute."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.sessions import RENEWAL_SECONDS

pytestmark = pytest.mark.django_db


def session_writes(client: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    return sum('UPDATE "django_session"' in query["sql"] for query in queries)


def test_the_session_is_written_once_a_minute(client_for: Any, settings: Any) -> None:
    client = client_for("worker")
    key = client.session.session_key
    assert session_writes(client) == 0  # saved a moment ago, at login

    # A minute on, the next request renews it for the whole idle timeout...
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + timedelta(seconds=29 * 60 - 1))
    assert session_writes(client) == 1
    renewed = Session.objects.get(pk=key).expire_date
    assert renewed > timezone.now() + timedelta(seconds=settings.SESSION_IDLE_TIMEOUT - RENEWAL_SECONDS)

    # ...and the ones right after it do not write it again.
    assert session_writes(client) == 0
    assert Session.objects.get(pk=key).expire_date == renewed
