from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from notifications.models import Notification

# Reminders whose e-mail has not gone out are retried for this long, then left to the app alone.
EMAIL_RETRY_WINDOW = timedelta(days=1)


def notifications_for(user: Any) -> QuerySet[Notification]:
    """A user's own notifications; nobody sees anyone else's, whatever their role."""
    return Notification.objects.filter(recipient=user)


def unread_count(user: Any) -> int:
    return notifications_for(user).filter(read_at__isnull=True).count()


def notifications_to_email() -> list[int]:
    return list(
        Notification.objects.filter(
            emailed_at__isnull=True, created_at__gte=timezone.now() - EMAIL_RETRY_WINDOW, recipient__is_active=True
        )
        .exclude(recipient__email="")
        .order_by("id")
        .values_list("pk", flat=True)
    )
