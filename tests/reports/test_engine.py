"""The report engine on a small helpline whose figures are worked out by hand and written here.

Six cases in January to March 2024 (``JAN``, ``FEB``, ``MAR``), three in the same months of 2023, one
in December 2023 and one of another organisation, with their contacts, response steps, referrals and
takedown items. Every example is checked on both paths: the live tables and the statistics store
(written by ``rollups_refresh()`` once the helpline is made).

The conventions the examples pin down:

* a case belongs to the month, in the deployment's time zone (settings.TIME_ZONE, Europe/Rome), of its
  first contact; a contact to the month of its own time; a period is that month truncated to the
  quarter or year; "a year earlier" counts the cases of the same months twelve months before;
* age bands: a known age falls in the band whose label range contains it; "minor"/"adult" without an
  age are their own rows; no age and no age-unknown is "Age not recorded";
* delays (acknowledgement and outcome from sending, removal of an item from sending its referral, a
  step done from first contact) are floored to tenths of a day (a negative one counts as 0), then
  summarised as PostgreSQL's ``percentile_cont``: linear interpolation at position
  ``fraction * (n - 1)`` of the sorted values.

The case of each month, with what the tables count of it::

    c1  10 Jan  15, female, IT-RM, financial, paid, complied, high risk; money; instagram; threat: family
    c2  20 Jan  12, male, IT-MI, financial, self-harm, immediate danger, critical; money, more images;
                instagram (first contact), snapchat (moved to)
    c3   5 Feb  minor of unknown age, no gender, IT-RM, no type, content distributed; the old demand;
                the old platform
    c4   1 Mar  at 00:30 (29 Feb in UTC), 30, female, no region, the old type, extorted again; flattery
    c5  15 Mar  adult of unknown age, not stated, financial, low risk, by phone; a self-taken image
    c6  20 Mar  nothing recorded but its reporter, a parent
    b1, b2, b3  15 Jan 2023 (16, tiktok, a police referral), 10 and 11 Mar 2023 (40, and no age)
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
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
    Gender,
    PlatformRole,
    Risk,
    StepStatus,
    StepType,
    Term,
    Vocabulary,
)
from referrals.models import Agency, AgencyKind, ItemStatus, Outcome, ReferralKind, ReferralStatus
from reports.engine import Params, age_bands, build_report
from reports.models import AgeScheme
from reports.rollups import rollups_refresh
from reports.tables import Table
from tests.factories import (
    AgencyFactory,
    CaseFactory,
    ContactFactory,
    OrganisationFactory,
    ReferralFactory,
    ResponseStepFactory,
    StepTypeFactory,
    TakedownItemFactory,
    TermFactory,
    UserFactory,
)
from tests.reports.helpers import local

pytestmark = pytest.mark.django_db

JAN, FEB, MAR = date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)
TABLES = [
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


def term(vocabulary: str, code: str) -> Term:
    return Term.objects.get(vocabulary=vocabulary, organisation=None, code=code)


@dataclass
class Helpline:
    organisation: Organisation
    worker: User
    cases: dict[str, Case]
    terms: dict[str, Term]
    police: Agency
    regulator: Agency
    old_step: StepType
    unused_step: StepType

    def params(self, start: date = JAN, end: date = MAR, **options: Any) -> Params:
        return Params(organisations=(self.organisation.pk,), start=start, end=end, **options)

    def pk(self, name: str) -> str:
        """A term's key, as the tables name their rows and columns."""
        return str(self.terms[name].pk)


