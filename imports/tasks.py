from celery import shared_task

from imports import services


@shared_task
def import_process(job_id: int) -> bool:
    """Check and import an uploaded file; a second delivery does nothing, a redelivery after a crash goes on."""
    if services.import_run(job_id=job_id):
        return True
    # Taken by another run, which may have died with its worker: look again once its claim is stale.
    if (expiry := services.import_claim_expiry(job_id=job_id)) is not None:
        import_process.apply_async((job_id,), eta=expiry)
    return False
