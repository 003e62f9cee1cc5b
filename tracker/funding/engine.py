"""The funding engine: every funding figure of DESIGN section 3, for the fund, a country or a project.

The manager's review, the donor PDF, the CSV/JSON exports and the API all read
:func:`funding_picture`, so they can never disagree. The work is done by a fixed
number of aggregate SQL queries, whatever the number of projects, people and
payments; Python only adds up a handful of per-project numbers.

Money is exact: columns hold integer cents (rates 1e-8), sums are done on
them, and USD values computed here (school fees at the rate in force on
``to``) are rounded half-even to cents per record, in SQL, before any sum.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import BigInteger, and_, case, func, literal, or_, select, type_coerce

from tracker.auth.scope import holds_every_project
from tracker.dates import academic_year_of
from tracker.extensions import db
from tracker.funding.pledges import PledgePosition, pledge_positions
from tracker.models import (
    CATEGORIES,
    Allocation,
    Beneficiary,
    BudgetLine,
    Child,
    Contribution,
    Disbursement,
    Enrolment,
    ExchangeRate,
    Pledge,
    Project,
)
from tracker.models.base import today

ZERO = Decimal("0.00")
_CENT = Decimal("0.01")
_RATE_ONE = 100_000_000  # 1 USD per unit, as stored (8 decimals)


class ScopeError(ValueError):
    """A scope or period that does not exist; the message says why."""


# --- the figures -----------------------------------------------------------------------------------------------------

@dataclass
class Figures:
    """The project figures of DESIGN section 3, for one project or summed over several."""

    need: Decimal = ZERO
    allocated: Decimal = ZERO
    committed: Decimal = ZERO
    disbursed: Decimal = ZERO
    gap: Decimal = ZERO
    balance: Decimal = ZERO
    burn: Decimal = ZERO
    #: max(−balance, 0) per project: approved or paid beyond the allocations; a scope's is the projects' sum.
    overcommitted: Decimal = ZERO
    school_fee_forward_need: Decimal = ZERO
    children_at_risk: int = 0
    #: What the projects would still need to receive for every child's next uncovered term this year to be paid:
    #: per project, the fees of all those terms less its balance, when any child is at risk; else 0.
    at_risk_cost: Decimal = ZERO

    @property
    def coverage(self) -> Decimal | None:
        """``allocated / need`` (4 decimals), ``None`` when there is no need."""
        if not self.need:
            return None
        return (self.allocated / self.need).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)

    @property
    def runway_months(self) -> Decimal | None:
        """``max(balance, 0) / burn`` in months (1 decimal), ``None`` when nothing was spent; never negative.

        An over-committed scope has no money left: its runway is 0, and :attr:`overcommitted` says by how much.
        """
        if not self.burn:
            return None
        return (max(self.balance, ZERO) / self.burn).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)

    def add(self, other: Figures) -> None:
        for name in ("need", "allocated", "committed", "disbursed", "gap", "balance", "burn", "overcommitted",
                     "school_fee_forward_need", "children_at_risk", "at_risk_cost"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class ProjectFigures(Figures):
    id: int = 0
    code: str = ""
    title: str = ""
    country: str = ""
    status: str = ""
    by_category: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)


@dataclass
class ScopeTotals(Figures):
    """The scope's project figures summed, and what pledges do for its gap (DESIGN section 3, "For the scope")."""

    #: Outstanding pledges earmarked for the scope (for the whole Fund: every earmarked one).
    earmarked_outstanding: Decimal = ZERO
    #: What new pledges must still find for the scope.
    uncovered_gap: Decimal = ZERO


@dataclass(frozen=True)
class FundFigures:
    """The Fund's own money as of ``to``, whatever the scope."""

    pledged: Decimal
    received: Decimal
    #: Σ per pledge of what it still owes in its own currency, valued at its frozen rate.
    outstanding_pledges: Decimal
    #: What the rates did to the receipts against pledges (negative when pledge currencies fell).
    exchange_difference: Decimal
    allocated: Decimal
    unallocated: Decimal
    #: ``unallocated`` + outstanding pledges not earmarked: money that may still go to any scope.
    free_resources: Decimal
    #: Deprecated copy of the scope's ``totals.uncovered_gap``, kept in the JSON for one release.
    uncovered_gap: Decimal


@dataclass(frozen=True)
class ChildAtRisk:
    project_code: str
    child_code: str
    mother_code: str
    school: str
    term: int
    fee: Decimal
    currency: str
    fee_usd: Decimal


