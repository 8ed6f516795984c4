from celery import shared_task

from reports import services, snapshots, store


@shared_task
def report_export(export_id: int) -> bool:
    """Make the file of a report export; a second delivery does nothing."""
    if services.export_run(export_id=export_id):
        return True
    # Taken by another run, which may have died with its worker: look again once its claim is stale.
    if (expiry := services.export_claim_expiry(export_id=export_id)) is not None:
        report_export.apply_async((export_id,), eta=expiry)
    return False


@shared_task
def refresh_statistics() -> bool:
    """Beat: write again the statistics of the months whose cases changed (reports/store.py)."""
    return store.store_refresh()


@shared_task
def make_monthly_snapshots() -> int:
    """Beat, daily: last month's snapshot of every organisation that has none yet."""
    return snapshots.snapshots_monthly()
