"""The shape of a report table, before and after disclosure control.

A ``Table`` holds true counts in a grid (rows are always mutually exclusive: periods, age bands,
agencies...), the totals that are sums of that grid, and derived figures (percentages, medians,
changes) that name the counts they are computed from. ``publish`` turns it into a
``PublishedTable`` that pages, exports, the API and snapshots render; for analysts it applies
disclosure control, so a true small count never leaves this module.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils.translation import gettext

from reports.disclosure import Ref, suppress

# A count of the grid: (row, column); None stands for the total, so (r, None) is the total of row r,
# (None, c) the total of column c and (None, None) the grand total.
Kind = Literal["count", "percent", "days", "change", "minutes"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "count"


@dataclass
class Derived:
    """A figure computed from counts of the grid; hidden when one of them is suppressed."""

    column: Column
    values: list[float | None]  # one per row
    depends: list[list[Ref]]  # per row, the counts the value is computed from
    total: float | None = None
    total_depends: list[Ref] = field(default_factory=list)


@dataclass
class Table:
    key: str
    title: str
    row_header: str
    rows: list[tuple[str, str]]  # (key, label)
    columns: list[Column]  # the count columns of the grid
    counts: list[list[int]]
    row_totals: bool = False  # a total column: the sum of each row (the columns are exclusive)
    column_totals: bool = True  # a total row: the sum of each column
    derived: list[Derived] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # column keys in display order; default counts then derived
    description: str = ""
    chart: Literal["line", "bar", "stacked", ""] = "bar"
    # Figures that other tables of the report publish too (the new cases of each period, all cases),
    # by a name shared across tables: hidden in one table, they must be hidden in all.
    links: dict[str, Ref] = field(default_factory=dict)

    def row_total(self, row: int) -> int:
        return sum(self.counts[row])

    def column_total(self, column: int) -> int:
        return sum(row[column] for row in self.counts)

    def grand_total(self) -> int:
        return sum(sum(row) for row in self.counts)


Flag = Literal["", "small", "hidden"]


@dataclass(frozen=True)
class Cell:
    value: float | None  # None when suppressed or not applicable
    text: str
    flag: Flag = ""

    def as_json(self) -> Any:
        return self.value if self.flag == "" else self.text


@dataclass
class PublishedTable:
    key: str
    title: str
    description: str
    row_header: str
    columns: list[Column]
    rows: list[tuple[str, list[Cell]]]
    total: tuple[str, list[Cell]] | None
    chart: str
    suppressed: bool  # disclosure control was applied
    threshold: int

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "description": self.description,
            "row_header": self.row_header,
            "chart": self.chart,
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in self.columns],
            "rows": [{"label": label, "values": [cell.as_json() for cell in cells]} for label, cells in self.rows],
            "total": (
                {"label": self.total[0], "values": [cell.as_json() for cell in self.total[1]]} if self.total else None
            ),
        }


TOTAL_KEY = "total"


def format_value(value: float | None, kind: str) -> str:
    if value is None:
        return ""
    if kind == "count":
        return f"{int(value):,}"
    if kind == "percent":
        return f"{value:.1f}%"
    if kind == "change":
        return f"{value:+.1f}%"
    return f"{value:.1f}"


def withheld(tables: list[Table], *, threshold: int) -> dict[str, tuple[set[Ref], set[Ref]]]:
    """Disclosure control of a whole report: the small and hidden counts of each table.

    Each table is protected on its own, then a figure hidden in one table is forced hidden in every
    table that shows it too, until no table hides anything another one shows.
    """
    forced: dict[str, set[Ref]] = {table.key: set() for table in tables}
    while True:
        result = {
            table.key: suppress(
                table.counts,
                threshold=threshold,
                row_totals=table.row_totals,
                column_totals=table.column_totals,
                forced=forced[table.key],
            )
            for table in tables
        }
        names = {
            name
            for table in tables
            for name, ref in table.links.items()
            if ref in result[table.key][0] | result[table.key][1]
        }
        changed = False
        for table in tables:
            small, hidden = result[table.key]
            wanted = {ref for name, ref in table.links.items() if name in names} - small - hidden
            if wanted - forced[table.key]:
                forced[table.key] |= wanted
                changed = True
        if not changed:
            return result


def publish(
    table: Table, *, threshold: int, suppressed: bool, protection: tuple[set[Ref], set[Ref]] | None = None
) -> PublishedTable:
    """The table as it may be shown: with ``suppressed``, small counts read "<k" and the cells that
    would let them be worked back read "x"; figures computed from a hidden count are hidden too.
    ``protection`` is the small and hidden counts worked out for the whole report (see ``withheld``)."""
    counts = table.counts
    small: set[Ref] = set()
    hidden: set[Ref] = set()
    if suppressed:
        small, hidden = protection or withheld([table], threshold=threshold)[table.key]
    withheld_cells = small | hidden

    def count_cell(ref: Ref, value: int) -> Cell:
        if ref in small:
            return Cell(None, f"<{threshold}", "small")
        if ref in hidden:
            return Cell(None, "x", "hidden")
        return Cell(value, format_value(value, "count"))

    def derived_cell(value: float | None, depends: list[Ref], kind: Kind) -> Cell:
        if value is None:
            return Cell(None, "")
        if any(ref in withheld_cells for ref in depends):
            return Cell(None, "x", "hidden")
        return Cell(round(value, 1), format_value(value, kind))

    columns = list(table.columns)
    if table.row_totals:
        columns.append(Column(TOTAL_KEY, gettext("Total")))
    columns += [derived.column for derived in table.derived]
    order = table.order or [column.key for column in columns]
    positions = {column.key: index for index, column in enumerate(columns)}

    rows: list[tuple[str, list[Cell]]] = []
    for r, (_key, label) in enumerate(table.rows):
        cells = [count_cell((r, c), counts[r][c]) for c in range(len(table.columns))]
        if table.row_totals:
            cells.append(count_cell((r, None), table.row_total(r)))
        cells += [derived_cell(d.values[r], d.depends[r], d.column.kind) for d in table.derived]
        rows.append((label, [cells[positions[key]] for key in order]))

    total = None
    if table.column_totals:
        cells = [count_cell((None, c), table.column_total(c)) for c in range(len(table.columns))]
        if table.row_totals:
            cells.append(count_cell((None, None), table.grand_total()))
        cells += [derived_cell(d.total, d.total_depends, d.column.kind) for d in table.derived]
        total = (gettext("Total"), [cells[positions[key]] for key in order])

    return PublishedTable(
        key=table.key,
        title=table.title,
        description=table.description,
        row_header=table.row_header,
        columns=[columns[positions[key]] for key in order],
        rows=rows,
        total=total,
        chart=table.chart,
        suppressed=suppressed,
        threshold=threshold,
    )
