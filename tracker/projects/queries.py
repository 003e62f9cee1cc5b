"""Read queries for projects, always through the country scope.

A project's own page (budget table, people) is :func:`tracker.funding.queries.project_page`:
the budget screen of funding shows it too.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from tracker.auth.scope import scoped_select
from tracker.extensions import db
from tracker.models import Allocation, Partner, Project


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
class AllocationRow:
    allocated_on: dt.date
    amount_usd: Decimal
    reference: str | None
    note: str | None


def project_allocations(project_id: int) -> list[AllocationRow]:
    """Every allocation to the project, newest first (a project has a handful a year)."""
    rows = db.session.execute(
        select(Allocation.allocated_on, Allocation.amount_usd, Allocation.reference, Allocation.note)
        .where(Allocation.project_id == project_id)
        .order_by(Allocation.allocated_on.desc(), Allocation.id.desc())
    )
    return [AllocationRow(*r) for r in rows]
