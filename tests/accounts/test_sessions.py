"""A request renews the session's idle timeout, writing the session at most once a minute; with a shared cache,
sessions are read from it and written through to the database."""

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.sessions import RENEWAL_SECONDS, RENEWED_AT

pytestmark = pytest.mark.django_db

REDIS = os.environ.get("CELERY_BROKER_URL", "")


def shared_cache() -> dict[str, Any]:
    """Redis, on the broker's server, in a database of its own."""
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS.rsplit("/", 1)[0] + "/15",
        }
    }


@pytest.fixture(params=["accounts.sessions", "accounts.cached_sessions"])
def engine(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "accounts.sessions":
        yield request.param
        return
    if not REDIS.startswith("redis://"):
        pytest.skip("the shared cache is Redis, and CELERY_BROKER_URL names none")
    with override_settings(SESSION_ENGINE=request.param, CACHES=shared_cache()):
        yield request.param


def session_queries(client: Any) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    return [query["sql"] for query in queries if '"django_session"' in query["sql"]]


def a_minute_passes(client: Any) -> None:
    session = client.session
    session[RENEWED_AT] = time.time() - RENEWAL_SECONDS
    session.save()


def test_the_session_is_written_once_a_minute(engine: str, client_for: Any, settings: Any) -> None:
    client = client_for("worker")
    key = client.session.session_key
    assert not any(sql.startswith("UPDATE") for sql in session_queries(client))  # saved a moment ago, at login

    # A minute on, the next request renews it for the whole idle timeout...
    a_minute_passes(client)
    Session.objects.filter(pk=key).update(
        expire_date=timezone.now() + timedelta(seconds=settings.SESSION_IDLE_TIMEOUT - RENEWAL_SECONDS)
    )
    assert sum(sql.startswith("UPDATE") for sql in session_queries(client)) == 1
    renewed = Session.objects.get(pk=key).expire_date
    assert renewed > timezone.now() + timedelta(seconds=settings.SESSION_IDLE_TIMEOUT - RENEWAL_SECONDS)

    # ...and the ones right after it do not write it again.
    assert not any(sql.startswith("UPDATE") for sql in session_queries(client))
    assert Session.objects.get(pk=key).expire_date == renewed


def test_a_shared_cache_serves_the_session_and_a_logout_ends_it_everywhere(client_for: Any) -> None:
    if not REDIS.startswith("redis://"):
        pytest.skip("the shared cache is Redis, and CELERY_BROKER_URL names none")
    with override_settings(SESSION_ENGINE="accounts.cached_sessions", CACHES=shared_cache()):
        client = client_for("worker")
        session_queries(client)
        assert session_queries(client) == []  # read from the cache alone

        # The same browser's cookie in another process: logging out in one ends the session in both.
        elsewhere = Client()
        elsewhere.cookies = client.cookies
        client.post(reverse("logout"))
        assert elsewhere.get(reverse("home")).status_code == 302


def test_an_expired_session_signs_nobody_in(engine: str, client_for: Any) -> None:
    client = client_for("worker")
    assert client.get(reverse("home")).status_code == 200
    Session.objects.filter(pk=client.session.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    cache.clear()  # a session in the shared cache is read again from the database
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
