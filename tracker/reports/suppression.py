"""Small-cell suppression for the counts of people in donor reports.

Pure Python (standard library only): no Flask, no database. One call,
:func:`suppress`, takes a table of non-negative integer counts (rows x
columns; a single row or column is just a special case) and returns what may
be published: every cell, every row total, every column total and the grand
total, each either shown or hidden with a reason.

Methods page (the meaning of the marks, for the report)
-------------------------------------------------------
Counts of people are published only in a form that cannot single anyone
out. A count from 1 to 9 is shown as "<10"; a count of 0 is shown as 0.
Where a hidden count could still be worked out from the figures around
it - for example by subtracting the other figures of its row or column from
the total - one or more further figures of the same row or column, or a
total, are also withheld and shown as "x". A figure marked "x" is always 10
or more; it is hidden only to protect a small count, not because it is small
itself. Totals always include the hidden counts, so the visible figures of a
row or column do not add up to its total when something in it is hidden. A
table that cannot be protected in this way is not published at all.

(With another threshold ``min_cell`` read "<{min_cell}" for "<10", "1 to
{min_cell - 1}" for "1 to 9" and "{min_cell} or more" for "10 or more".)

Marks
-----
``"<{min_cell}"``  primary suppression (``reason == "small"``): the count,
                   a cell or a total, is from 1 to ``min_cell - 1``.
``"x"``            secondary suppression (``reason == "complement"``,
                   :data:`COMPLEMENT_MARK`): a cell or total of ``min_cell``
                   or more, hidden so that a small count cannot be worked
                   out. Never ``"<10"``: that would be untrue for these.
0 and every count of ``min_cell`` or more that protects nothing are shown.

What "cannot be worked out" means
---------------------------------
The reader is modelled as knowing the rules above and doing exact
arithmetic over the whole table at once (not row by row): every shown cell
and shown total is known exactly; a hidden "small" figure lies in
``[1, min_cell - 1]``; a hidden "x" figure lies in ``[min_cell, +inf)``;
every row, every column, the row totals and the column totals add up
(whether their total is shown or hidden). A hidden figure is protected when
it can take at least two values in the solutions of that system. Every
hidden figure of a table returned by :func:`suppress` is protected - the
"x" ones and the hidden totals too, not only the small ones.

This is decided exactly, without a solver: the table with its margins is a
circulation in a small network (source -> row i carries row total i,
row i -> column j carries cell (i, j), column j -> sink carries column total
j, sink -> source carries the grand total; a shown figure is an arc of fixed
flow, a hidden one an arc with the bounds above). The true table is one
feasible circulation; a hidden figure can take another value if and only if
it lies on a cycle of the residual network of that circulation (standard
flow theory: the difference of two circulations splits into residual
cycles, and pushing one unit round a residual cycle stays feasible because
every bound is an integer). So each check is one graph search.

Not modelled: a reader who also replays the choice of complements (a
complement is the smallest eligible count of its row or column, which hints
at an upper bound). Protection can be narrow: "can take two values" is the
guarantee, not a minimum width of the interval.

Algorithm
---------
1. Primary: hide every cell and every total from 1 to ``min_cell - 1``.
2. Secondary: while some hidden figure is determined (the first in the
   order: cells row by row, row totals, column totals, grand total), hide
   the cheapest set of shown figures that puts it on a residual cycle, i.e.
   lets it move. Cells of its own row or column come first because every
   such cycle leaves through them; a cell costs its count (the smallest
   counts of min_cell or more are taken); a total costs more than all the
   cells together and the grand total more again, so a row's or column's
   total is hidden only where no cells will do. A 2 x 2 block of hidden
   cells with all its margins shown is the typical result. Each round hides
   at least one more figure, so it ends. If no such set exists - a figure is
   determined even with every non-zero figure hidden - no suppression can
   protect the table and :class:`UnprotectableTableError` is raised (e.g.
   with min_cell 10, nine cells of 1 under a total of 9: "<10" everywhere,
   yet each must be 1; with min_cell 3, a row [1, 1]).

Deterministic: no randomness, ties broken by position. A 15 x 8 table takes
milliseconds to a few tens of milliseconds.
"""
from __future__ import annotations

import heapq
import numbers
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["COMPLEMENT_MARK", "Cell", "SuppressedTable", "UnprotectableTableError", "suppress"]

#: Shown for a complementary (secondary) suppression: a hidden count of min_cell or more.
COMPLEMENT_MARK = "x"

_SHOWN, _SMALL, _COMPLEMENT = "", "small", "complement"
_INF = float("inf")


class UnprotectableTableError(ValueError):
    """Even with every non-zero count and total hidden, a hidden count could be worked out.

    The table must not be published (say "not published: too few cases" instead).
    """