@pytest.fixture
def helpline() -> Helpline:
    organisation = OrganisationFactory.create(name="Engine Helpline")
    worker = UserFactory.create(username="engine-worker", role=Role.WORKER, organisation=organisation)
    terms = {
        "financial": term(Vocabulary.SEXTORTION_TYPE, "financial"),
        "money": term(Vocabulary.DEMAND, "money"),
        "more_images": term(Vocabulary.DEMAND, "more_images"),
        "instagram": term(Vocabulary.PLATFORM, "instagram"),
        "snapchat": term(Vocabulary.PLATFORM, "snapchat"),
        "tiktok": term(Vocabulary.PLATFORM, "tiktok"),
        "family": term(Vocabulary.THREAT, "family"),
        "flattery": term(Vocabulary.APPROACH, "flattery"),
        "self_image": term(Vocabulary.CONTENT_TYPE, "self_image"),
        "phone": term(Vocabulary.CHANNEL, "phone"),
        "parent": term(Vocabulary.REPORTER_TYPE, "parent"),
        "old_demand": TermFactory.create(vocabulary=Vocabulary.DEMAND, code="old-demand", active=False),
        "unused_demand": TermFactory.create(vocabulary=Vocabulary.DEMAND, code="unused-demand", active=False),
        "old_platform": TermFactory.create(vocabulary=Vocabulary.PLATFORM, code="old-platform", active=False),
        "old_type": TermFactory.create(vocabulary=Vocabulary.SEXTORTION_TYPE, code="old-type", active=False),
    }
    t = terms

    def case(at: datetime, **fields: Any) -> Case:
        return CaseFactory.create(organisation=organisation, created_by=worker, first_contact_at=at, **fields)

    cases = {
        "c1": case(
            local(JAN, 10),
            victim_age=15,
            victim_gender=Gender.FEMALE,
            victim_region="IT-RM",
            sextortion_type=t["financial"],
            victim_paid=Answer.YES,
            victim_complied=Answer.YES,
            risk_level=Risk.HIGH,
            demands=[t["money"]],
            platforms=[(t["instagram"], PlatformRole.FIRST_CONTACT)],
            threats=[t["family"]],
        ),
        "c2": case(
            local(JAN, 20),
            victim_age=12,
            victim_gender=Gender.MALE,
            victim_region="IT-MI",
            sextortion_type=t["financial"],
            self_harm=True,
            immediate_danger=True,
            risk_level=Risk.CRITICAL,
            demands=[t["money"], t["more_images"]],
            platforms=[(t["instagram"], PlatformRole.FIRST_CONTACT), (t["snapchat"], PlatformRole.MOVED_TO)],
        ),
        "c3": case(
            local(FEB, 5),
            victim_age_unknown=AgeUnknown.MINOR,
            victim_region="IT-RM",
            content_distributed=Answer.YES,
            demands=[t["old_demand"]],
            platforms=[(t["old_platform"], PlatformRole.FIRST_CONTACT)],
        ),
        "c4": case(
            local(MAR, 1, 0, 30),  # 23:30 on 29 February in UTC
            victim_age=30,
            victim_gender=Gender.FEMALE,
            sextortion_type=t["old_type"],
            extorted_again=Answer.YES,
            approaches=[t["flattery"]],
        ),
        "c5": case(
            local(MAR, 15),
            victim_age_unknown=AgeUnknown.ADULT,
            victim_gender=Gender.NOT_STATED,
            sextortion_type=t["financial"],
            risk_level=Risk.LOW,
            channel=t["phone"],
            content_types=[t["self_image"]],
        ),
        "c6": case(local(MAR, 20), reporter_type=t["parent"]),
        # A year earlier; then December 2023, before the report; then another organisation's, never counted.
        "b1": case(local(date(2023, 1, 1), 15), victim_age=16, platforms=[(t["tiktok"], PlatformRole.FIRST_CONTACT)]),
        "b2": case(local(date(2023, 3, 1), 10), victim_age=40),
        "b3": case(local(date(2023, 3, 1), 11)),
        "december": case(local(date(2023, 12, 1), 20), victim_age=14),
        "elsewhere": CaseFactory.create(
            organisation=OrganisationFactory.create(name="Elsewhere"),
            first_contact_at=local(FEB, 10),
            victim_age=15,
            sextortion_type=t["financial"],
            platforms=[(t["instagram"], PlatformRole.FIRST_CONTACT)],
        ),
    }
    c = cases

    # Contacts by their own month, on any case of the organisation: January 1 (25 minutes); February 2,
    # one of them on the December case, untimed; March 1 (20 minutes), just after local midnight.
    ContactFactory.create(case=c["c1"], duration_minutes=25)
    ContactFactory.create(case=c["c1"], at=local(FEB, 2))
    ContactFactory.create(case=c["december"], at=local(FEB, 15))
    ContactFactory.create(case=c["c3"], at=local(MAR, 1, 0, 10), duration_minutes=20)
    ContactFactory.create(case=c["elsewhere"], duration_minutes=60)

    # The old (inactive) step: planned on five cases, done on four, one of them at no known time and one
    # (wrongly) before the first contact. Delays: 1.55 days (15 tenths), 0.25 (2 tenths), -1 (0).
    old_step = StepTypeFactory.create(code="old-step", label="Old step", active=False)
    unused_step = StepTypeFactory.create(code="unused-step", label="Unused step", active=False)
    done = StepStatus.DONE
    ResponseStepFactory.create(case=c["c1"], step_type=old_step, status=StepStatus.TODO)
    after = {"c2": timedelta(days=1.55), "c5": timedelta(days=0.25), "c6": timedelta(days=-1)}
    for name, delay in after.items():
        done_at = c[name].first_contact_at + delay
        ResponseStepFactory.create(case=c[name], step_type=old_step, status=done, done_at=done_at)
    ResponseStepFactory.create(case=c["c4"], step_type=old_step, status=done, done_at=None)
    ResponseStepFactory.create(case=c["b1"], step_type=old_step, status=done, done_at=c["b1"].first_contact_at)

    # Referrals of c1 to the police, sent an hour after its first contact: acknowledged after 0.05,
    # 1.25, 3 and 10.96 days (0, 12, 30 and 109 tenths), completed after 2 and 10.99 days (20, 109).
    police = AgencyFactory.create(code="engine-police", name="Engine police", kind=AgencyKind.POLICE)
    regulator = AgencyFactory.create(code="engine-regulator", name="Engine regulator", kind=AgencyKind.REGULATOR)
    sent = c["c1"].first_contact_at + timedelta(hours=1)

    def refer(case: Case, status: str, **fields: Any) -> Any:
        return ReferralFactory.create(case=case, agency=police, status=status, sent_at=sent, **fields)

    refer(c["c1"], ReferralStatus.ACKNOWLEDGED, acknowledged_at=sent + timedelta(days=0.05))
    refer(
        c["c1"],
        ReferralStatus.COMPLETED,
        outcome=Outcome.INVESTIGATION_OPENED,
        acknowledged_at=sent + timedelta(days=1.25),
        closed_at=sent + timedelta(days=2),
    )
    refer(
        c["c1"],
        ReferralStatus.COMPLETED,
        outcome=Outcome.NO_FURTHER_ACTION,
        acknowledged_at=sent + timedelta(days=3),
        closed_at=sent + timedelta(days=10.99),
    )
    refer(c["c1"], ReferralStatus.IN_PROGRESS, acknowledged_at=sent + timedelta(days=10.96))
    refer(c["c1"], ReferralStatus.SENT)
    ReferralFactory.create(case=c["c1"], agency=police)  # a draft, never sent: not counted
    refer(c["b1"], ReferralStatus.SENT)  # the case is a year earlier: not counted

    # A takedown request for c2 to the regulator: four items on the old platform, removed after 2.5 and
    # 0.31 days (25 and 3 tenths), removed at no known time, and still requested; one on Instagram, still
    # requested. A draft's item on Snapchat is not counted.
    takedown = ReferralFactory.create(
        case=c["c2"], agency=regulator, kind=ReferralKind.TAKEDOWN, status=ReferralStatus.SENT, sent_at=sent
    )
    for status, removed_at in [
        (ItemStatus.REMOVED, sent + timedelta(days=2.5)),
        (ItemStatus.REMOVED, sent + timedelta(days=0.31)),
        (ItemStatus.REMOVED, None),
        (ItemStatus.REQUESTED, None),
    ]:
        TakedownItemFactory.create(referral=takedown, platform=t["old_platform"], status=status, removed_at=removed_at)
    TakedownItemFactory.create(referral=takedown, platform=t["instagram"])
    draft = ReferralFactory.create(case=c["c2"], agency=regulator, kind=ReferralKind.TAKEDOWN)
    TakedownItemFactory.create(referral=draft, platform=t["snapchat"])

    rollups_refresh()  # the statistics store, written with all of the above
    return Helpline(organisation, worker, cases, terms, police, regulator, old_step, unused_step)


