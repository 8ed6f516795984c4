import time

from celery import shared_task
from django.conf import settings

from accounts.models import Organisation
from retention import services

# Stop taking new batches well before the task's time limit; the rest goes on in a new task.
TIME_BUDGET_SECONDS = max(60, settings.CELERY_TASK_SOFT_TIME_LIMIT - 120)
BATCH_SIZE = services.BATCH_SIZE


@shared_task
def apply_retention() -> int:
    """Beat, nightly: one task per organisation applies its retention policy."""
    organisation_ids = list(Organisation.objects.order_by("pk").values_list("pk", flat=True))
    for organisation_id in organisation_ids:
        apply_retention_for.delay_on_commit(organisation_id)
    return len(organisation_ids)


@shared_task
def apply_retention_for(organisation_id: int, after: int = 0) -> int:
    """Erase what the organisation's policy says, from the case after ``after`` on.

    A second delivery finds nothing left and does nothing; a run that nears the time limit goes on
    in a new task from where it stopped.
    """
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        return 0
    outcome = services.retention_apply(
        organisation=organisation,
        after=after,
        batch_size=BATCH_SIZE,
        deadline=time.monotonic() + TIME_BUDGET_SECONDS,
    )
    if not outcome.finished:
        apply_retention_for.delay_on_commit(organisation_id, outcome.after)
    return outcome.cases
