"""Read queries of the funding screens: the rows of the donor, pledge, contribution and allocation
lists, and a project's page (its budget table and people), as plain data for the templates.

They aggregate in SQL (USD as integer cents, as the engine does); what a pledge
still owes comes from the engine's :func:`~tracker.funding.pledges.pledge_positions`,
never from a rule of its own. The project page is here, not in tracker/projects,
because the budget screen shows it too and the projects feature already uses funding.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import BigInteger, func, select, type_coerce

from tracker.auth.scope import scoped_select, user_countries
from tracker.extensions import db
from tracker.funding.pledges import PledgePosition, counted_against_pledges, pledge_positions
from tracker.models import Allocation, Beneficiary, BudgetLine, Child, Contribution, Donor, Pledge, Project, User
from tracker.models.base import Money, today


def _cents(column):
    """A Money column as its stored integer (cents), for exact sums and differences in SQL."""
    return type_coerce(column, BigInteger)


def _usd(expression):
    """Integer cents computed in SQL, read back as an exact Decimal."""
    return type_coerce(expression, Money(2))


@dataclass(frozen=True)
class DonorRow:
    id: int
    name: str
    kind: str
    country: str | None
    name_fr: str | None
    pledged: Decimal
    received: Decimal
    #: What the donor's pledges still owe today, each in its own currency valued at its rate (the engine's rule).
    outstanding: Decimal


def donors_select():
    by_pledges = (
        select(Pledge.donor_id.label("donor_id"), func.sum(_cents(Pledge.usd_amount)).label("pledged"))
        .group_by(Pledge.donor_id).subquery()
    )
    by_contributions = (
        select(Contribution.donor_id.label("donor_id"), func.sum(_cents(Contribution.usd_amount)).label("received"))
        .group_by(Contribution.donor_id).subquery()
    )
    return (
        select(Donor.id, Donor.name, Donor.kind, Donor.country, Donor.name_fr,
               _usd(func.coalesce(by_pledges.c.pledged, 0)),
               _usd(func.coalesce(by_contributions.c.received, 0)))
        .outerjoin(by_pledges, by_pledges.c.donor_id == Donor.id)
        .outerjoin(by_contributions, by_contributions.c.donor_id == Donor.id)
        .order_by(Donor.name)
    )


def donor_rows():
    """Turns rows of :func:`donors_select` into :class:`DonorRow`, with what each donor's pledges owe today."""
    owed: dict[int, Decimal] = {}
    for position in pledge_positions(today(), outstanding_only=True):
        owed[position.donor_id] = owed.get(position.donor_id, Decimal("0.00")) + position.outstanding
    return lambda row: DonorRow(*row, outstanding=owed.get(row[0], Decimal("0.00")))


@dataclass(frozen=True)
class PledgeRow:
    """A pledge as the lists show it: the engine's position, and whether its project may be linked."""

    position: PledgePosition
    #: The earmarked project is linked only when it is in the reader's countries.
    project_visible: bool

    EXPORT = ("reference", "donor", "amount", "currency", "usd_amount", "usd_rate", "pledged_on", "project_code",
              "country", "received_usd", "outstanding_usd", "age_days", "received", "remaining",
              "exchange_difference")

    def __getattr__(self, name):
        return getattr(self.position, name)

    def export_row(self) -> list:
        p = self.position
        return [p.reference, p.donor, p.amount, p.currency, p.usd_amount, p.usd_rate, p.pledged_on, p.project_code,
                p.country, p.received_usd, p.outstanding, p.age_days, p.received, p.remaining,
                p.exchange_difference]


def pledge_list(*, donor_id: int | None = None, outstanding_only: bool = False) -> list[PledgeRow]:
    """The pledges as of today, newest first, each with what it owes in its own currency (DESIGN section 3)."""
    countries = user_countries()
    positions = pledge_positions(today(), donor_id=donor_id, outstanding_only=outstanding_only, newest_first=True)
    # A project earmark's country is the project's (PledgePosition.country).
    return [PledgeRow(p, p.project_id is not None and (countries is None or p.country in countries))
            for p in positions]