# --- reading the tables ----------------------------------------------------------------------------------------


def both_paths(params: Params) -> list[dict[str, Table]]:
    """The report's tables from the live tables, then from the statistics store."""
    return [{t.key: t for t in build_report(params, use_rollups=store).tables} for store in (False, True)]


def cells(table: Table) -> dict[tuple[str, str], int]:
    """The counts that are not 0, by row and column key."""
    columns = [column.key for column in table.columns]
    return {
        (row, column): count
        for (row, _), counts in zip(table.rows, table.counts, strict=True)
        for column, count in zip(columns, counts, strict=True)
        if count
    }


def rows(table: Table) -> list[str]:
    return [key for key, _ in table.rows]


def columns(table: Table) -> list[str]:
    return [column.key for column in table.columns]


def derived(table: Table, key: str) -> tuple[list[float | None], float | None]:
    """A derived column: its value on each row, and on the total row."""
    (figure,) = [d for d in table.derived if d.column.key == key]
    return figure.values, figure.total


def approx(values: Iterable[float | None]) -> list[Any]:
    return [None if value is None else pytest.approx(value) for value in values]


# --- the cases themselves ----------------------------------------------------------------------------------------


def test_the_report_has_every_table_in_order(helpline: Helpline) -> None:
    for tables in both_paths(helpline.params()):
        assert list(tables) == TABLES


