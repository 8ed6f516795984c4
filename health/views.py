from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from health.models import Heartbeat
from helpline.celery import app, queue_kinds


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker answer, 503 when either does not.

    The age of the last heartbeat taken by a worker of each queue is reported (``worker_heartbeat_age_seconds``
    for the default queue, ``queues`` for each) but does not fail the check: the web process stays useful while
    workers restart.
    """
    database = _database_ok()
    broker = _broker_ok()
    body: dict[str, Any] = {
        "database": "ok" if database else "down",
        "broker": "ok" if broker else "down",
    }
    if database:
        now = timezone.now()
        last = Heartbeat.objects.last_by_queue()
        ages = {queue: round((now - last[queue]).total_seconds()) if queue in last else None for queue in queue_kinds()}
        body["worker_heartbeat_age_seconds"] = ages["default"]
        body["queues"] = ages
    return JsonResponse(body, status=200 if database and broker else 503)
