"""The funding waterfall: how a scope's gap comes down to what new pledges must still find (DESIGN section 3).

A pure function of the engine's picture, read by the review page and the donor
PDF, so both walk the same steps with the same figures:

- the whole Fund: gap − money received and not allocated − pledges still owed
  = still to find;
- a country, a project, or the countries a manager sees: gap − pledges
  earmarked for it and still owed = still to find; the Fund's free resources
  are shown beside it, never subtracted (every scope could claim them).

Each step carries the running amount before and after it, so that a chart can
float its bar between the two; the last step is the engine's
``uncovered_gap``, never recomputed here.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from tracker.funding.engine import FundingPicture

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Step:
    label: str
    #: What the step shows: the starting amount, what it takes away, or the result.
    amount: Decimal
    #: ``start`` (a total), ``less`` (taken away) or ``result``.
    kind: str
    #: The running amount before and after the step (for ``start`` and ``result``: 0 and the amount).
    before: Decimal
    after: Decimal
    hint: str = ""


@dataclass(frozen=True)
class Waterfall:
    steps: list[Step]
    #: The largest amount any bar reaches, for a common scale.
    peak: Decimal
    #: Money that could go to any scope (shown beside a country's or a project's waterfall), or ``None``.
    free_resources: Decimal | None

    def bar(self, step: Step, width: int = 1000) -> tuple[float, float]:
        """(x, width) of a step's bar on a line ``width`` long, negative running amounts clipped at 0."""
        if self.peak <= 0:
            return 0.0, 0.0
        low, high = sorted((max(step.before, ZERO), max(step.after, ZERO)))
        x = float(low / self.peak) * width
        return round(x, 1), round(float((high - low) / self.peak) * width, 1)


def waterfall(picture: FundingPicture, *, from_need: bool = False) -> Waterfall:
    """The steps from the scope's gap (or, with ``from_need``, from its need) to what is still to find."""
    t, f = picture.totals, picture.fund
    steps: list[Step] = []

    def start(label, amount, hint=""):
        steps.append(Step(str(label), amount, "start", ZERO, amount, str(hint)))

    def less(label, amount, hint=""):
        running = steps[-1].after
        steps.append(Step(str(label), amount, "less", running, running - amount, str(hint)))

    if from_need:
        start(_l("Need of the period"), t.need)
        # need − gap is what allocations cover of the need, project by project (an allocation beyond a
        # project's own need does not fill another project's gap).
        less(_l("Allocated to the projects"), t.need - t.gap,
             _l("Counted up to each project's need."))
    start(_l("Gap"), t.gap, _l("Need not met by allocations, project by project."))
    if picture.whole_fund:
        less(_l("Received, not yet allocated"), f.unallocated, _l("Money in hand that can still be allocated."))
        less(_l("Pledges still owed"), f.outstanding_pledges,
             _l("What donors promised and have not yet paid, in their own currency."))
    else:
        if picture.scope.startswith("project:"):
            hint = _l("Promised for this project and not yet paid.")
        elif picture.scope.startswith("country:"):
            hint = _l("Promised for this country or its projects and not yet paid.")
        else:
            hint = _l("Promised for your countries or their projects and not yet paid.")
        less(_l("Pledges earmarked for it, still owed"), t.earmarked_outstanding, hint)
    steps.append(Step(str(_l("Still to find")), t.uncovered_gap, "result", ZERO, t.uncovered_gap,
                      str(_l("What new pledges must still bring; never below zero."))))
    peak = max([max(s.before, s.after) for s in steps] + [ZERO])
    return Waterfall(steps, peak, None if picture.whole_fund else f.free_resources)
