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
   children at risk in the scope times that number, in vector steps of numpy (measured in
   ``bench/plan.py``: see ``bench/README.md``).
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
import hashlib
from bisect import bisect_right
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from tracker.funding.engine import Figures, FundingPicture, ProjectFigures, ScopeError, funding_picture
from tracker.models.base import today

ZERO = Decimal("0.00")
_INF = np.int64(2**62)  # "cannot be done": far above any sum of cents the Fund could hold
#: How the money left after the first two priorities is shared: ``need`` (in proportion to the remaining gap)
#: or ``order`` (project by project, in the manager's order).
SHARES = ("need", "order")
#: Why a project gets money, in the order of priority.
REASONS = ("children", "overcommitment", "gap")


def _cents(value: Decimal) -> int:
    return int(value.scaleb(2).to_integral_value(rounding=ROUND_HALF_EVEN))


def _usd(cents: int) -> Decimal:
    return Decimal(int(cents)).scaleb(-2)


# --- what the plan shows ---------------------------------------------------------------------------------------------

class PlanError(ScopeError):
    """An amount or a choice a plan cannot be made of; the message says why."""


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
    #: False for a closed project: it is shown, but nothing may be allocated to it.
    open: bool = True


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


# --- the data a plan rests on ----------------------------------------------------------------------------------------

@dataclass
class _Project:
    figures: ProjectFigures
    #: The walk's running total, in cents, at each child at risk, in walk order.
    running: list[int]
    #: The fees of every child's next term (the walk's last running total), in cents.
    next_terms: int
    open: bool

    @property
    def balance(self) -> int:
        return _cents(self.figures.balance)

    def cost(self, k: int) -> int:
        """Cents that cover the first ``k`` children at risk (0 for none)."""
        if k <= 0:
            return 0
        return max(self.running[k - 1], 1) - self.balance

    def covered_by(self, cents: int) -> int:
        """How many children at risk ``cents`` more would cover."""
        balance = self.balance + cents
        if balance <= 0:
            return 0
        return bisect_right(self.running, balance)  # the running totals never decrease


@dataclass
class Inputs:
    """What a plan is computed from: the funding picture, each project's walk, the pots."""

    picture: FundingPicture
    projects: list[_Project]
    #: Earmarked pots in cents: ("project", code) or ("country", code) -> cents (with pledges only).
    earmarks: dict[tuple[str, str], int]
    #: Outstanding pledges not earmarked, in cents (with pledges only).
    free_pledges: int
    with_pledges: bool

    @property
    def unallocated(self) -> Decimal:
        return self.picture.fund.unallocated


def gather(*, scope: str = "fund", date_to: dt.date | None = None, countries=None,
           with_pledges: bool = False) -> Inputs:
    """Read what a plan needs: one funding picture of the scope as of ``date_to`` (default today)."""
    date_to = date_to or today()
    picture = funding_picture(scope=scope, date_from=dt.date(date_to.year, 1, 1), date_to=date_to,
                              countries=countries, with_children=True)
    return inputs_from(picture, with_pledges=with_pledges)


def inputs_from(picture: FundingPicture, *, with_pledges: bool = False) -> Inputs:
    """The plan's data from a funding picture: its projects, its children at risk (in walk order, as the engine
    lists them) and, with pledges, its outstanding pledges as pots."""
    fees: dict[str, list[int]] = {}
    for child in picture.children_at_risk:
        fees.setdefault(child.project_code, []).append(_cents(child.fee_usd))
    projects = []
    for p in picture.projects:
        own = fees.get(p.code, [])
        next_terms = _cents(p.at_risk_cost + p.balance) if own else 0
        # The running total at the k-th child at risk: every child's next term, less those after it.
        running, after = [0] * len(own), 0
        for i in range(len(own) - 1, -1, -1):
            running[i] = next_terms - after
            after += own[i]
        projects.append(_Project(figures=p, running=running, next_terms=next_terms, open=p.status != "closed"))
    earmarks: dict[tuple[str, str], int] = {}
    free_pledges = 0
    if with_pledges:
        codes = {p.id: p.code for p in picture.projects}
        scope_countries = {p.country for p in picture.projects}
        for pledge in picture.outstanding:
            cents = _cents(pledge.outstanding)
            if pledge.project_id is not None:
                if pledge.project_id in codes:
                    key = ("project", codes[pledge.project_id])
                    earmarks[key] = earmarks.get(key, 0) + cents
            elif pledge.country is not None:
                if pledge.country in scope_countries:
                    key = ("country", pledge.country)
                    earmarks[key] = earmarks.get(key, 0) + cents
            else:
                free_pledges += cents
    return Inputs(picture=picture, projects=projects, earmarks=earmarks, free_pledges=free_pledges,
                  with_pledges=with_pledges)


