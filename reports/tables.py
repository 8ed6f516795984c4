"""The shape of a report table, before and after disclosure control.

A ``Table`` holds true counts in a grid (rows are always mutually exclusive: periods, age bands,
agencies...), the sums of the record keys of the rows each count counts, the totals that are sums of
that grid, and derived figures (percentages, medians, changes) that name the counts they are computed
from. ``publish`` turns it into a ``PublishedTable`` that pages, exports, the API and snapshots
render; for analysts it perturbs every count by the cell-key method (reports/perturbation.py), so a
true count never leaves this module.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

from django.conf import settings
from django.utils.translation import gettext

from reports.perturbation import CELL_KEY, perturbed

# A count of the grid: (row, column); None stands for the total, so (r, None) is the total of row r,
# (None, c) the total of column c and (None, None) the grand total.
Ref = tuple[int | None, int | None]
Kind = Literal["count", "percent", "days", "change", "minutes"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "count"


@dataclass
class Derived:
    """A figure computed from counts of the grid.

    ``depends`` names, per row, the counts the value is computed from: for a percentage the
    numerator then the base, for a change the current count then the earlier one (both are computed
    again from the published counts); for days and minutes the count of the values it summarises
    (published only when that true count is at least k). ``bases`` and ``total_base``, when given, are that
    true count instead, where it is not a count of the grid (the values with a time recorded)."""

    column: Column
    values: list[float | None]  # one per row
    depends: list[list[Ref]]
    total: float | None = None
    total_depends: list[Ref] = field(default_factory=list)
    bases: list[int] | None = None
    total_base: int | None = None


@dataclass
class Table:
    key: str
    title: str
    row_header: str
    rows: list[tuple[str, str]]  # (key, label)
    columns: list[Column]  # the count columns of the grid
    counts: list[list[int]]
    # Per count of the grid, the sum of the record keys of the rows it counts (each case its own key;
    # a referral, step, takedown item or contact its case's key). Empty: not known, so not publishable
    # to analysts.
    keys: list[list[int]] = field(default_factory=list)
    row_totals: bool = False  # a total column: the sum of each row (the columns are exclusive)
    column_totals: bool = True  # a total row: the sum of each column
    derived: list[Derived] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # column keys in display order; default counts then derived
    description: str = ""
    chart: Literal["line", "bar", "stacked", ""] = "bar"

    def row_total(self, row: int) -> int:
        return sum(self.counts[row])

    def column_total(self, column: int) -> int:
        return sum(row[column] for row in self.counts)

    def grand_total(self) -> int:
        return sum(sum(row) for row in self.counts)

    def row_key(self, row: int) -> int:
        return sum(self.keys[row])

    def column_key(self, column: int) -> int:
        return sum(row[column] for row in self.keys)

    def grand_key(self) -> int:
        return sum(sum(row) for row in self.keys)

    def has_keys(self) -> bool:
        """Whether every count has its key sum (a table without rows needs none)."""
        return len(self.keys) == len(self.counts) and all(
            len(keys) == len(counts) for keys, counts in zip(self.keys, self.counts, strict=True)
        )

    def count_of(self, ref: Ref) -> int:
        row, column = ref
        if row is None:
            return self.grand_total() if column is None else self.column_total(column)
        return self.row_total(row) if column is None else self.counts[row][column]

    def key_of(self, ref: Ref) -> int:
        row, column = ref
        if row is None:
            return self.grand_key() if column is None else self.column_key(column)
        return self.row_key(row) if column is None else self.keys[row][column]


Flag = Literal["", "small", "hidden"]


@dataclass(frozen=True)
class Cell:
    value: float | None  # None when withheld or not applicable
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
    suppressed: bool  # disclosure control was applied (the name dates from cell suppression)
    threshold: int
    method: str = CELL_KEY  # how: perturbation.CELL_KEY, or SUPPRESSION for snapshots stored before it

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


def publish(table: Table, *, threshold: int, suppressed: bool, spread: int | None = None) -> PublishedTable:
    """The table as it may be shown. With ``suppressed`` (analysts), every count, inner cell or total,
    is perturbed from its own true value and key sum (``spread`` is D, default the setting); shares
    and changes are computed from the published counts, so the page agrees with itself; days and
    minutes are shown only when the true count they summarise is at least ``threshold``, else "x"."""
    if suppressed:
        spread = settings.DISCLOSURE_PERTURBATION if spread is None else spread
        if not table.has_keys():
            raise ValueError(f"The table {table.key!r} has no record keys: its counts cannot be published perturbed.")

    def shown(ref: Ref) -> int:
        if not suppressed:
            return table.count_of(ref)
        assert spread is not None
        return perturbed(table.count_of(ref), table.key_of(ref), threshold=threshold, spread=spread)

    def count_cell(ref: Ref) -> Cell:
        value = shown(ref)
        return Cell(value, format_value(value, "count"))

    def derived_cell(value: float | None, depends: list[Ref], kind: Kind, base: int | None = None) -> Cell:
        if suppressed and kind in ("percent", "change") and depends:
            top, bottom = (shown(ref) for ref in depends)
            if not bottom:
                value = None
            elif kind == "percent":
                value = 100 * top / bottom
            else:
                value = 100 * (top - bottom) / bottom
        if value is None:
            return Cell(None, "")
        if suppressed and kind not in ("percent", "change"):
            counts = [base] if base is not None else [table.count_of(ref) for ref in depends]
            if any(count < threshold for count in counts):
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
        cells = [count_cell((r, c)) for c in range(len(table.columns))]
        if table.row_totals:
            cells.append(count_cell((r, None)))
        cells += [
            derived_cell(d.values[r], d.depends[r], d.column.kind, None if d.bases is None else d.bases[r])
            for d in table.derived
        ]
        rows.append((label, [cells[positions[key]] for key in order]))

    total = None
    if table.column_totals:
        cells = [count_cell((None, c)) for c in range(len(table.columns))]
        if table.row_totals:
            cells.append(count_cell((None, None)))
        cells += [derived_cell(d.total, d.total_depends, d.column.kind, d.total_base) for d in table.derived]
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
