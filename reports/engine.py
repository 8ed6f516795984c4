"""The report engine: parameters in, tables of true counts out, aggregated in PostgreSQL.

One function per family of tables; each runs one SQL statement over the cases in scope (the
organisations, the months and the filters of the parameters) and never loads a case into Python.
Pages, exports, the API and the monthly snapshots all call ``build_report``; ``publish_report``
decides whether the reader receives true counts or disclosure-controlled ones.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

import pycountry
from django.conf import settings
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext, gettext_lazy

from accounts.models import User
from accounts.roles import Role
from cases.models import (
    AgeUnknown,
    ChiCategory,
    ChiMapping,
    ContactType,
    Gender,
    PlatformRole,
    Risk,
    StepType,
    Term,
    Vocabulary,
)
from cases.selectors import terms_offered_to
from referrals.models import Agency, AgencyKind, Outcome
from reports import rollups, store
from reports.replica import figures_connection
from reports.tables import TOTAL_KEY, Column, Derived, PublishedTable, Table, publish

Granularity = Literal["month", "quarter", "year"]
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Params:
    """What a report covers. ``start`` and ``end`` are the first days of the first and last months."""

    organisations: tuple[int, ...]
    start: date
    end: date
    granularity: Granularity = "month"
    age_limits: tuple[int, ...] = (13, 18)
    age_scheme: str = "guidance"
    platform: int | None = None
    sextortion_type: int | None = None
    region: str = ""
    age_band: str = ""  # a row key of the scheme's bands (age_bands): "0", "1", ..., "minor" or "adult"
    gender: str = ""
    risk_level: str = ""
    channel: int | None = None
    reporter_type: int | None = None
    agency: int | None = None  # cases with a referral sent to this agency

    @property
    def filtered(self) -> bool:
        return any(getattr(self, name) not in (None, "") for name in FILTERS)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(start=self.start.isoformat(), end=self.end.isoformat())
        data["organisations"] = list(self.organisations)
        data["age_limits"] = list(self.age_limits)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Params":
        return cls(
            **{
                **data,
                "organisations": tuple(data["organisations"]),
                "age_limits": tuple(data["age_limits"]),
                "start": date.fromisoformat(data["start"]),
                "end": date.fromisoformat(data["end"]),
            }
        )


# Each filter: its parameter, then its condition on the live case "c" and on a row of the store (reports/store.py).
# An age band: known ages from %(age_low)s to below %(age_high)s, or the band of ages not known exactly.
BAND = "(CASE WHEN {unknown} THEN {kind} = %(age_band)s ELSE {age} >= %(age_low)s AND {age} < %(age_high)s END)"
FILTERS = {
    "platform": (
        "EXISTS (SELECT 1 FROM cases_caseplatform p WHERE p.case_id = c.id AND p.platform_id = %(platform)s)",
        "list_contains(x_platforms, %(platform)s)",
    ),
    "sextortion_type": ("c.sextortion_type_id = %(sextortion_type)s", "x_type = %(sextortion_type)s"),
    "region": ("c.victim_region = %(region)s", "x_region = %(region)s"),
    "age_band": (
        BAND.format(unknown="c.victim_age IS NULL", kind="c.victim_age_unknown", age="c.victim_age"),
        BAND.format(unknown="x_age < 0", kind="x_age_unknown", age="x_age"),
    ),
    "gender": ("c.victim_gender = %(gender)s", "x_gender = %(gender)s"),
    "risk_level": ("c.risk_level = %(risk_level)s", "x_risk = %(risk_level)s"),
    "channel": ("c.channel_id = %(channel)s", "x_channel = %(channel)s"),
    "reporter_type": ("c.reporter_type_id = %(reporter_type)s", "x_reporter = %(reporter_type)s"),
    "agency": (
        "EXISTS (SELECT 1 FROM referrals_referral a WHERE a.case_id = c.id AND a.agency_id = %(agency)s"
        " AND a.sent_at IS NOT NULL)",
        "list_contains(x_agencies, %(agency)s)",
    ),
}


FILTER_LABELS = {
    "platform": gettext_lazy("Platform"),
    "sextortion_type": gettext_lazy("Sextortion type"),
    "region": gettext_lazy("Region"),
    "age_band": gettext_lazy("Age band"),
    "gender": gettext_lazy("Gender"),
    "risk_level": gettext_lazy("Risk level"),
    "channel": gettext_lazy("Channel"),
    "reporter_type": gettext_lazy("Reporter"),
    "agency": gettext_lazy("Referred to"),
}


def filter_summary(params: Params) -> list[tuple[str, str]]:
    """Each filter in words, "All" where there is none: for the page and every export."""
    every = gettext("All")
    chosen = [params.platform, params.sextortion_type, params.channel, params.reporter_type]
    terms: dict[int | None, str] = dict(
        Term.objects.filter(pk__in=[pk for pk in chosen if pk is not None]).values_list("pk", "label")
    )
    agency = Agency.objects.filter(pk=params.agency).values_list("name", flat=True).first() if params.agency else None
    bands = dict(age_bands(params.age_limits))
    words: dict[str, str | None] = {
        "platform": terms.get(params.platform),
        "sextortion_type": terms.get(params.sextortion_type),
        "region": params.region,
        "age_band": bands.get(params.age_band) if params.age_band else None,
        "gender": str(Gender(params.gender).label) if params.gender in Gender.values else None,
        "risk_level": str(Risk(params.risk_level).label) if params.risk_level in Risk.values else None,
        "channel": terms.get(params.channel),
        "reporter_type": terms.get(params.reporter_type),
        "agency": agency,
    }
    return [(str(FILTER_LABELS[name]), words[name] or every) for name in FILTERS]


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def periods(params: Params) -> list[date]:
    step = {"month": 1, "quarter": 3, "year": 12}[params.granularity]
    first = _truncate(params.start, params.granularity)
    result = []
    while first <= params.end:
        result.append(first)
        first = add_months(first, step)
    return result


def _truncate(day: date, granularity: Granularity) -> date:
    if granularity == "year":
        return date(day.year, 1, 1)
    if granularity == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, day.month, 1)


def period_rows(params: Params) -> list[tuple[str, str]]:
    """Row keys and labels of the periods; a quarter or year the report covers only in part says which months."""
    rows = []
    for key in periods(params):
        label = period_label(key, params.granularity)
        step = {"month": 1, "quarter": 3, "year": 12}[params.granularity]
        first, last = max(key, params.start), min(add_months(key, step - 1), params.end)
        if (first, last) != (key, add_months(key, step - 1)):
            parts = {"period": label, "first": date_format(first, "M"), "last": date_format(last, "M")}
            if first != last:
                label = gettext("%(period)s (%(first)s to %(last)s)") % parts
            else:
                label = gettext("%(period)s (%(first)s only)") % parts
        rows.append((key.isoformat(), label))
    return rows


def period_label(day: date, granularity: Granularity) -> str:
    if granularity == "year":
        return str(day.year)
    if granularity == "quarter":
        return f"{day.year} Q{(day.month - 1) // 3 + 1}"
    return f"{day:%Y-%m}"


def age_bands(limits: Sequence[int]) -> list[tuple[str, str]]:
    """Row keys and labels of the bands, then the unknown-age rows. Keys are width_bucket's numbers."""
    bounds = [0, *limits]
    rows = []
    for index, low in enumerate(bounds):
        if index + 1 < len(bounds):
            high = bounds[index + 1] - 1
            if low == 0:
                label = gettext("%(age)s and under") % {"age": high}
            else:
                label = f"{low}" if low == high else gettext("%(low)s to %(high)s") % {"low": low, "high": high}
        else:
            label = gettext("%(age)s and over") % {"age": low}
        rows.append((str(index), label))
    return [
        *rows,
        (AgeUnknown.MINOR.value, str(AgeUnknown.MINOR.label)),
        (AgeUnknown.ADULT.value, str(AgeUnknown.ADULT.label)),
        ("", gettext("Age not recorded")),
    ]


