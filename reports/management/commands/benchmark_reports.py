"""How fast the full report is, against hand-written SQL for the same tables, and how much memory it takes."""

import resource
import statistics
import time
import tracemalloc
from dataclasses import replace
from datetime import date
from typing import Any

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from accounts.models import Organisation
from reports.engine import Params, _Query, add_months, build_report, publish_report

# The same tables, written by hand on the rollups: what the engine should cost at best.
ROLLUP_SQL = [
    "SELECT date_trunc('month', month)::date, sum(n) FROM reports_rollup_victims WHERE {scope} GROUP BY 1",
    "SELECT date_trunc('month', month)::date, sum(n) FROM reports_rollup_victims WHERE {before} GROUP BY 1",
    "SELECT CASE WHEN age >= 0 THEN width_bucket(age, ARRAY[13, 18])::text ELSE age_unknown END, gender, sum(n)"
    " FROM reports_rollup_victims WHERE {scope} GROUP BY 1, 2",
    "SELECT date_trunc('month', month)::date, CASE WHEN age >= 0 THEN (age < 18)::text ELSE age_unknown END, sum(n)"
    " FROM reports_rollup_victims WHERE {scope} GROUP BY 1, 2",
    "SELECT date_trunc('month', month)::date, type, sum(n) FROM reports_rollup_types WHERE {scope} GROUP BY 1, 2",
    "SELECT date_trunc('month', month)::date, sum(n), sum(paid), sum(complied), sum(distributed), sum(extorted_again),"
    " sum(self_harm), sum(immediate_danger), sum(under_13), sum(high_risk) FROM reports_rollup_facts"
    " WHERE {scope} GROUP BY 1",
    "SELECT region, minor, sum(n) FROM reports_rollup_regions WHERE {scope} GROUP BY 1, 2",
    "SELECT date_trunc('month', month)::date, term, sum(n) FROM reports_rollup_terms WHERE {scope} GROUP BY 1, 2",
    "SELECT platform, role, sum(n) FROM reports_rollup_platforms WHERE {scope} GROUP BY 1, 2",
    "SELECT agency, outcome, sum(n) FROM reports_rollup_outcomes WHERE {scope} GROUP BY 1, 2",
    "SELECT date_trunc('month', month)::date, sum(contacts), sum(timed), sum(minutes) FROM reports_rollup_contacts"
    " WHERE {scope} GROUP BY 1",
]

# Counts and percentiles of delays kept per tenth of a day, per key and for all keys.
DELAYS = [
    "WITH counts AS MATERIALIZED (SELECT GROUPING({key}) AS g, {key} AS key, tenths, sum(n) AS n FROM {view}"
    " WHERE {scope} GROUP BY GROUPING SETS (({key}, tenths), (tenths))),"
    " ranked AS (SELECT g, key, tenths, sum(n) OVER (PARTITION BY g, key ORDER BY tenths) AS upto,"
    " sum(n) OVER (PARTITION BY g, key) AS total FROM counts WHERE tenths >= 0),"
    " wanted AS (SELECT g, key, tenths, upto, f, f * (total - 1) AS pos FROM ranked, unnest({fractions}) f)"
    " SELECT g, key, NULL::float8, sum(n)::float8, sum(n) FILTER (WHERE tenths <> -1)::float8,"
    " sum(n) FILTER (WHERE tenths >= 0)::float8 FROM counts GROUP BY g, key"
    " UNION ALL SELECT g, key, f, min(tenths) FILTER (WHERE upto > floor(pos))::float8,"
    " min(tenths) FILTER (WHERE upto > ceil(pos))::float8, max(pos - floor(pos)) FROM wanted GROUP BY g, key, f",
]
for view, key, fractions in [
    ("reports_rollup_referrals", "agency", "ARRAY[0.5, 0.9]"),
    ("reports_rollup_outcomes", "agency", "ARRAY[0.5, 0.9]"),
    ("reports_rollup_items", "platform", "ARRAY[0.5]"),
    ("reports_rollup_steps", "step", "ARRAY[0.5]"),
]:
    ROLLUP_SQL += [
        sql.replace("{view}", view).replace("{key}", key).replace("{fractions}", fractions) for sql in DELAYS
    ]

