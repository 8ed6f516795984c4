"""Logs: JSON lines with the request id, which reaches the Celery tasks a request starts; never what a user typed,
even when a request fails with it in an exception."""

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery.signals import task_success
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse
from django_guid import clear_guid, get_guid, set_guid

from cases import services
from cases.models import Case
from health.tasks import heartbeat
from helpline.logs import JsonFormatter, QuietExceptions, TextFormatter
from tests.workers import TaskWorker, wait_for

pytestmark = pytest.mark.django_db

TYPED = "Her name is Giulia Bianchi, 3B at Liceo Manzoni"


@pytest.fixture(params=[JsonFormatter, TextFormatter])
def logged(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """What the app logs, through the formatter and filters of settings.LOGGING."""
    from django_guid.log_filters import CorrelationId

    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(request.param())
    handler.addFilter(CorrelationId())
    handler.addFilter(QuietExceptions())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)


def test_a_failing_request_logs_its_id_and_not_what_was_typed(
    logged: io.StringIO, client_for: Any, personas: Any, monkeypatch: Any
) -> None:
    """PostgreSQL puts the failing row in an error's DETAIL: the note's text would be in the exception's message."""
    case = services.case_open(actor=personas["worker"], facts={"risk_level": "low"})

    def fails(*, text: str, **kwargs: Any) -> None:
        raise IntegrityError(f'new row violates check constraint\nDETAIL:  Failing row contains (1, "{text}")')

    monkeypatch.setattr(services, "note_add", fails)
    client = client_for("worker")
    client.raise_request_exception = False
    request_id = str(uuid.uuid4())
    response = client.post(
        reverse("case_note_add", args=[case.pk]), {"text": TYPED}, headers={"X-Request-ID": request_id}
    )
    assert response.status_code == 500
    assert response["X-Request-ID"] == request_id
    text = logged.getvalue()
    assert "django.db.utils.IntegrityError" in text and "Traceback" in text
    assert request_id in text
    assert "Giulia" not in text and "Manzoni" not in text
    if text.lstrip().startswith("{"):
        entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        failed = next(entry for entry in entries if entry["logger"] == "django.request")
        assert failed["request_id"] == request_id and failed["level"] == "ERROR"
        assert set(failed) == {"time", "level", "logger", "message", "request_id", "exception"}


def test_a_request_id_that_is_not_a_uuid_is_replaced(client: Client) -> None:
    response = client.get(reverse("login"), headers={"X-Request-ID": "forged\nline"})
    assert uuid.UUID(response["X-Request-ID"])


def test_a_task_started_with_a_request_id_runs_with_it(task_worker: TaskWorker) -> None:
    seen: list[str | None] = []

    def record(**kwargs: Any) -> None:
        seen.append(get_guid())

    task_success.connect(record, weak=False)
    request_id = uuid.uuid4().hex
    set_guid(request_id)
    try:
        heartbeat.delay()
        assert wait_for(lambda: seen)
    finally:
        clear_guid()
        task_success.disconnect(record)
    assert seen == [request_id]


def test_celerys_record_of_a_failed_task_names_the_exception_type_only() -> None:
    try:
        raise ValueError(TYPED)
    except ValueError as error:
        record = logging.LogRecord(
            "celery.app.trace",
            logging.ERROR,
            __file__,
            1,
            "Task %(name)s[%(id)s] raised unexpected: %(exc)s",
            None,
            (type(error), error, error.__traceback__),
        )
    record.args = {"name": "imports.tasks.import_process", "id": "1", "exc": repr(ValueError(TYPED))}
    QuietExceptions().filter(record)
    record.correlation_id = None
    for formatter in (JsonFormatter(), TextFormatter()):
        text = formatter.format(record)
        assert "ValueError" in text and "Giulia" not in text


def test_sql_is_never_logged_even_at_debug_level(logged: io.StringIO) -> None:
    """Django logs every query with its parameters at DEBUG when queries are recorded: never here."""
    from django.db import connection

    root = logging.getLogger()
    level, root.level = root.level, logging.DEBUG
    connection.force_debug_cursor = True
    try:
        assert not Case.objects.filter(incident_description=TYPED).exists()
    finally:
        connection.force_debug_cursor = False
        root.level = level
    assert "Giulia" not in logged.getvalue()