@dataclass
class Report:
    params: Params
    tables: list[Table] = field(default_factory=list)
    generated_at: datetime = field(default_factory=timezone.now)
    # The moment the figures describe: the last refresh of the rollups when they were read.
    as_of: datetime | None = None


def _age_range(params: Params) -> dict[str, int]:
    """The known ages of the filter's band (none for the bands of ages not known exactly)."""
    if not params.age_band.isdigit():
        return {"age_low": -1, "age_high": -1}
    bounds = [0, *params.age_limits, 1_000]
    band = int(params.age_band)
    return (
        {"age_low": bounds[band], "age_high": bounds[band + 1]}
        if band + 1 < len(bounds)
        else {"age_low": -1, "age_high": -1}
    )


class _Query:
    """The SQL pieces shared by every table: the cases in scope, read from the store or the live tables.

    The store (reports/store.py) keeps every family per case; the live tables are the record, read
    when the store has never been written and by the tests that compare the two.
    """

    period = "date_trunc(%(unit)s, s.month)::date"

    def __init__(self, params: Params, *, use_store: bool) -> None:
        zone = timezone.get_default_timezone()  # the zone the months are counted in (settings.TIME_ZONE)
        end = add_months(params.end, 1)
        self.args: dict[str, Any] = {
            "orgs": list(params.organisations),
            "start_month": params.start,
            "end_month": end,
            "before_start_month": add_months(params.start, -12),
            "before_end_month": add_months(end, -12),
            "unit": params.granularity,
            "tz": settings.TIME_ZONE,
            "limits": list(params.age_limits),
            **{name: getattr(params, name) for name in FILTERS},
            **_age_range(params),
        }
        for key in ("start", "end", "before_start", "before_end"):
            self.args[key] = datetime.combine(self.args[f"{key}_month"], time(), tzinfo=zone)
        chosen = [FILTERS[name] for name in FILTERS if getattr(params, name) not in (None, "")]
        self.filters = " AND ".join(["c.organisation_id = ANY(%(orgs)s)", *(live for live, _ in chosen)])
        self.store_filters = " AND ".join(stored for _, stored in chosen)
        self.store = store.store_connection(params.organisations) if use_store else None
        self.use_store = self.store is not None

    def source(self, name: str, *, before: bool = False) -> str:
        """The family's counts per organisation and month within the report's months (or a year earlier)."""
        family = rollups.BY_NAME[name]
        prefix = "before_" if before else ""
        if self.use_store:
            cases = f" AND {self.store_filters}" if self.store_filters else ""
            return (
                f"(SELECT * FROM f_{name} WHERE org = ANY(%(orgs)s)"
                f" AND month >= %({prefix}start_month)s AND month < %({prefix}end_month)s{cases})"
            )
        in_range = f"{family.time} >= %({prefix}start)s AND {family.time} < %({prefix}end)s"
        return f"({family.select(f'{self.filters} AND {in_range}')})"

    def rows(self, sql: str, **args: Any) -> list[tuple[Any, ...]]:
        if self.store is not None:
            return store.store_rows(self.store, sql, {**self.args, **args})
        with figures_connection().cursor() as cursor:
            cursor.execute(sql, {**self.args, **args})
            return cursor.fetchall()


