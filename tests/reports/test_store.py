"""The statistics store: every filter, alone and in pairs, against counts made here from the rows; and freshness.

The expected tables are those of tests/reports/test_engine.py (counted from the ORM rows, never by the
engine); each report is built from the store and from the live tables.
"""

import importlib
import time
from collections import Counter
from collections.abc import Iterator
from itertools import combinations
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from cases.models import Case, CasePlatform, Term, Vocabulary
from cases.services import case_open
from helpline.celery import app
from referrals.models import Agency, Referral
from referrals.selectors import agencies_visible_to
from reports.engine import Params, build_report
from reports.forms import ReportForm
from reports.rollups import rollups_refresh
from reports.store import BLOCK, store_refresh
from reports.tasks import refresh_statistics
from tests.factories import OrganisationFactory, UserFactory
from tests.reports.test_engine import Data, assert_matches, data, expected_tables, local, make_case, params_for

__all__ = ["data"]  # the fixture
pytestmark = pytest.mark.django_db


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


def test_every_filter_alone_counts_the_filtered_cases_on_the_store_and_live(data: Data) -> None:
    rollups_refresh()
    values = commonest(data)
    unfiltered = expected_tables(params_for(data, "month", 12))["new_cases"].counts
    for name, value in [*values.items(), ("age_band", "minor"), ("agency", data.police.pk)]:
        for granularity, months in (("month", 12), ("quarter", 24)):
            params = params_for(data, granularity, months, **{name: value})
            expected = expected_tables(params)
            assert_matches(build_report(params).tables, expected)  # the store
            assert_matches(build_report(params, use_rollups=False).tables, expected)
        if value != data.police.pk and value != "minor":
            assert expected_tables(params_for(data, "month", 12, **{name: value}))["new_cases"].counts != unfiltered


def test_every_pair_of_filters_counts_the_filtered_cases(data: Data) -> None:
    rollups_refresh()
    values = commonest(data)
    for first, second in combinations(values, 2):
        params = params_for(data, "quarter", 24, **{first: values[first], second: values[second]})
        assert_matches(build_report(params).tables, expected_tables(params))


def test_an_age_band_filter_follows_the_reports_scheme(data: Data) -> None:
    rollups_refresh()
    for limits, band in (((10, 14, 18), "2"), ((11, 14, 16, 18), "0"), ((18, 25, 35), "3")):
        params = params_for(data, "year", 27, age_limits=limits, age_scheme="custom", age_band=band)
        assert_matches(build_report(params).tables, expected_tables(params))


def test_a_case_saved_now_is_counted_after_the_next_refresh_not_the_full_one(data: Data) -> None:
    params = params_for(data, "month", 3)
    rollups_refresh()
    before = {t.key: t.counts for t in build_report(params).tables}
    case = make_case(data.organisation, data.worker, local(data.this_month), victim_age=30)
    with connection.cursor() as cursor:
        cursor.execute("SELECT org, block FROM reports_store_dirty")
        assert cursor.fetchall() == [(data.organisation.pk, case.pk // BLOCK)]
    assert {t.key: t.counts for t in build_report(params).tables} == before  # not yet
    assert store_refresh()  # the months marked only
    assert_matches(build_report(params).tables, expected_tables(params))
    assert build_report(params).tables[0].counts[-1][0] == before["new_cases"][-1][0] + 1

    # A change of a filter dimension moves the case from one filtered report to the other, also its month.
    case.victim_gender = "female"
    case.first_contact_at = local(data.special_month, 3)
    case.save()
    store_refresh()
    for options in ({"gender": "female"}, {"gender": "male"}, {}):
        filtered = params_for(data, "month", 3, **options)
        assert_matches(build_report(filtered).tables, expected_tables(filtered))
    case.delete()
    store_refresh()
    assert_matches(build_report(params).tables, expected_tables(params))


def test_record_keys_come_with_every_count_on_the_store(data: Data) -> None:
    """The key sums of the store equal those of the live tables, filtered or not."""
    rollups_refresh()
    values = commonest(data)
    for options in ({}, {"gender": values["gender"]}, {"platform": values["platform"], "agency": values["agency"]}):
        params = params_for(data, "quarter", 24, **options)
        stored = {t.key: (t.counts, t.keys) for t in build_report(params).tables}
        live = {t.key: (t.counts, t.keys) for t in build_report(params, use_rollups=False).tables}
        assert stored == live


@pytest.fixture
def worker() -> Iterator[None]:
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        yield


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_brings_a_case_opened_through_the_service_into_the_statistics(worker: None) -> None:
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
    deadline = time.monotonic() + 60
    while build_report(params).tables[0].counts != [[2, 0]]:
        assert time.monotonic() < deadline, "the worker did not bring the case in within a minute"
        time.sleep(0.5)
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
    case = make_case(organisation, worker, local(data.this_month), victim_age=30)
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
