"""gunicorn's settings file, read from the working directory (the checkout, /app in the image): what a web process
does once it can serve. Everything else is set on the command line (docker/entrypoint.sh)."""

import logging
import os
import threading
from typing import Any


def post_worker_init(worker: Any) -> None:
    """Take in the statistics store in the background (reports.store.warm_up), not at the first report."""
    threading.Thread(target=_warm_up, name="statistics-warm-up", daemon=True).start()


def _warm_up() -> None:
    from django.db import connections

    from reports.store import warm_up

    try:
        warm_up()
    except Exception:  # logged as the app logs (helpline/logs.py), never by the thread's own handler
        logging.getLogger("reports.store").exception("The statistics store could not be taken in at start")
    finally:
        connections.close_all()  # this thread's own connection


def when_ready(server: Any) -> None:
    """The request figures of every process of this container (helpline/metrics.py), on WEB_METRICS_PORT, for
    Prometheus to scrape each web container on the internal network."""
    port = int(os.environ.get("WEB_METRICS_PORT") or 0)
    if port and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import CollectorRegistry, multiprocess, start_http_server

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(port, registry=registry)


def child_exit(server: Any, worker: Any) -> None:
    """A process gone: its Prometheus figures stop counting as live (helpline/metrics.py)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
