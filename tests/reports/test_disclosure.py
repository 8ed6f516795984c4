"""Disclosure control: hand-made tables, and random tables checked by linear programming.

These tests need no database.
"""

import math
from typing import TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from reports import disclosure
from reports.disclosure import Ref, determined, suppress

Grid = list[list[int]]


class Options(TypedDict):
    threshold: int
    row_totals: bool
    column_totals: bool


def published(counts: Grid, *, row_totals: bool, column_totals: bool) -> dict[Ref, int]:
    """Every published count of the table, by reference, with its true value."""
    columns = len(counts[0]) if counts else 0
    values: dict[Ref, int] = {(i, j): value for i, row in enumerate(counts) for j, value in enumerate(row)}
    if row_totals:
        values.update({(i, None): sum(row) for i, row in enumerate(counts)})
    if column_totals:
        values.update({(None, j): sum(row[j] for row in counts) for j in range(columns)})
    if row_totals and column_totals:
        values[None, None] = sum(map(sum, counts))
    return values


def relations(counts: Grid, *, row_totals: bool, column_totals: bool) -> list[tuple[list[Ref], Ref]]:
    """What a reader knows of the totals: each is the sum of its line, as (parts, total)."""
    rows, columns = len(counts), len(counts[0]) if counts else 0
    lines: list[tuple[list[Ref], Ref]] = []
    if row_totals:
        lines += [([(i, j) for j in range(columns)], (i, None)) for i in range(rows)]
    if column_totals:
        lines += [([(i, j) for i in range(rows)], (None, j)) for j in range(columns)]
    if row_totals and column_totals:
        lines.append(([(i, None) for i in range(rows)], (None, None)))
        lines.append(([(None, j) for j in range(columns)], (None, None)))
    return lines


def is_total(ref: Ref) -> bool:
    return ref[0] is None or ref[1] is None


def ranges(
    counts: Grid, small: set[Ref], hidden: set[Ref], *, threshold: int, row_totals: bool, column_totals: bool
) -> dict[Ref, tuple[int, int | None]]:
    """The (min, max) a reader can infer for each suppressed count, by linear programming.

    Independent of the network model in the module: the constraint matrix of line sums is totally
    unimodular, so the real optimum over the reader's knowledge is the integer one. The reader reads
    "<k" as [1, k-1], "x" on an inner cell as [k, inf) and "x" on a total as [1, inf)."""
    values = published(counts, row_totals=row_totals, column_totals=column_totals)
    unknown = sorted(small | hidden, key=repr)
    index = {ref: n for n, ref in enumerate(unknown)}
    bounds = [
        (1, threshold - 1) if ref in small else (1, None) if is_total(ref) else (threshold, None) for ref in unknown
    ]
    equations: list[list[float]] = []
    constants: list[float] = []
    for parts, total in relations(counts, row_totals=row_totals, column_totals=column_totals):
        row = [0.0] * len(unknown)
        constant = 0.0
        for ref, sign in [*((part, 1) for part in parts), (total, -1)]:
            if ref in index:
                row[index[ref]] += sign
            else:
                constant -= sign * values[ref]
        if any(row):
            equations.append(row)
            constants.append(constant)
        else:
            assert abs(constant) < 1e-9  # a relation among published counts only must hold
    found: dict[Ref, tuple[int, int | None]] = {}
    related = {n for row in equations for n, coefficient in enumerate(row) if coefficient}
    for ref, n in index.items():
        if n not in related:  # in no relation: the reader knows its label and nothing more
            found[ref] = bounds[n]
            continue
        objective = [0.0] * len(unknown)
        extremes: list[int | None] = []
        for sign in (1, -1):
            objective[n] = sign
            result = linprog(
                objective,
                A_eq=equations or None,
                b_eq=constants or None,
                bounds=bounds,
                method="highs",
            )
            if result.status == 3:  # unbounded: no maximum
                extremes.append(None)
            else:
                assert result.status == 0, result.message
                extremes.append(round(sign * result.fun))
                assert math.isclose(sign * result.fun, round(sign * result.fun), abs_tol=1e-6)
        low, high = extremes
        assert low is not None
        assert low <= values[ref] and (high is None or values[ref] <= high)
        found[ref] = (low, high)
    return found


