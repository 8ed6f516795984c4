"""The monthly report of each organisation, kept as an immutable snapshot."""

from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from accounts.models import Organisation
from reports.engine import Params, add_months, build_report, publish_report
from reports.models import AgeScheme, DisclosureMethod, Snapshot

DEFAULT_SCHEME = "guidance"


def monthly_title(month: date) -> str:
    return f"Monthly report {month:%Y-%m}"


def snapshot_create(*, organisation: Organisation, month: date) -> Snapshot | None:
    """The month's report of the organisation, from the live tables; None if it was already made."""
    title = monthly_title(month)
    if Snapshot.objects.filter(organisation=organisation, title=title).exists():
        return None
    scheme = AgeScheme.objects.filter(code=DEFAULT_SCHEME).first()
    params = Params(
        organisations=(organisation.pk,),
        start=month,
        end=month,
        granularity="month",
        age_scheme=scheme.code if scheme else "custom",
        age_limits=tuple(scheme.limits) if scheme else (13, 18),
    )
    # Kept unchanged and read by everyone: its titles and labels are in the site's language.
    with translation.override(settings.LANGUAGE_CODE):
        report = build_report(params, use_rollups=False)
        tables = [table.as_json() for table in publish_report(report, suppressed=False)]
        tables_suppressed = [table.as_json() for table in publish_report(report, suppressed=True)]
    try:
        with transaction.atomic():
            return Snapshot.objects.create(
                organisation=organisation,
                title=title,
                parameters=params.as_json(),
                threshold=settings.DISCLOSURE_THRESHOLD,
                method=DisclosureMethod.CELL_KEY,
                perturbation=settings.DISCLOSURE_PERTURBATION,
                tables=tables,
                tables_suppressed=tables_suppressed,
            )
    except IntegrityError:
        return None  # made meanwhile by another run


def snapshots_monthly(*, today: date | None = None) -> int:
    """Last month's snapshot for every organisation that has none yet; returns how many were made."""
    today = today or timezone.localdate()
    month = add_months(date(today.year, today.month, 1), -1)
    return sum(
        snapshot_create(organisation=organisation, month=month) is not None
        for organisation in Organisation.objects.order_by("pk")
    )