@dataclass(frozen=True)
class Cell:
    """One published figure: a cell or a total.

    ``value`` is the count when shown and ``None`` when hidden, so a hidden
    count never reaches a template. ``reason`` is ``""`` (shown), ``"small"``
    (primary: from 1 to min_cell - 1) or ``"complement"`` (secondary: min_cell
    or more, hidden to protect a small count).
    """

    value: int | None
    hidden: bool
    reason: str

    def display(self, min_cell: int) -> str:
        """The text to print: ``"12"``, ``"0"``, ``"<10"`` (small) or ``"x"`` (complement)."""
        if not self.hidden:
            return str(self.value)
        if self.reason == _SMALL:
            return f"<{min_cell}"
        return COMPLEMENT_MARK


@dataclass(frozen=True)
class SuppressedTable:
    """What may be published of a table: cells[i][j], row_totals[i], column_totals[j], grand_total."""

    cells: list[list[Cell]]
    row_totals: list[Cell]
    column_totals: list[Cell]
    grand_total: Cell
    min_cell: int = 10


def suppress(counts: Sequence[Sequence[int]], *, min_cell: int = 10) -> SuppressedTable:
    """Suppress small counts of ``counts`` (a list of rows) and whatever would reveal them.

    Raises ``ValueError`` for a ragged table, a negative or non-integer count,
    or ``min_cell`` below 3 (with 2, "<2" would mean exactly 1), and
    :class:`UnprotectableTableError` when no suppression can protect the table.
    A table without rows gives empty ``cells``, ``row_totals`` and
    ``column_totals`` and a grand total of 0.
    """
    if isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 3:
        raise ValueError(f"min_cell must be an integer of at least 3, not {min_cell!r}")
    rows = [list(row) for row in counts]
    n_cols = len(rows[0]) if rows else 0
    for row in rows:
        if len(row) != n_cols:
            raise ValueError("every row must have the same number of columns")
        for v in row:
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
                raise ValueError(f"counts must be non-negative integers, not {v!r}")
    rows = [[int(v) for v in row] for row in rows]

    net = _Network(rows, min_cell)
    net.protect()
    cells = [net.cell(k) for k in range(net.n_rows * net.n_cols)]
    return SuppressedTable(
        cells=[cells[i * n_cols:(i + 1) * n_cols] for i in range(net.n_rows)],
        row_totals=[net.cell(net.row_total(i)) for i in range(net.n_rows)],
        column_totals=[net.cell(net.col_total(j)) for j in range(n_cols)],
        grand_total=net.cell(net.grand),
        min_cell=min_cell,
    )


