"""The figures of the IATI export, read with a fixed number of aggregate queries.

Nothing here reaches a person: disbursements are summed in SQL per project,
category and calendar quarter, and neither beneficiaries, children nor payees
are selected at all.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import Integer, cast, extract, func, select

from tracker.extensions import db
from tracker.models import Allocation, BudgetLine, Contribution, Disbursement, Donor, Partner, Pledge, Project
from tracker.models.base import today

ZERO = Decimal("0.00")
HUNDRED = Decimal("100")

#: OECD DAC 5-digit purpose codes (IATI Sector vocabulary 1).
SECTOR_PRIMARY_EDUCATION = "11220"
SECTOR_ENDING_VIOLENCE = "15180"
#: Budget categories that are education; every other one is assistance to survivors.
EDUCATION_CATEGORIES = frozenset({"school_fees"})


class PeriodError(ValueError):
    """A period that ends before it starts."""


@dataclass(frozen=True)
class Incoming:
    """A contribution received against a pledge earmarked for the project."""

    reference: str
    received_on: dt.date
    usd: Decimal
    donor: str
    donor_kind: str


@dataclass(frozen=True)
class Commitment:
    allocated_on: dt.date
    usd: Decimal


@dataclass(frozen=True)
class QuarterPaid:
    """Payments of one category paid in one calendar quarter, summed."""

    year: int
    quarter: int
    category: str
    usd: Decimal

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 3 * self.quarter - 2, 1)

    @property
    def last_day(self) -> dt.date:
        if self.quarter == 4:
            return dt.date(self.year, 12, 31)
        return dt.date(self.year, 3 * self.quarter + 1, 1) - dt.timedelta(days=1)


@dataclass
class Activity:
    """One project as the export describes it."""

    id: int
    code: str
    title: str
    description: str | None
    country: str
    status: str
    start_date: dt.date
    end_date: dt.date
    partner: str
    partner_kind: str
    #: year -> sum of the year's budget lines (USD)
    budgets: dict[int, Decimal] = field(default_factory=dict)
    #: category -> sum of its budget lines over every year (USD), for the sector split
    budget_by_category: dict[str, Decimal] = field(default_factory=dict)
    incoming: list[Incoming] = field(default_factory=list)
    commitments: list[Commitment] = field(default_factory=list)
    disbursements: list[QuarterPaid] = field(default_factory=list)

    @property
    def sectors(self) -> list[tuple[str, Decimal]]:
        """(DAC code, percentage) pairs adding up to exactly 100; 15180 alone when there is no budget."""
        total = sum(self.budget_by_category.values(), ZERO)
        education = sum((v for c, v in self.budget_by_category.items() if c in EDUCATION_CATEGORIES), ZERO)
        if not total or not education:
            return [(SECTOR_ENDING_VIOLENCE, HUNDRED)]
        if education == total:
            return [(SECTOR_PRIMARY_EDUCATION, HUNDRED)]
        share = (education * HUNDRED / total).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
        if share in (ZERO, HUNDRED):  # a sliver rounds away: one sector keeps it all
            return [(SECTOR_PRIMARY_EDUCATION if share else SECTOR_ENDING_VIOLENCE, HUNDRED)]
        return [(SECTOR_PRIMARY_EDUCATION, share), (SECTOR_ENDING_VIOLENCE, HUNDRED - share)]


@dataclass
class Export:
    date_from: dt.date | None
    date_to: dt.date
    activities: list[Activity]

    def audit_changes(self) -> dict:
        """What the audit log keeps of an export: its period and size, nothing of its contents."""
        return {"activities": len(self.activities),
                "from": self.date_from.isoformat() if self.date_from else None, "to": self.date_to.isoformat()}


def check_period(date_from: dt.date | None, date_to: dt.date | None) -> tuple[dt.date | None, dt.date]:
    """The period with its default end (today); :class:`PeriodError` when it ends before it starts."""
    date_to = date_to or today()
    if date_from is not None and date_to < date_from:
        raise PeriodError("the period ends before it starts")
    return date_from, date_to


def iati_export(*, date_from: dt.date | None = None, date_to: dt.date | None = None,
                countries: list[str] | None = None, country: str | None = None) -> Export:
    """Every project of ``countries`` (``None``: all) with its figures for the period.

    ``date_from`` ``None`` means from the beginning; ``date_to`` defaults to
    today. Transactions are those dated in the period, both days included;
    budgets are every year of the project's budget lines.
    """
    date_from, date_to = check_period(date_from, date_to)
    stmt = (
        select(Project.id, Project.code, Project.title, Project.description, Project.country, Project.status,
               Project.start_date, Project.end_date, Partner.name, Partner.kind)
        .join(Partner, Project.partner_id == Partner.id)
        .order_by(Project.code)
    )
    if countries is not None:
        stmt = stmt.where(Project.country.in_(countries))
    if country is not None:
        stmt = stmt.where(Project.country == country)
    by_id = {row.id: Activity(*row) for row in db.session.execute(stmt)}
    if by_id:
        _budgets(by_id)
        _incoming(by_id, date_from, date_to)
        _commitments(by_id, date_from, date_to)
        _disbursements(by_id, date_from, date_to)
    return Export(date_from, date_to, list(by_id.values()))


def _in_period(column, date_from, date_to):
    return column.between(date_from, date_to) if date_from is not None else column <= date_to


def _budgets(by_id) -> None:
    rows = db.session.execute(
        select(BudgetLine.project_id, BudgetLine.year, BudgetLine.category, func.sum(BudgetLine.amount_usd))
        .where(BudgetLine.project_id.in_(by_id))
        .group_by(BudgetLine.project_id, BudgetLine.year, BudgetLine.category)
        .order_by(BudgetLine.project_id, BudgetLine.year, BudgetLine.category)
    )
    for project_id, year, category, amount in rows:
        a = by_id[project_id]
        a.budgets[year] = a.budgets.get(year, ZERO) + amount
        a.budget_by_category[category] = a.budget_by_category.get(category, ZERO) + amount


def _incoming(by_id, date_from, date_to) -> None:
    """Contributions received in the period against pledges earmarked for the project."""
    rows = db.session.execute(
        select(Pledge.project_id, Contribution.reference, Contribution.received_on, Contribution.usd_amount,
               Donor.name, Donor.kind)
        .join(Pledge, Contribution.pledge_id == Pledge.id)
        .join(Donor, Contribution.donor_id == Donor.id)
        .where(Pledge.project_id.in_(by_id), _in_period(Contribution.received_on, date_from, date_to))
        .order_by(Contribution.received_on, Contribution.reference)
    )
    for project_id, reference, received_on, usd, donor, kind in rows:
        by_id[project_id].incoming.append(Incoming(reference, received_on, usd, donor, kind))


def _commitments(by_id, date_from, date_to) -> None:
    rows = db.session.execute(
        select(Allocation.project_id, Allocation.allocated_on, Allocation.amount_usd)
        .where(Allocation.project_id.in_(by_id), _in_period(Allocation.allocated_on, date_from, date_to))
        .order_by(Allocation.allocated_on, Allocation.id)
    )
    for project_id, on, usd in rows:
        by_id[project_id].commitments.append(Commitment(on, usd))


def _disbursements(by_id, date_from, date_to) -> None:
    """The engine's ``disbursed``: status ``paid`` and ``paid_on`` in the period, per quarter and category."""
    year = cast(extract("year", Disbursement.paid_on), Integer)
    quarter = (cast(extract("month", Disbursement.paid_on), Integer) + 2) // 3
    rows = db.session.execute(
        select(Disbursement.project_id, year, quarter, Disbursement.category, func.sum(Disbursement.usd_amount))
        .where(Disbursement.project_id.in_(by_id), Disbursement.status == "paid",
               _in_period(Disbursement.paid_on, date_from, date_to))
        .group_by(Disbursement.project_id, year, quarter, Disbursement.category)
        .order_by(Disbursement.project_id, year, quarter, Disbursement.category)
    )
    for project_id, y, q, category, usd in rows:
        by_id[project_id].disbursements.append(QuarterPaid(int(y), int(q), category, usd))
