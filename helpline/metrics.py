"""Prometheus metrics at ``/metrics``, for the operators' monitoring: never a case, a person or a reference.

- Each request's server time and database time, by the name of its view (``case_detail``, never ``/cases/123/``),
  method and status class: ``MetricsMiddleware``.
- Each Celery task's run time and outcome, by task name, counted in the worker; a worker with
  ``CELERY_METRICS_PORT`` answers them on that port (docker-compose.yml: 9808), for Prometheus to scrape.
- Read when scraped: the messages waiting in each Celery queue, the age of the last heartbeat taken by a worker of
  each queue, the age of the statistics store, the reminders e-mailed in the last day.

Under gunicorn, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder of the web container and ``WEB_METRICS_PORT``
(docker-compose.yml does, 9808): every process writes its request figures there and the gunicorn master answers
them for the whole container on that port, on the internal network (gunicorn.conf.py). ``/metrics`` then answers
the figures read when scraped alone, which are the same whichever container answers.

The endpoint answers 404 unless the request carries ``Authorization: Bearer <METRICS_TOKEN>`` or comes from an
address of ``METRICS_NETWORKS``: it is no page of the app.
"""

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from celery.signals import task_postrun, task_prerun, worker_ready
from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from helpline.celery import app, queue_names
from helpline.client_address import client_address

SECONDS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30)
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
REQUEST_SECONDS = Histogram(
    "helpline_request_seconds", "Server time of a request.", ["view", "method", "status"], buckets=SECONDS
)
DATABASE_SECONDS = Histogram(
    "helpline_request_database_seconds", "Time a request spent in database queries.", ["view"], buckets=SECONDS
)


TASKS = Counter("helpline_celery_tasks", "Celery tasks run, by outcome.", ["task", "outcome"])
TASK_SECONDS = Histogram("helpline_celery_task_seconds", "Run time of a Celery task.", ["task"], buckets=SECONDS)
_started: dict[str, float] = {}


@task_prerun.connect
def _task_started(task_id: str, **kwargs: Any) -> None:
    _started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(task_id: str, task: Any, state: str | None = None, **kwargs: Any) -> None:
    start = _started.pop(task_id, None)
    if start is not None:
        TASK_SECONDS.labels(task.name).observe(time.perf_counter() - start)
    TASKS.labels(task.name, (state or "unknown").lower()).inc()


@worker_ready.connect
def _serve_worker_metrics(**kwargs: Any) -> None:
    """A worker answers its tasks' figures on CELERY_METRICS_PORT, those of every pool process with
    PROMETHEUS_MULTIPROC_DIR."""
    port = int(os.environ.get("CELERY_METRICS_PORT") or 0)
    if not port:
        return
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    start_http_server(port, registry=registry)


def timing_queries(into: list[float]) -> Callable[..., Any]:
    """An execute wrapper (``connection.execute_wrapper``) adding each query's seconds to ``into``."""

    def timed(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            into.append(time.perf_counter() - start)

    return timed


class MetricsMiddleware:
    """Times each request, and its database queries, by the name of the view that answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        in_database: list[float] = []
        start = time.perf_counter()
        with connection.execute_wrapper(timing_queries(in_database)):
            response = self.get_response(request)
        match = request.resolver_match
        view = (match.view_name or "unnamed") if match else "unmatched"
        method = request.method if request.method in METHODS else "other"
        status = f"{response.status_code // 100}xx"
        REQUEST_SECONDS.labels(view, method, status).observe(time.perf_counter() - start)
        DATABASE_SECONDS.labels(view).observe(sum(in_database))
        return response


class StateCollector(Collector):
    """What is read when Prometheus scrapes: queues, heartbeats, the statistics store, reminders."""

    def collect(self) -> Iterator[Metric]:
        from health.models import Heartbeat
        from notifications.models import Notification
        from reports.models import RollupRefresh

        now = timezone.now()
        waiting = GaugeMetricFamily("helpline_queue_messages", "Messages waiting in a Celery queue.", labels=["queue"])
        try:
            with app.connection_for_read() as broker:
                channel = broker.default_channel
                for queue in queue_names():  # declared as the workers declare them; an empty queue counts 0
                    waiting.add_metric([queue], channel.queue_declare(queue=queue).message_count)
        except Exception:  # noqa: S110 - the broker down: /healthz says so, and the metric is left out
            pass
        yield waiting

        beats = GaugeMetricFamily(
            "helpline_worker_heartbeat_age_seconds",
            "Seconds since a worker of the queue took the last heartbeat.",
            labels=["queue"],
        )
        for queue, at in Heartbeat.objects.last_by_queue().items():
            beats.add_metric([queue], (now - at).total_seconds())
        yield beats

        refreshed = RollupRefresh.objects.aggregate(last=Max("started_at"))["last"]
        age = GaugeMetricFamily("helpline_statistics_age_seconds", "Seconds since the statistics store was refreshed.")
        if refreshed:
            age.add_metric([], (now - refreshed).total_seconds())
        yield age

        emailed = Notification.objects.filter(emailed_at__gte=now - timedelta(days=1)).count()
        yield GaugeMetricFamily(
            "helpline_reminders_emailed_last_day", "Reminders and notifications e-mailed in the last 24 hours.", emailed
        )


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    address = ipaddress.ip_address(client_address(request))
    return any(address in ipaddress.ip_network(network) for network in settings.METRICS_NETWORKS)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        raise Http404
    state = CollectorRegistry()
    state.register(StateCollector())
    figures = generate_latest(state)
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # one process: its request figures too
        figures = generate_latest(REGISTRY) + figures
    return HttpResponse(figures, content_type=CONTENT_TYPE_LATEST)
