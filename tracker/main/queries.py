"""Read queries for the home pages."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from tracker.auth.scope import apply_scope
from tracker.extensions import db
from tracker.models import Beneficiary, Child, Disbursement, IssuedReport, Project
from tracker.reports.archive import readable_reports


@dataclass(frozen=True)
class ScopeSummary:
    projects: int
    active_projects: int
    active_mothers: int
    children: int
    awaiting_approval: int


def scope_summary(user) -> ScopeSummary:
    """Counts of what the user can see, in a fixed number of queries."""
    projects = db.session.execute(
        apply_scope(
            select(func.count(Project.id), func.count(Project.id).filter(Project.status == "active")), Project, user
        )
    ).one()
    mothers = db.session.scalar(
        apply_scope(select(func.count(Beneficiary.id)).where(Beneficiary.status == "active"), Beneficiary, user)
    )
    children = db.session.scalar(apply_scope(select(func.count(Child.id)), Child, user))
    waiting = db.session.scalar(
        apply_scope(select(func.count(Disbursement.id)).where(Disbursement.status == "submitted"), Disbursement, user)
    )
    return ScopeSummary(projects[0], projects[1], mothers or 0, children or 0, waiting or 0)


def reports_for_donor(user):
    """Reports issued to this donor, and fund-wide ones issued to no one in particular; the last column says
    whether its PDF can be downloaded (a report still being rendered has none yet)."""
    return db.session.execute(
        readable_reports(user)
        .with_only_columns(IssuedReport.number, IssuedReport.scope, IssuedReport.period_from, IssuedReport.period_to,
                           IssuedReport.lang, IssuedReport.issued_at,
                           ((IssuedReport.status == "issued") & IssuedReport.pdf.is_not(None)).label("downloadable"))
        .order_by(IssuedReport.issued_at.desc())
    ).all()