@dataclass
class FundingPicture:
    scope: str
    date_from: dt.date
    date_to: dt.date
    as_of: dt.date
    academic_year: str
    fund: FundFigures
    totals: ScopeTotals
    #: category -> (need, disbursed), over the scope's projects
    by_category: dict[str, tuple[Decimal, Decimal]]
    projects: list[ProjectFigures]
    children_at_risk: list[ChildAtRisk]
    #: Currencies of school fees with no rate on ``to`` (their terms are left out of the forward need).
    missing_rates: list[str]
    #: Every pledge made up to ``to``, with what it owes (oldest first).
    pledges: list[PledgePosition] = field(default_factory=list)
    #: True for the whole Fund seen by someone who sees every country: the Fund's waterfall applies.
    whole_fund: bool = True

    @property
    def outstanding(self) -> list[PledgePosition]:
        """The pledges that still owe something as of ``to``."""
        return [p for p in self.pledges if p.remaining > 0]


# --- scope and period ------------------------------------------------------------------------------------------------

def parse_scope(scope: str | None) -> tuple[str, str | None]:
    """``fund``, ``country:CD`` or ``project:TF-CD-2025-01`` as (kind, value)."""
    scope = (scope or "fund").strip()
    if scope == "fund":
        return "fund", None
    kind, _sep, value = scope.partition(":")
    if kind == "country" and len(value) == 2 and value.isalpha():
        return kind, value.upper()
    if kind == "project" and value:
        return kind, value
    raise ScopeError(f"unknown scope {scope!r}: use fund, country:CD or project:CODE")


def default_period(on: dt.date | None = None) -> tuple[dt.date, dt.date]:
    on = on or today()
    return dt.date(on.year, 1, 1), on


def burn_window(to: dt.date) -> tuple[dt.date, dt.date]:
    """The three whole calendar months before the month of ``to``: [start, end)."""
    end = to.replace(day=1)
    year, month = end.year, end.month - 3
    if month < 1:
        year, month = year - 1, month + 12
    return dt.date(year, month, 1), end


def _cents(value) -> Decimal:
    """Integer cents (or None: 0) as dollars, with two decimals."""
    return Decimal(int(value or 0)).scaleb(-2)


def _money(value) -> Decimal:
    return ZERO if value is None else value


# --- the engine ------------------------------------------------------------------------------------------------------

def funding_picture(*, scope: str = "fund", date_from: dt.date | None = None, date_to: dt.date | None = None,
                    countries: list[str] | None = None, with_children: bool = True) -> FundingPicture:
    """All funding figures for a scope and a period (both days included).

    ``countries`` (a user's scope) further restricts the projects; ``None``
    means every country. Fund figures (pledged, received...) are the Fund's,
    whatever the scope. The whole Fund seen from some countries only is a
    scope of those countries: its uncovered gap follows the rule of a country.
    Someone whose countries hold every project sees the whole Fund (the rule
    that lets a manager issue a fund-wide report).
    """
    kind, value = parse_scope(scope)
    default_from, default_to = default_period()
    date_from = date_from or default_from
    date_to = date_to or default_to
    if date_to < date_from:
        raise ScopeError("the period ends before it starts")
    projects = _projects(kind, value, countries)
    if kind == "project" and not projects:
        raise ScopeError(f"unknown project {value!r}")
    ids = [p.id for p in projects]
    by_id = {p.id: p for p in projects}
    academic_year = academic_year_of(date_to)
    missing: list[str] = []
    at_risk: list[ChildAtRisk] = []
    if ids:
        _need(by_id, date_from, date_to)
        _allocations(by_id, date_from, date_to)
        _payments(by_id, date_from, date_to)
        for p in projects:
            p.gap = max(p.need - p.allocated, ZERO)
            p.overcommitted = max(-p.balance, ZERO)
        _school_fees(by_id, academic_year, date_to, missing, at_risk if with_children else None)
    totals = ScopeTotals()
    by_category = {c: (ZERO, ZERO) for c in CATEGORIES}
    for p in projects:
        totals.add(p)
        for category, (need, spent) in p.by_category.items():
            have_need, have_spent = by_category[category]
            by_category[category] = (have_need + need, have_spent + spent)
    pledges = pledge_positions(date_to)
    fund = _fund(date_to, pledges)
    whole_fund = kind == "fund" and holds_every_project(countries)
    if whole_fund:
        totals.earmarked_outstanding = sum((p.outstanding for p in pledges if p.earmarked), ZERO)
        totals.uncovered_gap = max(totals.gap - fund.unallocated - fund.outstanding_pledges, ZERO)
    else:
        if kind == "project":
            earmarked = [p for p in pledges if p.earmarked_for(project_id=projects[0].id)]
        else:
            scope_countries = [value] if kind == "country" else list(countries)
            earmarked = [p for p in pledges if p.earmarked_for(countries=scope_countries)]
        totals.earmarked_outstanding = sum((p.outstanding for p in earmarked), ZERO)
        totals.uncovered_gap = max(totals.gap - totals.earmarked_outstanding, ZERO)
    return FundingPicture(
        scope=scope if kind == "fund" else f"{kind}:{value}", date_from=date_from, date_to=date_to, as_of=today(),
        academic_year=academic_year, fund=replace(fund, uncovered_gap=totals.uncovered_gap), totals=totals,
        by_category=by_category, projects=projects, children_at_risk=at_risk, missing_rates=sorted(set(missing)),
        pledges=pledges, whole_fund=whole_fund,
    )