def test_new_cases_by_month_against_a_year_earlier(helpline: Helpline) -> None:
    """c4's first contact, at 00:30 on 1 March in Rome, is in March although it is still February in UTC."""
    for tables in both_paths(helpline.params()):
        table = tables["new_cases"]
        assert rows(table) == ["2024-01-01", "2024-02-01", "2024-03-01"]
        assert table.counts == [[2, 1], [1, 0], [3, 2]]
        assert derived(table, "change") == (approx([100.0, None, 50.0]), pytest.approx(100.0))


@pytest.mark.parametrize(
    ("granularity", "start", "expected"),
    [
        # Q4 2023 holds the December case alone (nothing in Q4 2022); Q1 2024 its six against 2023's three.
        ("quarter", date(2023, 12, 1), {"2023-10-01": [1, 0], "2024-01-01": [6, 3]}),
        # 2023 from January: b1, b2, b3 and December (2022 had none); 2024 to March against 2023 to March.
        ("year", date(2023, 1, 1), {"2023-01-01": [4, 0], "2024-01-01": [6, 3]}),
    ],
)
def test_months_are_gathered_into_quarters_and_years(
    helpline: Helpline, granularity: str, start: date, expected: dict[str, list[int]]
) -> None:
    for tables in both_paths(helpline.params(start, granularity=granularity)):
        table = tables["new_cases"]
        assert dict(zip(rows(table), table.counts, strict=True)) == expected
        for name in ("minors_adults", "sextortion_type", "outcomes", "demands", "workload"):
            assert rows(tables[name]) == list(expected), name


def test_victims_by_age_band_and_gender(helpline: Helpline) -> None:
    for tables in both_paths(helpline.params()):
        table = tables["age_gender"]
        assert table.rows == [
            ("0", "12 and under"),
            ("1", "13 to 17"),
            ("2", "18 and over"),
            ("minor", "Minor, age unknown"),
            ("adult", "Adult, age unknown"),
            ("", "Age not recorded"),
        ]
        assert columns(table) == ["female", "male", "non_binary_other", "not_stated", "not_recorded"]
        assert cells(table) == {
            ("0", "male"): 1,  # c2, 12
            ("1", "female"): 1,  # c1, 15
            ("2", "female"): 1,  # c4, 30
            ("minor", "not_recorded"): 1,  # c3
            ("adult", "not_stated"): 1,  # c5
            ("", "not_recorded"): 1,  # c6
        }


