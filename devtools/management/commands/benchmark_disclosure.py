"""How much the cell-key method changes published figures: the utility an analyst keeps.

    manage.py benchmark_disclosure --organisation "Demo Helpline" --months 36

Builds the report (by month, quarter and year, unfiltered and with a type and a region filter), publishes
it as analysts see it, and compares every count with the true one: the mean relative change of cells of 20
or more, the largest change of any count of k or more, how many small counts were shown as 0 or k.
"""

import statistics
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from accounts.models import Organisation
from reports.engine import Params, add_months, build_report, publish_report
from reports.tables import PublishedTable, Table


def pairs(true: Table, shown: PublishedTable) -> Iterator[tuple[int, int]]:
    """(true, published) for every count of a table: inner cells, row totals, column totals, grand total."""
    keys = [column.key for column in shown.columns]
    columns = [keys.index(column.key) for column in true.columns]
    total = keys.index("total") if true.row_totals else None
    for r, (_key, cells) in enumerate(shown.rows):
        for c, position in enumerate(columns):
            yield true.counts[r][c], int(cells[position].value or 0)
        if total is not None:
            yield true.row_total(r), int(cells[total].value or 0)
    if shown.total is not None:
        cells = shown.total[1]
        for c, position in enumerate(columns):
            yield true.column_total(c), int(cells[position].value or 0)
        if total is not None:
            yield true.grand_total(), int(cells[total].value or 0)


class Command(BaseCommand):
    help = "Compare the figures analysts see with the true ones: the cost of disclosure control."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organisation", default="Demo Helpline")
        parser.add_argument("--months", type=int, default=36)

    def handle(self, *args: Any, **options: Any) -> None:
        organisation = Organisation.objects.filter(name=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"No organisation called {options['organisation']!r}.")
        today = timezone.localdate()
        end = add_months(date(today.year, today.month, 1), -1)
        start = add_months(end, 1 - options["months"])
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sextortion_type_id, victim_region FROM cases_case WHERE organisation_id = %s"
                " AND sextortion_type_id IS NOT NULL AND victim_region <> '' LIMIT 1",
                [organisation.pk],
            )
            found = cursor.fetchone()
        base = Params(organisations=(organisation.pk,), start=start, end=end)
        variants = {"by month": base, "by quarter": replace(base, granularity="quarter")}
        variants["by year"] = replace(base, granularity="year")
        if found:
            variants["by month, one type"] = replace(base, sextortion_type=found[0])
            variants["by month, one region"] = replace(base, region=found[1])
        k, spread = settings.DISCLOSURE_THRESHOLD, settings.DISCLOSURE_PERTURBATION
        self.stdout.write(f"k = {k}, D = {spread}; {options['months']} months to {end:%Y-%m}")
        header = (
            f"{'report':<22}{'counts':>8}{'>= 20':>8}{'mean change >= 20':>19}{'largest, >= k':>15}"
            f"{'small':>7}{'0 or k':>8}"
        )
        self.stdout.write(header)
        every: list[float] = []
        for name, params in variants.items():
            report = build_report(params)
            shown = {table.key: table for table in publish_report(report, suppressed=True)}
            found_pairs = [pair for table in report.tables for pair in pairs(table, shown[table.key])]
            large = [abs(published - true) / true for true, published in found_pairs if true >= 20]
            every += large
            largest = max((abs(published - true) for true, published in found_pairs if true >= k), default=0)
            small = [published for true, published in found_pairs if 0 < true < k]
            self.stdout.write(
                f"{name:<22}{len(found_pairs):>8}{len(large):>8}"
                f"{statistics.mean(large) * 100 if large else 0:>18.2f}%{largest:>15}"
                f"{len(small):>7}{sum(value in (0, k) for value in small):>8}"
            )
        if every:
            self.stdout.write(
                f"all reports: cells of 20 or more change by {statistics.mean(every) * 100:.2f}% on average"
            )