@dataclass(frozen=True)
class ContributionRow:
    reference: str
    donor: str
    amount: Decimal
    currency: str
    usd_amount: Decimal
    usd_rate: Decimal
    received_on: dt.date
    pledge_reference: str | None
    donor_id: int
    id: int = 0
    #: Against a pledge in another currency: what it counts for there, and that currency (the engine's rule).
    counted: tuple[Decimal, str] | None = None


def contribution_rows(rows) -> list[ContributionRow]:
    rows = list(rows)
    counted = counted_against_pledges(r.id for r in rows)
    return [ContributionRow(*r, counted=counted.get(r.id)) for r in rows]


CONTRIBUTION_EXPORT = ["reference", "donor", "amount", "currency", "usd_amount", "usd_rate", "received_on",
                       "pledge_reference"]


def contributions_select(*, donor_id: int | None = None):
    stmt = (
        select(Contribution.reference, Donor.name, Contribution.amount, Contribution.currency,
               Contribution.usd_amount, Contribution.usd_rate, Contribution.received_on, Pledge.reference, Donor.id,
               Contribution.id)
        .join(Contribution.donor).outerjoin(Contribution.pledge)
        .order_by(Contribution.received_on.desc(), Contribution.reference)
    )
    if donor_id is not None:
        stmt = stmt.where(Contribution.donor_id == donor_id)
    return stmt


@dataclass(frozen=True)
class AllocationRow:
    project_code: str
    amount_usd: Decimal
    allocated_on: dt.date
    note: str | None
    created_by: str | None
    reference: str | None


#: ``reference`` last: columns are only ever added, at the end, for the scripts that read the export.
ALLOCATION_EXPORT = ["project_code", "amount_usd", "allocated_on", "note", "created_by", "reference"]


def allocations_select(user, *, project: str | None = None):
    stmt = (
        scoped_select(Allocation, user)
        .with_only_columns(Project.code, Allocation.amount_usd, Allocation.allocated_on, Allocation.note, User.name,
                           Allocation.reference)
        .outerjoin(User, User.id == Allocation.created_by_id)
        .order_by(Allocation.allocated_on.desc(), Allocation.id.desc())
    )
    if project:
        stmt = stmt.where(Project.code == project)
    return stmt



@dataclass(frozen=True)
class ProjectPage:
    code: str
    title: str
    title_fr: str | None
    description: str | None
    country: str
    partner: str
    status: str
    start_date: object
    end_date: object
    budget_years: list[int]
    #: category -> year -> USD
    budget: dict[str, dict[int, Decimal]]
    budget_totals: dict[int, Decimal]
    active_mothers: int
    children: int


def project_page(project: Project) -> ProjectPage:
    lines = db.session.execute(
        select(BudgetLine.category, BudgetLine.year, BudgetLine.amount_usd)
        .where(BudgetLine.project_id == project.id)
        .order_by(BudgetLine.category, BudgetLine.year)
    ).all()
    years = sorted({line.year for line in lines})
    budget: dict[str, dict[int, Decimal]] = {}
    totals: dict[int, Decimal] = {y: Decimal("0.00") for y in years}
    for category, year, amount in lines:
        budget.setdefault(category, {})[year] = amount
        totals[year] += amount
    mothers = db.session.scalar(
        select(func.count(Beneficiary.id)).where(Beneficiary.project_id == project.id, Beneficiary.status == "active")
    )
    children = db.session.scalar(
        select(func.count(Child.id)).join(Child.mother).where(Beneficiary.project_id == project.id)
    )
    return ProjectPage(
        code=project.code, title=project.title, title_fr=project.title_fr, description=project.description,
        country=project.country, partner=project.partner.name, status=project.status,
        start_date=project.start_date, end_date=project.end_date, budget_years=years, budget=budget,
        budget_totals=totals, active_mothers=mothers or 0, children=children or 0,
    )