def test_the_age_bands_follow_the_reports_limits(helpline: Helpline) -> None:
    params = helpline.params(age_limits=(10, 14, 18), age_scheme="custom")
    for tables in both_paths(params):
        table = tables["age_gender"]
        assert rows(table) == ["0", "1", "2", "3", "minor", "adult", ""]
        assert [table.row_total(r) for r in range(len(table.rows))] == [0, 1, 1, 1, 1, 1, 1]
        assert ("1", "male") in cells(table) and ("2", "female") in cells(table)  # 12 in 10-13, 15 in 14-17


def test_age_by_gender_for_every_named_scheme(helpline: Helpline) -> None:
    """c2 is 12, c1 15 and c4 30; the three cases of ages not known exactly keep their rows."""
    bands = {
        "guidance": [1, 1, 1],
        "postal_police": [0, 1, 1, 1],  # to 9, 10-13, 14-17, 18+
        "iwf": [0, 1, 1, 0, 1],  # to 10, 11-13, 14-15, 16-17, 18+
        "esafety": [2, 0, 1, 0],  # to 17, 18-24, 25-34, 35+
    }
    assert set(AgeScheme.objects.values_list("code", flat=True)) == set(bands)
    for scheme in AgeScheme.objects.all():
        params = helpline.params(age_scheme=scheme.code, age_limits=tuple(scheme.limits))
        for use_rollups in (False, True):
            (table,) = [t for t in build_report(params, use_rollups=use_rollups).tables if t.key == "age_gender"]
            totals = [table.row_total(r) for r in range(len(table.rows))]
            assert totals == [*bands[scheme.code], 1, 1, 1], scheme.code


def test_minors_and_adults_by_month(helpline: Helpline) -> None:
    for tables in both_paths(helpline.params()):
        table = tables["minors_adults"]
        assert columns(table) == ["minor", "adult", "not_recorded"]
        assert table.counts == [[2, 0, 0], [1, 0, 0], [0, 2, 1]]


def test_sextortion_type_by_month(helpline: Helpline) -> None:
    """The old type is inactive, and a column because c4 has it; cases with no type are a column of their own."""
    h = helpline
    for tables in both_paths(h.params()):
        table = tables["sextortion_type"]
        assert h.pk("old_type") in columns(table) and columns(table)[-1] == "not_recorded"
        assert cells(table) == {
            ("2024-01-01", h.pk("financial")): 2,
            ("2024-02-01", "not_recorded"): 1,
            ("2024-03-01", h.pk("old_type")): 1,
            ("2024-03-01", h.pk("financial")): 1,
            ("2024-03-01", "not_recorded"): 1,
        }


def test_outcome_facts_and_risk_flags_by_month(helpline: Helpline) -> None:
    for tables in both_paths(helpline.params()):
        table = tables["outcomes"]
        assert columns(table) == [
            "cases",
            "paid",
            "complied",
            "distributed",
            "extorted_again",
            "self_harm",
            "immediate_danger",
            "under_13",
            "high_risk",
        ]
        assert table.counts == [
            [2, 1, 1, 0, 0, 1, 1, 1, 2],  # c1 paid and complied, high; c2 12, self-harm, in danger, critical
            [1, 0, 0, 1, 0, 0, 0, 0, 0],  # c3's content distributed; a minor of unknown age is not under 13
            [3, 0, 0, 0, 1, 0, 0, 0, 0],  # c4 extorted again; c5 low risk
        ]
        assert derived(table, "high_risk_share") == (approx([100.0, 0.0, 0.0]), pytest.approx(100 * 2 / 6))


def test_regions_minors_against_adults(helpline: Helpline) -> None:
    for tables in both_paths(helpline.params()):
        table = tables["regions"]
        assert table.rows == [("IT-MI", "Milano (IT-MI)"), ("IT-RM", "Roma (IT-RM)"), ("", "Region not recorded")]
        assert table.counts == [[1, 0, 0], [2, 0, 0], [0, 2, 1]]


