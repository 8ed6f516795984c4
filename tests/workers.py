"""Celery workers for the tests, and waiting on what they do instead of on the clock."""

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun, task_prerun
from celery.worker import state
from django.db import connection

from helpline.celery import app, queue_names


def database_url_for_workers() -> str:
    """The test database as a URL for another process, over TCP or the embedded server's socket."""
    s = connection.settings_dict
    host = s["HOST"] or s["OPTIONS"].get("host", "")
    credentials = quote(s["USER"] or "") + (f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else "")
    if not host or host.startswith("/"):
        return f"postgres://{credentials}@/{s['NAME']}" + (f"?host={quote(host)}" if host else "")
    return f"postgres://{credentials}@{host}{':' + str(s['PORT']) if s['PORT'] else ''}/{s['NAME']}"


def wait_for(condition: Callable[[], Any], seconds: float = 30, interval: float = 0.05) -> bool:
    """True as soon as ``condition()`` is; False if it still is not after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def wait_until_settled(idle: Callable[[], bool], seconds: float = 30) -> bool:
    """``idle()`` twice in a row, a moment apart: a message just taken from the queue, not yet counted as
    received, looks idle for an instant only."""

    def twice() -> bool:
        if not idle():
            return False
        time.sleep(0.1)
        return idle()

    return wait_for(twice, seconds)


def queued(*queues: str) -> int:
    """The messages waiting in these queues of the broker (by default in every test queue of this process)."""
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        return sum(int(channel.queue_declare(queue=queue).message_count) for queue in queues or queue_names())


def purge(*queues: str) -> None:
    """Empty these queues of the broker (by default every test queue of this process)."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in queues or queue_names():
            channel.queue_declare(queue=queue)
            channel.queue_purge(queue)


@dataclass
class TaskWorker:
    """A worker thread in the test process: the ids of the tasks it has started and finished, in order."""

    started: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)

    def idle(self) -> bool:
        """Nothing in the queue, nothing taken from it and not yet run, nothing running."""
        running = len(self.started) != len(self.finished)
        return not running and not state.reserved_requests and not state.active_requests and not queued()

    def wait_until_idle(self, seconds: float = 30) -> None:
        """Until whatever was sent, and whatever that sent in turn, has run."""
        assert wait_until_settled(self.idle, seconds), f"the worker was still busy after {seconds} s"

    def wait_until_finished(self, task_id: str, seconds: float = 30) -> None:
        assert wait_for(lambda: task_id in self.finished, seconds), f"task {task_id} did not finish in {seconds} s"


@contextmanager
def worker_thread() -> Iterator[TaskWorker]:
    """A solo worker on every test queue, emptied first of what earlier tests left."""
    purge()
    worker = TaskWorker()

    def started(task_id: str, **kwargs: Any) -> None:
        worker.started.append(task_id)

    def finished(task_id: str, **kwargs: Any) -> None:
        worker.finished.append(task_id)

    task_prerun.connect(started, weak=False)
    task_postrun.connect(finished, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30, queues=queue_names()):
            yield worker
    finally:
        task_prerun.disconnect(started)
        task_postrun.disconnect(finished)


# "Task name[id] received", then "... succeeded in", "... raised unexpected", "... retry" and the like.
TASK_LOG_LINE = re.compile(r"Task [\w.]+\[([\w-]+)\] (\w+)")


def log_shows_all_done(log: str) -> bool:
    """Whether a worker's log (at INFO) shows an end for every task it received."""
    received: Counter[str] = Counter()
    ended: Counter[str] = Counter()
    for task_id, what in TASK_LOG_LINE.findall(log):
        (received if what == "received" else ended)[task_id] += 1
    return all(ended[task_id] >= count for task_id, count in received.items())