def build_report(
    params: Params,
    *,
    progress: Callable[[int, int], None] | None = None,
    use_rollups: bool | None = None,
    as_of: datetime | None = None,
    chi: bool = False,
) -> Report:
    """All tables; from the statistics store once it has been written, unless ``use_rollups`` says otherwise
    (True: the store, False: the live tables). With ``chi``, the tables for Child Helpline International instead.

    ``as_of``: when the store was last written, if the caller has just read it.
    """
    report = Report(params)
    as_of = as_of or rollups.rollups_as_of()
    use_store = use_rollups if use_rollups is not None else as_of is not None and store.store_ready()
    query = _Query(params, use_store=use_store)
    report.as_of = as_of if query.use_store else report.generated_at
    steps = [_case_tables, _term_tables, _platform_table, _referral_tables, _step_table, _workload_table]
    if chi:
        steps = [_chi_tables]
    for done, step in enumerate(steps, start=1):
        report.tables += step(params, query)
        if progress is not None:
            progress(done, len(steps))
    order = {key: index for index, key in enumerate(TABLE_ORDER)}
    report.tables.sort(key=lambda table: order.get(table.key, len(order)))
    return report


TABLE_ORDER = [
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
]


def may_see_true_counts(user: User, params: Params) -> bool:
    return may_see_true_counts_of(user, params.organisations)


def may_see_true_counts_of(user: User, organisations: Iterable[int]) -> bool:
    """Supervisors and administrators see true counts of their own organisation; analysts never do."""
    return user.role in (Role.SUPERVISOR, Role.ADMINISTRATOR) and set(organisations) == {user.organisation_id}


def publish_report(report: Report, *, suppressed: bool) -> list[PublishedTable]:
    """Every table, perturbed by the cell-key method when ``suppressed`` (see reports/perturbation.py)."""
    threshold, spread = settings.DISCLOSURE_THRESHOLD, settings.DISCLOSURE_PERTURBATION
    return [publish(table, threshold=threshold, suppressed=suppressed, spread=spread) for table in report.tables]


# --- the cases themselves: new cases, victims, type, outcome facts, region --------------------------------------


