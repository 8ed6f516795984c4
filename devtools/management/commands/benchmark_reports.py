"""How fast reports are, cold (the engine itself, no report cache), with every filter alone and in pairs, and
what keeping the statistics store fresh costs: per case saved, per import of many cases, a full rebuild.

Run it on a database of the size to measure (``generate_cases``), after ``migrate`` and a first
``refresh_rollups`` (which writes the whole store). Changes it makes to measure the refresh are rolled back.
"""

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from itertools import combinations
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organisation, User
from devtools.generator import generate_cases
from reports.engine import FILTERS, Params, add_months, build_report
from reports.store import store_refresh


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time the report (three years by month) unfiltered, with each filter and each pair; time the refresh."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", default="Demo Helpline")
        parser.add_argument("--months", type=int, default=36)
        parser.add_argument("--runs", type=int, default=3, help="runs of each report; the median is shown")
        parser.add_argument("--no-pairs", action="store_true", help="each filter alone only")
        parser.add_argument("--import-cases", type=int, default=100_000, help="cases of the simulated import")
        parser.add_argument("--no-refresh", action="store_true", help="skip the refresh measurements")
        parser.add_argument("--full", action="store_true", help="also time a full rebuild of the store")

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
        build_report(params)  # the first report of a process copies the store's parts into its cache
        values = self._commonest(organisation.pk)
        self.stdout.write("Filter values (the commonest, so the most cases to count): " + _describe(values))

        rows: list[tuple[str, int, list[float]]] = [("unfiltered", cases, _time(lambda: build_report(params), runs))]
        sets: list[tuple[str, ...]] = [(name,) for name in FILTERS]
        if not options["no_pairs"]:
            sets += list(combinations(FILTERS, 2))
        for names in sets:
            filtered = replace(params, **{name: values[name] for name in names})
            matched = self._cases(filtered)
            times = _time(lambda p=filtered: build_report(p), runs)  # type: ignore[misc]
            rows.append((" + ".join(names), matched, times))
        self.stdout.write(
            f"\n{'report (cold: build_report, no cache)':46} {'cases':>9} {'median ms':>10} {'max ms':>8}"
        )
        for label, matched, times in rows:
            self.stdout.write(f"{label:46} {matched:9,} {statistics.median(times):10.0f} {max(times):8.0f}")
        medians = [statistics.median(times) for _, _, times in rows]
        self.stdout.write(
            f"{len(rows)} reports: median {statistics.median(medians):.0f} ms, slowest {max(medians):.0f} ms, "
            f"over 1 s: {sum(m > 1000 for m in medians)}"
        )
        self.stdout.write(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        if not options["no_refresh"]:
            self._refresh_costs(organisation, options["import_cases"], full=options["full"])

    def _refresh_costs(self, organisation: Organisation, count: int, *, full: bool) -> None:
        self.stdout.write(f"\n{'refresh of the store':46} {'seconds':>10}")

        def line(label: str, seconds: float) -> None:
            self.stdout.write(f"{label:46} {seconds:10.2f}")

        case_id = organisation.cases.order_by("-first_contact_at").values_list("pk", flat=True).first()
        try:
            with transaction.atomic():
                began = time.perf_counter()
                with connection.cursor() as cursor:  # a change of fact, as an edit saves it (the triggers mark)
                    cursor.execute("UPDATE cases_case SET risk_level = 'high' WHERE id = %s", [case_id])
                line("one case saved: the update, triggers included", time.perf_counter() - began)
                line("one case saved: refresh of its block", _seconds(store_refresh))
                workers = list(User.objects.filter(organisation=organisation, is_active=True)[:4])
                began = time.perf_counter()
                generate_cases(
                    organisation=organisation,
                    workers=workers,
                    count=count,
                    start=timezone.localdate().replace(day=1),
                    end=timezone.localdate(),
                    seed=99,
                    with_notes=False,
                    skip_triggers=False,  # as an import through the services: the store's triggers fire
                )
                line(f"import of {count:,} cases this month: insert", time.perf_counter() - began)
                line(f"import of {count:,} cases this month: refresh", _seconds(store_refresh))
                generate_cases(
                    organisation=organisation,
                    workers=workers,
                    count=count,
                    start=add_months(timezone.localdate().replace(day=1), -35),
                    end=timezone.localdate(),
                    seed=98,
                    with_notes=False,
                    skip_triggers=False,  # as an import through the services: the store's triggers fire
                )
                line(f"import of {count:,} cases over 3 years: refresh", _seconds(store_refresh))
                raise Rollback
        except Rollback:
            pass
        if full:
            line("full rebuild", _seconds(lambda: store_refresh(full=True)))

    def _commonest(self, organisation: int) -> dict[str, Any]:
        queries = {
            "platform": "SELECT p.platform_id FROM cases_caseplatform p JOIN cases_case c ON c.id = p.case_id"
            " WHERE c.organisation_id = %s GROUP BY 1 ORDER BY count(DISTINCT p.case_id) DESC LIMIT 1",
            "sextortion_type": "SELECT sextortion_type_id FROM cases_case WHERE organisation_id = %s"
            " AND sextortion_type_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            "region": "SELECT victim_region FROM cases_case WHERE organisation_id = %s AND victim_region <> ''"
            " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            "age_band": "SELECT width_bucket(victim_age, ARRAY[13, 18])::text FROM cases_case"
            " WHERE organisation_id = %s AND victim_age IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            "gender": "SELECT victim_gender FROM cases_case WHERE organisation_id = %s AND victim_gender <> ''"
            " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            "risk_level": "SELECT risk_level FROM cases_case WHERE organisation_id = %s"
            " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            "channel": "SELECT channel_id FROM cases_case WHERE organisation_id = %s AND channel_id IS NOT NULL"
            " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            "reporter_type": "SELECT reporter_type_id FROM cases_case WHERE organisation_id = %s"
            " AND reporter_type_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
            "agency": "SELECT r.agency_id FROM referrals_referral r JOIN cases_case c ON c.id = r.case_id"
            " WHERE c.organisation_id = %s AND r.sent_at IS NOT NULL GROUP BY 1"
            " ORDER BY count(DISTINCT r.case_id) DESC LIMIT 1",
        }
        assert set(queries) == set(FILTERS), "a new filter needs its commonest value here"
        values = {}
        with connection.cursor() as cursor:
            for name, sql in queries.items():
                cursor.execute(sql, [organisation])
                row = cursor.fetchone()
                values[name] = row[0] if row else None
        return values

    def _cases(self, params: Params) -> int:
        """The cases of the report's months that the filters keep (from the new-cases table)."""
        table = next(t for t in build_report(params).tables if t.key == "new_cases")
        return sum(row[0] for row in table.counts)


def _describe(values: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in values.items())


def _seconds(function: Callable[[], Any]) -> float:
    began = time.perf_counter()
    function()
    return time.perf_counter() - began


def _time(function: Callable[[], Any], runs: int) -> list[float]:
    return [_seconds(function) * 1000 for _ in range(runs)]
