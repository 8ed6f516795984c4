"""The report engine against figures counted independently, in Python, from the rows themselves.

About 300 synthetic cases over two years (``generate_cases``) and a few hand-made ones for the edges
(ages not known exactly, no gender, no region, inactive terms and step types, referrals and takedown
items with known delays, a first contact just after local midnight on the first of a month). Every
table of ``build_report(...).tables`` (true counts, before ``publish``) is compared with what this
module counts from the ORM rows, on both paths: the rollups (after ``rollups_refresh()``) and the
live tables; and a report filtered by platform, sextortion type or region against the same counts
over the filtered cases.

Nothing here calls the engine to work out an expected figure. The conventions re-implemented:

* a case belongs to the month (in the deployment's time zone) of its first contact; a contact to
  the month of its own time; a period is that month truncated to the quarter or year;
* "a year earlier" counts the cases of the same months shifted back by twelve;
* age bands: a known age falls in the band whose label range contains it; "minor"/"adult" without
  an age are their own rows; no age and no age-unknown is "Age not recorded";
* delays (acknowledgement and outcome from sending, removal of an item from sending its referral,
  a step done from first contact) are floored to tenths of a day (negative ones count as 0) and
  only then summarised with PostgreSQL's ``percentile_cont`` semantics: linear interpolation at
  position ``fraction * (n - 1)`` of the sorted values. ``statistics.median`` and
  ``statistics.quantiles(method="inclusive")`` compute exactly that.
"""

import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import Organisation, User
from accounts.roles import Role
from cases.models import (
    AgeUnknown,
    Answer,
    Case,
    CasePlatform,
    Contact,
    Gender,
    PlatformRole,
    ResponseStep,
    Risk,
    StepStatus,
    StepType,
    Term,
    Vocabulary,
)
from devtools.generator import generate_cases
from referrals.models import (
    Agency,
    AgencyKind,
    Consent,
    ItemStatus,
    Outcome,
    Referral,
    ReferralKind,
    ReferralStatus,
    TakedownItem,
)
from reports.engine import Params, age_bands, build_report
from reports.models import AgeScheme
from reports.rollups import rollups_refresh
from reports.tables import Table
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

GENERATED = 300
TENTH_OF_A_DAY_US = 8_640_000_000  # microseconds
FACTS = ["paid", "complied", "distributed", "extorted_again", "self_harm", "immediate_danger", "under_13", "high_risk"]
TERM_TABLES = {
    "demands": (Vocabulary.DEMAND, Case.demands.through),
    "approaches": (Vocabulary.APPROACH, Case.approaches.through),
    "content_types": (Vocabulary.CONTENT_TYPE, Case.content_types.through),
    "threats": (Vocabulary.THREAT, Case.threats.through),
}


# --- months, periods and delays, counted without the engine ------------------------------------------------------


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def month_of(moment: datetime) -> date:
    local = moment.astimezone(zone())
    return date(local.year, local.month, 1)