def _case_tables(params: Params, q: _Query) -> list[Table]:
    band = "CASE WHEN s.age >= 0 THEN width_bucket(s.age, %(limits)s::int[])::text ELSE s.age_unknown END"
    minor = "CASE WHEN s.age >= 0 THEN (CASE WHEN s.age < 18 THEN 'minor' ELSE 'adult' END) ELSE s.age_unknown END"
    victims = q.rows(
        f"""
        SELECT GROUPING(period, band, gender, minor), period, band, gender, minor, sum(n)::int, sum(k)::bigint
        FROM (
            SELECT {q.period} AS period, {band} AS band, s.gender, {minor} AS minor, s.n, s.k
            FROM {q.source("victims")} s
        ) s
        GROUP BY GROUPING SETS ((period), (band, gender), (period, minor))
        """
    )
    before = {
        row[0]: row[1:]
        for row in q.rows(
            f"SELECT ({q.period} + interval '1 year')::date, sum(n)::int, sum(k)::bigint"
            f" FROM {q.source('victims', before=True)} s GROUP BY 1"
        )
    }
    # GROUPING() has one bit per argument, the first the highest: 0b0111 is "period only".
    sets: dict[int, list[tuple[Any, ...]]] = {}
    for row in victims:
        sets.setdefault(row[0], []).append(row)
    by_period = {row[1]: row[5] for row in sets.get(0b0111, [])}
    key_by_period = {row[1]: row[6] for row in sets.get(0b0111, [])}
    keys = periods(params)
    labelled = period_rows(params)
    key_rows = [(key, "") for key in keys]

    new_cases = Table(
        key="new_cases",
        title=gettext("New cases"),
        description=gettext("Cases by the date of first contact, against the same period a year earlier."),
        row_header=gettext("Period"),
        rows=labelled,
        columns=[Column("cases", gettext("Cases")), Column("year_before", gettext("A year earlier"))],
        counts=[[by_period.get(key, 0), before.get(key, (0, 0))[0]] for key in keys],
        keys=[[key_by_period.get(key, 0), before.get(key, (0, 0))[1]] for key in keys],
        chart="line",
    )
    new_cases.derived.append(_change(new_cases, "change", gettext("Change, %"), 0, 1))

    genders = [(g.value, str(g.label)) for g in Gender] + [("", gettext("Not recorded"))]
    bands = age_bands(params.age_limits)
    minors = [("minor", gettext("Minors")), ("adult", gettext("Adults")), ("", gettext("Age not recorded"))]
    tables = [
        new_cases,
        Table(
            key="age_gender",
            title=gettext("Victims by age and gender"),
            description=gettext(
                "Age bands of the chosen scheme; ages not known exactly are counted in their own rows."
            ),
            row_header=gettext("Age"),
            rows=bands,
            columns=[Column(key or "not_recorded", label) for key, label in genders],
            counts=_grid({(row[2], row[3]): row[5] for row in sets.get(0b1001, [])}, bands, genders),
            keys=_grid({(row[2], row[3]): row[6] for row in sets.get(0b1001, [])}, bands, genders),
            row_totals=True,
            chart="stacked",
        ),
        Table(
            key="minors_adults",
            title=gettext("Minors and adults"),
            description=gettext("Minors whose exact age is not known count as minors, adults likewise."),
            row_header=gettext("Period"),
            rows=labelled,
            columns=[Column(key or "not_recorded", label) for key, label in minors],
            counts=_grid({(row[1], row[4]): row[5] for row in sets.get(0b0110, [])}, key_rows, minors),
            keys=_grid({(row[1], row[4]): row[6] for row in sets.get(0b0110, [])}, key_rows, minors),
            row_totals=True,
            chart="stacked",
        ),
    ]

    type_counts, type_keys = _counted(
        q.rows(f"SELECT {q.period}, s.type, sum(n)::int, sum(k)::bigint FROM {q.source('types')} s GROUP BY 1, 2")
    )
    types = [
        *_terms(Vocabulary.SEXTORTION_TYPE, params.organisations, used={t for _, t in type_counts}),
        (0, gettext("Not recorded")),
    ]
    tables.append(
        Table(
            key="sextortion_type",
            title=gettext("Sextortion type"),
            row_header=gettext("Period"),
            rows=labelled,
            columns=[Column(str(key or "not_recorded"), label) for key, label in types],
            counts=_grid(type_counts, key_rows, types),
            keys=_grid(type_keys, key_rows, types),
            row_totals=True,
            chart="stacked",
        )
    )

    fact_labels = [
        ("paid", gettext("Paid")),
        ("complied", gettext("Complied with a demand")),
        ("distributed", gettext("Content distributed")),
        ("extorted_again", gettext("Extorted again")),
        ("self_harm", gettext("Self-harm or suicidal thoughts")),
        ("immediate_danger", gettext("Immediate danger")),
        ("under_13", gettext("Under 13")),
        ("high_risk", gettext("High or critical risk")),
    ]
    names = ["n", *(key for key, _ in fact_labels)]
    sums = ", ".join(f"sum({name})::int" for name in names)
    key_sums = ", ".join(f"sum({'k' if name == 'n' else 'k_' + name})::bigint" for name in names)
    facts = {
        row[0]: list(row[1:])
        for row in q.rows(f"SELECT {q.period}, {sums}, {key_sums} FROM {q.source('facts')} s GROUP BY 1")
    }
    empty = [0] * (2 * len(names))
    outcomes = Table(
        key="outcomes",
        title=gettext("Outcome facts and risk flags"),
        description=gettext("Cases with each fact; a case can have several. Shares are of all cases of the period."),
        row_header=gettext("Period"),
        rows=labelled,
        columns=[Column("cases", gettext("Cases")), *(Column(key, label) for key, label in fact_labels)],
        counts=[facts.get(key, empty)[: len(names)] for key in keys],
        keys=[facts.get(key, empty)[len(names) :] for key in keys],
        chart="line",
    )
    for index, (key, label) in enumerate(fact_labels, start=1):
        outcomes.derived.append(_share(outcomes, f"{key}_share", f"% {label.lower()}", index, 0))
    outcomes.order = ["cases"] + [k for key, _ in fact_labels for k in (key, f"{key}_share")]
    tables.append(outcomes)

    region_counts, region_keys = _counted(
        q.rows(f"SELECT s.region, s.minor, sum(n)::int, sum(k)::bigint FROM {q.source('regions')} s GROUP BY 1, 2")
    )
    region_rows = [(code, _region_name(code)) for code in sorted({r for r, _ in region_counts if r})]
    region_rows.append(("", gettext("Region not recorded")))
    tables.append(
        Table(
            key="regions",
            title=gettext("Region"),
            description=gettext("The victim's region, minors against adults."),
            row_header=gettext("Region"),
            rows=region_rows,
            columns=[Column(key or "not_recorded", label) for key, label in minors],
            counts=_grid(region_counts, region_rows, minors),
            keys=_grid(region_keys, region_rows, minors),
            row_totals=True,
            chart="bar",
        )
    )
    return tables


# --- many-valued facts: demands, approaches, content obtained, threats, platforms -----------------------------------

