"""The allocation planner: where money not yet allocated keeps the most children in school (issue 21).

A pure function of the engine's figures (:func:`tracker.funding.engine.funding_picture`): the planner reads
one funding picture, children at risk included, and proposes allocations to the scope's projects. It changes
nothing; :mod:`tracker.funding.plans` turns a plan into allocations.

**The money.** The manager gives an amount in USD: money in hand, free for any project of the scope (by
default the Fund's unallocated money, which DESIGN section 3 treats as free). With ``with_pledges`` the
pledges still owed are added as they are earmarked: a pledge earmarked for a project is a pot only that
project may draw on, one earmarked for a country a pot for that country's projects, the others join the
free money. A project draws on its own pot first, then its country's, then the free money, so earmarked
money is always spent before money that could go anywhere.

**The order of priority**, each taken as far as the money goes:

1. *Fewest children at risk* (DESIGN section 3's walk, unchanged). A project's children at risk are
   covered in walk order, so covering its first ``k`` costs ``max(running_k, 1 cent) − balance``, where
   ``running_k`` is the walk's running total at the ``k``-th child at risk (an allocation raises the
   balance; a balance at or below 0 covers nobody). Choosing ``k`` per project to cover the most children
   within the money is a knapsack in which each project offers a chain of choices, and the costs of a
   chain are not convex (fees are in walk order, not in order of size), so no greedy rule is exact.
   It is solved exactly by a dynamic programme over projects and *children covered* (not over money):
   ``best[j]`` is the least free money, in integer cents, that covers ``j`` children; each project is
   merged in by a min-plus convolution of ``best`` with its chain of costs, less its own pot; a country's
   projects are merged first and its pot taken off, then the countries are merged. The answer is the
   largest ``j`` whose ``best[j]`` fits in the free money; the choices are read back project by project.
   ``best`` is cut at the number of children the money could cover at all, so the work is the number of
   children at risk in the scope times that number, in vector steps of numpy: at demo scale 85 (13,832
   children at risk in 12 projects) 60.8 million cells in 0.19 s, beside 1.0 s for the engine's figures; it
   grows as the square of the children at risk (``bench/plan.py``, ``bench/README.md``).
2. *Over-commitments cleared*, the smallest first, so that as many projects as possible stop spending
   money they were not given.
3. *The remaining gap covered*, in proportion to what each project still lacks (the default, cents shared
   by largest remainder), or project by project in an order the manager sets.

Money that no project of the scope can take (its gaps all covered) is left unallocated.

Every proposal carries each project's figures before and after (children at risk, balance, runway, gap,
over-commitment, allocated) and the totals, worked out exactly as the engine would once the allocations,
dated ``to``, are made; and a fingerprint of the data it rests on, so that a plan computed before a payment
was approved is refused rather than allocated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal

from tracker.funding.engine import Figures, ProjectFigures
from tracker.funding.plan_solver import (
    SHARES,
    ZERO,
    Inputs,
    PlanError,
    ProjectWalk,
    Purse,
    fingerprint,
    from_cents,
    gap_left,
    gather,
    inputs_from,
    solve,
    to_cents,
)

__all__ = ["REASONS", "SHARES", "Inputs", "Plan", "PlanError", "PlanLine", "Pot", "Standing", "build", "check",
           "default_amount", "fingerprint", "gather", "inputs_from", "propose", "propose_from", "revise", "solve"]

#: Why a project gets money, in the order of priority.
REASONS = ("children", "overcommitment", "gap")


@dataclass(frozen=True)
class Standing:
    """The figures an allocation moves, for a project or the scope's projects summed (as the engine sums them)."""

    children_at_risk: int
    balance: Decimal
    runway_months: Decimal | None
    gap: Decimal
    overcommitted: Decimal
    allocated: Decimal

    @classmethod
    def of(cls, f: Figures) -> Standing:
        return cls(children_at_risk=f.children_at_risk, balance=f.balance, runway_months=f.runway_months,
                   gap=f.gap, overcommitted=f.overcommitted, allocated=f.allocated)


@dataclass(frozen=True)
class Pot:
    """Money the plan may spend: ``free`` (any project of the scope), or earmarked for a country or a project."""

    kind: str  # "free", "country" or "project"
    key: str | None  # the country code or the project code
    amount: Decimal
    used: Decimal


@dataclass(frozen=True)
class PlanLine:
    project_id: int
    code: str
    title: str
    country: str
    status: str
    #: What the plan gives the project (the manager's amount once edited), and what the planner proposed.
    amount_usd: Decimal
    proposed_usd: Decimal
    #: Children at risk before less after: the children this amount keeps in school next term.
    children_covered: int
    #: The priorities that put money here (:data:`REASONS`), empty when it gets nothing.
    reasons: tuple[str, ...]
    before: Standing
    after: Standing

    @property
    def open(self) -> bool:
        """False for a closed project: it is shown, but nothing may be allocated to it."""
        return self.status != "closed"


