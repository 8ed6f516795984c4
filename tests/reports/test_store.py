"""The statistics store: every filter, alone and in pairs, gives the figures of the live tables; and freshness.

The live tables are the record, and tests/reports/test_engine.py works their figures out by hand on a small
helpline; here 300 generated cases over two years are reported from the store and from the live tables, which
must agree to the last count, record key sum and median.
"""

import importlib
from collections import Counter
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Organisation, User
from accounts.roles import Role
from cases.models import Case, CasePlatform, Term, Vocabulary
from cases.services import case_open
from devtools.generator import generate_cases
from referrals.models import Agency, Referral
from referrals.selectors import agencies_visible_to
from reports.engine import Params, add_months, build_report
from reports.forms import ReportForm
from reports.rollups import rollups_refresh
from reports.store import BLOCK, store_refresh
from reports.tables import Table
from reports.tasks import refresh_statistics
from tests.factories import CaseFactory, OrganisationFactory, UserFactory
from tests.reports.helpers import local
from tests.workers import TaskWorker, wait_for

pytestmark = pytest.mark.django_db


@dataclass
class Data:
    organisation: Organisation
    worker: User
    this_month: date


@pytest.fixture
def data() -> Data:
    """300 cases over the last two years, with referrals; one of another organisation and one long before."""
    organisation = OrganisationFactory.create(name="Engine Helpline", country="IT")
    worker = UserFactory.create(username="engine-worker", role=Role.WORKER, organisation=organisation)
    supervisor = UserFactory.create(username="engine-supervisor", role=Role.SUPERVISOR, organisation=organisation)
    today = timezone.localdate()
    this_month = date(today.year, today.month, 1)
    start = add_months(this_month, -24)
    made = generate_cases(
        organisation=organisation, workers=[worker, supervisor], count=300, start=start, end=today, seed=7
    )
    assert made == 300
    CaseFactory.create(first_contact_at=local(add_months(this_month, -3)), victim_age=15)
    CaseFactory.create(organisation=organisation, created_by=worker, first_contact_at=local(add_months(start, -36)))
    return Data(organisation, worker, this_month)


def params_for(data: Data, granularity: str, months: int, **options: Any) -> Params:
    return Params(
        organisations=(data.organisation.pk,),
        start=add_months(data.this_month, -(months - 1)),
        end=data.this_month,
        granularity=granularity,  # type: ignore[arg-type]
        **options,
    )


def assert_store_matches_live(params: Params) -> dict[str, Table]:
    """The report from the store equals the report from the live tables; returns the latter's tables."""
    stored = build_report(params, use_rollups=True).tables
    live = build_report(params, use_rollups=False).tables
    assert [t.key for t in stored] == [t.key for t in live]
    for got, want in zip(stored, live, strict=True):
        assert (got.rows, got.columns, got.counts, got.keys) == (want.rows, want.columns, want.counts, want.keys), (
            got.key
        )
        for a, b in zip(got.derived, want.derived, strict=True):
            assert a.column == b.column and a.bases == b.bases, (got.key, a.column.key)
            assert a.values == pytest.approx(b.values, abs=1e-9), (got.key, a.column.key)
            assert (a.total is None) == (b.total is None), (got.key, a.column.key)
            assert a.total is None or a.total == pytest.approx(b.total, abs=1e-9), (got.key, a.column.key)
    return {t.key: t for t in live}


def new_cases(tables: dict[str, Table]) -> list[list[int]]:
    return tables["new_cases"].counts


def commonest(data: Data) -> dict[str, Any]:
    """A value of each filter that keeps many of the generated cases, and one of the filters that keeps few."""
    cases = Case.objects.filter(organisation=data.organisation)

    def top(field: str) -> Any:
        values = Counter(v for v in cases.values_list(field, flat=True) if v not in (None, ""))
        return values.most_common(1)[0][0]

    sent = Referral.objects.filter(case__in=cases, sent_at__isnull=False)
    return {
        "platform": Counter(
            CasePlatform.objects.filter(case__in=cases).values_list("platform_id", flat=True)
        ).most_common(1)[0][0],
        "sextortion_type": top("sextortion_type_id"),
        "region": top("victim_region"),
        "age_band": "1",  # 13 to 17 in the guidance bands
        "gender": top("victim_gender"),
        "risk_level": top("risk_level"),
        "channel": top("channel_id"),
        "reporter_type": top("reporter_type_id"),
        "agency": Counter(sent.values_list("agency_id", flat=True)).most_common(1)[0][0],
    }