TERM_TABLES = [
    ("demands", Vocabulary.DEMAND, gettext_lazy("Demands")),
    ("approaches", Vocabulary.APPROACH, gettext_lazy("Offender's approach")),
    ("content_types", Vocabulary.CONTENT_TYPE, gettext_lazy("Content obtained")),
    ("threats", Vocabulary.THREAT, gettext_lazy("Threats")),
]


def _term_tables(params: Params, q: _Query) -> list[Table]:
    counts, key_sums = _counted(
        q.rows(f"SELECT {q.period}, s.term, sum(n)::int, sum(k)::bigint FROM {q.source('terms')} s GROUP BY 1, 2")
    )
    used = {term for _, term in counts}
    keys = periods(params)
    tables = []
    for key, vocabulary, title in TERM_TABLES:
        terms = _terms(vocabulary, params.organisations, used=used)
        tables.append(
            Table(
                key=key,
                title=str(title),
                description=gettext("Cases with each; a case can have several."),
                row_header=gettext("Period"),
                rows=period_rows(params),
                columns=[Column(str(pk), label) for pk, label in terms],
                counts=_grid(counts, [(k, "") for k in keys], terms),
                keys=_grid(key_sums, [(k, "") for k in keys], terms),
                chart="line",
            )
        )
    return tables


def _platform_table(params: Params, q: _Query) -> list[Table]:
    counts, key_sums = _counted(
        q.rows(f"SELECT s.platform, s.role, sum(n)::int, sum(k)::bigint FROM {q.source('platforms')} s GROUP BY 1, 2")
    )
    platforms = _terms(Vocabulary.PLATFORM, params.organisations, used={platform for platform, _ in counts})
    roles = [(role.value, str(role.label).capitalize()) for role in PlatformRole]
    return [
        Table(
            key="platforms",
            title=gettext("Platforms"),
            description=gettext("Cases naming each platform in each role; a case can name several."),
            row_header=gettext("Platform"),
            rows=[(str(pk), label) for pk, label in platforms],
            columns=[Column(key, label) for key, label in roles],
            counts=_grid(counts, platforms, roles),
            keys=_grid(key_sums, platforms, roles),
            chart="bar",
        )
    ]


# --- referrals and takedown items ------------------------------------------------------------------------------------


def _referral_tables(params: Params, q: _Query) -> list[Table]:
    fractions = (0.5, 0.9)
    acks = _delays(q, "referrals", "agency", fractions)
    dones = _delays(q, "outcomes", "agency", fractions)
    outcome_counts, outcome_keys = _counted(
        (str(agency), outcome, n, k)
        for agency, outcome, n, k in q.rows(
            f"SELECT s.agency, s.outcome, sum(n)::int, sum(k)::bigint FROM {q.source('outcomes')} s GROUP BY 1, 2"
        )
    )
    none = _Delays()
    agencies = _agencies({key for key in acks if key is not None})
    referrals = Table(
        key="referrals",
        title=gettext("Referrals by kind and agency"),
        description=gettext("Referrals sent for the cases of the period; days are counted from sending."),
        row_header=gettext("Agency"),
        rows=agencies,
        columns=[
            Column("sent", gettext("Sent")),
            Column("acknowledged", gettext("Acknowledged")),
            Column("completed", gettext("Completed")),
        ],
        counts=[[acks[int(key)].count, acks[int(key)].timed, dones.get(int(key), none).count] for key, _ in agencies],
        keys=[
            [acks[int(key)].count_key, acks[int(key)].timed_key, dones.get(int(key), none).count_key]
            for key, _ in agencies
        ],
        chart="bar",
    )
    referrals.derived.append(_share(referrals, "acknowledged_share", gettext("% acknowledged"), 1, 0))
    for key, label, delays, fraction, base in [
        ("ack_median", gettext("Median days to acknowledgement"), acks, 0.5, 1),
        ("ack_p90", gettext("90th percentile days to acknowledgement"), acks, 0.9, 1),
        ("outcome_median", gettext("Median days to outcome"), dones, 0.5, 2),
        ("outcome_p90", gettext("90th percentile days to outcome"), dones, 0.9, 2),
    ]:
        referrals.derived.append(
            Derived(
                column=Column(key, label, "days"),
                values=[delays.get(int(agency), none).percentiles.get(fraction) for agency, _ in agencies],
                depends=[[(r, base)] for r in range(len(agencies))],
                total=delays.get(None, none).percentiles.get(fraction),
                total_depends=[(None, base)],
                bases=[delays.get(int(agency), none).timed for agency, _ in agencies],
                total_base=delays.get(None, none).timed,
            )
        )
    referrals.order = [
        "sent",
        "acknowledged",
        "acknowledged_share",
        "ack_median",
        "ack_p90",
        "completed",
        "outcome_median",
        "outcome_p90",
    ]

    used = {outcome for _, outcome in outcome_counts}
    outcome_columns = [(o.value, str(o.label)) for o in Outcome if o.value in used]
    outcome_agencies = [(key, label) for key, label in agencies if dones.get(int(key), none).count]
    outcomes = Table(
        key="referral_outcomes",
        title=gettext("Referral outcomes"),
        description=gettext("Completed referrals by outcome; shares are of the agency's completed referrals."),
        row_header=gettext("Agency"),
        rows=outcome_agencies,
        columns=[Column(key, label) for key, label in outcome_columns],
        counts=_grid(outcome_counts, outcome_agencies, outcome_columns),
        keys=_grid(outcome_keys, outcome_agencies, outcome_columns),
        row_totals=True,
        chart="stacked",
    )
    for index, (key, label) in enumerate(outcome_columns):
        outcomes.derived.append(_share(outcomes, f"{key}_share", f"% {label.lower()}", index, None))
    outcomes.order = [k for key, _ in outcome_columns for k in (key, f"{key}_share")] + [TOTAL_KEY]
    return [referrals, outcomes, _takedown_table(params, q)]


