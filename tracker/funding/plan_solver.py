"""The planner's arithmetic (see :mod:`tracker.funding.planner`): the data a plan rests on, and the amounts.

:func:`gather` reads one funding picture and keeps, per project, the walk's running total at each child at risk;
:func:`solve` gives the money by the three priorities: the exact dynamic programme for the fewest children at
risk (:func:`children_first`, over projects and children covered, in integer cents and numpy's vector steps),
then over-commitments, then the gap. :class:`Purse` draws on the pots: a project's own earmarked money first, then
its country's, then the free money.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from bisect import bisect_right
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cached_property

import numpy as np

from tracker.funding.engine import FundingPicture, ProjectFigures, ScopeError, funding_picture
from tracker.models.base import today

ZERO = Decimal("0.00")
_INF = np.int64(2**62)  # "cannot be done": far above any sum of cents the Fund could hold
#: How the money left after the first two priorities is shared: ``need`` (in proportion to the remaining gap)
#: or ``order`` (project by project, in the manager's order).
SHARES = ("need", "order")


def to_cents(value: Decimal) -> int:
    return int(value.scaleb(2).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_cents(cents: int) -> Decimal:
    return Decimal(int(cents)).scaleb(-2)


class PlanError(ScopeError):
    """An amount or a choice a plan cannot be made of; the message says why."""


# --- the data a plan rests on ----------------------------------------------------------------------------------------

@dataclass
class ProjectWalk:
    figures: ProjectFigures
    #: The walk's running total, in cents, at each child at risk, in walk order.
    running: list[int]
    #: The fees of every child's next term (the walk's last running total), in cents.
    next_terms: int

    @property
    def open(self) -> bool:
        """False for a closed project: nothing may be allocated to it."""
        return self.figures.status != "closed"

    @property
    def balance(self) -> int:
        return to_cents(self.figures.balance)

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
    projects: list[ProjectWalk]
    #: Earmarked pots in cents: ("project", code) or ("country", code) -> cents (with pledges only).
    earmarks: dict[tuple[str, str], int]
    #: Outstanding pledges not earmarked, in cents (with pledges only).
    free_pledges: int
    with_pledges: bool

    @property
    def unallocated(self) -> Decimal:
        return self.picture.fund.unallocated

    @cached_property
    def by_code(self) -> dict[str, ProjectWalk]:
        return {p.figures.code: p for p in self.projects}


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
        fees.setdefault(child.project_code, []).append(to_cents(child.fee_usd))
    projects = []
    for p in picture.projects:
        own = fees.get(p.code, [])
        next_terms = to_cents(p.at_risk_cost + p.balance) if own else 0
        # The running total at the k-th child at risk: every child's next term, less those after it.
        running, after = [0] * len(own), 0
        for i in range(len(own) - 1, -1, -1):
            running[i] = next_terms - after
            after += own[i]
        projects.append(ProjectWalk(figures=p, running=running, next_terms=next_terms))
    earmarks: dict[tuple[str, str], int] = {}
    free_pledges = 0
    if with_pledges:
        codes = {p.id: p.code for p in picture.projects}
        scope_countries = {p.country for p in picture.projects}
        for pledge in picture.outstanding:
            cents = to_cents(pledge.outstanding)
            if pledge.project_id is None and pledge.country is None:
                free_pledges += cents
                continue
            # Earmarked for a project (or a country) of the scope; those earmarked elsewhere are not this plan's.
            key = ("project", codes.get(pledge.project_id)) if pledge.project_id is not None \
                else ("country", pledge.country if pledge.country in scope_countries else None)
            if key[1] is not None:
                earmarks[key] = earmarks.get(key, 0) + cents
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


def children_first(projects: list[ProjectWalk], pots: dict[tuple[str, str], int], free: int) -> dict[str, int]:
    """Cents per project code that cover the most children at risk, the free money ``free`` and the pots
    allowing; among the ways that cover as many, the one that uses the least free money."""
    by_country: dict[str, list[ProjectWalk]] = {}
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

class Purse:
    """The pots as they are spent: a project draws on its own, then its country's, then the free money."""

    def __init__(self, earmarks: dict[tuple[str, str], int], free: int):
        self.left = dict(earmarks)
        self.free = free

    def take(self, project: ProjectWalk, cents: int) -> int:
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


def gap_left(project: ProjectWalk, given: int) -> int:
    f = project.figures
    return max(to_cents(f.need) - to_cents(f.allocated) - given, 0)


def solve(inputs: Inputs, *, amount: Decimal, share: str = "need",
          order: tuple[str, ...] | list[str] = ()) -> dict[str, int]:
    """The planner's amounts, in cents per project code, for ``amount`` of free money (see the module)."""
    if share not in SHARES:
        raise PlanError(f"unknown share {share!r}: use {' or '.join(SHARES)}")
    free = to_cents(amount) + inputs.free_pledges
    purse = Purse(inputs.earmarks, free)
    given: dict[str, int] = {}

    def give(project: ProjectWalk, cents: int) -> int:
        took = purse.take(project, cents)
        if took:
            given[project.figures.code] = given.get(project.figures.code, 0) + took
        return took

    # 1. The fewest children at risk.
    for code, cents in children_first(inputs.projects, inputs.earmarks, free).items():
        give(inputs.by_code[code], cents)
    open_projects = [p for p in inputs.projects if p.open]
    # 2. Over-commitments, the smallest first.
    still = sorted((p for p in open_projects if p.balance + given.get(p.figures.code, 0) < 0),
                   key=lambda p: (-(p.balance + given.get(p.figures.code, 0)), p.figures.code))
    for project in still:
        give(project, -(project.balance + given.get(project.figures.code, 0)))
    # 3. The remaining gap: in the manager's order, or in proportion to it (earmarked pots first).
    if share == "order":
        rank = {code: i for i, code in enumerate(order)}
        for project in sorted(open_projects, key=lambda p: (rank.get(p.figures.code, len(rank)), p.figures.code)):
            give(project, gap_left(project, given.get(project.figures.code, 0)))
        return given
    gaps = {p.figures.code: gap_left(p, given.get(p.figures.code, 0)) for p in open_projects}

    def in_proportion(cents: int, projects: list[ProjectWalk]) -> None:
        weights = {p.figures.code: gaps[p.figures.code] for p in projects if gaps[p.figures.code] > 0}
        for code, part in _share(cents, weights).items():
            gaps[code] -= give(inputs.by_code[code], part)

    for kind in ("project", "country"):  # earmarked pots first, each among its own projects
        for (pot_kind, key), cents in sorted(purse.left.items()):
            if pot_kind == kind and cents:
                in_proportion(cents, [p for p in open_projects
                                      if (p.figures.code if kind == "project" else p.figures.country) == key])
    in_proportion(purse.free, open_projects)
    return {code: cents for code, cents in given.items() if cents}