# The same tables, written by hand on the live tables, with percentile_cont: what the rollups save.
CASES = (
    "cases_case c WHERE c.organisation_id = %(org)s"
    " AND c.first_contact_at >= %(start)s AND c.first_contact_at < %(end)s"
)
MONTH = "date_trunc('month', c.first_contact_at AT TIME ZONE %(tz)s)"
DAYS = "extract(epoch FROM {}) / 86400"
LIVE_SQL = [
    f"SELECT {MONTH}, c.sextortion_type_id, count(*), count(*) FILTER (WHERE c.victim_paid = 'yes'),"
    " count(*) FILTER (WHERE c.self_harm) FROM " + CASES + " GROUP BY 1, 2",
    "SELECT width_bucket(c.victim_age, ARRAY[13, 18]), c.victim_age_unknown, c.victim_gender, count(*) FROM "
    + CASES
    + " GROUP BY 1, 2, 3",
    "SELECT c.victim_region, c.victim_age < 18, count(*) FROM " + CASES + " GROUP BY 1, 2",
    f"SELECT {MONTH}, m.term_id, count(*) FROM (SELECT case_id, term_id FROM cases_case_demands UNION ALL"
    " SELECT case_id, term_id FROM cases_case_approaches UNION ALL SELECT case_id, term_id FROM"
    " cases_case_content_types UNION ALL SELECT case_id, term_id FROM cases_case_threats) m JOIN "
    + CASES.replace(" WHERE ", " ON m.case_id = c.id WHERE ")
    + " GROUP BY 1, 2",
    "SELECT p.platform_id, p.role, count(*) FROM cases_caseplatform p JOIN "
    + CASES.replace(" WHERE ", " ON p.case_id = c.id WHERE ")
    + " GROUP BY 1, 2",
    f"SELECT s.step_type_id, count(*), count(*) FILTER (WHERE s.status = 'done'), percentile_cont(0.5) WITHIN GROUP"
    f" (ORDER BY {DAYS.format('s.done_at - c.first_contact_at')}) FILTER (WHERE s.status = 'done')"
    " FROM cases_responsestep s JOIN " + CASES.replace(" WHERE ", " ON s.case_id = c.id WHERE ") + " GROUP BY 1",
    f"SELECT r.agency_id, count(*), count(r.acknowledged_at), percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP"
    f" (ORDER BY {DAYS.format('r.acknowledged_at - r.sent_at')}), percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP"
    f" (ORDER BY {DAYS.format('r.closed_at - r.sent_at')}) FILTER (WHERE r.status = 'completed')"
    " FROM referrals_referral r JOIN "
    + CASES.replace(" WHERE ", " ON r.case_id = c.id WHERE ")
    + " AND r.sent_at IS NOT NULL GROUP BY 1",
    "SELECT r.agency_id, r.outcome, count(*) FROM referrals_referral r JOIN "
    + CASES.replace(" WHERE ", " ON r.case_id = c.id WHERE ")
    + " AND r.status = 'completed' GROUP BY 1, 2",
    f"SELECT i.platform_id, count(*), count(*) FILTER (WHERE i.status = 'removed'), percentile_cont(0.5) WITHIN GROUP"
    f" (ORDER BY {DAYS.format('i.removed_at - r.sent_at')}) FILTER (WHERE i.status = 'removed')"
    " FROM referrals_takedownitem i JOIN referrals_referral r ON i.referral_id = r.id JOIN "
    + CASES.replace(" WHERE ", " ON r.case_id = c.id WHERE ")
    + " AND r.sent_at IS NOT NULL GROUP BY 1",
    "SELECT date_trunc('month', k.at AT TIME ZONE %(tz)s), count(*), avg(k.duration_minutes) FROM cases_contact k"
    " JOIN cases_case c ON k.case_id = c.id WHERE c.organisation_id = %(org)s AND k.at >= %(start)s"
    " AND k.at < %(end)s GROUP BY 1",
]