def _takedown_table(params: Params, q: _Query) -> Table:
    items = _delays(q, "items", "platform")
    used = {key for key in items if key is not None}
    platforms = _terms(Vocabulary.PLATFORM, params.organisations, used=used, only_used=True)
    table = Table(
        key="takedown_items",
        title=gettext("Takedown items"),
        description=gettext(
            "Items whose removal was asked for, by platform; days from sending the request to removal."
        ),
        row_header=gettext("Platform"),
        rows=[(str(pk), label) for pk, label in platforms],
        columns=[Column("items", gettext("Items")), Column("removed", gettext("Removed"))],
        counts=[[items[pk].count, items[pk].done] for pk, _ in platforms],
        keys=[[items[pk].count_key, items[pk].done_key] for pk, _ in platforms],
        chart="bar",
    )
    table.derived += [
        _share(table, "removed_share", gettext("% removed"), 1, 0),
        Derived(
            column=Column("removal_median", gettext("Median days to removal"), "days"),
            values=[items[pk].percentiles.get(0.5) for pk, _ in platforms],
            depends=[[(r, 1)] for r in range(len(platforms))],
            total=items[None].percentiles.get(0.5) if None in items else None,
            total_depends=[(None, 1)],
            bases=[items[pk].timed for pk, _ in platforms],
            total_base=items[None].timed if None in items else 0,
        ),
    ]
    return table


# --- Child Helpline International: contacts by type and by reason for contact, gender and age ------------------


def _chi_tables(params: Params, q: _Query) -> list[Table]:
    """Contacts by their own date (on the cases of the scope), as Child Helpline International asks for them yearly.

    Every count is of contacts, each carrying its case's record key, like the workload's.
    """
    band = "CASE WHEN s.age >= 0 THEN width_bucket(s.age, %(limits)s::int[])::text ELSE s.age_unknown END"
    found = q.rows(
        f"SELECT s.reason, s.type, s.gender, {band}, sum(n)::int, sum(k)::bigint FROM {q.source('chi')} s"
        " GROUP BY 1, 2, 3, 4"
    )
    genders = [(g.value, str(g.label)) for g in Gender] + [("", gettext("Gender not recorded"))]
    bands = age_bands(params.age_limits)
    columns = [
        Column("contacts", gettext("Contacts")),
        *(Column(f"gender_{key or 'not_recorded'}", label) for key, label in genders),
        *(Column(f"age_{key or 'not_recorded'}", label) for key, label in bands),
    ]
    position = {column.key: index for index, column in enumerate(columns)}
    # (table, row key) -> per column, [count, key sum]
    cells: dict[tuple[str, Any], list[list[int]]] = {}
    for reason, contact_type, gender, age_band, n, k in found:
        places = [("reasons", reason)]
        if contact_type == ContactType.COUNSELLING:
            places.append(("counselling", reason))
        if reason == 0:
            places.append(("types", contact_type))
        for place in places:
            grid = cells.setdefault(place, [[0, 0] for _ in columns])
            for key in ("contacts", f"gender_{gender or 'not_recorded'}", f"age_{age_band or 'not_recorded'}"):
                grid[position[key]][0] += n
                grid[position[key]][1] += k

    def table(key: str, place: str, rows: list[tuple[Any, str]], **kwargs: Any) -> Table:
        empty = [[0, 0] for _ in columns]
        grids = [cells.get((place, row), empty) for row, _ in rows]
        return Table(
            key=key,
            rows=[(str(row), label) for row, label in rows],
            columns=columns,
            counts=[[count for count, _ in grid] for grid in grids],
            keys=[[key_sum for _, key_sum in grid] for grid in grids],
            **kwargs,
        )

    shown = {reason for place, reason in cells if place != "types"}
    shown |= set(ChiMapping.objects.values_list("category_id", flat=True))
    reasons: list[tuple[Any, str]] = [
        (category.pk, category.label) for category in ChiCategory.objects.filter(active=True) if category.pk in shown
    ]
    reasons += [(-1, gettext("No reason recorded")), (0, gettext("All contacts, each counted once"))]
    by_reason = gettext(
        "Each contact under every reason for contact of its case, in the categories of Child Helpline "
        "International's data framework, so the reasons do not add up to the last row. Gender and age are the "
        "victim's."
    )
    return [
        table(
            "chi_types",
            "types",
            [(t.value, str(t.label)) for t in ContactType],
            title=gettext("Child Helpline International: contacts by type"),
            description=gettext("Contacts by their own date; gender and age are the victim's."),
            row_header=gettext("Type of contact"),
            chart="bar",
        ),
        table(
            "chi_reasons",
            "reasons",
            reasons,
            title=gettext("Child Helpline International: all contacts by reason for contact"),
            description=by_reason,
            row_header=gettext("Reason for contact"),
            column_totals=False,
            chart="",
        ),
        table(
            "chi_counselling",
            "counselling",
            reasons,
            title=gettext("Child Helpline International: counselling contacts by reason for contact"),
            description=by_reason,
            row_header=gettext("Reason for contact"),
            column_totals=False,
            chart="",
        ),
    ]


