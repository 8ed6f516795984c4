from celery import shared_task

from notifications import selectors, services
from notifications.models import Kind


@shared_task
def send_reminders() -> int:
    """Beat: create today's reminders, then e-mail every one not yet sent (a crashed run's included)."""
    created = services.reminders_create()
    for notification_id in selectors.notifications_to_email():
        send_notification_email.delay_on_commit(notification_id)
    return created


@shared_task
def send_notification_email(notification_id: int) -> None:
    services.notification_send_email(notification_id=notification_id)


@shared_task
def send_supervisor_digests() -> int:
    """Beat, daily: each supervisor's digest, then its e-mail; a second run, or a crashed one's rerun, adds nothing."""
    created = services.digests_create()
    for notification_id in selectors.notifications_to_email(kinds=[Kind.SUPERVISOR_DIGEST]):
        send_notification_email.delay_on_commit(notification_id)
    return created