class _Network:
    """The table and its margins as a circulation; one arc per published figure.

    Nodes: 0 = source, 1..r = rows, r+1..r+c = columns, r+c+1 = sink.
    Arcs (figures), in the order used for ties: cells row by row, row
    totals, column totals, grand total. Between two nodes there is at most
    one arc, in one direction only, which the cycle search relies on.
    """

    def __init__(self, rows: list[list[int]], min_cell: int):
        self.min_cell = min_cell
        self.n_rows = r = len(rows)
        self.n_cols = c = len(rows[0]) if rows else 0
        source, sink = 0, r + c + 1
        self.arcs: list[tuple[int, int]] = []
        self.flow: list[int] = []
        for i in range(r):
            for j in range(c):
                self._arc(1 + i, 1 + r + j, rows[i][j])
        for i in range(r):
            self._arc(source, 1 + i, sum(rows[i]))
        for j in range(c):
            self._arc(1 + r + j, sink, sum(rows[i][j] for i in range(r)))
        self.grand = len(self.arcs)
        self._arc(sink, source, sum(map(sum, rows)))
        self.n_nodes = sink + 1
        self.is_cell = [k < r * c for k in range(len(self.arcs))]
        # Primary suppression: cells and totals from 1 to min_cell - 1.
        self.state = [_SMALL if 0 < f < min_cell else _SHOWN for f in self.flow]

    def _arc(self, u: int, v: int, flow: int) -> None:
        self.arcs.append((u, v))
        self.flow.append(flow)

    def row_total(self, i: int) -> int:
        return self.n_rows * self.n_cols + i

    def col_total(self, j: int) -> int:
        return self.n_rows * self.n_cols + self.n_rows + j

    def cell(self, k: int) -> Cell:
        reason = self.state[k]
        return Cell(None, True, reason) if reason else Cell(self.flow[k], False, "")

    # -- the reader's knowledge ------------------------------------------------

    def _bounds(self, k: int, state: list[str]) -> tuple[float, float]:
        if state[k] == _SMALL:
            return 1, self.min_cell - 1
        if state[k] == _COMPLEMENT:
            return self.min_cell, _INF
        return self.flow[k], self.flow[k]

    def _residual(self, state: list[str]) -> list[list[tuple[int, int]]]:
        """Residual network of the true table: node -> [(next node, arc)]."""
        out: list[list[tuple[int, int]]] = [[] for _ in range(self.n_nodes)]
        for k, (u, v) in enumerate(self.arcs):
            if state[k] == _SHOWN:
                continue
            lo, hi = self._bounds(k, state)
            if self.flow[k] < hi:
                out[u].append((v, k))
            if self.flow[k] > lo:
                out[v].append((u, k))
        return out

    def _reaches(self, out: list[list[tuple[int, int]]], start: int, goal: int, skip: int) -> bool:
        seen = [False] * self.n_nodes
        seen[start] = True
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for nxt, k in out[node]:
                if k != skip and not seen[nxt]:
                    if nxt == goal:
                        return True
                    seen[nxt] = True
                    queue.append(nxt)
        return False

    def _free(self, k: int, out: list[list[tuple[int, int]]]) -> bool:
        """Whether hidden figure k can take another value: it lies on a residual cycle."""
        u, v = self.arcs[k]
        lo, hi = self._bounds(k, self.state)
        f = self.flow[k]
        # Up by one: u -> v, then back from v to u without this arc's own reverse.
        if f < hi and self._reaches(out, v, u, k):
            return True
        return f > lo and self._reaches(out, u, v, k)

    def _determined(self) -> int | None:
        out = self._residual(self.state)
        for k, s in enumerate(self.state):
            if s and not self._free(k, out):
                return k
        return None

    # -- secondary suppression -------------------------------------------------

    def _cost(self, k: int) -> int | None:
        """Price of hiding shown figure k as a complement; None if it may not be hidden.

        A 0 is never hidden. A hidden 0 protects less than it seems: beside
        a small count s in a line whose total is shown, the two hidden
        figures add up to s itself, so the reader learns that the small one
        is at most s - and s exactly if the 0 is guessed, which it often can
        be from context (no project of that kind in that country). Taking
        complements only from counts of min_cell or more also lets the
        methods page say that an "x" is min_cell or more, a floor that is
        true and that the reader is modelled as knowing. Every shown
        non-zero figure is min_cell or more (smaller ones are hidden
        already). Cells cost their count, so the smallest are
        taken first; a row or column total costs more than all the cells
        together, and the grand total more again, so totals go only where no
        cells will do.
        """
        if self.flow[k] == 0:
            return None
        if self.is_cell[k]:
            return self.flow[k]
        big = self.flow[self.grand] + 1
        return self.flow[k] + (2 * big if k == self.grand else big)

    def _cheapest_cycle(self, k: int) -> list[int] | None:
        """Shown figures to hide so that hidden figure k lies on a residual cycle.

        Dijkstra over the residual network in which every shown non-zero
        figure may also be used (as a complement: both ways if above
        min_cell, only upwards at exactly min_cell) at its price. Tries k up
        (a path from its head back to its tail) and k down; the cheaper wins,
        ties to "up". None if no cycle exists even with every non-zero figure
        hidden.
        """
        out = self._residual(self.state)
        for j, (u, v) in enumerate(self.arcs):
            cost = self._cost(j) if self.state[j] == _SHOWN else None
            if cost is None:
                continue
            out[u].append((v, j))  # up: a complement has no upper bound
            if self.flow[j] > self.min_cell:
                out[v].append((u, j))
        u, v = self.arcs[k]
        lo, hi = self._bounds(k, self.state)
        best: tuple[int, list[int]] | None = None
        for ok, start, goal in ((self.flow[k] < hi, v, u), (self.flow[k] > lo, u, v)):
            if ok:
                found = self._dijkstra(out, start, goal, k)
                if found is not None and (best is None or found[0] < best[0]):
                    best = found
        return None if best is None else best[1]

    def _dijkstra(self, out, start: int, goal: int, skip: int) -> tuple[int, list[int]] | None:
        dist = {start: 0}
        back: dict[int, tuple[int, int]] = {}
        heap = [(0, start)]
        while heap:
            d, node = heapq.heappop(heap)
            if d > dist[node]:
                continue
            if node == goal:
                path = []
                while node != start:
                    node, arc = back[node]
                    if self.state[arc] == _SHOWN:
                        path.append(arc)
                return d, sorted(path)
            for nxt, arc in out[node]:
                if arc == skip:
                    continue
                nd = d + (self._cost(arc) if self.state[arc] == _SHOWN else 0)
                if nd < dist.get(nxt, nd + 1):
                    dist[nxt] = nd
                    back[nxt] = (node, arc)
                    heapq.heappush(heap, (nd, nxt))
        return None

    def protect(self) -> None:
        """Hide complements until no hidden figure is determined."""
        while (k := self._determined()) is not None:
            path = self._cheapest_cycle(k)
            if path is None:
                raise UnprotectableTableError(
                    "a hidden count could be worked out even with every non-zero count hidden; "
                    "do not publish this table"
                )
            for arc in path:
                self.state[arc] = _COMPLEMENT
