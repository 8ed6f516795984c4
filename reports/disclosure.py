"""Disclosure control for statistics tables: small counts are suppressed, and so are enough other
counts that no suppressed count can be worked back from what is published.

A table is a grid of inner cells plus the totals that are sums of it: a total row when
``column_totals`` (the sum of each column), a total column when ``row_totals`` (the sum of each row),
and the grand total when both are published. The threshold k must be at least 3 (with k = 2, "<2"
could only mean 1). ``suppress`` labels the published counts:

- a zero is always shown as 0;
- an inner cell in 1..k-1 is always "<k"; one >= k is shown, or "x" (complementary suppression);
- a total in 1..k-1 is "<k", or "x" when "<k" would leave some count determined (demotion); a total
  >= k is shown, or "x" (complementary suppression).

The attacker model: a reader knows every published number; that each published total is the sum of
its line (and the grand total the sum of the row totals and of the column totals); that every count
is a non-negative integer; and, from the labels and the rules above, that

- a count shown as "<k", inner cell or total, is in [1, k-1];
- an inner cell shown as "x" is in [k, inf), since small inner cells are always "<k";
- a total shown as "x" is in [1, inf): it may be a demoted small total, but it is not 0.

Nothing more: the reader is not assumed to rerun ``suppress`` on candidate tables to rule some out.
A suppressed count is *determined* when its minimum and maximum over every table consistent with
that knowledge are equal. ``suppress`` leaves no suppressed count determined, and ``determined``
lists those that are, for any labelling.

Protection always exists: hide every nonzero count (inner cells >= k and every nonzero total as "x",
inner cells 1..k-1 as "<k"). An inner cell below k-1, or hidden, can then go up by one together with
its row total, column total and grand total, which have no upper bound (or are not published); one
at k-1 >= 2 can go down by one with them instead, as each of them is at least k-1 >= 2. A nonzero
total moves with a nonzero cell of its line.

The check needs no linear programming: the table with its totals is a circulation. Nodes are the
rows r_0.. r_{R-1} and the total row r_T, the columns c_0.. c_{C-1} and the total column c_T; a cell
(i, j) is the arc r_i -> c_j, a row total c_T -> r_i, a column total c_j -> r_T and the grand total
r_T -> c_T, so every line relation is flow conservation at a node. Published counts are constants,
suppressed ones have the bounds above, and totals that are not published are free arcs (bounds
[0, inf)), which is the same as having no relation for that line. The line relations are totally
unimodular, so integer and real ranges agree, and a suppressed count can change exactly when one of
its residual arcs (at the true values) lies on a directed cycle of the residual graph that does not
use its own other residual arc; pushing one unit round that cycle gives another integer table the
reader cannot tell apart. Demoting a total therefore only matters when it is exactly k-1: below
that, "<k" already lets it go up.
"""

import heapq
from collections import deque
from collections.abc import Iterator, Sequence, Set

# A published count: (row, column); None is the total, so (r, None) is the total of row r,
# (None, c) the total of column c and (None, None) the grand total.
Ref = tuple[int | None, int | None]

# (demoted totals, hidden totals, number of counts, sum of their values): a demotion costs more than
# any complementary suppression, hiding a total more than any number of inner cells, then the fewest
# counts, then the least information.
Cost = tuple[int, int, int, int]
_FREE: Cost = (0, 0, 0, 0)

Arc = tuple[int, Ref]  # (node the arc leads to, the count it belongs to)
Candidate = tuple[int, Ref, Cost]  # an arc a count would gain by being hidden, with the cost of hiding it


def _is_total(ref: Ref) -> bool:
    return ref[0] is None or ref[1] is None


class _Grid:
    """The counts of a table as arcs of its circulation network."""

    def __init__(self, counts: Sequence[Sequence[int]], *, threshold: int, row_totals: bool, column_totals: bool):
        if threshold < 3:
            raise ValueError('the threshold must be at least 3 (with 2, "<2" can only mean 1)')
        self.rows = len(counts)
        self.columns = len(counts[0]) if counts else 0
        if any(len(row) != self.columns for row in counts):
            raise ValueError("every row must have the same number of columns")
        if any(value < 0 for row in counts for value in row):
            raise ValueError("counts cannot be negative")
        self.threshold = threshold
        self.values: dict[Ref, int] = {}
        for i, row in enumerate(counts):
            for j, value in enumerate(row):
                self.values[i, j] = value
            self.values[i, None] = sum(row)
        for j in range(self.columns):
            self.values[None, j] = sum(row[j] for row in counts)
        self.values[None, None] = sum(map(sum, counts))
        # A row total needs the total column, a column total the total row, the grand total both.
        self.published: set[Ref] = {
            (i, j) for i, j in self.values if (j is not None or row_totals) and (i is not None or column_totals)
        }
        self.nodes = self.rows + self.columns + 2

    def ends(self, ref: Ref) -> tuple[int, int]:
        """The (tail, head) nodes of a count's arc."""
        i, j = ref
        row = self.rows if i is None else i
        column = self.rows + 1 + (self.columns if j is None else j)
        # Cells flow from their row to their column, the grand total from r_T to c_T; a line total
        # closes its line, from c_T into row i or from column j into r_T.
        return (row, column) if (i is None) == (j is None) else (column, row)

    def hidden_bounds(self, ref: Ref) -> tuple[int, None]:
        """What a reader knows of a count shown as "x"."""
        return (1, None) if _is_total(ref) else (self.threshold, None)

    def bounds(self, ref: Ref, small: set[Ref], hidden: set[Ref]) -> tuple[int, int | None] | None:
        """What a reader knows of a count: its range, or None when it is published (a constant)."""
        if ref not in self.published:
            return 0, None
        if ref in small:
            return 1, self.threshold - 1
        if ref in hidden:
            return self.hidden_bounds(ref)
        return None

    def residual_arcs(self, ref: Ref, low: int, high: int | None) -> Iterator[tuple[int, int]]:
        """The directions a count can move in from its true value, as (from, to) node pairs."""
        tail, head = self.ends(ref)
        value = self.values[ref]
        if high is None or value < high:
            yield tail, head
        if value > low:
            yield head, tail


