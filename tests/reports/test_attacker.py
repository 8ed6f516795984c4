"""An analyst who combines published tables to work back small counts, as an attacker would.

The attacker knows every figure an analyst can ask for and does the arithmetic of differencing: a total
less its other parts, one age scheme's band less another's, a quarter less its other months, the
unfiltered figure less the other values of a filter. Each attack aims at a true count from 1 to k-1. With
the published (perturbed) figures, the attacker must hit the true count no more often than a guess among
1..k-1 would; the same arithmetic on the true counts hits every time, so the attacks themselves are right.

Hypothesis chooses the attacks, the periods and the record keys of the cases; the hits are counted over
every example together.
"""

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pgtrigger
import pytest
from django.conf import settings
from django.db import connection
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import Organisation, User
from cases.models import Case, Term, Vocabulary
from reports.engine import Params, add_months, build_report, publish_report
from reports.models import AgeScheme
from reports.tables import PublishedTable, Table
from tests.factories import CaseFactory
from tests.reports.helpers import local

REGIONS = ["IT-MI", "IT-RM", "IT-NA"]
Pair = tuple[int, int]  # (the attacker's estimate, the true count)


@dataclass
class Figures:
    """One report, true and as published to an analyst."""

    true: dict[str, Table]
    shown: dict[str, PublishedTable]

    def get(self, table: str, row: str | None, column: str, *, published: bool) -> int:
        """A count by row key (None: the total row) and column key ("total": the row total)."""
        truth = self.true[table]
        index = None if row is None else [key for key, _label in truth.rows].index(row)
        if not published:
            if column == "total":
                return truth.row_total(index) if index is not None else truth.grand_total()
            position = [c.key for c in truth.columns].index(column)
            return truth.counts[index][position] if index is not None else truth.column_total(position)
        table_shown = self.shown[table]
        cells = table_shown.total[1] if index is None else table_shown.rows[index][1]  # type: ignore[index]
        value = cells[[c.key for c in table_shown.columns].index(column)].value
        assert isinstance(value, int | float), f"{table} {row} {column} is not published as a number"
        return int(value)


def figures(params: Params) -> Figures:
    report = build_report(params, use_rollups=False)
    return Figures(
        true={table.key: table for table in report.tables},
        shown={table.key: table for table in publish_report(report, suppressed=True)},
    )


def quarter_start(today: date) -> date:
    """The first month of the last whole quarter before this one."""
    this_quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    return add_months(this_quarter, -3)


@pytest.fixture
def dataset(personas: dict[str, User]) -> tuple[Organisation, date]:
    """About 90 cases over a whole quarter: ages known and unknown, three types, three regions, four genders,
    four risk levels, so that many cells are small."""
    home = personas["worker"].organisation
    first = quarter_start(date.today())
    rnd = random.Random(2026)  # noqa: S311 (made-up data)
    types = list(Term.objects.filter(vocabulary=Vocabulary.SEXTORTION_TYPE, organisation__isnull=True)[:3])
    genders = ["female", "male", "non_binary_other", "not_stated"]
    for month in range(3):
        for _ in range(30):
            age: dict[str, Any] = {
                "victim_age": rnd.choice([9, 11, 12, 13, 13, 14, 15, 16, 16, 17, 17, 19, 22, 30, 41])
            }
            if rnd.random() < 0.08:
                age = {"victim_age": None, "victim_age_unknown": rnd.choice(["minor", "adult"])}
            CaseFactory.create(
                organisation=home,
                created_by=personas["worker"],
                first_contact_at=local(add_months(first, month), rnd.randint(1, 27)),
                victim_gender=rnd.choices(genders, weights=[55, 35, 5, 5])[0],
                sextortion_type=rnd.choice(types),
                victim_country="IT",
                victim_region=rnd.choice(REGIONS),
                risk_level=rnd.choices(["low", "medium", "high", "critical"], weights=[30, 50, 15, 5])[0],
                **age,
            )
    for code, limits in (("guidance", [13, 18]), ("postal_police", [10, 14, 18]), ("iwf", [11, 14, 16, 18])):
        AgeScheme.objects.update_or_create(code=code, defaults={"label": code, "limits": limits})
    return home, first


def rekey(organisation: Organisation, seed: int) -> None:
    """Give the organisation's cases new random record keys (the attacker cannot choose them: the database
    draws them once; here each example draws its own)."""
    ids = list(Case.objects.filter(organisation=organisation).order_by("pk").values_list("pk", flat=True))
    rnd = random.Random(seed)  # noqa: S311 (test keys)
    keys = [rnd.randrange(256) for _ in ids]
    with pgtrigger.ignore("cases.Case:record_key_fixed"), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cases_case c SET record_key = new.key FROM unnest(%s::bigint[], %s::int[]) AS new(id, key)"
            " WHERE c.id = new.id",
            [ids, keys],
        )


def params(organisation: Organisation, start: date, end: date, **extra: Any) -> Params:
    return Params(organisations=(organisation.pk,), start=start, end=end, **extra)


def scheme(code: str) -> dict[str, Any]:
    return {"age_scheme": code, "age_limits": tuple(AgeScheme.objects.get(code=code).limits)}


# --- the attacks: each returns an estimate of a count, from published or from true figures ------------------------

Attack = Callable[[bool], int]