# --- response steps and workload -------------------------------------------------------------------------------------


def _step_table(params: Params, q: _Query) -> list[Table]:
    steps_done = _delays(q, "steps", "step")
    steps = [(step.pk, step.label) for step in StepType.objects.all() if step.active or step.pk in steps_done]
    empty = _Delays()
    table = Table(
        key="steps",
        title=gettext("Response steps"),
        description=gettext("Cases whose checklist has the step, and how many had it done; days from first contact."),
        row_header=gettext("Step"),
        rows=[(str(pk), label) for pk, label in steps],
        columns=[Column("planned", gettext("On the checklist")), Column("done", gettext("Done"))],
        counts=[[steps_done.get(pk, empty).count, steps_done.get(pk, empty).done] for pk, _ in steps],
        keys=[[steps_done.get(pk, empty).count_key, steps_done.get(pk, empty).done_key] for pk, _ in steps],
        column_totals=False,
        chart="bar",
    )
    table.derived += [
        _share(table, "done_share", gettext("% done"), 1, 0),
        Derived(
            column=Column("done_median", gettext("Median days to done"), "days"),
            values=[steps_done.get(pk, empty).percentiles.get(0.5) for pk, _ in steps],
            depends=[[(r, 1)] for r in range(len(steps))],
            bases=[steps_done.get(pk, empty).timed for pk, _ in steps],
        ),
    ]
    return [table]


def _workload_table(params: Params, q: _Query) -> list[Table]:
    contacts = {
        row[0]: row[1:]
        for row in q.rows(
            f"SELECT {q.period}, sum(contacts)::int, sum(timed)::int, sum(minutes)::int, sum(k)::bigint"
            f" FROM {q.source('contacts')} s GROUP BY 1"
        )
    }
    new_cases = {
        row[0]: row[1:]
        for row in q.rows(f"SELECT {q.period}, sum(n)::int, sum(k)::bigint FROM {q.source('facts')} s GROUP BY 1")
    }
    keys = periods(params)
    table = Table(
        key="workload",
        title=gettext("Workload"),
        description=gettext("Contacts by their own date (on the cases of the scope) and new cases by first contact."),
        row_header=gettext("Period"),
        rows=period_rows(params),
        columns=[Column("contacts", gettext("Contacts")), Column("new_cases", gettext("New cases"))],
        counts=[[contacts[key][0] if key in contacts else 0, new_cases.get(key, (0, 0))[0]] for key in keys],
        keys=[[contacts[key][3] if key in contacts else 0, new_cases.get(key, (0, 0))[1]] for key in keys],
        chart="line",
    )

    def average(timed: int, minutes: int | None) -> float | None:
        return minutes / timed if timed and minutes is not None else None

    table.derived.append(
        Derived(
            column=Column("minutes", gettext("Average minutes per contact"), "minutes"),
            values=[average(*contacts[key][1:3]) if key in contacts else None for key in keys],
            depends=[[(r, 0)] for r in range(len(keys))],
            total=average(sum(row[1] for row in contacts.values()), sum(row[2] or 0 for row in contacts.values())),
            total_depends=[(None, 0)],
            bases=[contacts[key][1] if key in contacts else 0 for key in keys],
            total_base=sum(row[1] for row in contacts.values()),
        )
    )
    return [table]


@dataclass
class _Delays:
    """How many items (steps, referrals, takedown items) and how long they took, in days."""

    count: int = 0
    done: int = 0  # done, with or without a time
    timed: int = 0  # done at a known time: the base of the percentiles
    count_key: int = 0  # the sums of the record keys of the cases of each count, for disclosure control
    done_key: int = 0
    timed_key: int = 0
    percentiles: dict[float, float | None] = field(default_factory=dict)