class Command(BaseCommand):
    help = "Time the full report (three years by month) against hand-written SQL; print peak memory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", default="Demo Helpline")
        parser.add_argument("--months", type=int, default=36)
        parser.add_argument("--runs", type=int, default=10)
        parser.add_argument("--live-runs", type=int, default=1, help="runs of the SQL on the live tables (slow)")

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = Organisation.objects.filter(name=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"No organisation called {options['organisation']!r}.")
        today = timezone.localdate()
        end = date(today.year, today.month, 1)
        params = Params(organisations=(organisation.pk,), start=add_months(end, 1 - options["months"]), end=end)
        cases = organisation.cases.count()
        self.stdout.write(f"{organisation.name}: {cases:,} cases; report {params.start:%Y-%m} to {params.end:%Y-%m}")
        runs = options["runs"]

        def full_report() -> None:
            publish_report(build_report(params), suppressed=True)

        full_report()  # warm-up: caches, connection
        tracemalloc.start()
        full_report()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        report_ms = _time(full_report, runs)

        query = _Query(params)
        scope = "org = %(org)s AND month >= %(start_month)s AND month < %(end_month)s"
        before = "org = %(org)s AND month >= %(before_start_month)s AND month < %(before_end_month)s"
        values = {**query.args, "org": organisation.pk}
        dsn = connection.get_connection_params()
        dsn.pop("cursor_factory", None)
        dsn.pop("context", None)
        with psycopg.connect(**dsn) as direct:

            def run(statements: list[str]) -> None:
                with direct.cursor() as cursor:
                    for sql in statements:
                        cursor.execute(sql.format(scope=scope, before=before), values)
                        cursor.fetchall()

            run(ROLLUP_SQL)
            rollup_ms = _time(lambda: run(ROLLUP_SQL), runs)
            live_ms = _time(lambda: run(LIVE_SQL), options["live_runs"])

        rows = [
            ("full report (engine, suppressed)", report_ms),
            ("hand-written SQL on the rollups", rollup_ms),
            ("hand-written SQL on the live tables", live_ms),
        ]
        self.stdout.write(f"{'':40} {'median ms':>10} {'min ms':>10}")
        for label, times in rows:
            self.stdout.write(f"{label:40} {statistics.median(times):10.1f} {min(times):10.1f}")
        ratio = statistics.median(report_ms) / statistics.median(rollup_ms)
        self.stdout.write(f"ratio report / SQL on the rollups: {ratio:.2f}")
        self.stdout.write(
            f"ratio report / SQL on the live tables: {statistics.median(report_ms) / statistics.median(live_ms):.3f}"
        )
        self.stdout.write(f"peak Python memory while reporting: {peak / 2**20:.1f} MB")
        self.stdout.write(
            f"peak resident memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB"
        )
        self.stdout.write(f"rollups recounted every {settings.ROLLUP_REFRESH_MINUTES} min")
        for label, filtered in self._filtered(params):
            began = time.perf_counter()
            publish_report(build_report(filtered), suppressed=True)
            elapsed = (time.perf_counter() - began) * 1000
            self.stdout.write(f"filtered report, {label} (live tables): {elapsed:,.0f} ms")

    def _filtered(self, params: Params) -> list[tuple[str, Params]]:
        """A selective filter (the commonest region) and a broad one (the commonest platform)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT victim_region FROM cases_case WHERE organisation_id = %s AND victim_region <> ''"
                " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
                [params.organisations[0]],
            )
            region = cursor.fetchone()
            cursor.execute(
                "SELECT platform_id FROM cases_caseplatform GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            )
            platform = cursor.fetchone()
        runs = []
        if region:
            runs.append((f"region {region[0]}", replace(params, region=region[0])))
        if platform:
            runs.append((f"platform {platform[0]}", replace(params, platform=platform[0])))
        return runs


def _time(function: Any, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        function()
        times.append((time.perf_counter() - began) * 1000)
    return times
