"""The public claims figures: Fund-wide, as of the end of the previous month, small counts suppressed.

DESIGN section 3: every count from 1 to ``REPORT_MIN_CELL - 1`` is published as ``"<10"``; further counts
are withheld wherever a hidden one could be worked out from a Member State's row or from a column's total
across Member States; a median only where it rests on at least ``REPORT_MIN_CELL`` claims.

The figures of one row are tied together by four sums, and each column by its total:

- ``received = open + not_established + withdrawn + support_paid`` (the current step is final or not);
- ``open`` = the sum of ``open_by_step``; ``stalled`` = the sum of ``stalled_by_step``;
- ``outcomes.paternity_established`` = open at ``paternity_established``, ``legally_recognised`` or
  ``support_ordered``, plus ``support_paid``;
- each figure of the totals row = the sum of that figure over the Member States;
- and a stalled count is never more than the open count it is part of.

The reader is modelled as knowing these sums and the marks: a shown count is exact, ``"<10"`` lies from 1 to
9, ``"x"`` is 10 or more (a secondary suppression, the donor report's mark; ``"<10"`` would be untrue), 0 is
never hidden. Bounds are narrowed over all the sums together until nothing changes; a hidden count whose bounds
meet is recoverable, and the next count to hide is the smallest shown one (totals last) of a sum holding it.
A table that no hiding can protect merges its Member State with the fewest claims into an "other Member
States" row, again until it can be published.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app

from tracker.registry.claim_figures import (
    OPEN_STEPS,
    OUTCOMES,
    ClaimFacts,
    Figures,
    MemberStateFigures,
    claim_facts,
    stalled_days_setting,
    summarise,
)

SMALL, COMPLEMENT, SHOWN = "small", "complement", ""
COMPLEMENT_MARK = "x"
_INF = float("inf")

#: The counts of a row, as ``(group, key)``; ``group`` None for the three plain counts.
COUNT_FIELDS: tuple[tuple[str | None, str], ...] = (
    (None, "received"), (None, "open"), (None, "stalled"),
    *(("open_by_step", s) for s in OPEN_STEPS),
    *(("stalled_by_step", s) for s in OPEN_STEPS),
    *(("outcomes", o) for o in OUTCOMES),
)
_FINAL_OUTCOMES = ("not_established", "withdrawn", "support_paid")


def row_sums() -> list[tuple[tuple, list[tuple]]]:
    """The sums inside one row, as (total field, part fields)."""
    return [
        ((None, "received"), [(None, "open"), *(("outcomes", o) for o in _FINAL_OUTCOMES)]),
        ((None, "open"), [("open_by_step", s) for s in OPEN_STEPS]),
        ((None, "stalled"), [("stalled_by_step", s) for s in OPEN_STEPS]),
        (("outcomes", "paternity_established"),
         [("open_by_step", "paternity_established"), ("open_by_step", "legally_recognised"),
          ("open_by_step", "support_ordered"), ("outcomes", "support_paid")]),
    ]


def row_inequalities() -> list[tuple[tuple, tuple]]:
    """(smaller, larger) field pairs inside one row: stalled claims are some of the open ones."""
    return [((None, "stalled"), (None, "open"))] + [(("stalled_by_step", s), ("open_by_step", s)) for s in OPEN_STEPS]


def count_of(figures: Figures, field: tuple) -> int:
    group, key = field
    return getattr(figures, key) if group is None else getattr(figures, group)[key]


class UnprotectableError(ValueError):
    """No hiding protects the table: a hidden count can be worked out even with every other count hidden."""


@dataclass
class Table:
    """The counts of every row (Member States, then the totals row last) and the sums that tie them."""

    values: dict[tuple, int]            # (row, field) -> count
    sums: list[tuple[tuple, list[tuple]]]
    inequalities: list[tuple[tuple, tuple]]
    order: list[tuple]                  # every key, in the order ties are broken

    @classmethod
    def of(cls, rows: list[Figures], totals: Figures) -> Table:
        labels = list(range(len(rows))) + ["total"]
        values = {(label, f): count_of(figures, f) for label, figures in zip(labels, [*rows, totals], strict=True)
                  for f in COUNT_FIELDS}
        sums = [((label, total), [(label, p) for p in parts]) for label in labels for total, parts in row_sums()]
        if rows:
            sums += [(("total", f), [(i, f) for i in range(len(rows))]) for f in COUNT_FIELDS]
        inequalities = [((label, a), (label, b)) for label in labels for a, b in row_inequalities()]
        return cls(values, sums, inequalities, [(label, f) for label in labels for f in COUNT_FIELDS])


def bounds(table: Table, state: dict[tuple, str], min_cell: int) -> dict[tuple, tuple[float, float]]:
    """What a reader knowing the sums can tell of each count: ``key -> (lowest, highest)``."""
    known: dict[tuple, list[float]] = {}
    for key, value in table.values.items():
        mark = state.get(key, SHOWN)
        known[key] = [1, min_cell - 1] if mark == SMALL else [min_cell, _INF] if mark == COMPLEMENT else [value, value]
    changed = True
    while changed:
        changed = False
        for total, parts in table.sums:
            lows = [known[p][0] for p in parts]
            highs = [known[p][1] for p in parts]
            t = known[total]
            new = [max(t[0], sum(lows)), min(t[1], sum(highs))]
            if new != t:
                known[total] = t = new
                changed = True
            for i, p in enumerate(parts):
                others_low = sum(lows) - lows[i]
                others_high = sum(h for j, h in enumerate(highs) if j != i)
                low = t[0] - others_high if others_high != _INF else -_INF
                high = t[1] - others_low
                b = known[p]
                new = [max(b[0], low), min(b[1], high)]
                if new != b:
                    known[p] = new
                    lows[i], highs[i] = new
                    changed = True
        for small, large in table.inequalities:
            s, big = known[small], known[large]
            if big[1] < s[1]:
                known[small] = [s[0], big[1]]
                changed = True
            if s[0] > big[0]:
                known[large] = [s[0], big[1]]
                changed = True
    return {key: (low, high) for key, (low, high) in known.items()}


def recoverable(table: Table, state: dict[tuple, str], min_cell: int) -> list[tuple]:
    """The hidden counts a reader can work out, in table order."""
    known = bounds(table, state, min_cell)
    return [k for k in table.order if state.get(k, SHOWN) and known[k][0] == known[k][1]]


def protect(table: Table, min_cell: int) -> dict[tuple, str]:
    """Hide the small counts and, one at a time, whatever else keeps a hidden one from being worked out."""
    state = {k: SMALL for k, v in table.values.items() if 0 < v < min_cell}
    big = sum(v for k, v in table.values.items() if k[0] == "total") + 1
    totals = {total for total, _parts in table.sums}
    position = {k: n for n, k in enumerate(table.order)}
    while found := recoverable(table, state, min_cell):
        candidates = _complements(table, state, found[:1]) or _complements(table, state, found)
        if not candidates:
            raise UnprotectableError("a hidden count could be worked out even with the counts around it hidden")
        # The smallest count first; a sum's total, or anything in the totals row, only when no cell will do.
        cheapest = min(candidates, key=lambda k: (table.values[k] + (big if k in totals or k[0] == "total" else 0),
                                                  position[k]))
        state[cheapest] = COMPLEMENT
    return state


def _complements(table: Table, state: dict[tuple, str], hidden: list[tuple]) -> list[tuple]:
    """Shown non-zero counts that share a sum with one of ``hidden``."""
    wanted = set(hidden)
    out = []
    for total, parts in table.sums:
        members = [total, *parts]
        if wanted.intersection(members):
            out += [k for k in members if not state.get(k) and table.values[k] > 0 and k not in out]
    return out


# --- the published figures ------------------------------------------------------------------------------------------

def public_to(today: dt.date, to: dt.date | None = None) -> dt.date:
    """The date public figures are as of: the last day of the month before ``today``'s, or ``to`` if that is
    a month end not later than it, else the last month end before ``to``."""
    latest = today.replace(day=1) - dt.timedelta(days=1)
    if to is None or to >= latest:
        return latest
    if (to + dt.timedelta(days=1)).day == 1:
        return to
    return to.replace(day=1) - dt.timedelta(days=1)


@dataclass
class PublicSummary:
    to: dt.date
    stalled_days: int
    min_cell: int
    #: One per Member State ordered by code; a merged "other Member States" row last (``member_state`` "").
    member_states: list[MemberStateFigures]
    totals: Figures
    #: (row index or "total", field) -> SMALL or COMPLEMENT for what is hidden.
    hidden: dict[tuple, str]
    #: The Member States folded into the "other" row, by code (none when every row could be published).
    merged: list[str]

    def shown(self, row: int | str, field: tuple) -> int | str:
        """A count as published: the number, ``"<10"`` or ``"x"``."""
        mark = self.hidden.get((row, field))
        if mark == SMALL:
            return f"<{self.min_cell}"
        if mark == COMPLEMENT:
            return COMPLEMENT_MARK
        figures = self.totals if row == "total" else self.member_states[row]
        return count_of(figures, field)

    def median(self, figures: Figures, key: str) -> float | None:
        """A median only where it rests on at least ``min_cell`` claims."""
        return figures.median_days[key] if figures.median_counts[key] >= self.min_cell else None


def publish(facts: list[ClaimFacts], to: dt.date, stalled_days: int, min_cell: int) -> PublicSummary:
    """Suppress the figures of ``facts`` (all of the Fund's claims, as of ``to``); Member States with the fewest
    claims are merged into one row while no suppression can protect the table."""
    totals = summarise(facts, to, stalled_days).totals
    merged: list[str] = []
    while True:
        kept = [f for f in facts if f.member_state not in merged]
        other = [f for f in facts if f.member_state in merged]
        summary = summarise(kept, to, stalled_days)
        rows = list(summary.member_states)
        if other:
            rows.append(summarise(other, to, stalled_days).totals)
            rows[-1] = MemberStateFigures(member_state="", **vars(rows[-1]))
        try:
            hidden = protect(Table.of(rows, totals), min_cell)
        except UnprotectableError:
            if not summary.member_states:
                raise
            smallest = min(summary.member_states, key=lambda r: (r.received, r.member_state))
            merged = sorted([*merged, smallest.member_state])
            continue
        return PublicSummary(to, stalled_days, min_cell, rows, totals, hidden, merged)


def public_summary(today: dt.date, to: dt.date | None = None) -> PublicSummary:
    """The Fund's public claims figures (every country), as of :func:`public_to`."""
    as_of = public_to(today, to)
    return publish(claim_facts(as_of), as_of, stalled_days_setting(), int(current_app.config["REPORT_MIN_CELL"]))


def public_json(summary: PublicSummary) -> dict:
    """The JSON of DESIGN section 7 with ``"public": true``: counts are numbers, ``"<10"`` or ``"x"``; medians
    resting on fewer than ``min_cell`` claims are null. A merged row has ``"member_state": null`` and lists
    its Member States under ``"merged"``."""
    def figures(row: int | str, figures_: Figures) -> dict:
        out: dict = {"received": None, "open": None, "stalled": None,
                     "open_by_step": {}, "stalled_by_step": {}, "outcomes": {}}
        for field in COUNT_FIELDS:
            group, key = field
            if group is None:
                out[key] = summary.shown(row, field)
            else:
                out[group][key] = summary.shown(row, field)
        out["median_days"] = {key: summary.median(figures_, key) for key in figures_.median_days}
        return out

    rows = []
    for i, row in enumerate(summary.member_states):
        entry = {"member_state": row.member_state or None, **figures(i, row)}
        if not row.member_state:
            entry["merged"] = list(summary.merged)
        rows.append(entry)
    return {"to": summary.to.isoformat(), "stalled_days": summary.stalled_days, "public": True,
            "member_states": rows, "totals": figures("total", summary.totals)}