# --- many-valued facts -----------------------------------------------------------------------------------------------


def test_demands_approaches_content_and_threats_count_each_case_once_per_term(helpline: Helpline) -> None:
    """The old demand is a column because c3 has it; the unused inactive one is not; active ones always are."""
    h = helpline
    for tables in both_paths(h.params()):
        demands = tables["demands"]
        assert h.pk("old_demand") in columns(demands) and h.pk("unused_demand") not in columns(demands)
        assert str(term(Vocabulary.DEMAND, "meeting").pk) in columns(demands)  # active, never asked for
        assert cells(demands) == {
            ("2024-01-01", h.pk("money")): 2,
            ("2024-01-01", h.pk("more_images")): 1,
            ("2024-02-01", h.pk("old_demand")): 1,
        }
        assert cells(tables["approaches"]) == {("2024-03-01", h.pk("flattery")): 1}
        assert cells(tables["content_types"]) == {("2024-03-01", h.pk("self_image")): 1}
        assert cells(tables["threats"]) == {("2024-01-01", h.pk("family")): 1}


def test_platforms_by_role(helpline: Helpline) -> None:
    """b1's TikTok is a year earlier and the other organisation's Instagram is theirs: neither is counted."""
    h = helpline
    for tables in both_paths(h.params()):
        table = tables["platforms"]
        assert columns(table) == ["first_contact", "content_obtained", "threats", "moved_to"]
        assert h.pk("old_platform") in rows(table) and h.pk("tiktok") in rows(table)  # inactive but used; offered
        assert cells(table) == {
            (h.pk("instagram"), "first_contact"): 2,
            (h.pk("snapchat"), "moved_to"): 1,
            (h.pk("old_platform"), "first_contact"): 1,
        }


# --- referrals, takedown items, steps, workload -----------------------------------------------------------------


def test_referrals_sent_and_their_delays(helpline: Helpline) -> None:
    h = helpline
    for tables in both_paths(h.params()):
        table = tables["referrals"]
        assert rows(table) == [str(h.police.pk), str(h.regulator.pk)]  # by kind, then name
        assert table.counts == [[5, 4, 2], [1, 0, 0]]  # the draft and b1's referral are not counted
        assert derived(table, "acknowledged_share") == (approx([80.0, 0.0]), pytest.approx(100 * 4 / 6))
        # Tenths 0, 12, 30, 109: the median (12 + 30) / 2; the 90th percentile at position 2.7, 30 + 0.7 * 79.
        assert derived(table, "ack_median") == (approx([2.1, None]), pytest.approx(2.1))
        assert derived(table, "ack_p90") == (approx([8.53, None]), pytest.approx(8.53))
        # Tenths 20 and 109 (10.99 days floors to 10.9): the median 64.5; the 90th percentile 20 + 0.9 * 89.
        assert derived(table, "outcome_median") == (approx([6.45, None]), pytest.approx(6.45))
        assert derived(table, "outcome_p90") == (approx([10.01, None]), pytest.approx(10.01))

        outcomes = tables["referral_outcomes"]
        assert rows(outcomes) == [str(h.police.pk)]  # the regulator completed nothing
        assert columns(outcomes) == ["investigation_opened", "no_further_action"]  # the outcomes given, in order
        assert outcomes.counts == [[1, 1]]
        assert derived(outcomes, "investigation_opened_share")[0] == approx([50.0])


def test_takedown_items_and_the_days_to_removal(helpline: Helpline) -> None:
    """Only the platforms with an item of a sent request are rows; removal counts from sending the request."""
    h = helpline
    for tables in both_paths(h.params()):
        table = tables["takedown_items"]
        assert sorted(rows(table)) == sorted([h.pk("instagram"), h.pk("old_platform")])
        assert cells(table) == {
            (h.pk("old_platform"), "items"): 4,
            (h.pk("old_platform"), "removed"): 3,
            (h.pk("instagram"), "items"): 1,
        }
        values, total = derived(table, "removal_median")
        # Tenths 25 and 3 (the third removal has no time): the median 14.
        assert dict(zip(rows(table), values, strict=True)) == {
            h.pk("old_platform"): pytest.approx(1.4),
            h.pk("instagram"): None,
        }
        assert total == pytest.approx(1.4)
        assert derived(table, "removed_share")[1] == pytest.approx(60.0)