def shift(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_of(month: date, granularity: str) -> date:
    if granularity == "year":
        return date(month.year, 1, 1)
    if granularity == "quarter":
        return date(month.year, 3 * ((month.month - 1) // 3) + 1, 1)
    return month


def period_keys(start: date, end: date, granularity: str) -> list[str]:
    keys: list[str] = []
    month = start
    while month <= end:
        key = period_of(month, granularity).isoformat()
        if key not in keys:
            keys.append(key)
        month = shift(month, 1)
    return keys


def tenths(later: datetime, earlier: datetime) -> int:
    """A delay in whole tenths of a day, rounded down; a negative delay counts as 0."""
    return max(0, (later - earlier) // timedelta(microseconds=1) // TENTH_OF_A_DAY_US)


def percentile_cont(values: list[int], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont over delays in tenths, in days."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0] / 10
    if fraction == 0.5:
        return statistics.median(ordered) / 10
    assert fraction == 0.9
    return statistics.quantiles(ordered, n=10, method="inclusive")[8] / 10


def minor_key(age: int | None, unknown: str) -> str:
    if age is not None:
        return "minor" if age < 18 else "adult"
    return unknown or "not_recorded"


def band_key(age: int | None, unknown: str, limits: tuple[int, ...]) -> str:
    if age is not None:
        return str(sum(1 for limit in limits if age >= limit))
    return unknown  # "minor", "adult" or "" (not recorded)


def terms_in_order(vocabulary: str, used: set[int], *, only_used: bool = False) -> list[str]:
    """Active terms (and inactive ones that are counted), in the vocabulary's order."""
    terms = Term.objects.filter(vocabulary=vocabulary).order_by("position", "label")
    return [str(t.pk) for t in terms if t.pk in used or (t.active and not only_used)]


# --- the expected tables ---------------------------------------------------------------------------------------


@dataclass
class Expected:
    rows: list[str]
    columns: list[str]
    counts: dict[str, dict[str, int]]
    derived: dict[str, tuple[list[float | None], float | None]] = field(default_factory=dict)


def grid(rows: list[str], columns: list[str], counter: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    assert {key for key in counter if counter[key]} <= {(r, c) for r in rows for c in columns}, "a count has no cell"
    return {row: {column: counter[row, column] for column in columns} for row in rows}


def expected_tables(params: Params) -> dict[str, Expected]:
    """Every table of the report, counted from the ORM rows."""
    g = params.granularity
    start, end = params.start, params.end
    scope = Case.objects.filter(organisation_id__in=params.organisations)
    if params.platform is not None:
        scope = scope.filter(id__in=CasePlatform.objects.filter(platform_id=params.platform).values("case_id"))
    if params.sextortion_type is not None:
        scope = scope.filter(sextortion_type_id=params.sextortion_type)
    if params.region:
        scope = scope.filter(victim_region=params.region)
    if params.gender:
        scope = scope.filter(victim_gender=params.gender)
    if params.risk_level:
        scope = scope.filter(risk_level=params.risk_level)
    if params.channel is not None:
        scope = scope.filter(channel_id=params.channel)
    if params.reporter_type is not None:
        scope = scope.filter(reporter_type_id=params.reporter_type)
    if params.agency is not None:
        referred = Referral.objects.filter(agency_id=params.agency, sent_at__isnull=False)
        scope = scope.filter(id__in=referred.values("case_id"))
    all_cases = list(scope)
    if params.age_band:
        all_cases = [
            c for c in all_cases if band_key(c.victim_age, c.victim_age_unknown, params.age_limits) == params.age_band
        ]
    months = {case.pk: month_of(case.first_contact_at) for case in all_cases}
    cases = [case for case in all_cases if start <= months[case.pk] <= end]
    ids = [case.pk for case in cases]
    period = {case.pk: period_of(months[case.pk], g).isoformat() for case in cases}
    keys = period_keys(start, end, g)
    result: dict[str, Expected] = {}

    # New cases, and the same months a year earlier (shifted forward into this report's periods).
    now = Counter(period[case.pk] for case in cases)
    before = Counter(
        period_of(shift(months[case.pk], 12), g).isoformat()
        for case in all_cases
        if shift(start, -12) <= months[case.pk] <= shift(end, -12)
    )
    change = [100 * (now[k] - before[k]) / before[k] if before[k] else None for k in keys]
    total_change = 100 * (len(cases) - before.total()) / before.total() if before.total() else None
    result["new_cases"] = Expected(
        keys,
        ["cases", "year_before"],
        {k: {"cases": now[k], "year_before": before[k]} for k in keys},
        {"change": (change, total_change)},
    )

    # Victims: age band by gender over the whole report, minors and adults by period.
    bands = [str(index) for index in range(len(params.age_limits) + 1)] + ["minor", "adult", ""]
    genders = [*Gender.values, "not_recorded"]
    result["age_gender"] = Expected(
        bands,
        genders,
        grid(
            bands,
            genders,
            Counter(
                (
                    band_key(c.victim_age, c.victim_age_unknown, params.age_limits),
                    c.victim_gender or "not_recorded",
                )
                for c in cases
            ),
        ),
    )
    minors = ["minor", "adult", "not_recorded"]
    result["minors_adults"] = Expected(
        keys,
        minors,
        grid(keys, minors, Counter((period[c.pk], minor_key(c.victim_age, c.victim_age_unknown)) for c in cases)),
    )

    types = terms_in_order(Vocabulary.SEXTORTION_TYPE, {c.sextortion_type_id for c in cases if c.sextortion_type_id})
    types.append("not_recorded")
    result["sextortion_type"] = Expected(
        keys,
        types,
        grid(keys, types, Counter((period[c.pk], str(c.sextortion_type_id or "not_recorded")) for c in cases)),
    )

    def facts(case: Case) -> dict[str, bool]:
        return {
            "paid": case.victim_paid == Answer.YES,
            "complied": case.victim_complied == Answer.YES,
            "distributed": case.content_distributed == Answer.YES,
            "extorted_again": case.extorted_again == Answer.YES,
            "self_harm": case.self_harm,
            "immediate_danger": case.immediate_danger,
            "under_13": case.victim_age is not None and case.victim_age < 13,
            "high_risk": case.risk_level in (Risk.HIGH, Risk.CRITICAL),
        }

    fact_counts: Counter[tuple[str, str]] = Counter()
    for case in cases:
        fact_counts[period[case.pk], "cases"] += 1
        for name, present in facts(case).items():
            fact_counts[period[case.pk], name] += present
    result["outcomes"] = Expected(keys, ["cases", *FACTS], grid(keys, ["cases", *FACTS], fact_counts))

    regions = Counter((c.victim_region, minor_key(c.victim_age, c.victim_age_unknown)) for c in cases)
    region_rows = [*sorted({region for region, _ in regions if region}), ""]
    result["regions"] = Expected(region_rows, minors, grid(region_rows, minors, regions))

    # Many-valued facts: one count per case and term.
    for key, (vocabulary, through) in TERM_TABLES.items():
        links = list(through._default_manager.filter(case_id__in=ids).values_list("case_id", "term_id"))
        columns = terms_in_order(vocabulary, {term for _, term in links})
        result[key] = Expected(keys, columns, grid(keys, columns, Counter((period[c], str(t)) for c, t in links)))

    platform_links = list(CasePlatform.objects.filter(case_id__in=ids).values_list("platform_id", "role"))
    platform_rows = terms_in_order(Vocabulary.PLATFORM, {p for p, _ in platform_links})
    roles = list(PlatformRole.values)
    result["platforms"] = Expected(
        platform_rows, roles, grid(platform_rows, roles, Counter((str(p), r) for p, r in platform_links))
    )

    # Referrals sent for the cases of the report, by agency.
    referrals = list(Referral.objects.filter(case_id__in=ids, sent_at__isnull=False))
    agency_ids = {r.agency_id for r in referrals}
    agencies = [str(a.pk) for a in Agency.objects.filter(pk__in=agency_ids).order_by("kind", "name")]
    sent: Counter[str] = Counter()
    acknowledged: Counter[str] = Counter()
    completed: Counter[str] = Counter()
    ack_days: dict[str, list[int]] = {a: [] for a in agencies}
    done_days: dict[str, list[int]] = {a: [] for a in agencies}
    outcome_counts: Counter[tuple[str, str]] = Counter()
    for r in referrals:
        agency, sent_at = str(r.agency_id), r.sent_at
        assert sent_at is not None
        sent[agency] += 1
        if r.acknowledged_at is not None:
            acknowledged[agency] += 1
            ack_days[agency].append(tenths(r.acknowledged_at, sent_at))
        if r.status == ReferralStatus.COMPLETED:
            completed[agency] += 1
            assert r.closed_at is not None
            done_days[agency].append(tenths(r.closed_at, sent_at))
            outcome_counts[agency, r.outcome] += 1
    every_ack = [d for a in agencies for d in ack_days[a]]
    every_done = [d for a in agencies for d in done_days[a]]
    result["referrals"] = Expected(
        agencies,
        ["sent", "acknowledged", "completed"],
        {a: {"sent": sent[a], "acknowledged": acknowledged[a], "completed": completed[a]} for a in agencies},
        {
            "acknowledged_share": (
                [100 * acknowledged[a] / sent[a] for a in agencies],
                100 * acknowledged.total() / sent.total() if sent else None,
            ),
            "ack_median": ([percentile_cont(ack_days[a], 0.5) for a in agencies], percentile_cont(every_ack, 0.5)),
            "ack_p90": ([percentile_cont(ack_days[a], 0.9) for a in agencies], percentile_cont(every_ack, 0.9)),
            "outcome_median": (
                [percentile_cont(done_days[a], 0.5) for a in agencies],
                percentile_cont(every_done, 0.5),
            ),
            "outcome_p90": ([percentile_cont(done_days[a], 0.9) for a in agencies], percentile_cont(every_done, 0.9)),
        },
    )
    outcome_rows = [a for a in agencies if completed[a]]
    outcome_columns = [o for o in Outcome.values if any(outcome == o for _, outcome in outcome_counts)]
    result["referral_outcomes"] = Expected(
        outcome_rows, outcome_columns, grid(outcome_rows, outcome_columns, outcome_counts)
    )

    # Takedown items of the referrals sent, by platform; removal counted from sending.
    items = list(
        TakedownItem.objects.filter(referral__case_id__in=ids, referral__sent_at__isnull=False).select_related(
            "referral"
        )
    )
    item_rows = terms_in_order(Vocabulary.PLATFORM, {i.platform_id for i in items}, only_used=True)
    item_counts: Counter[tuple[str, str]] = Counter()
    removal: dict[str, list[int]] = {p: [] for p in item_rows}
    for item in items:
        item_counts[str(item.platform_id), "items"] += 1
        if item.status == ItemStatus.REMOVED:
            item_counts[str(item.platform_id), "removed"] += 1
            if item.removed_at is not None and item.referral.sent_at is not None:
                removal[str(item.platform_id)].append(tenths(item.removed_at, item.referral.sent_at))
    result["takedown_items"] = Expected(
        item_rows,
        ["items", "removed"],
        grid(item_rows, ["items", "removed"], item_counts),
        {
            "removal_median": (
                [percentile_cont(removal[p], 0.5) for p in item_rows],
                percentile_cont([d for p in item_rows for d in removal[p]], 0.5),
            )
        },
    )

    # Response steps of the cases; done counted from first contact.
    first_contact = {c.pk: c.first_contact_at for c in cases}
    steps = list(ResponseStep.objects.filter(case_id__in=ids))
    used_steps = {s.step_type_id for s in steps}
    step_rows = [str(t.pk) for t in StepType.objects.order_by("position", "label") if t.active or t.pk in used_steps]
    step_counts: Counter[tuple[str, str]] = Counter()
    step_days: dict[str, list[int]] = {s: [] for s in step_rows}
    for step in steps:
        step_counts[str(step.step_type_id), "planned"] += 1
        if step.status == StepStatus.DONE:
            step_counts[str(step.step_type_id), "done"] += 1
            if step.done_at is not None:
                step_days[str(step.step_type_id)].append(tenths(step.done_at, first_contact[step.case_id]))
    result["steps"] = Expected(
        step_rows,
        ["planned", "done"],
        grid(step_rows, ["planned", "done"], step_counts),
        {"done_median": ([percentile_cont(step_days[s], 0.5) for s in step_rows], None)},
    )

    # Workload: contacts by their own month, on every case of the scope; new cases by first contact.
    contacts = [
        c for c in Contact.objects.filter(case_id__in=[case.pk for case in all_cases]) if start <= month_of(c.at) <= end
    ]
    contact_count = Counter(period_of(month_of(c.at), g).isoformat() for c in contacts)
    timed: Counter[str] = Counter()
    minutes: Counter[str] = Counter()
    for c in contacts:
        if c.duration_minutes is not None:
            timed[period_of(month_of(c.at), g).isoformat()] += 1
            minutes[period_of(month_of(c.at), g).isoformat()] += c.duration_minutes
    result["workload"] = Expected(
        keys,
        ["contacts", "new_cases"],
        {k: {"contacts": contact_count[k], "new_cases": now[k]} for k in keys},
        {
            "minutes": (
                [minutes[k] / timed[k] if timed[k] else None for k in keys],
                minutes.total() / timed.total() if timed else None,
            )
        },
    )
    return result


def assert_matches(tables: list[Table], expected: dict[str, Expected]) -> None:
    by_key = {table.key: table for table in tables}
    assert list(by_key) == [
        "new_cases",
        "age_gender",
        "minors_adults",
        "sextortion_type",
        "demands",
        "approaches",
        "content_types",
        "threats",
        "platforms",
        "outcomes",
        "regions",
        "referrals",
        "referral_outcomes",
        "takedown_items",
        "steps",
        "workload",
    ], "a table was added or removed: count it independently in expected_tables"
    for key, want in expected.items():
        assert_matches_one(by_key[key], want)


def assert_matches_one(table: Table, want: Expected) -> None:
    key = table.key
    rows = [row for row, _ in table.rows]
    columns = [column.key for column in table.columns]
    assert rows == want.rows, key
    assert columns == want.columns, key
    got = {row: dict(zip(columns, counts, strict=True)) for row, counts in zip(rows, table.counts, strict=True)}
    assert got == want.counts, key
    derived = {d.column.key: d for d in table.derived}
    for name, (values, total) in want.derived.items():
        assert derived[name].values == pytest.approx(values, abs=1e-9), (key, name)
        if total is not None or table.column_totals:
            assert derived[name].total == pytest.approx(total, abs=1e-9), (key, name, "total")


# --- the data ------------------------------------------------------------------------------------------------


@dataclass
class Data:
    organisation: Organisation
    worker: User
    this_month: date
    special_month: date  # where the hand-made cases are
    inactive_demand: Term
    unused_demand: Term
    inactive_platform: Term
    inactive_type: Term
    police: Agency
    regulator: Agency
    old_step: StepType
    unused_step: StepType


def local(month: date, day: int = 1, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(month.year, month.month, day, hour, minute, tzinfo=zone())


def make_case(data_org: Organisation, worker: User, at: datetime, **fields: Any) -> Case:
    many = {name: fields.pop(name) for name in ("demands", "approaches", "content_types", "threats") if name in fields}
    platforms = fields.pop("platforms", [])
    case = Case.objects.create(
        organisation=data_org,
        reference=f"HM-{Case.objects.filter(reference__startswith='HM-').count() + 1:05d}",
        created_by=worker,
        first_contact_at=at,
        **fields,
    )
    for name, terms in many.items():
        getattr(case, name).set(terms)
    for platform, role in platforms:
        CasePlatform.objects.create(case=case, platform=platform, role=role)
    return case


def term(vocabulary: str, code: str) -> Term:
    return Term.objects.get(vocabulary=vocabulary, code=code)


@pytest.fixture
def data() -> Data:
    organisation = OrganisationFactory.create(name="Engine Helpline", country="IT")
    worker = UserFactory.create(username="engine-worker", role=Role.WORKER, organisation=organisation)
    supervisor = UserFactory.create(username="engine-supervisor", role=Role.SUPERVISOR, organisation=organisation)
    today = timezone.localdate()
    this_month = date(today.year, today.month, 1)
    made = generate_cases(
        organisation=organisation,
        workers=[worker, supervisor],
        count=GENERATED,
        start=shift(this_month, -24),
        end=today,
        seed=7,
    )
    assert made == GENERATED

    # A case of another organisation, and one long before the reports: never counted.
    other = OrganisationFactory.create(name="Elsewhere", country="IT")
    other_worker = UserFactory.create(username="elsewhere-worker", role=Role.WORKER, organisation=other)
    make_case(other, other_worker, local(shift(this_month, -3)), victim_age=15)
    make_case(organisation, worker, local(shift(this_month, -60)), victim_age=15)

    special = shift(this_month, -2)
    data = Data(
        organisation=organisation,
        worker=worker,
        this_month=this_month,
        special_month=special,
        inactive_demand=Term.objects.create(
            vocabulary=Vocabulary.DEMAND, code="old-demand", label="Old demand", active=False
        ),
        unused_demand=Term.objects.create(
            vocabulary=Vocabulary.DEMAND, code="unused-demand", label="Unused demand", active=False
        ),
        inactive_platform=Term.objects.create(
            vocabulary=Vocabulary.PLATFORM, code="old-platform", label="Old platform", active=False
        ),
        inactive_type=Term.objects.create(
            vocabulary=Vocabulary.SEXTORTION_TYPE, code="old-type", label="Old type", active=False
        ),
        police=Agency.objects.create(code="test-police", name="Test police", kind=AgencyKind.POLICE),
        regulator=Agency.objects.create(code="test-regulator", name="Test regulator", kind=AgencyKind.REGULATOR),
        old_step=StepType.objects.create(code="old-step", label="Old step", active=False),
        unused_step=StepType.objects.create(code="unused-step", label="Unused step", active=False),
    )
    at = local(special, 10)
    facts = dict(victim_paid=Answer.YES, risk_level=Risk.CRITICAL, self_harm=True)
    unknown_minor = make_case(
        organisation,
        worker,
        at,
        victim_age_unknown=AgeUnknown.MINOR,
        victim_gender=Gender.FEMALE,
        victim_region="IT-RM",
        demands=[data.inactive_demand],
        platforms=[(data.inactive_platform, PlatformRole.FIRST_CONTACT)],
        sextortion_type=data.inactive_type,
        **facts,
    )
    unknown_adult = make_case(organisation, worker, at, victim_age_unknown=AgeUnknown.ADULT, victim_region="IT-RM")
    make_case(organisation, worker, at)  # no age, no gender, no region, no type
    # Just after local midnight on the first of the month: still the previous month in UTC.
    midnight = make_case(organisation, worker, local(special, 1, 0, 30), victim_age=12, victim_gender=Gender.MALE)
    for age in (13, 17, 18, 120):
        make_case(organisation, worker, at, victim_age=age, victim_gender=Gender.NOT_STATED)

    # Response steps: an inactive step type with known delays.
    ResponseStep.objects.create(case=unknown_minor, step_type=data.old_step, status=StepStatus.TODO)
    ResponseStep.objects.create(
        case=unknown_adult, step_type=data.old_step, status=StepStatus.DONE, done_at=at + timedelta(days=1.55)
    )
    ResponseStep.objects.create(case=midnight, step_type=data.old_step, status=StepStatus.DONE, done_at=None)

    # Contacts: one just after local midnight on the first of the next month, timed and untimed.
    phone = term(Vocabulary.CHANNEL, "phone")
    Contact.objects.create(
        case=midnight, at=local(shift(special, 1), 1, 0, 10), channel=phone, worker=worker, duration_minutes=25
    )
    Contact.objects.create(case=midnight, at=midnight.first_contact_at, channel=phone, worker=worker)

    # Referrals to the test police with known delays: acknowledged after 0.05, 1.25, 3 and 10.96
    # days (0, 12, 30 and 109 tenths), completed after 2 and 10.99 days (20 and 109 tenths).
    sent = at + timedelta(hours=1)

    def refer(agency: Agency, kind: str, status: str, **times: Any) -> Referral:
        return Referral.objects.create(
            case=unknown_minor,
            kind=kind,
            agency=agency,
            owner=worker,
            created_by=worker,
            consent=Consent.VICTIM if status != ReferralStatus.DRAFT else "",
            status=status,
            **times,
        )

    police = (data.police, ReferralKind.POLICE)
    refer(*police, ReferralStatus.ACKNOWLEDGED, sent_at=sent, acknowledged_at=sent + timedelta(days=0.05))
    refer(
        *police,
        ReferralStatus.COMPLETED,
        outcome=Outcome.INVESTIGATION_OPENED,
        sent_at=sent,
        acknowledged_at=sent + timedelta(days=1.25),
        closed_at=sent + timedelta(days=2),
    )
    refer(
        *police,
        ReferralStatus.COMPLETED,
        outcome=Outcome.NO_FURTHER_ACTION,
        sent_at=sent,
        acknowledged_at=sent + timedelta(days=3),
        closed_at=sent + timedelta(days=10.99),
    )
    refer(*police, ReferralStatus.IN_PROGRESS, sent_at=sent, acknowledged_at=sent + timedelta(days=10.96))
    refer(*police, ReferralStatus.SENT, sent_at=sent)
    refer(*police, ReferralStatus.DRAFT)  # never sent: not counted

    # A takedown request with items on the inactive platform: removed after 2.5 and 0.31 days
    # (25 and 3 tenths), removed at an unknown time, still requested.
    takedown = refer(data.regulator, ReferralKind.TAKEDOWN, ReferralStatus.SENT, sent_at=sent)
    for status, removed_at in [
        (ItemStatus.REMOVED, sent + timedelta(days=2.5)),
        (ItemStatus.REMOVED, sent + timedelta(days=0.31)),
        (ItemStatus.REMOVED, None),
        (ItemStatus.REQUESTED, None),
    ]:
        TakedownItem.objects.create(
            referral=takedown,
            platform=data.inactive_platform,
            link="https://example.org/item",
            content_type="image",
            status=status,
            removed_at=removed_at,
        )
    return data


def params_for(data: Data, granularity: str, months: int, **options: Any) -> Params:
    return Params(
        organisations=(data.organisation.pk,),
        start=shift(data.this_month, -(months - 1)),
        end=data.this_month,
        granularity=granularity,  # type: ignore[arg-type]
        **options,
    )


# --- the tests -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granularity", "months", "limits"),
    [("month", 12, (13, 18)), ("quarter", 24, (10, 14, 18)), ("year", 27, (11, 14, 16, 18))],
)
def test_every_table_matches_independent_counts_on_both_paths(
    data: Data, granularity: str, months: int, limits: tuple[int, ...]
) -> None:
    params = params_for(data, granularity, months, age_limits=limits, age_scheme="custom")
    expected = expected_tables(params)
    # The data is rich enough for the comparison to mean something.
    assert sum(row["cases"] for row in expected["new_cases"].counts.values()) > 100
    assert sum(row["year_before"] for row in expected["new_cases"].counts.values()) > 30
    assert len(expected["referrals"].rows) >= 3 and len(expected["takedown_items"].rows) >= 2
    assert len(expected["regions"].rows) >= 5

    assert_matches(build_report(params, use_rollups=False).tables, expected)
    rollups_refresh()
    assert_matches(build_report(params, use_rollups=True).tables, expected)
    assert_matches(build_report(params).tables, expected)  # unfiltered: the rollups


def test_age_by_gender_for_every_named_scheme(data: Data) -> None:
    rollups_refresh()
    for scheme in AgeScheme.objects.all():
        params = params_for(data, "quarter", 24, age_scheme=scheme.code, age_limits=tuple(scheme.limits))
        want = expected_tables(params)["age_gender"]
        assert len(want.rows) == len(scheme.limits) + 4
        for use_rollups in (True, False):
            table = next(t for t in build_report(params, use_rollups=use_rollups).tables if t.key == "age_gender")
            assert_matches_one(table, want)


def test_hand_made_edges_are_counted_as_documented(data: Data) -> None:
    """Literal figures for the hand-made cases, which alone use the test agencies, platform and step."""
    params = params_for(data, "month", 3)
    rollups_refresh()
    for use_rollups in (True, False):
        tables = {t.key: t for t in build_report(params, use_rollups=use_rollups).tables}

        referrals = tables["referrals"]
        row = [key for key, _ in referrals.rows].index(str(data.police.pk))
        assert referrals.counts[row] == [5, 4, 2]  # the draft is not counted
        derived = {d.column.key: d.values[row] for d in referrals.derived}
        # Tenths 0, 12, 30, 109: median (1.2 + 3.0) / 2; p90 at position 2.7: 3.0 + 0.7 * 7.9.
        assert derived["ack_median"] == pytest.approx(2.1)
        assert derived["ack_p90"] == pytest.approx(8.53)
        # Tenths 20, 109 (10.99 days floors to 10.9): median 6.45; p90 2.0 + 0.9 * 8.9.
        assert derived["outcome_median"] == pytest.approx(6.45)
        assert derived["outcome_p90"] == pytest.approx(10.01)
        assert derived["acknowledged_share"] == pytest.approx(80.0)
        outcomes = tables["referral_outcomes"]
        row = [key for key, _ in outcomes.rows].index(str(data.police.pk))
        columns = [c.key for c in outcomes.columns]
        assert outcomes.counts[row][columns.index(Outcome.INVESTIGATION_OPENED)] == 1
        assert outcomes.counts[row][columns.index(Outcome.NO_FURTHER_ACTION)] == 1
        assert str(data.regulator.pk) not in [key for key, _ in outcomes.rows]  # nothing completed

        items = tables["takedown_items"]
        row = [key for key, _ in items.rows].index(str(data.inactive_platform.pk))
        assert items.counts[row] == [4, 3]
        assert {d.column.key: d.values[row] for d in items.derived}["removal_median"] == pytest.approx(1.4)

        steps = tables["steps"]
        step_rows = [key for key, _ in steps.rows]
        assert str(data.unused_step.pk) not in step_rows
        row = step_rows.index(str(data.old_step.pk))
        assert steps.counts[row] == [3, 2]
        assert {d.column.key: d.values[row] for d in steps.derived}["done_median"] == pytest.approx(1.5)

        # The inactive demand and type appear because they are counted; the unused one does not.
        demands = [c.key for c in tables["demands"].columns]
        assert str(data.inactive_demand.pk) in demands and str(data.unused_demand.pk) not in demands
        assert str(data.inactive_type.pk) in [c.key for c in tables["sextortion_type"].columns]
        assert str(data.inactive_platform.pk) in [key for key, _ in tables["platforms"].rows]

        # The age rows of the guidance bands, with their labels.
        age = tables["age_gender"]
        assert age.rows[:3] == [("0", "12 and under"), ("1", "13 to 17"), ("2", "18 and over")]
        assert age.rows[3:] == [
            ("minor", "Minor, age unknown"),
            ("adult", "Adult, age unknown"),
            ("", "Age not recorded"),
        ]
        assert age.row_total(3) >= 1 and age.row_total(4) >= 1 and age.row_total(5) >= 1

        # The midnight case is in its local month, its late contact in the next.
        new_cases = tables["new_cases"]
        month_rows = [key for key, _ in new_cases.rows]
        assert month_rows == [
            shift(data.this_month, -2).isoformat(),
            shift(data.this_month, -1).isoformat(),
            data.this_month.isoformat(),
        ]


def test_a_filtered_report_counts_only_the_filtered_cases(data: Data) -> None:
    cases = Case.objects.filter(organisation=data.organisation)
    platform = Counter(CasePlatform.objects.filter(case__in=cases).values_list("platform_id", flat=True))
    types = Counter(cases.exclude(sextortion_type=None).values_list("sextortion_type_id", flat=True))
    regions = Counter(cases.exclude(victim_region="").values_list("victim_region", flat=True))
    filters: list[dict[str, Any]] = [
        {"platform": platform.most_common(1)[0][0]},
        {"platform": data.inactive_platform.pk},
        {"sextortion_type": types.most_common(1)[0][0]},
        {"region": regions.most_common(1)[0][0]},
        {"region": "IT-RM", "sextortion_type": types.most_common(1)[0][0]},
    ]
    unfiltered = expected_tables(params_for(data, "month", 12))
    for options in filters:
        for granularity, months in (("month", 12), ("quarter", 24)):
            params = params_for(data, granularity, months, **options)
            expected = expected_tables(params)
            assert_matches(build_report(params).tables, expected)  # a filter reads the live tables
            assert_matches(build_report(params, use_rollups=False).tables, expected)
        assert (
            expected_tables(params_for(data, "month", 12, **options))["new_cases"].counts
            != unfiltered["new_cases"].counts
        ), options


def test_unfiltered_reports_read_the_rollups_until_they_are_refreshed(data: Data) -> None:
    params = params_for(data, "month", 3)
    rollups_refresh()
    before = build_report(params).tables
    make_case(data.organisation, data.worker, local(data.this_month), victim_age=30)
    stale = {t.key: t.counts for t in build_report(params).tables}
    live = {t.key: t.counts for t in build_report(params, use_rollups=False).tables}
    assert stale == {t.key: t.counts for t in before}
    assert stale["new_cases"][-1][0] + 1 == live["new_cases"][-1][0]
    rollups_refresh()
    assert {t.key: t.counts for t in build_report(params).tables} == live


# --- age schemes -----------------------------------------------------------------------------------------------


def label_range(label: str) -> tuple[int, int]:
    """The ages a band label says it covers."""
    if match := re.fullmatch(r"(\d+) and under", label):
        return 0, int(match[1])
    if match := re.fullmatch(r"(\d+) and over", label):
        return int(match[1]), 120
    if match := re.fullmatch(r"(\d+) to (\d+)", label):
        return int(match[1]), int(match[2])
    if match := re.fullmatch(r"(\d+)", label):
        return int(match[1]), int(match[1])
    raise AssertionError(f"not a band label: {label!r}")


def check_bands(limits: Iterable[int], organisation: Organisation) -> None:
    """One case of each age 0..120 plus one minor, one adult and one unrecorded, in the month before last."""
    limits = tuple(limits)
    bands = age_bands(limits)
    assert [key for key, _ in bands][-3:] == ["minor", "adult", ""]
    ranges = [label_range(label) for _, label in bands[:-3]]
    # The labels cover 0..120 without gap or overlap, in order.
    assert ranges[0][0] == 0 and ranges[-1][1] == 120
    assert all(high + 1 == low for (_, high), (low, _) in pairwise(ranges))

    # The database's width_bucket, as the engine uses it, puts every age in the band whose label covers it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT a, width_bucket(a, %s::int[]) FROM generate_series(0, 120) a", [list(limits)])
        for age, bucket in cursor.fetchall():
            low, high = ranges[bucket]
            assert low <= age <= high, (limits, age, bucket)

    # And a report over the cases counts each age once, in that band.
    month = shift(date(timezone.localdate().year, timezone.localdate().month, 1), -2)
    params = Params(organisations=(organisation.pk,), start=month, end=month, age_limits=limits, age_scheme="custom")
    table = {t.key: t for t in build_report(params, use_rollups=False).tables}["age_gender"]
    assert [key for key, _ in table.rows] == [key for key, _ in bands]
    assert [label for _, label in table.rows] == [label for _, label in bands]
    totals = [table.row_total(r) for r in range(len(table.rows))]
    assert totals[:-3] == [high - low + 1 for low, high in ranges]
    assert totals[-3:] == [1, 1, 1]
    assert table.grand_total() == 124


@pytest.fixture
def every_age() -> Organisation:
    organisation = OrganisationFactory.create(name="Ages Helpline")
    worker = UserFactory.create(username="ages-worker", role=Role.WORKER, organisation=organisation)
    today = timezone.localdate()
    at = local(shift(date(today.year, today.month, 1), -2), 5)
    for age in range(121):
        make_case(organisation, worker, at, victim_age=age)
    make_case(organisation, worker, at, victim_age_unknown=AgeUnknown.MINOR)
    make_case(organisation, worker, at, victim_age_unknown=AgeUnknown.ADULT)
    make_case(organisation, worker, at)
    return organisation


def test_named_age_schemes_put_every_age_in_exactly_one_band(every_age: Organisation) -> None:
    schemes = {scheme.code: tuple(scheme.limits) for scheme in AgeScheme.objects.all()}
    assert schemes == {
        "guidance": (13, 18),
        "postal_police": (10, 14, 18),
        "iwf": (11, 14, 16, 18),
        "esafety": (18, 25, 35),
    }
    for limits in schemes.values():
        check_bands(limits, every_age)
    assert [label for _, label in age_bands(schemes["guidance"])][:3] == ["12 and under", "13 to 17", "18 and over"]
    assert [label for _, label in age_bands(schemes["esafety"])][:4] == [
        "17 and under",
        "18 to 24",
        "25 to 34",
        "35 and over",
    ]


def test_custom_age_limits_put_every_age_in_exactly_one_band(every_age: Organisation) -> None:
    @hypothesis_settings(max_examples=100, deadline=None)
    @given(st.sets(st.integers(min_value=1, max_value=120), min_size=1, max_size=11))
    def check(limits: set[int]) -> None:
        check_bands(sorted(limits), every_age)

    check()


def test_months_are_counted_in_the_deployment_time_zone_whatever_zone_is_active(data: Data) -> None:
    """The live path's month boundaries and the rollups' months are both in settings.TIME_ZONE."""
    params = params_for(data, "month", 3)
    rollups_refresh()
    home = {t.key: t.counts for t in build_report(params, use_rollups=False).tables}
    assert_matches(build_report(params, use_rollups=False).tables, expected_tables(params))
    with timezone.override("America/New_York"):
        assert {t.key: t.counts for t in build_report(params, use_rollups=False).tables} == home
        assert {t.key: t.counts for t in build_report(params, use_rollups=True).tables} == home
