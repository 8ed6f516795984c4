import os
import resource
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")

app = Celery("helpline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def queue_name(kind: str) -> str:
    """The broker's name of a kind of queue: "default" is CELERY_TASK_DEFAULT_QUEUE, any other kind is that name
    followed by the kind ("helpline.reminders", "helpline.bulk")."""
    default = app.conf.task_default_queue
    return default if kind == "default" else f"{default}.{kind}"


def queue_kinds() -> list[str]:
    """Every kind of queue: "default" and the kinds settings.TASK_QUEUES names."""
    return ["default", *sorted(set(settings.TASK_QUEUES.values()))]


def queue_names(*kinds: str) -> list[str]:
    """The names of these kinds of queue, of every kind if none is given: what a worker's ``--queues`` lists."""
    return [queue_name(kind) for kind in kinds or queue_kinds()]


HEARTBEAT = "health.tasks.heartbeat"


def route_task(name: str, args: Any = (), kwargs: Any = None, *rest: Any, **options: Any) -> dict[str, str] | None:
    """CELERY_TASK_ROUTES: a task of settings.TASK_QUEUES to the queue of its kind, any other to the default queue;
    a heartbeat to the queue it is sent to check (its ``queue``). The name is made when the task is sent, so a
    process that changes its default queue moves the others too."""
    kind = settings.TASK_QUEUES.get(name) or (name == HEARTBEAT and (kwargs or {}).get("queue")) or None
    return {"queue": queue_name(kind)} if kind else None


@worker_process_init.connect
def limit_memory(**_kwargs: Any) -> None:
    """Give each pool process a memory ceiling (its address space): a task that asks for more gets a MemoryError and
    fails, where it would otherwise take the whole machine down. The solo pool sends this signal too, in the worker's
    own process."""
    if settings.WORKER_MAX_MEMORY_MB:
        ceiling = settings.WORKER_MAX_MEMORY_MB * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))


@worker_init.connect
def count_tasks(**_kwargs: Any) -> None:
    """Each task's run time and outcome (helpline/metrics.py), counted in the worker: importing it connects them."""
    import helpline.metrics  # noqa: F401
