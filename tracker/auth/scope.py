"""The one place where a user's country scope is applied.

Every list and every lookup of a record goes through :func:`scoped_select`
or :func:`get_scoped_or_404`: records of projects outside the user's
countries do not exist for them (404), never a silent leak.
"""
from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, exists, false, select

from tracker.extensions import db
from tracker.models import (
    Allocation,
    Beneficiary,
    BudgetLine,
    Child,
    ClaimStep,
    Disbursement,
    Enrolment,
    IncomeProject,
    IncomeReport,
    PaternityClaim,
    Project,
)

#: How each scoped model reaches its project (whose country decides).
SCOPE_PATHS = {
    Project: (),
    BudgetLine: (BudgetLine.project,),
    Allocation: (Allocation.project,),
    Disbursement: (Disbursement.project,),
    Beneficiary: (Beneficiary.project,),
    Child: (Child.mother, Beneficiary.project),
    Enrolment: (Enrolment.child, Child.mother, Beneficiary.project),
    PaternityClaim: (PaternityClaim.child, Child.mother, Beneficiary.project),
    ClaimStep: (ClaimStep.claim, PaternityClaim.child, Child.mother, Beneficiary.project),
    IncomeProject: (IncomeProject.beneficiary, Beneficiary.project),
    IncomeReport: (IncomeReport.income_project, IncomeProject.beneficiary, Beneficiary.project),
}


def user_countries(user=None) -> list[str] | None:
    """The user's countries, or ``None`` when they see every country."""
    user = user or current_user
    if not getattr(user, "is_authenticated", False):
        return []
    if user.sees_all_countries:
        return None
    if user.role == "donor":
        return []
    return user.countries


def apply_scope(stmt: Select, model, user=None) -> Select:
    """Restrict ``stmt`` (which selects from ``model``) to the user's countries."""
    if model not in SCOPE_PATHS:
        raise TypeError(f"{model.__name__} has no country scope")
    for relationship in SCOPE_PATHS[model]:
        stmt = stmt.join(relationship)
    countries = user_countries(user)
    if countries is None:
        return stmt
    if not countries:
        return stmt.where(false())
    return stmt.where(Project.country.in_(countries))


def scoped_select(model, user=None) -> Select:
    return apply_scope(select(model), model, user)


def get_scoped_or_404(model, user=None, **by):
    """The one record of ``model`` matching ``by`` inside the user's scope, or 404."""
    stmt = scoped_select(model, user)
    for key, value in by.items():
        stmt = stmt.where(getattr(model, key) == value)
    record = db.session.scalars(stmt).one_or_none()
    if record is None:
        abort(404)
    return record


def in_scope(country: str, user=None) -> bool:
    countries = user_countries(user)
    return countries is None or country in countries


def sees_whole_fund(user=None) -> bool:
    """Whether the user's countries hold every project, so that the whole Fund's figures show nothing
    outside them: admins always, a manager only when she manages every country that has a project.

    The one rule for fund-wide donor reports: offering to issue one (tracker/reports/routes.py) and
    reading an issued one (:func:`tracker.reports.archive.readable_reports`).
    """
    return holds_every_project(user_countries(user))


def holds_every_project(countries) -> bool:
    """Whether ``countries`` (``None``: every country) hold every project, so the whole Fund is all theirs.

    The rule behind :func:`sees_whole_fund`, and the funding engine's choice between the Fund's uncovered
    gap and a country's for the fund scope seen from some countries.
    """
    if countries is None:
        return True
    return not db.session.scalar(select(exists().where(Project.country.not_in(countries))))
