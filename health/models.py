from datetime import datetime

from django.db import models


class HeartbeatQuerySet(models.QuerySet["Heartbeat"]):
    def last_by_queue(self) -> dict[str, datetime]:
        """When a worker of each kind of queue last took a heartbeat."""
        return dict(self.values("queue").annotate(last=models.Max("received_at")).values_list("queue", "last"))


class Heartbeat(models.Model):
    """Written by a worker for each heartbeat beat sends to its kind of queue, so /healthz can tell beat and the
    workers of each queue are alive."""

    task_id = models.CharField(max_length=64, unique=True)
    queue = models.CharField(max_length=32, default="default")  # the kind of queue: default, reminders, bulk
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = HeartbeatQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"heartbeat {self.task_id} at {self.received_at:%Y-%m-%d %H:%M:%S}"
