"""Disclosure control: the cell-key perturbation table, and tables published with it.

These tests need no database.
"""

from collections import Counter
from fractions import Fraction

import pytest

from reports.perturbation import KEYS, perturbed, shifts, statement
from reports.tables import Cell, Column, Derived, Table, publish

THRESHOLDS = range(3, 11)
SPREADS = range(1, 5)


@pytest.mark.parametrize("threshold", THRESHOLDS)
@pytest.mark.parametrize("spread", SPREADS)
def test_nothing_published_is_in_1_to_k_minus_1_and_zero_stays_zero(threshold: int, spread: int) -> None:
    for key in range(KEYS):
        assert perturbed(0, key, threshold=threshold, spread=spread) == 0
        for count in range(1, threshold + spread + 20):
            assert not 0 < perturbed(count, key, threshold=threshold, spread=spread) < threshold


@pytest.mark.parametrize("threshold", THRESHOLDS)
@pytest.mark.parametrize("spread", SPREADS)
def test_small_counts_are_0_or_k_half_the_time_whatever_the_count(threshold: int, spread: int) -> None:
    for count in range(1, threshold):
        published = Counter(perturbed(count, key, threshold=threshold, spread=spread) for key in range(KEYS))
        assert published == {0: KEYS // 2, threshold: KEYS // 2}
    # The same key sends every small count to the same value: the value says nothing of the count.
    for key in range(KEYS):
        assert len({perturbed(count, key, threshold=threshold, spread=spread) for count in range(1, threshold)}) == 1


@pytest.mark.parametrize("threshold", THRESHOLDS)
@pytest.mark.parametrize("spread", SPREADS)
def test_larger_counts_change_by_at_most_d_and_never_below_k(threshold: int, spread: int) -> None:
    for count in range(threshold, threshold + spread + 20):
        m = min(spread, count - threshold)
        for key in range(KEYS):
            value = perturbed(count, key, threshold=threshold, spread=spread)
            assert abs(value - count) <= m <= spread
            assert value >= threshold


@pytest.mark.parametrize("threshold", THRESHOLDS)
@pytest.mark.parametrize("spread", SPREADS)
def test_the_mean_change_over_the_256_keys_is_exactly_zero(threshold: int, spread: int) -> None:
    for count in range(threshold, threshold + spread + 20):
        changes = [perturbed(count, key, threshold=threshold, spread=spread) - count for key in range(KEYS)]
        assert sum(changes) == 0, count


@pytest.mark.parametrize("m", range(16))
def test_each_change_takes_its_triangular_share_of_the_keys(m: int) -> None:
    """Key i takes d when (i + 0.5) / 256 lies in d's interval: the shares differ from the
    probabilities (m + 1 - |d|) / (m + 1)^2 by less than one key, and are symmetric."""
    counts = Counter(shifts(m))
    total = (m + 1) ** 2
    for d in range(-m, m + 1):
        expected = Fraction(KEYS * (m + 1 - abs(d)), total)
        assert abs(counts[d] - expected) < 1, (d, counts[d], expected)
        assert counts[d] == counts[-d]
    assert sorted(shifts(m)) == list(shifts(m))  # the intervals are in order of d


def test_the_same_count_and_keys_always_give_the_same_value() -> None:
    first = [perturbed(count, key, threshold=5, spread=2) for count in range(60) for key in range(0, 2000, 7)]
    again = [perturbed(count, key, threshold=5, spread=2) for count in range(60) for key in range(0, 2000, 7)]
    assert first == again
    # Only the key sum modulo 256 matters.
    assert all(
        perturbed(23, key, threshold=5, spread=2) == perturbed(23, key + 256 * 9, threshold=5, spread=2)
        for key in range(KEYS)
    )


def test_the_perturbation_takes_every_value_it_may() -> None:
    assert {perturbed(40, key, threshold=5, spread=2) for key in range(KEYS)} == {38, 39, 40, 41, 42}
    assert {perturbed(6, key, threshold=5, spread=2) for key in range(KEYS)} == {5, 6, 7}
    assert {perturbed(5, key, threshold=5, spread=2) for key in range(KEYS)} == {5}


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        perturbed(-1, 0, threshold=5, spread=2)
    with pytest.raises(ValueError):
        perturbed(3, 0, threshold=5, spread=0)


def test_the_statement_names_k_and_d() -> None:
    text = statement(threshold=5, spread=2)
    assert "±2" in text and "from 1 to 4 are shown as 0 or 5" in text
    assert "Australian Bureau of Statistics" in text and "may not add up" in text


# --- publish --------------------------------------------------------------------------------------------------------


def grid_table(counts: list[list[int]], keys: list[list[int]], **options: object) -> Table:
    return Table(
        key="t",
        title="T",
        row_header="Row",
        rows=[(str(r), f"row {r}") for r in range(len(counts))],
        columns=[Column(str(c), f"column {c}") for c in range(len(counts[0]))],
        counts=counts,
        keys=keys,
        **options,  # type: ignore[arg-type]
    )


def values(cells: list[Cell]) -> list[float | None]:
    return [cell.value for cell in cells]


def test_every_count_and_total_is_perturbed_from_its_own_key_sum() -> None:
    counts = [[12, 3, 0], [40, 7, 9]]
    keys = [[1000, 300, 0], [4000, 77, 900]]
    table = grid_table(counts, keys, row_totals=True)
    published = publish(table, threshold=5, suppressed=True, spread=2)

    def p(count: int, key: int) -> int:
        return perturbed(count, key, threshold=5, spread=2)

    assert values(published.rows[0][1]) == [p(12, 1000), p(3, 300), 0, p(15, 1300)]
    assert values(published.rows[1][1]) == [p(40, 4000), p(7, 77), p(9, 900), p(56, 4977)]
    assert published.total is not None
    assert values(published.total[1]) == [p(52, 5000), p(10, 377), p(9, 900), p(71, 6277)]
    assert published.suppressed is True
    shown = [cell.value for _, cells in [*published.rows, published.total] for cell in cells]
    assert not any(isinstance(value, int) and 0 < value < 5 for value in shown)


def test_true_counts_are_published_unchanged() -> None:
    table = grid_table([[12, 3], [1, 0]], [[1, 2], [3, 0]], row_totals=True)
    published = publish(table, threshold=5, suppressed=False)
    assert values(published.rows[0][1]) == [12, 3, 15]
    assert published.total is not None and values(published.total[1]) == [13, 3, 16]


def test_a_table_without_keys_is_never_published_to_analysts() -> None:
    table = grid_table([[12, 3]], [])
    with pytest.raises(ValueError, match="no record keys"):
        publish(table, threshold=5, suppressed=True, spread=2)
    assert values(publish(table, threshold=5, suppressed=False).rows[0][1]) == [12, 3]
    empty = Table(key="e", title="E", row_header="", rows=[], columns=[Column("a", "A")], counts=[])
    assert publish(empty, threshold=5, suppressed=True, spread=2).rows == []


def test_shares_and_changes_come_from_the_published_counts() -> None:
    counts = [[40, 17], [30, 3]]
    keys = [[5000, 1234], [77, 200]]
    table = grid_table(counts, keys)
    table.derived.append(
        Derived(
            column=Column("share", "%", "percent"),
            values=[100 * 17 / 40, 100 * 3 / 30],
            depends=[[(0, 1), (0, 0)], [(1, 1), (1, 0)]],
            total=100 * 20 / 70,
            total_depends=[(None, 1), (None, 0)],
        )
    )
    table.derived.append(
        Derived(
            column=Column("change", "Change", "change"),
            values=[100 * (17 - 40) / 40, 100 * (3 - 30) / 30],
            depends=[[(0, 1), (0, 0)], [(1, 1), (1, 0)]],
        )
    )
    published = publish(table, threshold=5, suppressed=True, spread=2)
    assert published.total is not None
    for _, cells in [*published.rows, published.total]:
        base, top, share, change = (cell.value for cell in cells)
        assert base is not None and top is not None
        assert share == (round(100 * top / base, 1) if base else None)
        if change is not None:
            assert change == round(100 * (top - base) / base, 1)


def test_days_are_shown_only_when_their_true_count_reaches_k() -> None:
    table = grid_table([[9, 4], [9, 5]], [[10, 20], [30, 40]], column_totals=False)
    table.derived.append(
        Derived(column=Column("days", "Median days", "days"), values=[3.25, 4.0], depends=[[(0, 1)], [(1, 1)]])
    )
    published = publish(table, threshold=5, suppressed=True, spread=2)
    assert (published.rows[0][1][2].text, published.rows[0][1][2].flag) == ("x", "hidden")
    assert published.rows[1][1][2].value == 4.0
    true = publish(table, threshold=5, suppressed=False)
    assert true.rows[0][1][2].value == 3.2 or true.rows[0][1][2].value == 3.3


def test_days_count_only_the_values_with_a_time_not_every_item_done() -> None:
    """Nine steps done, of which one has a time: the median is that one step's delay, so it is hidden."""
    table = grid_table([[9, 9]], [[10, 20]], column_totals=False)
    days = Column("days", "Median days", "days")
    table.derived.append(Derived(column=days, values=[3.25], depends=[[(0, 1)]], bases=[1]))
    assert publish(table, threshold=5, suppressed=True, spread=2).rows[0][1][2].flag == "hidden"
    table.derived[0].bases = [5]
    assert publish(table, threshold=5, suppressed=True, spread=2).rows[0][1][2].value == 3.2


def test_the_same_cases_have_the_same_published_value_in_any_table() -> None:
    """A year's 23 minors and 41 adults: cells of one table, column totals of another (by age band)."""
    minors_adults = grid_table([[23, 41, 2]], [[2900, 5000, 300]], row_totals=True)
    by_band = grid_table([[9, 0], [14, 0], [0, 41]], [[1000, 0], [1900, 0], [0, 5000]], row_totals=True)
    first = publish(minors_adults, threshold=5, suppressed=True, spread=2)
    second = publish(by_band, threshold=5, suppressed=True, spread=2)
    assert second.total is not None
    assert values(second.total[1])[:2] == values(first.rows[0][1])[:2]
    assert values(first.rows[0][1])[:2] == [
        perturbed(23, 2900, threshold=5, spread=2),
        perturbed(41, 5000, threshold=5, spread=2),
    ]
