import os
import resource
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpline.settings")

app = Celery("helpline")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def limit_memory(**_kwargs: Any) -> None:
    """Give each pool process a memory ceiling (its address space): a task that asks for more gets a MemoryError and
    fails, where it would otherwise take the whole machine down. The solo pool sends this signal too, in the worker's
    own process."""
    from django.conf import settings

    if settings.WORKER_MAX_MEMORY_MB:
        ceiling = settings.WORKER_MAX_MEMORY_MB * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