def _projects(kind: str, value: str | None, countries) -> list[ProjectFigures]:
    stmt = select(Project.id, Project.code, Project.title, Project.country, Project.status).order_by(Project.code)
    if kind == "country":
        stmt = stmt.where(Project.country == value)
    elif kind == "project":
        stmt = stmt.where(Project.code == value)
    if countries is not None:
        stmt = stmt.where(Project.country.in_(countries))
    return [ProjectFigures(id=r.id, code=r.code, title=r.title, country=r.country, status=r.status,
                           by_category={}) for r in db.session.execute(stmt)]


def _need(by_id, date_from, date_to) -> None:
    rows = db.session.execute(
        select(BudgetLine.project_id, BudgetLine.category, func.sum(BudgetLine.amount_usd))
        .where(BudgetLine.project_id.in_(by_id), BudgetLine.year.between(date_from.year, date_to.year))
        .group_by(BudgetLine.project_id, BudgetLine.category)
    )
    for project_id, category, amount in rows:
        p = by_id[project_id]
        p.need += amount
        p.by_category[category] = (p.by_category.get(category, (ZERO, ZERO))[0] + amount,
                                   p.by_category.get(category, (ZERO, ZERO))[1])


def _allocations(by_id, date_from, date_to) -> dict[int, Decimal]:
    rows = db.session.execute(
        select(
            Allocation.project_id,
            func.sum(case((Allocation.allocated_on >= date_from, Allocation.amount_usd))),
            func.sum(Allocation.amount_usd),
        )
        .where(Allocation.project_id.in_(by_id), Allocation.allocated_on <= date_to)
        .group_by(Allocation.project_id)
    )
    for project_id, in_period, up_to in rows:
        p = by_id[project_id]
        p.allocated = _money(in_period)
        p.balance += _money(up_to)


def _payments(by_id, date_from, date_to) -> None:
    """Disbursed (paid in the period, by category), paid up to ``to``, committed today, and the burn."""
    burn_start, burn_end = burn_window(date_to)
    paid = Disbursement.status == "paid"
    rows = db.session.execute(
        select(
            Disbursement.project_id,
            Disbursement.category,
            func.sum(case((and_(paid, Disbursement.paid_on.between(date_from, date_to)), Disbursement.usd_amount))),
            func.sum(case((and_(paid, Disbursement.paid_on <= date_to), Disbursement.usd_amount))),
            func.sum(case((Disbursement.status == "approved", Disbursement.usd_amount))),
            func.sum(case((and_(paid, Disbursement.paid_on >= burn_start, Disbursement.paid_on < burn_end),
                           Disbursement.usd_amount))),
        )
        .where(Disbursement.project_id.in_(by_id), Disbursement.status.in_(("paid", "approved")))
        .group_by(Disbursement.project_id, Disbursement.category)
    )
    burned: dict[int, Decimal] = {}
    for project_id, category, disbursed, paid_to, committed, burn in rows:
        p = by_id[project_id]
        disbursed, paid_to, committed = _money(disbursed), _money(paid_to), _money(committed)
        p.disbursed += disbursed
        p.committed += committed
        p.balance -= paid_to + committed
        burned[project_id] = burned.get(project_id, ZERO) + _money(burn)
        need = p.by_category.get(category, (ZERO, ZERO))[0]
        p.by_category[category] = (need, p.by_category.get(category, (ZERO, ZERO))[1] + disbursed)
    for project_id, total in burned.items():
        by_id[project_id].burn = (total / 3).quantize(_CENT, rounding=ROUND_HALF_EVEN)


