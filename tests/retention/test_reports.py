"""Statistics give the same figures before and after a purge: erasing never touches what reports count."""

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import User
from cases.models import Term
from devtools.generator import generate_cases
from reports.engine import Params, add_months, build_report
from reports.rollups import rollups_refresh
from retention import services
from tests.retention.conftest import make_case

pytestmark = pytest.mark.django_db


def figures(params: Params, *, use_rollups: bool) -> list[dict[str, Any]]:
    """Every table of the report, true counts and derived values (percentages, medians, changes) alike."""
    return [asdict(table) for table in build_report(params, use_rollups=use_rollups).tables]


def test_report_figures_are_unchanged_by_a_purge(personas: dict[str, User], now: datetime) -> None:
    worker, supervisor = personas["worker"], personas["supervisor"]
    organisation = worker.organisation
    today = timezone.localdate()
    this_month = date(today.year, today.month, 1)
    start = add_months(this_month, -48)
    generate_cases(organisation=organisation, workers=[worker, supervisor], count=400, start=start, end=today, seed=5)
    make_case(worker, "alpha", closed_months_ago=30, supervisor=supervisor, now=now)
    make_case(worker, "bravo", closed_months_ago=26, now=now)
    make_case(worker, "charlie", closed_months_ago=3, now=now)
    instagram = Term.objects.get(vocabulary="platform", code="instagram")
    reports = [
        Params(organisations=(organisation.pk,), start=start, end=this_month),
        Params(organisations=(organisation.pk,), start=start, end=this_month, granularity="year", age_limits=(10, 14)),
        Params(organisations=(organisation.pk,), start=start, end=this_month, platform=instagram.pk),
    ]
    rollups_refresh()
    before = [figures(params, use_rollups=False) for params in reports]
    before_rollups = figures(reports[0], use_rollups=True)

    outcome = services.retention_apply(organisation=organisation, now=now)

    # A purge of substance: many cases, every kind of content.
    assert outcome.cases > 100
    for key in ("notes", "incident_description", "offender_identifiers", "takedown_links", "referral_notes"):
        assert outcome.counts[key] > 0, key
    rollups_refresh()
    after = [figures(params, use_rollups=False) for params in reports]
    assert after == before
    assert figures(reports[0], use_rollups=True) == before_rollups
    counted = {table["key"]: sum(map(sum, table["counts"])) for table in before[0]}
    assert counted["new_cases"] > 400
    assert counted["takedown_items"] > 0
    assert counted["referrals"] > 0
