from celery import shared_task

from reports import rollups, services, snapshots


@shared_task
def report_export(export_id: int) -> bool:
    """Make the file of a report export; a second delivery does nothing."""
    return services.export_run(export_id=export_id)


@shared_task
def refresh_rollups() -> bool:
    """Beat: recount the monthly rollups that unfiltered reports read."""
    return rollups.rollups_refresh()


@shared_task
def make_monthly_snapshots() -> int:
    """Beat, daily: last month's snapshot of every organisation that has none yet."""
    return snapshots.snapshots_monthly()