@dataclass(frozen=True)
class Plan:
    scope: str
    date_to: dt.date
    with_pledges: bool
    share: str
    #: The money in hand the manager gave (by default the Fund's unallocated money), the outstanding pledges
    #: counted with it, and their sum: what the plan may spend.
    amount: Decimal
    pledges: Decimal
    available: Decimal
    #: What the plan gives, in all, and what is left of ``available``.
    total: Decimal
    left: Decimal
    #: The Fund's money received and not yet allocated, as of ``to``: what allocations may really take.
    unallocated: Decimal
    pots: list[Pot]
    before: Standing
    after: Standing
    lines: list[PlanLine]
    #: SHA-256 of the data the plan rests on; see :func:`fingerprint`.
    fingerprint: str
    #: True when the amounts are the manager's, not the planner's.
    edited: bool = False
    #: What is wrong with edited amounts (each ``(project code or None, message)``); empty for a proposal.
    problems: list[tuple[str | None, str]] = field(default_factory=list)
    #: The manager's order of the projects for ``share="order"`` (codes, first served first).
    order: tuple[str, ...] = ()

    @property
    def allocations(self) -> list[PlanLine]:
        """The lines that give something."""
        return [line for line in self.lines if line.amount_usd > 0]

    @property
    def children_covered(self) -> int:
        return self.before.children_at_risk - self.after.children_at_risk


# --- proposing, and evaluating any amounts ---------------------------------------------------------------------------

def _after(project: ProjectWalk, cents: int) -> ProjectFigures:
    """The project's figures once ``cents`` are allocated on ``to`` (exactly as the engine would compute them: the
    allocation falls in the period, which runs from 1 January of the year of ``to``)."""
    f = project.figures
    if not cents:
        return f
    balance = f.balance + from_cents(cents)
    allocated = f.allocated + from_cents(cents)
    at_risk = len(project.running) - project.covered_by(cents)
    return replace(f, allocated=allocated, balance=balance, gap=max(f.need - allocated, ZERO),
                   overcommitted=max(-balance, ZERO), children_at_risk=at_risk,
                   at_risk_cost=from_cents(project.next_terms) - balance if at_risk else ZERO)


def _pots(inputs: Inputs, free: int, cents: dict[str, int]) -> list[Pot]:
    purse = Purse(inputs.earmarks, free)
    for code, amount in sorted(cents.items()):
        purse.take(inputs.by_code[code], amount)
    pots = [Pot("free", None, from_cents(free), from_cents(free - purse.free))]
    for (kind, key), amount in sorted(inputs.earmarks.items()):
        pots.append(Pot(kind, key, from_cents(amount), from_cents(amount - purse.left.get((kind, key), 0))))
    return pots


def check(inputs: Inputs, *, amount: Decimal, cents: dict[str, int]) -> list[tuple[str | None, str]]:
    """What is wrong with amounts (cents per project code) for a plan of ``amount``: a project outside the
    scope or closed, or more than the money, or than an earmark, allows. Messages are for the manager."""
    from flask_babel import gettext as _

    from tracker.formatting import format_money as money_text

    problems: list[tuple[str | None, str]] = []
    by_code = inputs.by_code
    for code, value in sorted(cents.items()):
        if code not in by_code:
            problems.append((code, _("%(code)s is not a project of this plan's scope", code=code)))
        elif value < 0:
            problems.append((code, _("an amount cannot be negative")))
        elif value and not by_code[code].open:
            problems.append((code, _("%(code)s is closed: nothing can be allocated to it", code=code)))
    if problems:
        return problems
    free = to_cents(amount) + inputs.free_pledges
    purse = Purse(inputs.earmarks, free)
    short = 0
    for code, value in sorted(cents.items()):
        short += value - purse.take(by_code[code], value)
    if short:
        total = sum(cents.values())
        available = free + sum(inputs.earmarks.values())
        if total > available:
            problems.append((None, _("The amounts add up to %(total)s, %(over)s more than the %(available)s "
                                     "this plan may spend.", total=money_text(from_cents(total), "USD"),
                                     over=money_text(from_cents(total - available), "USD"),
                                     available=money_text(from_cents(available), "USD"))))
        else:
            problems.append((None, _("The amounts need %(short)s more than the money they may take: pledges "
                                     "earmarked for a country or a project go only there.",
                                     short=money_text(from_cents(short), "USD"))))
    return problems