def test_the_unfiltered_reports_agree_at_every_granularity(data: Data) -> None:
    rollups_refresh()
    for granularity, months, limits in [("month", 12, (13, 18)), ("quarter", 24, (10, 14, 18)), ("year", 27, (11,))]:
        params = params_for(data, granularity, months, age_limits=limits, age_scheme="custom")
        tables = assert_store_matches_live(params)
        # The data is rich enough for the comparison to mean something.
        assert sum(now for now, _ in new_cases(tables)) > 100
        assert sum(before for _, before in new_cases(tables)) > 30
        assert len(tables["referrals"].rows) >= 3 and len(tables["regions"].rows) >= 5
        assert {t.key: t.counts for t in build_report(params).tables} == {k: t.counts for k, t in tables.items()}


def test_every_filter_alone_counts_the_filtered_cases_on_the_store_and_live(data: Data) -> None:
    rollups_refresh()
    values = commonest(data)
    unfiltered = new_cases(assert_store_matches_live(params_for(data, "month", 12)))
    for name, value in [*values.items(), ("age_band", "minor")]:
        for granularity, months in (("quarter", 24), ("month", 12)):
            filtered = new_cases(assert_store_matches_live(params_for(data, granularity, months, **{name: value})))
        assert filtered != unfiltered and sum(now for now, _ in filtered) > 0, name


def test_every_pair_of_filters_counts_the_filtered_cases(data: Data) -> None:
    rollups_refresh()
    values = commonest(data)
    for first, second in combinations(values, 2):
        assert_store_matches_live(params_for(data, "quarter", 24, **{first: values[first], second: values[second]}))


def test_an_age_band_filter_follows_the_reports_scheme(data: Data) -> None:
    rollups_refresh()
    for limits, band in (((10, 14, 18), "2"), ((11, 14, 16, 18), "0"), ((18, 25, 35), "3")):
        params = params_for(data, "year", 27, age_limits=limits, age_scheme="custom", age_band=band)
        assert sum(now for now, _ in new_cases(assert_store_matches_live(params))) > 0, limits