def _delays(q: _Query, family: str, key: str, fractions: Sequence[float] = (0.5,)) -> dict[Any, _Delays]:
    """Per key, and under None for all keys: counts and percentile_cont of the delays.

    The delays are kept as counts per tenth of a day, so the percentile is taken on the cumulative
    counts: the values at ranks floor and ceil of fraction * (n - 1), interpolated.
    """
    source = q.source(family)
    result: dict[Any, _Delays] = {}
    # One statement, so the family is read once: the counts per key (fraction null), then the percentiles.
    rows = q.rows(
        f"""
        WITH counts AS MATERIALIZED (
            SELECT GROUPING(s.{key}) AS everything, s.{key} AS key, s.tenths, sum(n) AS n, sum(k) AS k
            FROM {source} s GROUP BY GROUPING SETS ((s.{key}, s.tenths), (s.tenths))
        ), ranked AS (
            SELECT everything, key, tenths,
                   sum(n) OVER (PARTITION BY everything, key ORDER BY tenths) AS upto,
                   sum(n) OVER (PARTITION BY everything, key) AS total
            FROM counts WHERE tenths >= 0
        ), wanted AS (
            SELECT everything, key, tenths, upto, fraction, fraction * (total - 1) AS position
            FROM ranked, unnest(%(fractions)s::float8[]) AS f(fraction)
        )
        SELECT everything, key, NULL::float8, sum(n)::float8, coalesce(sum(n) FILTER (WHERE tenths <> -1), 0)::float8,
               coalesce(sum(n) FILTER (WHERE tenths >= 0), 0)::float8, sum(k)::bigint,
               coalesce(sum(k) FILTER (WHERE tenths <> -1), 0)::bigint,
               coalesce(sum(k) FILTER (WHERE tenths >= 0), 0)::bigint
        FROM counts GROUP BY everything, key
        UNION ALL
        SELECT everything, key, fraction,
               min(tenths) FILTER (WHERE upto > floor(position))::float8,
               min(tenths) FILTER (WHERE upto > ceil(position))::float8,
               max(position - floor(position)), NULL, NULL, NULL
        FROM wanted GROUP BY everything, key, fraction
        """,
        fractions=list(fractions),
    )
    for everything, value, fraction, first, second, third, *key_sums in sorted(
        rows, key=lambda row: row[2] is not None
    ):
        delays = result.setdefault(None if everything else value, _Delays())
        if fraction is None:
            delays.count, delays.done, delays.timed = int(first), int(second), int(third)
            delays.count_key, delays.done_key, delays.timed_key = key_sums
        else:
            delays.percentiles[fraction] = (first + third * (second - first)) / 10
    return result


# --- helpers ---------------------------------------------------------------------------------------------------------


def _grid(
    counts: dict[tuple[Any, Any], int], rows: Sequence[tuple[Any, str]], columns: Sequence[tuple[Any, str]]
) -> list[list[int]]:
    return [[counts.get((row, column), 0) for column, _ in columns] for row, _ in rows]


def _counted(rows: Iterable[tuple[Any, ...]]) -> tuple[dict[tuple[Any, Any], int], dict[tuple[Any, Any], int]]:
    """Rows of (row key, column key, count, key sum) as the counts and the key sums by (row, column)."""
    counts, key_sums = {}, {}
    for row, column, count, key_sum in rows:
        counts[row, column] = count
        key_sums[row, column] = key_sum
    return counts, key_sums


def _share(table: Table, key: str, label: str, numerator: int, base: int | None) -> Derived:
    """Percent of ``numerator`` (a column) over ``base`` (a column, or None for the row total)."""

    def value(top: int, bottom: int) -> float | None:
        return 100 * top / bottom if bottom else None

    n = len(table.rows)
    bases = [table.row_total(r) if base is None else table.counts[r][base] for r in range(n)]
    base_ref = [(r, base) for r in range(n)]
    derived = Derived(
        column=Column(key, label, "percent"),
        values=[value(table.counts[r][numerator], bases[r]) for r in range(n)],
        depends=[[(r, numerator), base_ref[r]] for r in range(n)],
    )
    if table.column_totals:
        bottom = table.grand_total() if base is None else table.column_total(base)
        derived.total = value(table.column_total(numerator), bottom)
        derived.total_depends = [(None, numerator), (None, base)]
    return derived


def _change(table: Table, key: str, label: str, now: int, before: int) -> Derived:
    def value(current: int, previous: int) -> float | None:
        return 100 * (current - previous) / previous if previous else None

    n = len(table.rows)
    return Derived(
        column=Column(key, label, "change"),
        values=[value(table.counts[r][now], table.counts[r][before]) for r in range(n)],
        depends=[[(r, now), (r, before)] for r in range(n)],
        total=value(table.column_total(now), table.column_total(before)),
        total_depends=[(None, now), (None, before)],
    )


def _terms(
    vocabulary: str, organisations: Sequence[int], *, used: set[Any] | None = None, only_used: bool = False
) -> list[tuple[Any, str]]:
    """The terms of a vocabulary the report's organisations offer, and the others the figures still count.

    Never another organisation's own terms: those are counted only on that organisation's cases.
    """
    used = used or set()
    offered: set[int] = set()
    if not only_used:
        for organisation in organisations:
            offered |= set(terms_offered_to(organisation, vocabulary).values_list("pk", flat=True))
    return [
        (term.pk, term.label)
        for term in Term.objects.filter(vocabulary=vocabulary).order_by("position", "label")
        if term.pk in used or term.pk in offered
    ]


def _agencies(used: set[int]) -> list[tuple[str, str]]:
    kinds = dict(AgencyKind.choices)
    agencies = Agency.objects.filter(pk__in=used).order_by("kind", "name")
    return [(str(agency.pk), f"{kinds[agency.kind]}: {agency.name}") for agency in agencies]


def _region_name(code: str) -> str:
    region = pycountry.subdivisions.get(code=code)
    return f"{region.name} ({code})" if region else code
