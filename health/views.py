from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from health.models import Heartbeat
from helpline.celery import app


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

    The age of the last worker heartbeat is reported but does not fail the check:
    the web process stays useful while workers restart.
    """
    database = _database_ok()
    broker = _broker_ok()
    body: dict[str, Any] = {
        "database": "ok" if database else "down",
        "broker": "ok" if broker else "down",
    }
    if database:
        last = Heartbeat.objects.values_list("received_at", flat=True).first()
        body["worker_heartbeat_age_seconds"] = round((timezone.now() - last).total_seconds()) if last else None
    return JsonResponse(body, status=200 if database and broker else 503)
