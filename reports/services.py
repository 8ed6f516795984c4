"""Report exports made in the background: asked for on a page, made by a Celery task."""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from audit.models import Action
from audit.services import access_log_record
from reports.engine import Params
from reports.exports import FORMATS, render_report
from reports.models import Export, ExportStatus
from reports.publishing import published_for
from reports.replica import ReplicaUnavailable
from reports.selectors import organisations_for_reports

logger = logging.getLogger(__name__)

# Runs of one export: one that stops the worker each time (killed for its memory, say) is not handed out for ever.
MAX_ATTEMPTS = 3


class ExportRefused(Exception):
    """The person who asked may no longer read these statistics."""


@transaction.atomic
def export_request(*, user: User, params: Params, format: str, request: HttpRequest | None = None) -> Export:
    """Queue an export of the report for the user; the task starts once this transaction commits."""
    from reports.tasks import report_export

    if format not in FORMATS:
        raise ValueError(f"Unknown export format {format!r}")
    export = Export.objects.create(user=user, parameters=params.as_json(), format=format)
    access_log_record(
        action=Action.EXPORT,
        request=request,
        actor=user,
        obj=export,
        detail={"parameters": params.as_json(), "format": format, "background": True},
    )
    report_export.delay_on_commit(export.pk)
    return export


def export_run(*, export_id: int) -> bool:
    """Make the file of one export; returns whether this call made it.

    The claim is a conditional update, so a second delivery of the task finds the export taken and
    does nothing. A claim older than the task time limit belongs to a worker that is gone (no task
    runs longer), so a redelivered task takes it over instead of leaving the export running forever.
    Each claim counts as an attempt: the one after MAX_ATTEMPTS ends the export as failed instead.
    """
    stale = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    claimed = Export.objects.filter(
        Q(status=ExportStatus.PENDING) | Q(status=ExportStatus.RUNNING, created_at__lt=stale), pk=export_id
    ).update(status=ExportStatus.RUNNING, progress=0, error="", attempts=F("attempts") + 1)
    if not claimed:
        return False
    export = Export.objects.select_related("user").get(pk=export_id)
    # The file and any failure are for the person who asked, in their language.
    with translation.override(export.user.interface_language):
        if export.attempts > MAX_ATTEMPTS:
            logger.error("Report export %s stopped its worker %s times: not tried again", export_id, MAX_ATTEMPTS)
            _fail(
                export_id,
                _(
                    "The worker stopped while making this export, %(times)s times. It is not tried again: ask for "
                    "a smaller report, or ask an administrator."
                )
                % {"times": MAX_ATTEMPTS},
            )
            return False
        return _made(export)


def export_claim_expiry(*, export_id: int) -> datetime | None:
    """When a running export may be taken over by a new delivery; None if it is not running (see
    imports.services.import_claim_expiry: a task handed out again at once after its worker died looks again then)."""
    created = (
        Export.objects.filter(pk=export_id, status=ExportStatus.RUNNING).values_list("created_at", flat=True).first()
    )
    return created + timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 5) if created else None


def _made(export: Export) -> bool:
    export_id = export.pk

    def progress(done: int, total: int) -> None:
        # 100 is kept for the moment the file is stored.
        percent = min(99, done * 100 // total) if total else 0
        Export.objects.filter(pk=export_id, status=ExportStatus.RUNNING).update(progress=percent)

    try:
        content = _content(export, progress)
    except (ExportRefused, ReplicaUnavailable) as refusal:
        _fail(export_id, str(refusal))
        return False
    except Exception:
        logger.exception("Report export %s failed", export_id)
        _fail(export_id, _("The export could not be made. Try again, or ask an administrator if it fails again."))
        return False
    Export.objects.filter(pk=export_id, status=ExportStatus.RUNNING).update(
        status=ExportStatus.DONE, progress=100, content=content, finished_at=timezone.now()
    )
    return True


def _content(export: Export, progress: Any) -> bytes:
    """The file, disclosure-controlled as the person who asked would see it now, not when they asked."""
    user = export.user
    params = Params.from_json(export.parameters)
    allowed = set(organisations_for_reports(user).values_list("pk", flat=True)) if user.is_active else set()
    if not set(params.organisations) <= allowed:
        raise ExportRefused(_("You may no longer read the statistics of these organisations."))
    report, tables, suppressed = published_for(user, params, progress=progress)  # read on the replica, if any
    return render_report(export.format, tables, params, generated_at=report.generated_at, suppressed=suppressed)


def _fail(export_id: int, message: str) -> None:
    Export.objects.filter(pk=export_id, status=ExportStatus.RUNNING).update(
        status=ExportStatus.FAILED, error=message[:300], finished_at=timezone.now()
    )