def exposed(counts: Grid, small: set[Ref], hidden: set[Ref], options: Options) -> set[Ref]:
    """The suppressed counts the linear programme pins to one value."""
    return {ref for ref, (low, high) in ranges(counts, small, hidden, **options).items() if low == high}


def everything_hidden(counts: Grid, options: Options) -> tuple[set[Ref], set[Ref]]:
    """The last resort: every nonzero count suppressed, inner ones 1..k-1 as "<k", the rest as "x"."""
    values = published(counts, row_totals=options["row_totals"], column_totals=options["column_totals"])
    nonzero = {ref for ref, value in values.items() if value > 0}
    small = {ref for ref in nonzero if not is_total(ref) and values[ref] < options["threshold"]}
    return small, nonzero - small


def check(counts: Grid, *, threshold: int, row_totals: bool, column_totals: bool) -> tuple[set[Ref], set[Ref]]:
    """Suppress, then verify the promises of the module against the linear programme."""
    options: Options = {"threshold": threshold, "row_totals": row_totals, "column_totals": column_totals}
    small, hidden = suppress(counts, **options)
    values = published(counts, row_totals=row_totals, column_totals=column_totals)
    smalls = {ref for ref, value in values.items() if 0 < value < threshold}
    assert not small & hidden
    assert (small | hidden) <= values.keys()
    assert small <= smalls  # "<k" is only ever a count 1..k-1
    assert {ref for ref in smalls if not is_total(ref)} <= small  # a small inner cell is always "<k"
    assert smalls <= small | hidden  # a small total is "<k" or, demoted, "x"
    assert all(values[ref] > 0 for ref in hidden)  # zeros are always shown
    assert all(values[ref] >= threshold for ref in hidden if not is_total(ref))
    assert exposed(counts, small, hidden, options) == set()
    assert determined(counts, small, hidden, **options) == set()
    return small, hidden


def test_single_small_cell_is_protected_by_a_four_cycle() -> None:
    small, hidden = check([[3, 10], [20, 30]], threshold=5, row_totals=True, column_totals=True)
    assert small == {(0, 0)}
    assert hidden == {(0, 1), (1, 0), (1, 1)}


def test_the_cheapest_cells_of_the_cycle_are_chosen() -> None:
    small, hidden = check([[3, 50, 10], [90, 80, 70], [20, 60, 40]], threshold=5, row_totals=True, column_totals=True)
    assert small == {(0, 0)}
    assert hidden == {(0, 2), (2, 0), (2, 2)}


def test_a_row_whose_only_other_nonzero_is_the_total() -> None:
    # Row 0 is 3 and zeros, so its total is 3 as well and equally small: they move together. In
    # column 0 only (1, 0) can balance them, and row 1 then only through its own total, since
    # (1, 1) and (1, 2) are alone in columns whose totals are published.
    small, hidden = check([[3, 0, 0], [12, 6, 8]], threshold=5, row_totals=True, column_totals=True)
    assert small == {(0, 0), (0, None)}
    assert hidden == {(1, 0), (1, None)}


def test_a_line_that_inner_cells_cannot_protect_hides_a_total() -> None:
    # Only the grand total links row 0 and column 0 to the rest: it must go.
    small, hidden = check([[3, 0], [0, 10]], threshold=5, row_totals=True, column_totals=True)
    assert small == {(0, 0), (0, None), (None, 0)}
    assert hidden == {(None, None)}


def test_only_column_totals_one_column() -> None:
    small, hidden = check([[3], [10], [20]], threshold=5, row_totals=False, column_totals=True)
    assert small == {(0, 0)}
    assert hidden == {(1, 0)}


def test_only_row_totals() -> None:
    small, hidden = check([[7, 2, 30, 9]], threshold=5, row_totals=True, column_totals=False)
    assert small == {(0, 1)}
    assert hidden == {(0, 0)}


def test_no_totals_needs_nothing_more() -> None:
    assert check([[1, 2], [3, 40]], threshold=5, row_totals=False, column_totals=False) == (
        {(0, 0), (0, 1), (1, 0)},
        set(),
    )


def test_zeros_are_never_suppressed() -> None:
    counts = [[0, 3, 0], [0, 0, 9], [0, 12, 7]]
    small, hidden = check(counts, threshold=5, row_totals=True, column_totals=True)
    values = published(counts, row_totals=True, column_totals=True)
    zeros = {ref for ref, value in values.items() if value == 0}
    assert (None, 0) in zeros
    assert not (small | hidden) & zeros
    assert small == {(0, 1), (0, None)}