def fingerprint(inputs: Inputs) -> str:
    """SHA-256 of everything a plan rests on: each project's need, allocations, balance, burn, status and walk,
    the pots and the Fund's unallocated money. Any payment approved, paid or voided, any allocation, budget
    line, enrolment or pledge that moves a figure of the plan changes it."""
    h = hashlib.sha256()
    p = inputs.picture
    h.update(f"{p.scope}|{p.date_to}|{inputs.with_pledges}|{p.fund.unallocated}|{inputs.free_pledges}".encode())
    for key in sorted(inputs.earmarks):
        h.update(f"|{key}={inputs.earmarks[key]}".encode())
    for project in inputs.projects:
        f = project.figures
        h.update(f"|{f.code}:{f.status}:{f.need}:{f.allocated}:{f.balance}:{f.burn}:{project.next_terms}:".encode())
        h.update(",".join(map(str, project.running)).encode())
    return h.hexdigest()


# --- the first priority: fewest children at risk ---------------------------------------------------------------------

def _merge(best: np.ndarray, costs: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Min-plus convolution of ``best`` (least cents for each number of children) with one more chain of
    ``costs`` (cents for 0, 1, 2... of its children), cut where even the cheapest way costs more than ``limit``.
    Returns the merged table and, for each number of children, how many the new chain takes (the least on a tie).
    """
    size = len(best) + len(costs) - 1
    merged = np.full(size, _INF, dtype=np.int64)
    taken = np.zeros(size, dtype=np.int32)
    for k, cost in enumerate(costs.tolist()):
        candidate = best + cost
        window = merged[k:k + len(best)]
        better = candidate < window
        window[better] = candidate[better]
        taken[k:k + len(best)][better] = k
    fits = int(np.searchsorted(merged, limit, side="right"))  # merged never decreases: see the module docstring
    return merged[:max(fits, 1)], taken[:max(fits, 1)]


def _children_first(projects: list[_Project], pots: dict[tuple[str, str], int], free: int) -> dict[str, int]:
    """Cents per project code that cover the most children at risk, the free money ``free`` and the pots
    allowing; among the ways that cover as many, the one that uses the least free money."""
    by_country: dict[str, list[_Project]] = {}
    for project in projects:
        if project.open and project.running:
            by_country.setdefault(project.figures.country, []).append(project)
    countries = sorted(by_country)
    # Within each country: the least money beyond the country's pot for each number of its children covered.
    country_tables, country_steps = [], []
    for country in countries:
        own_pot = pots.get(("country", country), 0)
        limit = free + own_pot
        best = np.zeros(1, dtype=np.int64)
        steps = []
        for project in by_country[country]:
            pot = pots.get(("project", project.figures.code), 0)
            chain = [max(project.cost(k) - pot, 0) for k in range(len(project.running) + 1)]
            cut = next((k for k, c in enumerate(chain) if c > limit), len(chain))
            best, taken = _merge(best, np.asarray(chain[:cut], dtype=np.int64), limit)
            steps.append((project, taken))
        country_tables.append(np.maximum(best - own_pot, 0))
        country_steps.append(steps)
    # Across the countries: the least free money for each number of children covered.
    best = np.zeros(1, dtype=np.int64)
    fund_steps = []
    for table in country_tables:
        best, taken = _merge(best, table, free)
        fund_steps.append(taken)
    covered = int(np.searchsorted(best, free, side="right")) - 1
    # Read the choices back, last merged first.
    cents: dict[str, int] = {}
    for country_index in range(len(countries) - 1, -1, -1):
        in_country = int(fund_steps[country_index][covered])
        covered -= in_country
        j = in_country
        for project, taken in reversed(country_steps[country_index]):
            k = int(taken[j])
            j -= k
            if k:
                cents[project.figures.code] = project.cost(k)
    return cents


# --- drawing on the pots ---------------------------------------------------------------------------------------------

class _Purse:
    """The pots as they are spent: a project draws on its own, then its country's, then the free money."""

    def __init__(self, earmarks: dict[tuple[str, str], int], free: int):
        self.left = dict(earmarks)
        self.free = free

    def can_give(self, project: _Project) -> int:
        f = project.figures
        return self.left.get(("project", f.code), 0) + self.left.get(("country", f.country), 0) + self.free

    def take(self, project: _Project, cents: int) -> int:
        """Take up to ``cents`` for ``project``; returns what it could take."""
        f = project.figures
        wanted = cents
        for key in (("project", f.code), ("country", f.country)):
            have = self.left.get(key, 0)
            used = min(have, wanted)
            if used:
                self.left[key] = have - used
                wanted -= used
        used = min(self.free, wanted)
        self.free -= used
        wanted -= used
        return cents - wanted


def _share(total: int, weights: dict[str, int]) -> dict[str, int]:
    """``total`` cents in proportion to ``weights`` (each share at most its weight), by largest remainder; ties
    to the first code."""
    whole = sum(weights.values())
    if whole <= 0 or total <= 0:
        return {}
    if total >= whole:
        return dict(weights)
    shares = {code: w * total // whole for code, w in weights.items()}
    rest = total - sum(shares.values())
    by_remainder = sorted(weights, key=lambda code: (-(weights[code] * total % whole), code))
    for code in by_remainder[:rest]:
        shares[code] += 1
    return shares


# --- proposing, and evaluating any amounts ---------------------------------------------------------------------------

def _gap_left(project: _Project, given: int) -> int:
    f = project.figures
    return max(_cents(f.need) - _cents(f.allocated) - given, 0)


def solve(inputs: Inputs, *, amount: Decimal, share: str = "need",
          order: tuple[str, ...] | list[str] = ()) -> dict[str, int]:
    """The planner's amounts, in cents per project code, for ``amount`` of free money (see the module)."""
    if share not in SHARES:
        raise PlanError(f"unknown share {share!r}: use {' or '.join(SHARES)}")
    free = _cents(amount) + inputs.free_pledges
    given = _children_first(inputs.projects, inputs.earmarks, free)
    purse = _Purse(inputs.earmarks, free)
    by_code = {p.figures.code: p for p in inputs.projects}
    for code, cents in given.items():
        purse.take(by_code[code], cents)
    open_projects = [p for p in inputs.projects if p.open]
    # 2. Over-commitments, the smallest first.
    still = sorted((p for p in open_projects if p.balance + given.get(p.figures.code, 0) < 0),
                   key=lambda p: (-(p.balance + given.get(p.figures.code, 0)), p.figures.code))
    for project in still:
        code = project.figures.code
        took = purse.take(project, -(project.balance + given.get(code, 0)))
        if took:
            given[code] = given.get(code, 0) + took
    # 3. The remaining gap.
    if share == "order":
        rank = {code: i for i, code in enumerate(order)}
        for project in sorted(open_projects, key=lambda p: (rank.get(p.figures.code, len(rank)), p.figures.code)):
            code = project.figures.code
            took = purse.take(project, _gap_left(project, given.get(code, 0)))
            if took:
                given[code] = given.get(code, 0) + took
        return given
    gaps = {p.figures.code: _gap_left(p, given.get(p.figures.code, 0)) for p in open_projects}
    for kind in ("project", "country"):
        for (pot_kind, key), cents in sorted(purse.left.items()):
            if pot_kind != kind or not cents:
                continue
            eligible = {p.figures.code: gaps[p.figures.code] for p in open_projects
                        if (p.figures.code if kind == "project" else p.figures.country) == key}
            for code, part in _share(cents, eligible).items():
                took = purse.take(by_code[code], part)
                given[code] = given.get(code, 0) + took
                gaps[code] -= took
    for code, part in _share(purse.free, {c: g for c, g in gaps.items() if g > 0}).items():
        took = purse.take(by_code[code], part)
        given[code] = given.get(code, 0) + took
        gaps[code] -= took
    return {code: cents for code, cents in given.items() if cents}


def _after(project: _Project, cents: int, in_period: bool) -> ProjectFigures:
    """The project's figures once ``cents`` are allocated on ``to`` (exactly as the engine would compute them)."""
    f = project.figures
    if not cents:
        return f
    balance = f.balance + _usd(cents)
    allocated = f.allocated + _usd(cents) if in_period else f.allocated
    at_risk = len(project.running) - project.covered_by(cents)
    return replace(f, allocated=allocated, balance=balance, gap=max(f.need - allocated, ZERO),
                   overcommitted=max(-balance, ZERO), children_at_risk=at_risk,
                   at_risk_cost=_usd(project.next_terms) - balance if at_risk else ZERO)


def _pots(inputs: Inputs, free: int, cents: dict[str, int]) -> list[Pot]:
    purse = _Purse(inputs.earmarks, free)
    by_code = {p.figures.code: p for p in inputs.projects}
    for code, amount in sorted(cents.items()):
        purse.take(by_code[code], amount)
    pots = [Pot("free", None, _usd(free), _usd(free - purse.free))]
    for (kind, key), amount in sorted(inputs.earmarks.items()):
        pots.append(Pot(kind, key, _usd(amount), _usd(amount - purse.left.get((kind, key), 0))))
    return pots


def check(inputs: Inputs, *, amount: Decimal, cents: dict[str, int]) -> list[tuple[str | None, str]]:
    """What is wrong with amounts (cents per project code) for a plan of ``amount``: a project outside the
    scope or closed, or more than the money, or than an earmark, allows. Messages are for the manager."""
    from flask_babel import gettext as _

    from tracker.formatting import format_money as money_text

    problems: list[tuple[str | None, str]] = []
    by_code = {p.figures.code: p for p in inputs.projects}
    for code, value in sorted(cents.items()):
        if code not in by_code:
            problems.append((code, _("%(code)s is not a project of this plan's scope", code=code)))
        elif value < 0:
            problems.append((code, _("an amount cannot be negative")))
        elif value and not by_code[code].open:
            problems.append((code, _("%(code)s is closed: nothing can be allocated to it", code=code)))
    if problems:
        return problems
    free = _cents(amount) + inputs.free_pledges
    purse = _Purse(inputs.earmarks, free)
    short = 0
    for code, value in sorted(cents.items()):
        short += value - purse.take(by_code[code], value)
    if short:
        total = sum(cents.values())
        available = free + sum(inputs.earmarks.values())
        if total > available:
            problems.append((None, _("The amounts add up to %(total)s, %(over)s more than the %(available)s "
                                     "this plan may spend.", total=money_text(_usd(total), "USD"),
                                     over=money_text(_usd(total - available), "USD"),
                                     available=money_text(_usd(available), "USD"))))
        else:
            problems.append((None, _("The amounts need %(short)s more than the money they may take: pledges "
                                     "earmarked for a country or a project go only there.",
                                     short=money_text(_usd(short), "USD"))))
    return problems


def build(inputs: Inputs, *, amount: Decimal, cents: dict[str, int], proposed: dict[str, int], share: str = "need",
          order: tuple[str, ...] = (), edited: bool = False,
          problems: list[tuple[str | None, str]] | None = None) -> Plan:
    """The plan of ``cents`` per project code: each project's figures before and after, the totals, the pots."""
    picture = inputs.picture
    in_period = picture.date_from <= picture.date_to
    before, after = Figures(), Figures()
    lines = []
    for project in inputs.projects:
        f = project.figures
        given = cents.get(f.code, 0)
        moved = _after(project, given, in_period)
        before.add(f)
        after.add(moved)
        reasons = _reasons(project, given) if given else ()
        lines.append(PlanLine(project_id=f.id, code=f.code, title=f.title, country=f.country, status=f.status,
                              amount_usd=_usd(given), proposed_usd=_usd(proposed.get(f.code, 0)),
                              children_covered=f.children_at_risk - moved.children_at_risk, reasons=reasons,
                              before=Standing.of(f), after=Standing.of(moved), open=project.open))
    free = _cents(amount) + inputs.free_pledges
    pledges = _usd(inputs.free_pledges + sum(inputs.earmarks.values()))
    total = _usd(sum(cents.values()))
    return Plan(scope=picture.scope, date_to=picture.date_to, with_pledges=inputs.with_pledges, share=share,
                amount=amount, pledges=pledges, available=amount + pledges, total=total,
                left=max(amount + pledges - total, ZERO), unallocated=inputs.unallocated,
                pots=_pots(inputs, free, cents), before=Standing.of(before), after=Standing.of(after), lines=lines,
                fingerprint=fingerprint(inputs), edited=edited, problems=list(problems or []), order=tuple(order))


def _reasons(project: _Project, cents: int) -> tuple[str, ...]:
    """Which priorities an amount serves: children covered, an over-commitment cleared, the gap reduced."""
    covered = project.covered_by(cents)
    reasons = []
    if covered:
        reasons.append("children")
    if project.balance < 0:
        reasons.append("overcommitment")
    beyond = cents - max(project.cost(covered), -project.balance, 0)  # what neither of those needed
    if beyond > 0 and _gap_left(project, 0) > 0:
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
    cents = solve(inputs, amount=amount, share=share, order=tuple(order))
    return build(inputs, amount=amount, cents=cents, proposed=cents, share=share, order=tuple(order))


def revise(inputs: Inputs, *, amount: Decimal | None = None, amounts: dict[str, Decimal], share: str = "need",
           order: tuple[str, ...] | list[str] = ()) -> Plan:
    """The plan with the manager's ``amounts`` (USD per project code; projects left out get nothing), beside
    the planner's proposal for the same money, and what is wrong with them (:attr:`Plan.problems`)."""
    amount = default_amount(inputs) if amount is None else amount
    _refuse_amount(amount)
    proposed = solve(inputs, amount=amount, share=share, order=tuple(order))
    cents = {code: _cents(value) for code, value in amounts.items() if value}
    problems = check(inputs, amount=amount, cents=cents)
    known = {p.figures.code for p in inputs.projects}
    cents = {code: value for code, value in cents.items() if code in known and value > 0}
    return build(inputs, amount=amount, cents=cents, proposed=proposed, share=share, order=tuple(order),
                 edited=cents != proposed, problems=problems)


def _refuse_amount(amount: Decimal) -> None:
    if amount < 0:
        raise PlanError("the amount cannot be negative")
    if amount != amount.quantize(Decimal("0.01")):
        raise PlanError("the amount has more than two decimals")