def _rates_on(day: dt.date):
    """A subquery of (currency, raw rate) in force on ``day``: the latest valid_from on or before it."""
    latest = (
        select(ExchangeRate.currency, func.max(ExchangeRate.valid_from).label("valid_from"))
        .where(ExchangeRate.valid_from <= day)
        .group_by(ExchangeRate.currency)
        .subquery()
    )
    return (
        select(ExchangeRate.currency, type_coerce(ExchangeRate.usd_per_unit, BigInteger).label("rate"))
        .join(latest, and_(latest.c.currency == ExchangeRate.currency, latest.c.valid_from == ExchangeRate.valid_from))
        .subquery()
    )


def _usd_cents(fee_raw, rate_raw):
    """USD cents of an amount in cents at a rate in 1e-8, rounded half-even, in integer SQL arithmetic."""
    product = fee_raw * rate_raw  # units of 1e-10 USD
    whole = product // _RATE_ONE  # integer division (SQLAlchemy renders "/" as true division)
    rest = product % _RATE_ONE
    half = _RATE_ONE // 2
    return whole + case((or_(rest > half, and_(rest == half, whole % 2 == 1)), 1), else_=0)


def _school_fees(by_id, academic_year: str, to: dt.date, missing: list, at_risk: list | None) -> None:
    """Forward need of uncovered school-fee terms this academic year, and the children at risk.

    A term is covered when a school-fee disbursement for it is approved or paid. Each child's lowest uncovered term
    is taken, ordered by term then child code, and fees are added up the list; from the first child whose fee no
    longer fits within the project's balance, every child is at risk.

    One statement: the covered terms grouped by enrolment, each child's lowest uncovered term and their number (a
    term's USD fee does not depend on the term), the walk in window functions against the balances passed in.
    Only the children at risk, each project's first child (with its sums) and the fees without a rate come back.
    """
    terms = (1, 2, 3, 4)  # enrolments.terms is 1 to 4
    # SQLite, without statistics, would start at the projects' mothers and look up this year's enrolments for each
    # (5.6 s instead of 0.2 s at demo scale 2): ``+ 0`` keeps it off their index. PostgreSQL estimates well.
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    project_of = Beneficiary.project_id + 0 if sqlite else Beneficiary.project_id
    covered = (
        select(Disbursement.enrolment_id,
               *(func.max(case((Disbursement.term == n, 1), else_=0)).label(f"t{n}") for n in terms))
        .where(Disbursement.category == "school_fees", Disbursement.status.in_(("approved", "paid")))
        .group_by(Disbursement.enrolment_id)
        .subquery("covered")
    )
    uncovered = [and_(Enrolment.terms >= n, func.coalesce(covered.c[f"t{n}"], 0) == 0) for n in terms]
    rates = _rates_on(to)
    fee_raw = type_coerce(Enrolment.fee_per_term, BigInteger)
    rate_raw = case((Enrolment.currency == "USD", literal(_RATE_ONE)), else_=rates.c.rate)
    per_child = (
        select(
            Beneficiary.project_id.label("project_id"), Child.code.label("child_code"),
            Beneficiary.code.label("mother_code"), Enrolment.school.label("school"),
            Enrolment.currency.label("currency"), fee_raw.label("fee_raw"),
            _usd_cents(fee_raw, rate_raw).label("usd_cents"),  # NULL: no rate for the currency on ``to``
            case(*((open_, n) for n, open_ in zip(terms, uncovered, strict=True))).label("term"),  # the lowest
            sum(case((open_, 1), else_=0) for open_ in uncovered).label("terms"),  # how many are uncovered
        )
        .select_from(Enrolment)
        .join(Child, Enrolment.child_id == Child.id)
        .join(Beneficiary, Child.mother_id == Beneficiary.id)
        .outerjoin(covered, covered.c.enrolment_id == Enrolment.id)
        .outerjoin(rates, rates.c.currency == Enrolment.currency)
        .where(project_of.in_(by_id), Beneficiary.status == "active",
               Enrolment.academic_year == academic_year)
        .subquery("per_child")
    )
    # The walk: ``sum`` over the window skips the NULL fees of a missing rate, so those children are left out.
    project = {"partition_by": per_child.c.project_id}
    down_the_list = {**project, "order_by": (per_child.c.term, per_child.c.child_code)}
    walk = (
        select(per_child, func.row_number().over(**down_the_list).label("place"),
               func.sum(per_child.c.usd_cents).over(**down_the_list, rows=(None, 0)).label("running"),
               func.sum(per_child.c.usd_cents * per_child.c.terms).over(**project).label("forward_need"),
               func.sum(per_child.c.usd_cents).over(**project).label("next_terms"))
        .where(per_child.c.term.is_not(None))
        .subquery("walk")
    )
    balance = case({project_id: literal(int(p.balance * 100), BigInteger) for project_id, p in by_id.items()},
                   value=walk.c.project_id)  # in cents, as the running total
    at_risk_here = and_(walk.c.usd_cents.is_not(None), or_(balance <= 0, walk.c.running > balance))
    rows = db.session.execute(
        select(walk.c.project_id, walk.c.child_code, walk.c.mother_code, walk.c.school, walk.c.term, walk.c.fee_raw,
               walk.c.currency, walk.c.usd_cents, walk.c.place, walk.c.forward_need, walk.c.next_terms,
               at_risk_here.label("at_risk"))
        .where(or_(walk.c.place == 1, walk.c.usd_cents.is_(None), at_risk_here))
        .order_by(walk.c.project_id, walk.c.term, walk.c.child_code)
    )
    next_terms: dict[int, Decimal] = {}
    for r in rows:
        p = by_id[r.project_id]
        if r.place == 1:
            p.school_fee_forward_need += _cents(r.forward_need)
            next_terms[p.id] = _cents(r.next_terms)  # the fees of every child's next term: the last running total
        if r.usd_cents is None:
            missing.append(r.currency)
        elif r.at_risk:
            p.children_at_risk += 1
            if at_risk is not None:
                at_risk.append(ChildAtRisk(p.code, r.child_code, r.mother_code, r.school, r.term,
                                           _cents(r.fee_raw), r.currency, _cents(r.usd_cents)))
    for project_id, fees in next_terms.items():
        p = by_id[project_id]
        if p.children_at_risk:
            p.at_risk_cost = fees - p.balance


