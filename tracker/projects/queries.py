"""Read queries for projects, always through the country scope."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select

from tracker.auth.scope import scoped_select
from tracker.extensions import db
from tracker.models import Beneficiary, BudgetLine, Child, Partner, Project


@dataclass(frozen=True)
class ProjectRow:
    code: str
    title: str
    country: str
    partner: str
    status: str
    start_date: object
    end_date: object


def project_rows(user, *, country: str | None = None, status: str | None = None) -> list[ProjectRow]:
    stmt = scoped_select(Project, user).join(Project.partner).add_columns(Partner.name)
    if country:
        stmt = stmt.where(Project.country == country)
    if status:
        stmt = stmt.where(Project.status == status)
    stmt = stmt.order_by(Project.country, Project.code)
    return [
        ProjectRow(p.code, p.title, p.country, partner, p.status, p.start_date, p.end_date)
        for p, partner in db.session.execute(stmt)
    ]


@dataclass(frozen=True)
class ProjectPage:
    code: str
    title: str
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
        code=project.code, title=project.title, description=project.description, country=project.country,
        partner=project.partner.name, status=project.status, start_date=project.start_date,
        end_date=project.end_date, budget_years=years, budget=budget, budget_totals=totals,
        active_mothers=mothers or 0, children=children or 0,
    )


