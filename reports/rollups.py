"""The families of report figures: the cases, steps, contacts and referrals of each organisation, by month.

Each family is one SQL over the live tables (``Family.select``), with delays kept as tenths of a day
so that medians and percentiles come out exactly as from the rows. The engine runs these on the live
tables, and the statistics store (reports/store.py) keeps them per case, with the case's filter
dimensions, for every report."""

from dataclasses import dataclass
from datetime import datetime

from reports.models import RollupRefresh

TENTHS = "floor(extract(epoch FROM {}) / 8640)::int"  # a delay in tenths of a day, rounded down


@dataclass(frozen=True)
class Family:
    name: str
    joins: str  # FROM cases_case c <joins>
    time: str  # the timestamp that gives the month
    dims: tuple[tuple[str, str], ...]  # (name, expression)
    measures: tuple[tuple[str, str], ...]
    where: str = "TRUE"

    def select(self, filters: str = "TRUE") -> str:
        dims = "".join(f", {expression} AS {name}" for name, expression in self.dims)
        measures = ", ".join(f"{expression} AS {name}" for name, expression in self.measures)
        group = ", ".join(str(position) for position in range(1, len(self.dims) + 3))
        return (
            f"SELECT c.organisation_id AS org, {month(self.time)} AS month{dims}, {measures} "
            f"FROM cases_case c {self.joins} WHERE {self.where} AND {filters} GROUP BY {group}"
        )


def month(column: str) -> str:
    return f"date_trunc('month', {column} AT TIME ZONE %(tz)s)::date"


# Every count comes with the sum of its cases' record keys, from which disclosure control perturbs it.
N = (("n", "count(*)"), ("k", "sum(c.record_key)"))
MINOR = (
    "CASE WHEN c.victim_age IS NOT NULL THEN (CASE WHEN c.victim_age < 18 THEN 'minor' ELSE 'adult' END)"
    " ELSE c.victim_age_unknown END"
)
FACTS = {
    "paid": "c.victim_paid = 'yes'",
    "complied": "c.victim_complied = 'yes'",
    "distributed": "c.content_distributed = 'yes'",
    "extorted_again": "c.extorted_again = 'yes'",
    "self_harm": "c.self_harm",
    "immediate_danger": "c.immediate_danger",
    "under_13": "c.victim_age < 13",
    "high_risk": "c.risk_level IN ('high', 'critical')",
}
TERM_TABLES = ("cases_case_demands", "cases_case_approaches", "cases_case_content_types", "cases_case_threats")

# The reasons for contact of a case, as ids of Child Helpline International's categories (the mapping of
# cases.models.ChiMapping): 0 for every contact once, then one row per reason, or -1 where no reason applies.
CHI_FACTS = " OR ".join(
    [
        "m.fact = 'every_case'",
        *(
            f"(m.fact = '{name}' AND {FACTS[name]})"
            for name in ("self_harm", "immediate_danger", "distributed", "paid", "extorted_again")
        ),
    ]
)
CHI_TERMS = " UNION ALL ".join(
    [
        "SELECT c.sextortion_type_id",
        *(f"SELECT t.term_id FROM {table} t WHERE t.case_id = c.id" for table in TERM_TABLES),
    ]
)
CHI_REASONS = (
    "unnest(ARRAY[0] || coalesce(nullif(ARRAY(SELECT DISTINCT m.category_id::int FROM cases_chimapping m"
    f" WHERE m.term_id IN ({CHI_TERMS}) OR {CHI_FACTS}), '{{}}'), ARRAY[-1]))"
)

