from celery import shared_task

from drafts import services


@shared_task
def delete_expired_drafts() -> int:
    """Beat: drafts and kept forms past their time are deleted."""
    return services.drafts_delete_expired()
