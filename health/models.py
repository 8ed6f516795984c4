from django.db import models


class Heartbeat(models.Model):
    """Written by a worker for each heartbeat beat sends, so /healthz can tell both are alive."""

    task_id = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"heartbeat {self.task_id} at {self.received_at:%Y-%m-%d %H:%M:%S}"