FAMILIES = [
    Family(
        "victims",
        "",
        "c.first_contact_at",
        (("age", "coalesce(c.victim_age, -1)"), ("age_unknown", "c.victim_age_unknown"), ("gender", "c.victim_gender")),
        N,
    ),
    Family("types", "", "c.first_contact_at", (("type", "coalesce(c.sextortion_type_id, 0)"),), N),
    Family("regions", "", "c.first_contact_at", (("region", "c.victim_region"), ("minor", MINOR)), N),
    Family(
        "facts",
        "",
        "c.first_contact_at",
        (),
        N
        + tuple(
            measure
            for name, condition in FACTS.items()
            for measure in (
                (name, f"count(*) FILTER (WHERE {condition})"),
                (f"k_{name}", f"coalesce(sum(c.record_key) FILTER (WHERE {condition}), 0)"),
            )
        ),
    ),
    Family(
        "terms",
        "JOIN (" + " UNION ALL ".join(f"SELECT case_id, term_id FROM {table}" for table in TERM_TABLES) + ") m"
        " ON m.case_id = c.id",
        "c.first_contact_at",
        (("term", "m.term_id"),),
        N,
    ),
    Family(
        "platforms",
        "JOIN cases_caseplatform p ON p.case_id = c.id",
        "c.first_contact_at",
        (("platform", "p.platform_id"), ("role", "p.role")),
        N,
    ),
    Family(
        "steps",
        "JOIN cases_responsestep s ON s.case_id = c.id",
        "c.first_contact_at",
        (
            ("step", "s.step_type_id"),
            # -1: not done; -2: done, with no time recorded.
            (
                "tenths",
                "CASE WHEN s.status <> 'done' THEN -1 WHEN s.done_at IS NULL THEN -2 "
                f"ELSE greatest(0, {TENTHS.format('s.done_at - c.first_contact_at')}) END",
            ),
        ),
        N,
    ),
    Family(
        "contacts",
        "JOIN cases_contact k ON k.case_id = c.id",
        "k.at",
        (),
        (
            ("contacts", "count(*)"),
            ("k", "sum(c.record_key)"),
            ("timed", "count(k.duration_minutes)"),
            ("minutes", "sum(k.duration_minutes)"),
        ),
    ),
    Family(
        "chi",
        f"JOIN cases_contact k ON k.case_id = c.id CROSS JOIN LATERAL {CHI_REASONS} AS r(reason)",
        "k.at",
        (
            ("reason", "r.reason"),
            ("type", "k.contact_type"),
            ("gender", "c.victim_gender"),
            ("age", "coalesce(c.victim_age, -1)"),
            ("age_unknown", "c.victim_age_unknown"),
        ),
        N,
    ),
    Family(
        "referrals",
        "JOIN referrals_referral r ON r.case_id = c.id",
        "c.first_contact_at",
        (
            ("agency", "r.agency_id"),
            (
                "tenths",
                "CASE WHEN r.acknowledged_at IS NULL THEN -1 "
                f"ELSE greatest(0, {TENTHS.format('r.acknowledged_at - r.sent_at')}) END",
            ),
        ),
        N,
        where="r.sent_at IS NOT NULL",
    ),
    Family(
        "outcomes",
        "JOIN referrals_referral r ON r.case_id = c.id",
        "c.first_contact_at",
        (
            ("agency", "r.agency_id"),
            ("outcome", "r.outcome"),
            (
                "tenths",
                "CASE WHEN r.closed_at IS NULL THEN -2 "
                f"ELSE greatest(0, {TENTHS.format('r.closed_at - r.sent_at')}) END",
            ),
        ),
        N,
        where="r.status = 'completed' AND r.sent_at IS NOT NULL",
    ),
    Family(
        "items",
        "JOIN referrals_referral r ON r.case_id = c.id JOIN referrals_takedownitem i ON i.referral_id = r.id",
        "c.first_contact_at",
        (
            ("platform", "i.platform_id"),
            (
                "tenths",
                "CASE WHEN i.status <> 'removed' THEN -1 WHEN i.removed_at IS NULL THEN -2 "
                f"ELSE greatest(0, {TENTHS.format('i.removed_at - r.sent_at')}) END",
            ),
        ),
        N,
        where="r.sent_at IS NOT NULL",
    ),
]
BY_NAME = {family.name: family for family in FAMILIES}


def rollups_refresh() -> bool:
    """Write the whole statistics store again (reports/store.py), which reports read instead of the views.

    Returns False, doing nothing, when another refresh is running.
    """
    from reports.store import store_refresh

    return store_refresh(full=True)


def rollups_as_of() -> datetime | None:
    """The counts of the rollups are those of this moment."""
    latest = RollupRefresh.objects.order_by("-started_at").first()
    return latest.started_at if latest else None