def test_a_case_saved_now_is_counted_after_the_next_refresh_not_the_full_one(data: Data) -> None:
    params = params_for(data, "month", 3)
    rollups_refresh()
    before = {t.key: t.counts for t in build_report(params).tables}
    case = CaseFactory.create(
        organisation=data.organisation, created_by=data.worker, first_contact_at=local(data.this_month), victim_age=30
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT org, block FROM reports_store_dirty")
        assert cursor.fetchall() == [(data.organisation.pk, case.pk // BLOCK)]
    assert {t.key: t.counts for t in build_report(params).tables} == before  # not yet
    assert store_refresh()  # the months marked only
    assert_store_matches_live(params)
    assert build_report(params).tables[0].counts[-1][0] == before["new_cases"][-1][0] + 1

    # A change of a filter dimension moves the case from one filtered report to the other, also its month.
    case.victim_gender = "female"
    case.first_contact_at = local(add_months(data.this_month, -2), 3)
    case.save()
    store_refresh()
    for options in ({"gender": "female"}, {"gender": "male"}, {}):
        assert_store_matches_live(params_for(data, "month", 3, **options))
    case.delete()
    store_refresh()
    assert_store_matches_live(params)


def test_record_keys_come_with_every_count_on_the_store(data: Data) -> None:
    """The key sums of the store equal those of the live tables, filtered or not."""
    rollups_refresh()
    values = commonest(data)
    for options in ({}, {"gender": values["gender"]}, {"platform": values["platform"], "agency": values["agency"]}):
        params = params_for(data, "quarter", 24, **options)
        stored = {t.key: (t.counts, t.keys) for t in build_report(params).tables}
        live = {t.key: (t.counts, t.keys) for t in build_report(params, use_rollups=False).tables}
        assert stored == live


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_brings_a_case_opened_through_the_service_into_the_statistics(task_worker: TaskWorker) -> None:
    organisation = OrganisationFactory.create(name="Fresh Helpline")
    worker_user = UserFactory.create(username="fresh-worker", role=Role.WORKER, organisation=organisation)
    User.objects.filter(pk=worker_user.pk).update(is_active=True)
    case_open(actor=worker_user, facts={"first_contact_at": timezone.now(), "victim_age": 15})
    rollups_refresh()
    today = timezone.localdate()
    params = Params(organisations=(organisation.pk,), start=today.replace(day=1), end=today.replace(day=1))
    assert build_report(params).tables[0].counts == [[1, 0]]
    channel = Term.objects.filter(vocabulary=Vocabulary.CHANNEL, active=True).first()
    case_open(actor=worker_user, facts={"first_contact_at": timezone.now(), "victim_age": 16, "channel": channel})
    refresh_statistics.delay()  # what beat sends every STATISTICS_REFRESH_SECONDS
    assert wait_for(lambda: build_report(params).tables[0].counts == [[2, 0]], seconds=60, interval=0.2), (
        "the worker did not bring the case in within a minute"
    )
    assert build_report(params).as_of is not None


def test_the_form_takes_every_filter_by_code_and_only_terms_the_reader_may_see(personas: dict[str, User]) -> None:
    supervisor = personas["supervisor"]
    channel = Term.objects.filter(vocabulary=Vocabulary.CHANNEL, organisation__isnull=True).first()
    reporter = Term.objects.filter(vocabulary=Vocabulary.REPORTER_TYPE, organisation__isnull=True).first()
    agency = agencies_visible_to(supervisor.organisation_id).first()
    assert channel and reporter and agency
    query = {
        "age_band": "2",
        "gender": "female",
        "risk_level": "high",
        "channel": channel.code,
        "reporter_type": reporter.code,
        "agency": agency.code,
    }
    form = ReportForm(query, user=supervisor)
    assert form.is_valid(), form.errors
    params = form.params()
    assert (params.age_band, params.gender, params.risk_level) == ("1", "female", "high")  # bands count from 0
    assert (params.channel, params.reporter_type, params.agency) == (channel.pk, reporter.pk, agency.pk)
    assert Params.from_json(params.as_json()) == params
    summary = dict(form.filter_summary())
    assert summary["Age band"] == "13 to 17" and summary["Referred to"] == agency.name
    assert summary["Channel"] == channel.label and summary["Platform"] == "All"

    # Another organisation's own terms and agencies are not offered, nor a band the scheme does not have.
    other = personas["other_worker"].organisation
    own_channel = Term.objects.create(
        vocabulary=Vocabulary.CHANNEL, code="other-own-channel", label="Their channel", organisation=other
    )
    own_agency = Agency.objects.create(code="other-own-agency", name="Their agency", kind="police", organisation=other)
    for name, value in (("channel", own_channel.code), ("agency", own_agency.code), ("age_band", "4")):
        assert name in ReportForm({name: value}, user=supervisor).errors, name


def test_parameters_stored_before_the_new_filters_still_read() -> None:
    stored = {
        "organisations": [1],
        "start": "2025-01-01",
        "end": "2025-12-01",
        "granularity": "month",
        "age_limits": [13, 18],
        "age_scheme": "guidance",
        "platform": None,
        "sextortion_type": None,
        "region": "",
    }
    params = Params.from_json(stored)
    assert not params.filtered and params.agency is None and params.age_band == ""


def test_the_code_cuts_the_store_in_the_blocks_the_triggers_mark() -> None:
    migration = importlib.import_module("reports.migrations.0009_statistics_store_blocks")
    assert migration.BLOCK == BLOCK


def test_the_cache_of_each_process_is_private_and_drops_what_was_deleted(
    data: Data, settings: Any, tmp_path: Any
) -> None:
    """The cache holds facts and record keys of cases: readable by the service's user alone, and a case deleted
    (by retention, say) leaves it at the next report, even when its organisation has no case left."""
    import stat

    from reports.store import _databases, store_connection

    settings.STATISTICS_CACHE_DIR = str(tmp_path / "statistics")
    _databases.clear()
    organisation = OrganisationFactory.create(name="Leaving Helpline")
    worker = UserFactory.create(username="leaving-worker", role=Role.WORKER, organisation=organisation)
    case = CaseFactory.create(
        organisation=organisation, created_by=worker, first_contact_at=local(data.this_month), victim_age=30
    )
    store_refresh()
    duck = store_connection([organisation.pk])
    assert duck is not None
    assert duck.execute("SELECT count(*) FROM f_cases WHERE org = $o", {"o": organisation.pk}).fetchone() == (1,)
    assert stat.S_IMODE((tmp_path / "statistics").stat().st_mode) == 0o700
    assert not list((tmp_path / "statistics").glob("*.parquet"))  # parts taken in leave no file behind

    case.delete()
    store_refresh()
    assert store_connection([organisation.pk]) is None
    held = _databases[str(connection.settings_dict["NAME"])]
    assert held.execute("SELECT count(*) FROM f_cases WHERE org = $o", {"o": organisation.pk}).fetchone() == (0,)
    _databases.clear()


def test_a_process_warmed_up_takes_in_nothing_at_its_first_report(
    data: Data, settings: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """What a web process does as it starts (gunicorn.conf.py): every organisation's parts, before any report."""
    from reports import store

    settings.STATISTICS_CACHE_DIR = str(tmp_path / "statistics")
    store._databases.clear()
    store_refresh()
    store.warm_up()

    def taken_in_again(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the first report took in parts the warm-up should have")

    monkeypatch.setattr(store, "_take_in", taken_in_again)
    duck = store.store_connection([data.organisation.pk])
    assert duck is not None
    assert duck.execute("SELECT count(*) > 0 FROM f_cases").fetchone() == (True,)
    store._databases.clear()
