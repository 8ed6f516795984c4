from celery import shared_task

from imports import services


@shared_task
def import_process(job_id: int) -> bool:
    """Check and import an uploaded file; a second delivery does nothing, a redelivery after a crash goes on."""
    return services.import_run(job_id=job_id)