def build(inputs: Inputs, *, amount: Decimal, cents: dict[str, int], proposed: dict[str, int], share: str = "need",
          order: tuple[str, ...] = (), edited: bool = False,
          problems: list[tuple[str | None, str]] | None = None) -> Plan:
    """The plan of ``cents`` per project code: each project's figures before and after, the totals, the pots."""
    picture = inputs.picture
    before, after = Figures(), Figures()
    lines = []
    for project in inputs.projects:
        f = project.figures
        given = cents.get(f.code, 0)
        moved = _after(project, given)
        before.add(f)
        after.add(moved)
        reasons = _reasons(project, given) if given else ()
        lines.append(PlanLine(project_id=f.id, code=f.code, title=f.title, country=f.country, status=f.status,
                              amount_usd=from_cents(given), proposed_usd=from_cents(proposed.get(f.code, 0)),
                              children_covered=f.children_at_risk - moved.children_at_risk, reasons=reasons,
                              before=Standing.of(f), after=Standing.of(moved)))
    free = to_cents(amount) + inputs.free_pledges
    pledges = from_cents(inputs.free_pledges + sum(inputs.earmarks.values()))
    total = from_cents(sum(cents.values()))
    return Plan(scope=picture.scope, date_to=picture.date_to, with_pledges=inputs.with_pledges, share=share,
                amount=amount, pledges=pledges, available=amount + pledges, total=total,
                left=max(amount + pledges - total, ZERO), unallocated=inputs.unallocated,
                pots=_pots(inputs, free, cents), before=Standing.of(before), after=Standing.of(after), lines=lines,
                fingerprint=fingerprint(inputs), edited=edited, problems=list(problems or []), order=tuple(order))


def _reasons(project: ProjectWalk, cents: int) -> tuple[str, ...]:
    """Which priorities an amount serves: children covered, an over-commitment cleared, the gap reduced."""
    covered = project.covered_by(cents)
    reasons = []
    if covered:
        reasons.append("children")
    if project.balance < 0:
        reasons.append("overcommitment")
    beyond = cents - max(project.cost(covered), -project.balance, 0)  # what neither of those needed
    if beyond > 0 and gap_left(project, 0) > 0:
        reasons.append("gap")
    return tuple(reasons)


def default_amount(inputs: Inputs) -> Decimal:
    """The Fund's money received and not yet allocated (0 when allocations exceed it)."""
    return max(inputs.unallocated, ZERO)


def propose(*, amount: Decimal | None = None, with_pledges: bool = False, scope: str = "fund",
            date_to: dt.date | None = None, countries=None, share: str = "need",
            order: tuple[str, ...] | list[str] = ()) -> Plan:
    """The planner's proposal (see the module docstring). ``amount`` defaults to the Fund's unallocated money."""
    inputs = gather(scope=scope, date_to=date_to, countries=countries, with_pledges=with_pledges)
    return propose_from(inputs, amount=amount, share=share, order=order)


def propose_from(inputs: Inputs, *, amount: Decimal | None = None, share: str = "need",
                 order: tuple[str, ...] | list[str] = ()) -> Plan:
    amount = default_amount(inputs) if amount is None else amount
    _refuse_amount(amount)
    _refuse_order(inputs, order)
    cents = solve(inputs, amount=amount, share=share, order=tuple(order))
    return build(inputs, amount=amount, cents=cents, proposed=cents, share=share, order=tuple(order))


def revise(inputs: Inputs, *, amount: Decimal | None = None, amounts: dict[str, Decimal], share: str = "need",
           order: tuple[str, ...] | list[str] = ()) -> Plan:
    """The plan with the manager's ``amounts`` (USD per project code; projects left out get nothing), beside
    the planner's proposal for the same money, and what is wrong with them (:attr:`Plan.problems`)."""
    amount = default_amount(inputs) if amount is None else amount
    _refuse_amount(amount)
    proposed = solve(inputs, amount=amount, share=share, order=tuple(order))
    cents = {code: to_cents(value) for code, value in amounts.items() if value}
    problems = check(inputs, amount=amount, cents=cents)
    cents = {code: value for code, value in cents.items() if code in inputs.by_code and value > 0}
    return build(inputs, amount=amount, cents=cents, proposed=proposed, share=share, order=tuple(order),
                 edited=cents != proposed, problems=problems)


def _refuse_order(inputs: Inputs, order) -> None:
    unknown = [code for code in order if code not in inputs.by_code]
    if unknown:
        raise PlanError(f"{', '.join(unknown)}: not a project of the scope {inputs.picture.scope}")
    if len(set(order)) != len(order):
        raise PlanError("a project is named twice in the order")


def _refuse_amount(amount: Decimal) -> None:
    if amount < 0:
        raise PlanError("the amount cannot be negative")
    if amount != amount.quantize(Decimal("0.01")):
        raise PlanError("the amount has more than two decimals")
