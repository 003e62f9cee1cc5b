"""Small-cell suppression (tracker.reports.suppression).

Hand-worked examples, then properties over random tables. Protection is
checked by an independent reader written here: an integer program (scipy's
``milp``, with integrality) built only from what is *printed* - the display
strings - asks, for every hidden figure, whether a value other than the true
one is possible given the shown cells, the shown totals, the row and column
sums and the reader's bounds ("<m": 1..m-1, "x": m or more). It shares no
code with the module's own graph search.
"""
from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from tracker.reports.suppression import (
    COMPLEMENT_MARK,
    Cell,
    SuppressedTable,
    UnprotectableTableError,
    suppress,
)

# -- the independent reader ---------------------------------------------------


def figures(counts):
    """True values in the reader's order: cells row by row, row totals, column totals, grand total."""
    r, c = len(counts), len(counts[0])
    return ([counts[i][j] for i in range(r) for j in range(c)] + [sum(row) for row in counts]
            + [sum(counts[i][j] for i in range(r)) for j in range(c)] + [sum(map(sum, counts))])


def printed(table: SuppressedTable, min_cell):
    """Display strings in the same order as figures()."""
    cells = [cell for row in table.cells for cell in row]
    return [x.display(min_cell) for x in cells + table.row_totals + table.column_totals + [table.grand_total]]


def reader_bounds(texts, min_cell):
    """What a reader who knows the rules learns from each printed figure."""
    out = []
    for t in texts:
        if t == f"<{min_cell}":
            out.append((1, min_cell - 1))
        elif t == COMPLEMENT_MARK:
            out.append((min_cell, np.inf))
        else:
            assert t.isdigit(), t
            out.append((int(t), int(t)))
    return out


def sum_constraints(r, c):
    """Rows, columns, row totals and column totals add up: A @ figures == 0."""
    n = r * c + r + c + 1
    rows = []
    for i in range(r):
        a = np.zeros(n)
        a[i * c:(i + 1) * c] = 1
        a[r * c + i] = -1
        rows.append(a)
    for j in range(c):
        a = np.zeros(n)
        a[[i * c + j for i in range(r)]] = 1
        a[r * c + r + j] = -1
        rows.append(a)
    a = np.zeros(n)
    a[r * c:r * c + r] = 1
    a[-1] = -1
    rows.append(a)
    a = np.zeros(n)
    a[r * c + r:r * c + r + c] = 1
    a[-1] = -1
    rows.append(a)
    return LinearConstraint(np.array(rows), 0, 0)


def _feasible(bounds, constraint, k, lo, hi):
    lb = np.array([b[0] for b in bounds], dtype=float)
    ub = np.array([b[1] for b in bounds], dtype=float)
    lb[k], ub[k] = max(lb[k], lo), min(ub[k], hi)
    if lb[k] > ub[k]:
        return False
    res = milp(np.zeros(len(bounds)), integrality=np.ones(len(bounds)), bounds=Bounds(lb, ub),
               constraints=constraint)
    assert res.status in (0, 2), res.message
    return res.status == 0


def determined(bounds, truth, r, c):
    """Indices of hidden figures that can take no integer value but the true one."""
    constraint = sum_constraints(r, c)
    return [k for k, (lo, hi) in enumerate(bounds) if lo != hi
            and not _feasible(bounds, constraint, k, truth[k] + 1, np.inf)
            and not _feasible(bounds, constraint, k, -np.inf, truth[k] - 1)]


def reader_range(bounds, r, c, k):
    """Exact integer min and max of figure k (finite problems only)."""
    n = len(bounds)
    lims = Bounds([b[0] for b in bounds], [b[1] for b in bounds])
    out = []
    for sign in (1, -1):
        obj = np.zeros(n)
        obj[k] = sign
        res = milp(obj, integrality=np.ones(n), bounds=lims, constraints=sum_constraints(r, c))
        assert res.status == 0, res.message
        out.append(round(res.x[k]))
    return tuple(out)


def all_hidden_bounds(counts, min_cell):
    """The reader's bounds if every non-zero figure were hidden: the most any suppression can do."""
    return [(v, v) if v == 0 else (1, min_cell - 1) if v < min_cell else (min_cell, np.inf)
            for v in figures(counts)]