def test_nothing_small_means_nothing_suppressed() -> None:
    assert check([[5, 0, 8], [0, 6, 100]], threshold=5, row_totals=True, column_totals=True) == (set(), set())


def test_threshold_three() -> None:
    small, hidden = check([[2, 3, 4], [3, 5, 6]], threshold=3, row_totals=True, column_totals=True)
    assert small == {(0, 0)}
    assert hidden == {(0, 1), (1, 0), (1, 1)}


def test_threshold_ten() -> None:
    small, hidden = check([[9, 10, 40], [25, 12, 30], [11, 3, 50]], threshold=10, row_totals=True, column_totals=True)
    assert small == {(0, 0), (2, 1)}
    assert hidden


def test_a_line_of_small_cells_and_zeros_demotes_its_total() -> None:
    # "<3" + "<3" + 0 = "<3" could only be 1 + 1 + 0 = 2; with the total as "x" it can be 2 + 1 + 0 = 3.
    counts = [[1, 0], [1, 40], [0, 9]]
    options: Options = {"threshold": 3, "row_totals": False, "column_totals": True}
    assert determined(counts, {(0, 0), (1, 0), (None, 0)}, set(), **options) == {(0, 0), (1, 0), (None, 0)}
    small, hidden = check(counts, **options)
    assert small == {(0, 0), (1, 0)}
    assert hidden == {(None, 0)}


def test_four_small_cells_over_a_small_total_are_protected() -> None:
    # Four "<5" over a "<5" total, zeros elsewhere: all four would be 1.
    counts = [[1, 0], [1, 0], [1, 0], [1, 0]]
    options: Options = {"threshold": 5, "row_totals": False, "column_totals": True}
    cells = {(0, 0), (1, 0), (2, 0), (3, 0)}
    assert determined(counts, cells | {(None, 0)}, set(), **options) == cells | {(None, 0)}
    small, hidden = check(counts, **options)
    assert small == cells
    assert hidden == {(None, 0)}


def test_with_the_grand_total_both_small_totals_are_demoted() -> None:
    # The grand total equals the column total here, so "<5" on it would pin the column again.
    counts = [[1, 0], [1, 0], [1, 0], [1, 0]]
    small, hidden = check(counts, threshold=5, row_totals=True, column_totals=True)
    assert small == {(0, 0), (1, 0), (2, 0), (3, 0), (0, None), (1, None), (2, None), (3, None)}
    assert hidden == {(None, 0), (None, None)}


def test_a_demoted_total_brings_a_cycle_through_the_total_row() -> None:
    # Column 0 is pinned until its total is demoted; the total can then only go up if another column
    # total goes down (the grand total is published), and each row needs its cell of that column to
    # go down as its 1 goes up: cheaper than hiding the grand total and the row totals.
    counts = [[1, 0, 20], [1, 0, 30], [1, 0, 9], [1, 0, 11]]
    small, hidden = check(counts, threshold=5, row_totals=True, column_totals=True)
    assert small == {(0, 0), (1, 0), (2, 0), (3, 0)}
    assert hidden == {(None, 0), (None, 2), (0, 2), (1, 2), (2, 2), (3, 2)}


def test_a_total_below_k_minus_one_is_not_demoted() -> None:
    # "<5" + "<5" = "<5" reads 1..4 + 1..4 = 1..4, which 1 + 2 = 3 and 1 + 1 = 2 both satisfy.
    small, hidden = check([[1], [1], [0]], threshold=5, row_totals=False, column_totals=True)
    assert small == {(0, 0), (1, 0), (None, 0)}
    assert hidden == set()


@pytest.mark.parametrize("threshold", [0, 1, 2])
def test_a_threshold_below_three_is_refused(threshold: int) -> None:
    with pytest.raises(ValueError, match="at least 3"):
        suppress([[1, 4], [6, 8]], threshold=threshold, row_totals=True, column_totals=True)
    with pytest.raises(ValueError, match="at least 3"):
        determined([[1, 4], [6, 8]], {(0, 0)}, set(), threshold=threshold, row_totals=True, column_totals=True)