class _Residual:
    """The residual graph of the suppressed (and unpublished) counts at their true values.

    It shares ``small`` and ``hidden`` with its caller and only ever gains arcs: hiding a count or
    demoting a total widens what a reader must consider."""

    def __init__(self, grid: _Grid, small: set[Ref], hidden: set[Ref]):
        self.grid = grid
        self.small = small
        self.hidden = hidden
        self.arcs: list[list[Arc]] = [[] for _ in range(grid.nodes)]
        for ref in grid.values:
            for start, end in self.directions(ref):
                self.arcs[start].append((end, ref))

    def directions(self, ref: Ref) -> list[tuple[int, int]]:
        bounds = self.grid.bounds(ref, self.small, self.hidden)
        return [] if bounds is None else list(self.grid.residual_arcs(ref, *bounds))

    def hide(self, ref: Ref) -> None:
        """Show a published count as "x": a count >= k, or a small total (demotion)."""
        before = self.directions(ref)
        self.small.discard(ref)
        self.hidden.add(ref)
        for start, end in self.directions(ref):
            if (start, end) not in before:
                self.arcs[start].append((end, ref))

    def reaches(self, start: int, goal: int, avoiding: Ref) -> bool:
        seen = [False] * self.grid.nodes
        seen[start] = True
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for nxt, ref in self.arcs[node]:
                if ref != avoiding and not seen[nxt]:
                    if nxt == goal:
                        return True
                    seen[nxt] = True
                    queue.append(nxt)
        return False

    def movable(self, ref: Ref) -> bool:
        """Whether a suppressed count can take another value: one of its residual arcs closes a cycle.

        Its own other arc must not be used: going up and straight back down again is no change."""
        return any(self.reaches(end, start, avoiding=ref) for start, end in self.directions(ref))


def _order(ref: Ref) -> tuple[int, int, int, int]:
    """Cells in reading order, then the row totals, the column totals and the grand total."""
    i, j = ref
    return (i is None, j is None, -1 if i is None else i, -1 if j is None else j)


def determined(
    counts: Sequence[Sequence[int]],
    small: set[Ref],
    hidden: set[Ref],
    *,
    threshold: int,
    row_totals: bool,
    column_totals: bool,
) -> set[Ref]:
    """The suppressed counts (``small`` shown as "<k", ``hidden`` as "x") a reader can work out exactly.

    The labels must be truthful, as the reader assumes: ``small`` counts in 1..k-1, hidden inner
    cells >= k and hidden totals >= 1."""
    grid = _Grid(counts, threshold=threshold, row_totals=row_totals, column_totals=column_totals)
    unknown = (small | hidden) - grid.published
    if unknown:
        raise ValueError(f"not published counts of this table: {sorted(unknown, key=_order)}")
    if small & hidden:
        raise ValueError(f"counts both small and hidden: {sorted(small & hidden, key=_order)}")
    untrue = {ref for ref in small if not 0 < grid.values[ref] < threshold}
    untrue |= {ref for ref in hidden if grid.values[ref] < grid.hidden_bounds(ref)[0]}
    if untrue:
        raise ValueError(f"counts whose value does not fit their label: {sorted(untrue, key=_order)}")
    residual = _Residual(grid, set(small), set(hidden))
    return {ref for ref in small | hidden if not residual.movable(ref)}


def _candidates(grid: _Grid) -> tuple[list[list[Candidate]], dict[Ref, Candidate]]:
    """The arcs counts would gain by being shown as "x", by the node they leave, with their cost.

    Counts >= k can be hidden (complementary suppression). A small total can be demoted, but that
    only gains an arc when it is exactly k-1: as "<k" it cannot go up, as "x" it can. Demotions are
    also returned by count, for the total that is itself to be protected."""
    arcs: list[list[Candidate]] = [[] for _ in range(grid.nodes)]
    demotions: dict[Ref, Candidate] = {}
    for ref in grid.published:
        value = grid.values[ref]
        total = int(_is_total(ref))
        if value >= grid.threshold:
            cost: Cost = (0, total, 1, value)
            for start, end in grid.residual_arcs(ref, *grid.hidden_bounds(ref)):
                arcs[start].append((end, ref, cost))
        elif total and value == grid.threshold - 1:
            tail, head = grid.ends(ref)
            demotions[ref] = (head, ref, (1, 1, 1, value))
            arcs[tail].append(demotions[ref])
    return arcs, demotions


