"""Monthly snapshots: one per organisation and month, made once, never changed, equal to the live report."""

import json
from datetime import date
from typing import Any

import pytest
from django.conf import settings
from django.db import ProgrammingError, transaction
from django.utils import timezone

from accounts.models import Organisation, User
from cases.models import Case
from devtools.generator import generate_cases
from reports.engine import Params, add_months, build_report, publish_report
from reports.models import AgeScheme, Snapshot
from reports.rollups import rollups_refresh
from reports.snapshots import monthly_title, snapshot_create, snapshots_monthly
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


def first_of(day: date) -> date:
    return date(day.year, day.month, 1)


def published(params: Params, *, suppressed: bool, use_rollups: bool = False) -> list[dict[str, Any]]:
    report = build_report(params, use_rollups=use_rollups)
    return json.loads(json.dumps([table.as_json() for table in publish_report(report, suppressed=suppressed)]))


@pytest.fixture
def cases(personas: dict[str, User]) -> dict[str, Organisation]:
    """Cases of both organisations over the last three months (so last month has some of each)."""
    home, other = personas["worker"].organisation, personas["other_worker"].organisation
    today = timezone.localdate()
    start = add_months(first_of(today), -2)
    generate_cases(
        organisation=home,
        workers=[personas["worker"], personas["supervisor"]],
        count=80,
        start=start,
        end=today,
        seed=8,
    )
    generate_cases(organisation=other, workers=[personas["other_worker"]], count=30, start=start, end=today, seed=9)
    return {"home": home, "other": other}


def test_monthly_snapshots_are_made_once_per_organisation_for_last_month(cases: dict[str, Organisation]) -> None:
    OrganisationFactory.create(name="Quiet Helpline")  # no cases: a snapshot of zeros all the same
    today = timezone.localdate()
    last_month = add_months(first_of(today), -1)
    organisations = set(Organisation.objects.values_list("pk", flat=True))
    assert len(organisations) == 3

    assert snapshots_monthly() == 3
    snapshots = list(Snapshot.objects.all())
    assert {s.organisation_id for s in snapshots} == organisations
    assert {s.title for s in snapshots} == {monthly_title(last_month)} == {f"Monthly report {last_month:%Y-%m}"}
    for snapshot in snapshots:
        params = Params.from_json(snapshot.parameters)
        assert (params.start, params.end, params.granularity) == (last_month, last_month, "month")
        assert params.organisations == (snapshot.organisation_id,)
        assert params.age_scheme == "guidance"
        assert params.age_limits == tuple(AgeScheme.objects.get(code="guidance").limits)
        assert snapshot.threshold == settings.DISCLOSURE_THRESHOLD

    # Twice in the same month (a retried task, a second worker): no second snapshot.
    assert snapshots_monthly() == 0
    assert snapshots_monthly(today=date(today.year, today.month, 28)) == 0
    assert snapshot_create(organisation=cases["home"], month=last_month) is None
    assert Snapshot.objects.count() == 3

    # The month after, a new one each.
    assert snapshots_monthly(today=add_months(first_of(today), 1)) == 3
    assert Snapshot.objects.filter(title=monthly_title(first_of(today))).count() == 3


def test_snapshots_months_are_from_the_given_day(cases: dict[str, Organisation]) -> None:
    assert snapshots_monthly(today=date(2025, 1, 31)) == 2
    assert set(Snapshot.objects.values_list("title", flat=True)) == {"Monthly report 2024-12"}
    assert snapshots_monthly(today=date(2025, 3, 1)) == 2
    assert Snapshot.objects.filter(title="Monthly report 2025-02").count() == 2


def test_a_snapshot_cannot_be_changed_or_deleted(cases: dict[str, Organisation]) -> None:
    snapshot = snapshot_create(organisation=cases["home"], month=add_months(first_of(timezone.localdate()), -1))
    assert snapshot is not None
    original = (snapshot.title, snapshot.tables, snapshot.tables_suppressed)

    snapshot.title = "Edited"
    snapshot.tables = []
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        snapshot.save()
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        Snapshot.objects.filter(pk=snapshot.pk).update(tables_suppressed=snapshot.tables)
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        snapshot.delete()
    with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
        Snapshot.objects.all().delete()

    kept = Snapshot.objects.get(pk=snapshot.pk)
    assert (kept.title, kept.tables, kept.tables_suppressed) == original


def test_a_snapshot_equals_the_live_report_of_its_month(
    cases: dict[str, Organisation], personas: dict[str, User]
) -> None:
    month = add_months(first_of(timezone.localdate()), -1)
    for organisation in cases.values():
        snapshot = snapshot_create(organisation=organisation, month=month)
        assert snapshot is not None
        params = Params.from_json(snapshot.parameters)
        assert params == Params(organisations=(organisation.pk,), start=month, end=month, age_scheme="guidance")

        assert snapshot.tables == published(params, suppressed=False)
        assert snapshot.tables_suppressed == published(params, suppressed=True)
        rollups_refresh()
        assert snapshot.tables == published(params, suppressed=False, use_rollups=True)
        new_cases = next(table for table in snapshot.tables if table["key"] == "new_cases")
        in_month = [
            case
            for case in Case.objects.filter(organisation=organisation)
            if first_of(timezone.localtime(case.first_contact_at).date()) == month
        ]
        assert new_cases["rows"][0]["values"][0] == len(in_month) > 0

    # A case added to that month later changes the live report, not the snapshot.
    snapshot = Snapshot.objects.get(organisation=cases["home"])
    made = generate_cases(
        organisation=cases["home"], workers=[personas["worker"]], count=5, start=month, end=month, seed=99
    )
    assert made == 5
    params = Params.from_json(snapshot.parameters)
    assert Snapshot.objects.get(pk=snapshot.pk).tables == snapshot.tables != published(params, suppressed=False)