def _fund(to: dt.date, pledges: list[PledgePosition]) -> FundFigures:
    """The Fund's own figures as of ``to``, whatever the scope (``uncovered_gap`` is the caller's to fill)."""
    pledged = _money(db.session.scalar(select(func.sum(Pledge.usd_amount)).where(Pledge.pledged_on <= to)))
    received = _money(db.session.scalar(
        select(func.sum(Contribution.usd_amount)).where(Contribution.received_on <= to)))
    allocated = _money(db.session.scalar(select(func.sum(Allocation.amount_usd)).where(Allocation.allocated_on <= to)))
    unallocated = received - allocated
    outstanding = sum((p.outstanding for p in pledges), ZERO)
    free = unallocated + sum((p.outstanding for p in pledges if not p.earmarked), ZERO)
    difference = sum((p.exchange_difference for p in pledges), ZERO)
    return FundFigures(pledged=pledged, received=received, outstanding_pledges=outstanding,
                       exchange_difference=difference, allocated=allocated, unallocated=unallocated,
                       free_resources=free, uncovered_gap=ZERO)


def project_balances(project_ids, to: dt.date | None = None) -> dict[int, Decimal]:
    """``balance`` per project (allocations up to ``to`` − paid up to ``to`` − committed), for the approval queue."""
    ids = list(project_ids)
    if not ids:
        return {}
    to = to or today()
    by_id = {i: ProjectFigures(id=i) for i in ids}
    _allocations(by_id, to, to)
    _payments(by_id, to, to)
    return {i: p.balance for i, p in by_id.items()}


# --- details for the review and the reports --------------------------------------------------------------------------

@dataclass(frozen=True)
class MonthAmount:
    month: dt.date
    amount: Decimal


def contributions_by_month(date_from: dt.date, date_to: dt.date) -> list[MonthAmount]:
    """USD received per calendar month of the period, months without money included (one query)."""
    month_expr = func.strftime("%Y-%m", Contribution.received_on) if db.session.get_bind().dialect.name == "sqlite" \
        else func.to_char(Contribution.received_on, "YYYY-MM")
    rows = db.session.execute(
        select(month_expr, func.sum(Contribution.usd_amount))
        .where(Contribution.received_on.between(date_from, date_to))
        .group_by(month_expr)
    ).all()
    found = {m: amount for m, amount in rows}
    out, month = [], date_from.replace(day=1)
    while month <= date_to:
        out.append(MonthAmount(month, found.get(month.strftime("%Y-%m"), ZERO)))
        month = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return out
