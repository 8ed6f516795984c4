from datetime import timedelta

from celery import Task, shared_task
from django.utils import timezone

from health.models import Heartbeat

KEEP = timedelta(days=1)


@shared_task(bind=True)
def heartbeat(self: Task, queue: str = "default") -> None:
    """Record that a heartbeat went from beat through the broker to a worker of this kind of queue (routed there
    by helpline.celery.route_task).

    Keyed by the message's task id, so a redelivered message records nothing new.
    """
    Heartbeat.objects.get_or_create(task_id=self.request.id, defaults={"queue": queue})
    Heartbeat.objects.filter(received_at__lt=timezone.now() - KEEP).delete()