def linked_tables(organisation: Organisation, start: date, end: date) -> list[Attack]:
    """minors_adults gives all minors (adults); age_gender's bands below (from) 18 give those of known age: the
    difference is "Minor (Adult), age unknown"."""
    report = figures(params(organisation, start, end, **scheme("guidance")))
    attacks: list[Attack] = []
    for kind, bands in (("minor", ["0", "1"]), ("adult", ["2"])):

        def attack(published: bool, kind: str = kind, bands: list[str] = bands) -> int:
            everyone = report.get("minors_adults", None, kind, published=published)
            return everyone - sum(report.get("age_gender", band, "total", published=published) for band in bands)

        attacks.append(attack)
    return attacks


def overlapping_bands(organisation: Organisation, start: date, end: date) -> list[Attack]:
    """Guidance's 13 to 17 less the postal police's 14 to 17, and less the IWF's 14 to 15 and 16 to 17: the
    13-year-olds of each gender, two ways (the attacker averages them)."""
    guidance = figures(params(organisation, start, end, **scheme("guidance")))
    postal = figures(params(organisation, start, end, **scheme("postal_police")))
    iwf = figures(params(organisation, start, end, **scheme("iwf")))
    attacks: list[Attack] = []
    for gender in ["female", "male", "non_binary_other", "not_stated"]:

        def attack(published: bool, gender: str = gender) -> int:
            teens = guidance.get("age_gender", "1", gender, published=published)
            first = teens - postal.get("age_gender", "2", gender, published=published)
            second = teens - sum(iwf.get("age_gender", band, gender, published=published) for band in ("2", "3"))
            return round((first + second) / 2)

        attacks.append(attack)
    return attacks


def adjacent_periods(organisation: Organisation, start: date, end: date) -> list[Attack]:
    """A quarter's cases of each type less two of its months: the third month's cases of that type. (Reports
    to analysts cover whole quarters only, so the quarter is the dataset's, whatever months were drawn.)"""
    start = quarter_start(date.today())
    quarter = figures(params(organisation, start, add_months(start, 2), granularity="quarter"))
    months = figures(params(organisation, start, add_months(start, 2)))
    attacks: list[Attack] = []
    types = [c.key for c in quarter.true["sextortion_type"].columns]
    for target in range(3):
        for column in types:

            def attack(published: bool, target: int = target, column: str = column) -> int:
                whole = quarter.get("sextortion_type", start.isoformat(), column, published=published)
                others = [add_months(start, m).isoformat() for m in range(3) if m != target]
                return whole - sum(months.get("sextortion_type", m, column, published=published) for m in others)

            attacks.append(attack)
    return attacks


def filter_values(organisation: Organisation) -> dict[str, list[Any]]:
    return {
        "region": REGIONS,
        "gender": ["female", "male", "non_binary_other", "not_stated"],
        "sextortion_type": sorted(
            Case.objects.filter(organisation=organisation).values_list("sextortion_type", flat=True).distinct()
        ),
        "risk_level": ["low", "medium", "high", "critical"],
    }


def filtered(name: str) -> Callable[[Organisation, date, date], list[Attack]]:
    """The unfiltered minors and adults less those of the other values of a filter (region, gender, type or risk
    level): the minors and adults of one value."""

    def attacks_of(organisation: Organisation, start: date, end: date) -> list[Attack]:
        everyone = figures(params(organisation, start, end))
        choices = filter_values(organisation)[name]
        by_value = {value: figures(params(organisation, start, end, **{name: value})) for value in choices}
        attacks: list[Attack] = []
        for value in choices:
            for kind in ("minor", "adult"):

                def attack(published: bool, value: Any = value, kind: str = kind) -> int:
                    others = sum(
                        found.get("minors_adults", None, kind, published=published)
                        for other, found in by_value.items()
                        if other != value
                    )
                    return everyone.get("minors_adults", None, kind, published=published) - others

                attacks.append(attack)
        return attacks

    return attacks_of


ATTACKS = {
    "linked tables": linked_tables,
    "overlapping bands": overlapping_bands,
    "adjacent periods": adjacent_periods,
    **{f"filter by {name}": filtered(name) for name in ("region", "gender", "sextortion_type", "risk_level")},
}


def test_combining_published_figures_recovers_small_counts_no_more_often_than_a_guess(
    dataset: tuple[Organisation, date],
) -> None:
    organisation, first = dataset
    threshold = settings.DISCLOSURE_THRESHOLD
    pairs: list[Pair] = []

    @hypothesis_settings(max_examples=25, deadline=None, database=None, derandomize=True)
    @given(
        names=st.sets(st.sampled_from(sorted(ATTACKS)), min_size=1, max_size=2),
        months=st.sampled_from([(0, 0), (1, 1), (2, 2), (0, 2)]),
        seed=st.integers(0, 2**32 - 1),
    )
    def attack(names: set[str], months: tuple[int, int], seed: int) -> None:
        rekey(organisation, seed)
        start, end = add_months(first, months[0]), add_months(first, months[1])
        for name in sorted(names):
            for one in ATTACKS[name](organisation, start, end):
                truth = one(False)
                if 0 < truth < threshold:
                    pairs.append((one(True), truth))

    attack()
    assert len(pairs) >= 50, f"too few small targets to judge: {len(pairs)}"
    hits = sum(estimate == truth for estimate, truth in pairs)
    chance = 1 / (threshold - 1)
    # Three standard deviations above what guessing would hit, so that luck does not fail the test.
    allowed = len(pairs) * chance + 3 * math.sqrt(len(pairs) * chance * (1 - chance))
    assert hits <= allowed, f"{hits} of {len(pairs)} small counts recovered; a guess would hit {chance:.0%}"