def test_the_last_resort_hides_every_nonzero_count(monkeypatch: pytest.MonkeyPatch) -> None:
    # Should a count stay determined after all, suppress falls back on hiding every nonzero count.
    counts = [[3, 0, 12], [0, 0, 0], [7, 1, 40]]
    options: Options = {"threshold": 5, "row_totals": True, "column_totals": True}
    monkeypatch.setattr(disclosure._Residual, "movable", lambda self, ref: False)
    small, hidden = suppress(counts, **options)
    monkeypatch.undo()
    assert (small, hidden) == everything_hidden(counts, options)
    assert (1, None) not in hidden  # a zero total stays shown
    assert exposed(counts, small, hidden, options) == set()
    assert determined(counts, small, hidden, **options) == set()


@pytest.mark.parametrize("counts", [[], [[]], [[], []]])
def test_empty_tables(counts: Grid) -> None:
    assert check(counts, threshold=5, row_totals=True, column_totals=True) == (set(), set())


def test_bad_input_is_refused() -> None:
    options: Options = {"threshold": 5, "row_totals": True, "column_totals": True}
    with pytest.raises(ValueError, match="negative"):
        suppress([[-1]], **options)
    with pytest.raises(ValueError, match="columns"):
        suppress([[1, 2], [3]], **options)
    with pytest.raises(ValueError, match="not published"):
        determined([[1]], {(0, None)}, set(), threshold=5, row_totals=False, column_totals=False)
    with pytest.raises(ValueError, match="both small and hidden"):
        determined([[1, 9]], {(0, 0)}, {(0, 0)}, **options)
    mislabelled: list[tuple[set[Ref], set[Ref]]] = [
        ({(0, 1)}, set()),  # 9 as "<5"
        ({(0, 2)}, set()),  # 0 as "<5"
        (set(), {(0, 0)}),  # an inner 1 as "x"
        (set(), {(None, 2)}),  # a zero total as "x"
    ]
    for small, hidden in mislabelled:
        with pytest.raises(ValueError, match="does not fit"):
            determined([[1, 9, 0]], small, hidden, **options)


def test_determined_finds_a_lone_small_cell() -> None:
    options: Options = {"threshold": 5, "row_totals": True, "column_totals": True}
    assert determined([[3, 10], [20, 30]], {(0, 0)}, set(), **options) == {(0, 0)}
    assert determined([[3, 10], [20, 30]], {(0, 0)}, {(0, 1)}, **options) == {(0, 0), (0, 1)}


def test_determined_reads_a_hidden_total_as_possibly_small() -> None:
    # Row totals 1 and 5, column totals 4 and 2, grand total 6 (shown). Were the "x" of row 1 read
    # as >= 5, row 1 would be pinned to 5, row 0 to 1 and so (0, 1) to 1. Read as >= 1 (it could be
    # a demoted small total) it can go down: 0 + 2 / 3 + 1 has the same published numbers.
    counts = [[0, 1], [4, 1]]
    options: Options = {"threshold": 5, "row_totals": True, "column_totals": True}
    small, hidden = check(counts, **options)
    assert hidden == {(1, None)}
    assert determined(counts, small, hidden, **options) == set()
    assert ranges(counts, small, hidden, **options)[1, None] == (3, 5)


@st.composite
def tables(draw: st.DrawFn) -> tuple[Grid, int]:
    """Tables of 1-6 x 1-6 counts, mostly zeros and small numbers (k-1 above all), where the trouble is."""
    threshold = draw(st.integers(3, 10))
    values = st.one_of(
        st.just(0), st.just(1), st.just(threshold - 1), st.integers(1, threshold - 1), st.integers(0, 60)
    )
    rows = draw(st.integers(1, 6))
    columns = draw(st.integers(1, 6))
    counts = draw(st.lists(st.lists(values, min_size=columns, max_size=columns), min_size=rows, max_size=rows))
    return counts, threshold


@pytest.mark.parametrize(("row_totals", "column_totals"), [(True, True), (True, False), (False, True), (False, False)])
@settings(max_examples=75, deadline=None)
@given(tables())
def test_no_suppressed_count_can_be_worked_out(row_totals: bool, column_totals: bool, table: tuple[Grid, int]) -> None:
    counts, threshold = table
    options: Options = {"threshold": threshold, "row_totals": row_totals, "column_totals": column_totals}
    check(counts, **options)
    # The last resort suppress falls back on is safe too.
    small, hidden = everything_hidden(counts, options)
    assert exposed(counts, small, hidden, options) == set()
    assert determined(counts, small, hidden, **options) == set()