def test_response_steps_planned_done_and_the_days_to_done(helpline: Helpline) -> None:
    """The old step is inactive, a row because it is counted; the unused inactive one is not a row."""
    h = helpline
    for tables in both_paths(h.params()):
        table = tables["steps"]
        assert str(h.unused_step.pk) not in rows(table)
        assert str(StepType.objects.get(code="follow_up").pk) in rows(table)  # active, on no checklist here
        assert cells(table) == {(str(h.old_step.pk), "planned"): 5, (str(h.old_step.pk), "done"): 4}
        values, total = derived(table, "done_median")
        row = rows(table).index(str(h.old_step.pk))
        assert values[row] == pytest.approx(0.2)  # tenths 15, 2 and 0: the median 2
        assert total is None  # no figure across different steps
        assert derived(table, "done_share")[0][row] == pytest.approx(80.0)


def test_workload_counts_contacts_by_their_own_month(helpline: Helpline) -> None:
    """The contact on c3 just after midnight on 1 March is March's; the December case's contact counts in
    February, though the case itself is not in the report."""
    for tables in both_paths(helpline.params()):
        table = tables["workload"]
        assert table.counts == [[1, 2], [2, 1], [1, 3]]
        assert derived(table, "minutes") == (approx([25.0, None, 20.0]), pytest.approx(22.5))


# --- filters -------------------------------------------------------------------------------------------------------


def test_each_filter_counts_only_its_cases_a_year_earlier_too(helpline: Helpline) -> None:
    h = helpline
    t = h.terms
    # Filter: the new cases of January, February and March, then those of the same months of 2023.
    examples: list[tuple[dict[str, Any], list[list[int]]]] = [
        ({"platform": t["instagram"].pk}, [[2, 0], [0, 0], [0, 0]]),  # c1, c2
        ({"platform": t["old_platform"].pk}, [[0, 0], [1, 0], [0, 0]]),  # c3: an inactive term filters too
        ({"platform": t["tiktok"].pk}, [[0, 1], [0, 0], [0, 0]]),  # b1
        ({"sextortion_type": t["financial"].pk}, [[2, 0], [0, 0], [1, 0]]),  # c1, c2, c5
        ({"region": "IT-RM"}, [[1, 0], [1, 0], [0, 0]]),  # c1, c3
        ({"region": "IT-RM", "sextortion_type": t["financial"].pk}, [[1, 0], [0, 0], [0, 0]]),  # c1
        ({"gender": Gender.FEMALE}, [[1, 0], [0, 0], [1, 0]]),  # c1, c4
        ({"risk_level": Risk.HIGH}, [[1, 0], [0, 0], [0, 0]]),  # c1
        ({"risk_level": Risk.MEDIUM}, [[0, 1], [1, 0], [2, 2]]),  # c3, c4, c6; b1, b2, b3
        ({"channel": t["phone"].pk}, [[0, 0], [0, 0], [1, 0]]),  # c5
        ({"reporter_type": t["parent"].pk}, [[0, 0], [0, 0], [1, 0]]),  # c6
        ({"agency": h.police.pk}, [[1, 1], [0, 0], [0, 0]]),  # c1 (the draft of c1 does not count); b1
        ({"agency": h.regulator.pk}, [[1, 0], [0, 0], [0, 0]]),  # c2 (its draft to the regulator neither)
        ({"age_band": "1"}, [[1, 1], [0, 0], [0, 0]]),  # 13 to 17: c1 (15); b1 (16)
        ({"age_band": "2"}, [[0, 0], [0, 0], [1, 1]]),  # 18 and over: c4; b2
        ({"age_band": "minor"}, [[0, 0], [1, 0], [0, 0]]),  # c3
        ({"age_band": "adult"}, [[0, 0], [0, 0], [1, 0]]),  # c5
    ]
    for options, new_cases in examples:
        for tables in both_paths(h.params(**options)):
            assert tables["new_cases"].counts == new_cases, options
            assert tables["age_gender"].grand_total() == sum(now for now, _ in new_cases), options