def check_published(counts, min_cell):
    """Every property of one suppressed table, or of the refusal to publish it."""
    r, c = len(counts), len(counts[0])
    truth = figures(counts)
    try:
        table = suppress(counts, min_cell=min_cell)
    except UnprotectableTableError:
        # Justified only if even hiding every non-zero figure leaves one determined.
        assert determined(all_hidden_bounds(counts, min_cell), truth, r, c)
        return None
    assert table.min_cell == min_cell
    assert len(table.cells) == r and all(len(row) == c for row in table.cells)
    assert len(table.row_totals) == r and len(table.column_totals) == c
    entries = [cell for row in table.cells for cell in row] + table.row_totals + table.column_totals
    entries.append(table.grand_total)
    for cell, true in zip(entries, truth, strict=True):
        assert isinstance(cell, Cell)
        assert cell.hidden == (cell.value is None)
        if 0 < true < min_cell:
            assert (cell.hidden, cell.reason, cell.display(min_cell)) == (True, "small", f"<{min_cell}")
        elif cell.hidden:
            # "x" promises min_cell or more, and never hides a 0.
            assert true >= min_cell and cell.reason == "complement"
            assert cell.display(min_cell) == COMPLEMENT_MARK
        else:
            # Shown cells and shown totals are the true ones (figures() sums the totals from counts).
            assert cell.value == true and cell.reason == "" and cell.display(min_cell) == str(true)
    # No hidden figure can be solved back by the independent reader.
    bounds = reader_bounds(printed(table, min_cell), min_cell)
    for (lo, hi), true in zip(bounds, truth):
        assert lo <= true <= hi  # the marks tell the truth
    assert determined(bounds, truth, r, c) == []
    # Deterministic: same input, same output; the input is not changed.
    copy = [list(row) for row in counts]
    assert suppress(copy, min_cell=min_cell) == table and copy == counts
    return table


def grid(table: SuppressedTable, min_cell=10):
    """The printed table, totals last: rows of cells + row total, then the column totals + grand total."""
    rows = [[x.display(min_cell) for x in row] + [t.display(min_cell)] for row, t in zip(table.cells, table.row_totals)]
    return rows + [[x.display(min_cell) for x in table.column_totals] + [table.grand_total.display(min_cell)]]


# -- examples worked out by hand ------------------------------------------------


def test_one_row_small_count_takes_the_smallest_large_count_as_complement():
    # 55 - 12 - 40 = 3: the 3 must not stand alone. 12 is the smallest count >= 10;
    # in a one-row table its column total is the same number, so it goes too.
    table = check_published([[12, 3, 40]], 10)
    assert grid(table) == [["x", "<10", "40", "55"], ["x", "<10", "40", "55"]]
    assert table.cells[0][0] == Cell(None, True, "complement")
    assert table.cells[0][1] == Cell(None, True, "small")
    assert table.cells[0][2] == Cell(40, False, "")


def test_one_column_is_the_same_case_transposed():
    table = check_published([[12], [3], [40]], 10)
    assert grid(table) == [["x", "x"], ["<10", "<10"], ["40", "40"], ["55", "55"]]


def test_small_count_alone_hides_its_small_total_and_zeros_stay():
    table = check_published([[0, 3, 0]], 10)
    assert grid(table) == [["0", "<10", "0", "<10"], ["0", "<10", "0", "<10"]]
    assert table.row_totals[0].reason == "small" and table.grand_total.reason == "small"


def test_two_by_two_hidden_block_has_one_degree_of_freedom():
    #  3 | 20 || 23     Hiding 3 alone: 23 - 20 = 3. Hiding 20 and 15 too: the
    # 15 | 30 || 45     shown 30 gives 15 (45 - 30), then 3 (18 - 15). So the four
    # 18 | 50 || 68     cells go and the margins stay: x11 = t, x12 = 23 - t,
    #                   x21 = 18 - t, x22 = 27 + t, with 1 <= t <= 9 and
    #                   x12, x21 >= 10, so t is 1..8: every cell has 8 values.
    table = check_published([[3, 20], [15, 30]], 10)
    assert grid(table) == [["<10", "x", "23"], ["x", "x", "45"], ["18", "50", "68"]]
    bounds = reader_bounds(printed(table, 10), 10)
    assert [reader_range(bounds, 2, 2, k) for k in range(4)] == [(1, 8), (15, 22), (10, 17), (28, 35)]


def test_no_small_counts_hides_nothing():
    counts = [[10, 20, 0], [35, 0, 112], [0, 0, 0]]
    table = check_published(counts, 10)
    assert grid(table) == [["10", "20", "0", "30"], ["35", "0", "112", "147"], ["0", "0", "0", "0"],
                           ["45", "20", "112", "177"]]
    assert all(not cell.hidden for row in table.cells for cell in row)


def test_cells_of_several_rows_and_columns_protect_each_other():
    table = check_published([[3, 20, 11], [15, 30, 4], [50, 60, 70]], 10)
    assert grid(table) == [["<10", "20", "x", "34"], ["x", "30", "<10", "49"], ["50", "60", "70", "180"],
                           ["68", "110", "85", "263"]]