def _cheapest_path(
    residual: _Residual,
    candidates: list[list[Candidate]],
    start: int,
    goal: int,
    avoiding: Ref,
    cost: Cost = _FREE,
) -> tuple[Cost, list[Ref]] | None:
    """Dijkstra from start to goal over the residual arcs (free) and the arcs of counts not yet hidden.

    Returns the cost and the counts to hide: those whose candidate arcs the path takes."""
    best: dict[int, Cost] = {start: cost}
    came: dict[int, tuple[int, Ref, bool]] = {}
    heap: list[tuple[Cost, int]] = [(cost, start)]
    while heap:
        cost, node = heapq.heappop(heap)
        if node == goal:
            path = []
            while node != start:
                node, ref, new = came[node]
                if new:
                    path.append(ref)
            return cost, path
        if cost > best[node]:
            continue
        # A count already hidden is in the residual graph, free; its candidate arc would double it.
        steps = [(nxt, ref, _FREE, False) for nxt, ref in residual.arcs[node]]
        steps += [(*arc, True) for arc in candidates[node] if arc[1] not in residual.hidden]
        for nxt, ref, step, new in steps:
            if ref == avoiding:
                continue
            total = (cost[0] + step[0], cost[1] + step[1], cost[2] + step[2], cost[3] + step[3])
            if nxt not in best or total < best[nxt]:
                best[nxt] = total
                came[nxt] = (node, ref, new)
                heapq.heappush(heap, (total, nxt))
    return None


def _protection(
    residual: _Residual, candidates: list[list[Candidate]], demotions: dict[Ref, Candidate], ref: Ref
) -> list[Ref] | None:
    """The cheapest counts to hide so that ``ref`` lies on a residual cycle, in either direction.

    A small total of k-1 may also go up by being demoted itself."""
    options = [
        found
        for start, end in residual.directions(ref)
        if (found := _cheapest_path(residual, candidates, end, start, avoiding=ref)) is not None
    ]
    if ref in demotions and ref in residual.small:
        head, _, cost = demotions[ref]
        tail = residual.grid.ends(ref)[0]
        if (found := _cheapest_path(residual, candidates, head, tail, avoiding=ref, cost=cost)) is not None:
            options.append((found[0], [*found[1], ref]))
    return min(options, key=lambda option: option[0])[1] if options else None


def suppress(
    counts: Sequence[Sequence[int]],
    *,
    threshold: int = 5,
    row_totals: bool,
    column_totals: bool,
    forced: Set[Ref] = frozenset(),
) -> tuple[set[Ref], set[Ref]]:
    """The published counts to show as "<k" (small) and as "x" (hidden) so no person can be singled out.

    ``forced`` counts are hidden whatever their value (the same figure hidden in another table of the
    report must be hidden here too), and protected like the small ones.

    Every published count in 1..k-1 starts small. Then, for each suppressed count a reader could
    still work out, the cheapest cycle through it is found and its counts hidden. Already
    suppressed counts are free; complementary suppression (counts >= k) is preferred to demoting a
    small total of k-1 to "x" (the total of the line that pins the count, as a rule, since that is
    where the cycle has to pass), inner cells to totals, then fewer counts, then smaller ones. A
    demoted total brings whatever the rest of the cycle needs, such as complementary counts in the
    total row or column when the grand total is published. Hiding or demoting only widens what a
    reader must consider, so a count once protected stays protected, and every count on the new
    cycle is protected by it: one pass over the small counts suffices, and there is always a cycle
    (see the module docstring). Should a count still be determined all the same, every nonzero
    count is hidden, which is always safe.
    """
    grid = _Grid(counts, threshold=threshold, row_totals=row_totals, column_totals=column_totals)
    small = {ref for ref in grid.published if 0 < grid.values[ref] < threshold}
    hidden = {ref for ref in forced if ref in grid.published and grid.values[ref] >= threshold}
    residual = _Residual(grid, small, hidden)
    candidates, demotions = _candidates(grid)
    for ref in sorted(small | hidden, key=_order):
        if residual.movable(ref):
            continue
        for new in _protection(residual, candidates, demotions, ref) or []:
            residual.hide(new)
    if all(residual.movable(ref) for ref in small | hidden):
        return small, hidden
    return _hide_everything(grid)


def _hide_everything(grid: _Grid) -> tuple[set[Ref], set[Ref]]:
    """The last resort: every nonzero count suppressed, inner ones 1..k-1 as "<k", the rest as "x"."""
    nonzero = {ref for ref in grid.published if grid.values[ref] > 0}
    small = {ref for ref in nonzero if not _is_total(ref) and grid.values[ref] < grid.threshold}
    return small, nonzero - small