def test_a_filter_applies_to_every_table(helpline: Helpline) -> None:
    """Instagram: c1 and c2, with their referrals, items, steps and contacts; not the other cases'."""
    h = helpline
    for tables in both_paths(h.params(platform=h.terms["instagram"].pk)):
        assert tables["minors_adults"].counts == [[2, 0, 0], [0, 0, 0], [0, 0, 0]]
        assert cells(tables["demands"]) == {("2024-01-01", h.pk("money")): 2, ("2024-01-01", h.pk("more_images")): 1}
        assert cells(tables["platforms"]) == {
            (h.pk("instagram"), "first_contact"): 2,
            (h.pk("snapchat"), "moved_to"): 1,
        }
        assert tables["referrals"].counts == [[5, 4, 2], [1, 0, 0]]
        assert cells(tables["takedown_items"])[h.pk("old_platform"), "items"] == 4
        assert cells(tables["steps"]) == {(str(h.old_step.pk), "planned"): 2, (str(h.old_step.pk), "done"): 1}
        assert tables["workload"].counts == [[1, 2], [1, 0], [0, 0]]  # c1's contacts alone


# --- freshness and time zones ------------------------------------------------------------------------------------


def test_unfiltered_reports_read_the_rollups_until_they_are_refreshed(helpline: Helpline) -> None:
    params = helpline.params()
    before = build_report(params).tables
    CaseFactory.create(organisation=helpline.organisation, created_by=helpline.worker, first_contact_at=local(MAR))
    stale = {t.key: t.counts for t in build_report(params).tables}
    live = {t.key: t.counts for t in build_report(params, use_rollups=False).tables}
    assert stale == {t.key: t.counts for t in before}
    assert stale["new_cases"][-1][0] + 1 == live["new_cases"][-1][0] == 4
    rollups_refresh()
    assert {t.key: t.counts for t in build_report(params).tables} == live


def test_months_are_counted_in_the_deployment_time_zone_whatever_zone_is_active(helpline: Helpline) -> None:
    """The live path's month boundaries and the store's months are both in settings.TIME_ZONE."""
    params = helpline.params()
    home = {t.key: t.counts for t in build_report(params, use_rollups=False).tables}
    assert home["new_cases"] == [[2, 1], [1, 0], [3, 2]]
    with timezone.override("America/New_York"):
        assert {t.key: t.counts for t in build_report(params, use_rollups=False).tables} == home
        assert {t.key: t.counts for t in build_report(params, use_rollups=True).tables} == home


def test_a_case_at_local_midnight_moves_month_with_the_deployments_zone(helpline: Helpline, settings: Any) -> None:
    """In UTC, c4 (00:30 on 1 March in Rome) is February's, and so is c3's contact of 00:10."""
    settings.TIME_ZONE = "UTC"
    rollups_refresh()
    for tables in both_paths(helpline.params()):
        assert tables["new_cases"].counts == [[2, 1], [2, 0], [2, 2]]
        assert tables["workload"].counts == [[1, 2], [3, 2], [0, 2]]


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
    """One case of each age 0..120 plus one minor, one adult and one unrecorded, in March 2024."""
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
    params = Params(organisations=(organisation.pk,), start=MAR, end=MAR, age_limits=limits, age_scheme="custom")
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
    make = CaseFactory.create
    at = local(MAR, 5)
    for age in range(121):
        make(organisation=organisation, created_by=worker, first_contact_at=at, victim_age=age)
    make(organisation=organisation, created_by=worker, first_contact_at=at, victim_age_unknown=AgeUnknown.MINOR)
    make(organisation=organisation, created_by=worker, first_contact_at=at, victim_age_unknown=AgeUnknown.ADULT)
    make(organisation=organisation, created_by=worker, first_contact_at=at)
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
