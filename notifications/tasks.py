from celery import shared_task

from notifications import selectors, services


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
