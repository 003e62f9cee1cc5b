"""Income-generating activities (IGA) and their monthly income reports."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from tracker import validation as v
from tracker.errors import Errors, Invalid
from tracker.extensions import db
from tracker.models import INCOME_PROJECT_STATUSES, Beneficiary, IncomeProject, IncomeReport
from tracker.models.base import today

#: Activities offered as suggestions; any other text is accepted too.
SUGGESTED_ACTIVITIES = ("tailoring", "small trade", "soap-making", "livestock", "farming", "tea shop",
                        "hairdressing", "bakery")
CLOSED = ("closed_successful", "closed_failed")


def _next_reference(beneficiary: Beneficiary) -> str:
    count = db.session.scalar(
        select(func.count(IncomeProject.id)).where(IncomeProject.beneficiary_id == beneficiary.id)
    ) or 0
    n = count + 1
    def reference(k: int) -> str:
        return f"IGA-{beneficiary.country}-{beneficiary.number:05d}-{k}"

    while db.session.scalar(select(IncomeProject.id).where(IncomeProject.reference == reference(n))):
        n += 1
    return reference(n)


def check_income_project(*, activity: str, started_on, planned_grant, currency: str, status: str = "planned",
                         reference: str | None = None) -> dict:
    """Every rule of a new activity but its reference being new (:func:`start_income_project`), in its order;
    its columns but the mother and the reference when none is given. Both ways of importing activities call it."""
    errors = Errors()
    activity = errors.check(v.text, activity, "activity", max_length=120)
    started = errors.check(v.date, started_on, "started_on", not_future=False)
    currency = errors.check(v.currency, currency)
    grant = errors.check(v.amount, planned_grant, "planned_grant", currency)
    status = errors.check(v.choice, status, "status", INCOME_PROJECT_STATUSES)
    checked_reference = errors.check(v.text, reference, "reference", max_length=60) if reference else None
    errors.raise_any()
    columns = dict(activity=activity, started_on=started, planned_grant=grant, currency=currency, status=status,
                   closed_on=today() if status in CLOSED else None)
    if reference:
        columns["reference"] = checked_reference
    return columns


def start_income_project(*, beneficiary: Beneficiary, activity: str, started_on, planned_grant, currency: str,
                         status: str = "planned", reference: str | None = None) -> IncomeProject:
    """Record a mother's income-generating activity and the grant planned for it."""
    columns = check_income_project(activity=activity, started_on=started_on, planned_grant=planned_grant,
                                   currency=currency, status=status, reference=reference)
    if reference:
        reference = columns.pop("reference")
        if db.session.scalar(select(IncomeProject.id).where(IncomeProject.reference == reference)) is not None:
            raise Invalid(_l("%(ref)s exists already", ref=reference), "reference")
    else:
        reference = _next_reference(beneficiary)
    project = IncomeProject(reference=reference, beneficiary=beneficiary, **columns)
    db.session.add(project)
    db.session.flush()
    return project


def check_income_update(*, income_project: IncomeProject, activity: str, planned_grant, status: str,
                        closed_on=None) -> dict:
    """Every rule of :func:`update_income_project`, in its order: the activity's new columns, checked."""
    errors = Errors()
    activity = errors.check(v.text, activity, "activity", max_length=120)
    grant = errors.check(v.amount, planned_grant, "planned_grant", income_project.currency)
    status = errors.check(v.choice, status, "status", INCOME_PROJECT_STATUSES)
    closed = None
    if status in CLOSED:
        closed = (errors.check(v.date, closed_on, "closed_on") if closed_on
                  else (income_project.closed_on or today()))
        if closed is not None and closed < income_project.started_on:
            errors.add(_l("is before the activity started"), "closed_on")
    errors.raise_any()
    return {"activity": activity, "planned_grant": grant, "status": status, "closed_on": closed}


def update_income_project(*, income_project: IncomeProject, activity: str, planned_grant, status: str,
                          closed_on=None) -> IncomeProject:
    """Change an activity: its name, its planned grant, its status (a closed one's date, today by default)."""
    checked = check_income_update(income_project=income_project, activity=activity, planned_grant=planned_grant,
                                  status=status, closed_on=closed_on)
    for column, value in checked.items():
        setattr(income_project, column, value)
    db.session.flush()
    return income_project


def check_income_report(*, income_project: IncomeProject, month, revenue, costs, currency: str | None = None,
                        note: str | None = None) -> dict:
    """Every rule of a month's report but "one per month" (:func:`report_income`), in its order; its columns but
    the activity. Both ways of importing reports call it."""
    errors = Errors()
    first = errors.check(v.month, month, "month")
    currency = errors.check(v.currency, currency or income_project.currency)
    if currency is not None and currency != income_project.currency:
        errors.add(_l("reports of %(ref)s are in %(code)s", ref=income_project.reference,
                      code=income_project.currency), "currency")
        currency = None
    revenue = errors.check(v.amount, revenue, "revenue", currency or income_project.currency, allow_zero=True)
    costs = errors.check(v.amount, costs, "costs", currency or income_project.currency, allow_zero=True)
    note = errors.check(v.text, note, "note", required=False, max_length=500)
    if first is not None and first < income_project.started_on.replace(day=1):
        errors.add(_l("is before the activity started"), "month")
    errors.raise_any()
    return {"month": first, "revenue": revenue, "costs": costs, "currency": currency, "note": note}


def report_income(*, income_project: IncomeProject, month, revenue, costs, currency: str | None = None,
                  note: str | None = None) -> IncomeReport:
    """Record a month's revenue and costs, in the activity's currency; one report per month."""
    columns = check_income_report(income_project=income_project, month=month, revenue=revenue, costs=costs,
                                  currency=currency, note=note)
    exists = db.session.scalar(select(IncomeReport.id).where(IncomeReport.income_project_id == income_project.id,
                                                             IncomeReport.month == columns["month"]))
    if exists is not None:
        raise Invalid(_l("%(month)s is reported already", month=columns["month"].strftime("%Y-%m")), "month")
    report = IncomeReport(income_project=income_project, **columns)
    db.session.add(report)
    db.session.flush()
    return report


def correct_income_report(*, income_report: IncomeReport, revenue, costs) -> IncomeReport:
    """Replace a month's revenue and costs (checked by the caller, in the report's currency)."""
    income_report.revenue, income_report.costs = revenue, costs
    db.session.flush()
    return income_report