def test_small_totals_of_large_looking_rows():
    # Row totals 7 and column total 8 are small; the grand total 18 would give
    # away 18 - 11 = 7 unless the other row total goes too.
    table = check_published([[3, 4], [5, 6]], 10)
    assert grid(table) == [["<10", "<10", "<10"], ["<10", "<10", "x"], ["<10", "x", "18"]]


@pytest.mark.parametrize("counts, min_cell", [
    ([[1] * 9], 10),           # nine "<10" under a total "<10": each must be 1
    ([[1, 1]], 3),             # "<3" + "<3" = "<3": both are 1
    ([[1, 0], [0, 1]], 3),     # grand total "<3" over two cells of at least 1
    ([[1, 1], [1, 1]], 5),     # four cells of at least 1 under a grand total of at most 4
])
def test_tables_no_suppression_can_protect_are_refused(counts, min_cell):
    with pytest.raises(UnprotectableTableError):
        suppress(counts, min_cell=min_cell)
    r, c = len(counts), len(counts[0])
    assert determined(all_hidden_bounds(counts, min_cell), figures(counts), r, c)


def test_threshold_appears_in_the_mark():
    # At 5, 7 is the smallest count that may protect the 4; at 10 both are
    # small and protect each other (4 + 7 = 11 has many solutions in 1..9).
    table = check_published([[4, 20, 7]], 5)
    assert [x.display(5) for x in table.cells[0]] == ["<5", "20", "x"]
    table = check_published([[4, 20, 7]], 10)
    assert grid(table)[0] == ["<10", "20", "<10", "31"]
    table = check_published([[2, 5, 0], [6, 9, 3]], 3)
    assert table.cells[0][0].display(3) == "<3"


def test_empty_tables():
    assert suppress([]) == SuppressedTable([], [], [], Cell(0, False, ""), 10)
    table = suppress([[], []])
    assert table.row_totals == [Cell(0, False, "")] * 2 and table.column_totals == []


@pytest.mark.parametrize("counts, min_cell", [
    ([[1, 2], [3]], 10), ([[-1]], 10), ([[1.5]], 10), ([[True]], 10), ([["3"]], 10),
    ([[5]], 2), ([[5]], 1), ([[5]], 0), ([[5]], 10.0),
])
def test_bad_input_is_refused(counts, min_cell):
    with pytest.raises(ValueError):
        suppress(counts, min_cell=min_cell)


def test_the_independent_reader_sees_what_it_should():
    # All margins shown, 2x2 all hidden: one degree of freedom, nothing determined.
    b = [(1, 9), (10, np.inf), (10, np.inf), (10, np.inf), (23, 23), (45, 45), (18, 18), (50, 50), (68, 68)]
    assert determined(b, [3, 20, 15, 30, 23, 45, 18, 50, 68], 2, 2) == []
    # Only the small cell hidden: it is 3.
    b = [(1, 9), (20, 20), (15, 15), (30, 30), (23, 23), (45, 45), (18, 18), (50, 50), (68, 68)]
    assert determined(b, [3, 20, 15, 30, 23, 45, 18, 50, 68], 2, 2) == [0]


def test_report_sized_tables_are_fast():
    rng = np.random.default_rng(20240501)
    worst = 0.0
    for _ in range(20):
        kind = rng.integers(0, 3, size=(15, 8))
        counts = np.where(kind == 0, 0, np.where(kind == 1, rng.integers(1, 10, (15, 8)),
                                                  rng.integers(10, 300, (15, 8)))).tolist()
        start = time.perf_counter()
        try:
            suppress(counts)
        except UnprotectableTableError:
            pass
        worst = max(worst, time.perf_counter() - start)
    assert worst < 0.5


# -- properties -----------------------------------------------------------------


def tables(min_cell):
    value = st.one_of(st.just(0), st.integers(1, min_cell - 1), st.integers(min_cell, min_cell + 5),
                      st.integers(min_cell, 200))
    return st.integers(1, 6).flatmap(lambda r: st.integers(1, 6).flatmap(
        lambda c: st.lists(st.lists(value, min_size=c, max_size=c), min_size=r, max_size=r)))


# database=None: nothing is written to the work tree (no .hypothesis folder of examples).
PROPERTY = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(tables(10))
def test_no_hidden_count_can_be_worked_out(counts):
    check_published(counts, 10)


@PROPERTY
@given(tables(5))
def test_no_hidden_count_can_be_worked_out_min_cell_5(counts):
    check_published(counts, 5)


@PROPERTY
@given(tables(3))
def test_no_hidden_count_can_be_worked_out_min_cell_3(counts):
    check_published(counts, 3)
