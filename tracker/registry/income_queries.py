"""Read queries of the income projects (the mothers' income-generating activities), all through the
country scope: the list, one project's summary, the rows on a mother's page, and the outcomes
(how many activities last, median profit by activity in USD).
"""
from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, func, select, type_coerce

from tracker.auth.scope import apply_scope, scoped_select
from tracker.dates import add_months
from tracker.extensions import db
from tracker.models import Beneficiary, Disbursement, IncomeProject, IncomeReport
from tracker.models.base import Money, today
from tracker.money import round_cents
from tracker.rates import rate_in_table, rate_table
from tracker.web import Page, paginate


@dataclass(frozen=True)
class IncomeRow:
    reference: str
    mother_code: str
    activity: str
    status: str
    started_on: dt.date
    planned_grant: Decimal
    currency: str



def income_rows(*conditions) -> list[IncomeRow]:
    rows = db.session.execute(
        select(IncomeProject.reference, Beneficiary.code, IncomeProject.activity, IncomeProject.status,
               IncomeProject.started_on, IncomeProject.planned_grant, IncomeProject.currency)
        .join(IncomeProject.beneficiary)
        .where(*conditions)
        .order_by(IncomeProject.started_on.desc())
    )
    return [IncomeRow(*r) for r in rows]


@dataclass(frozen=True)
class IncomeSummary:
    months_reported: int
    average_profit: Decimal | None
    disbursed: list[tuple[str, Decimal]]


def income_summary(income_project: IncomeProject) -> IncomeSummary:
    months, revenue, costs = db.session.execute(
        select(func.count(IncomeReport.id), func.sum(IncomeReport.revenue), func.sum(IncomeReport.costs))
        .where(IncomeReport.income_project_id == income_project.id)
    ).one()
    average = round_cents((revenue - costs) / months) if months else None
    disbursed = db.session.execute(
        select(Disbursement.currency, func.sum(Disbursement.amount))
        .where(Disbursement.income_project_id == income_project.id, Disbursement.status == "paid")
        .group_by(Disbursement.currency)
    ).all()
    return IncomeSummary(months, average, [(c, a) for c, a in disbursed])


#: Income activities that still report month by month.
RUNNING = ("active", "struggling")


def income_report_due(on: dt.date):
    """A running activity (active or struggling) that started before this month and has no report for last month.

    The staff worklist's "income reports due" (tracker/main) and the income list's ``?report_due=1``.
    """
    this_month = on.replace(day=1)
    last_month = add_months(this_month, -1)
    reported = (
        select(IncomeReport.id)
        .where(IncomeReport.income_project_id == IncomeProject.id, IncomeReport.month == last_month)
        .exists()
    )
    return and_(IncomeProject.status.in_(RUNNING), IncomeProject.started_on < this_month, ~reported)


def income_select(user, *, status: str | None = None, activity: str | None = None, report_due: str | None = None):
    stmt = (
        scoped_select(IncomeProject, user)
        .with_only_columns(IncomeProject.reference, Beneficiary.code, IncomeProject.activity, IncomeProject.status,
                           IncomeProject.started_on, IncomeProject.planned_grant, IncomeProject.currency)
        .order_by(IncomeProject.started_on.desc(), IncomeProject.reference)
    )
    if status:
        stmt = stmt.where(IncomeProject.status == status)
    if activity:
        stmt = stmt.where(func.lower(IncomeProject.activity) == activity.strip().lower())
    if report_due:
        stmt = stmt.where(income_report_due(today()))
    return stmt


def income_page(user, page: int = 1, **filters) -> Page:
    return paginate(income_select(user, **filters), page, row=lambda r: IncomeRow(*r))


@dataclass(frozen=True)
class Survival:
    months: int
    eligible: int
    still_going: int

    @property
    def share(self) -> Decimal | None:
        return (Decimal(self.still_going) / Decimal(self.eligible)) if self.eligible else None


@dataclass(frozen=True)
class ActivityProfit:
    activity: str
    projects: int
    reports: int
    median_monthly_profit_usd: Decimal | None


@dataclass(frozen=True)
class IncomeOutcomes:
    survival: list[Survival]
    by_activity: list[ActivityProfit]


def income_outcomes(user) -> IncomeOutcomes:
    """Share of activities still going 6 and 12 months after they started; median monthly profit by activity in USD.

    An activity counts for the N-month figure when it started at least N months
    ago (planned ones do not count); it is still going unless it closed as
    failed before its N-month mark. Profits are converted to USD at the rate
    in force on the first day of the month reported; months without a rate
    are left out of the median.
    """
    now = today()
    projects = db.session.execute(
        apply_scope(
            select(IncomeProject.id, IncomeProject.activity, IncomeProject.status, IncomeProject.started_on,
                   IncomeProject.closed_on),
            IncomeProject, user,
        ).where(IncomeProject.status != "planned")
    ).all()
    survival = []
    for months in (6, 12):
        eligible = still = 0
        for p in projects:
            mark = add_months(p.started_on, months)
            if mark > now:
                continue
            eligible += 1
            failed_early = p.status == "closed_failed" and (p.closed_on is None or p.closed_on < mark)
            still += 0 if failed_early else 1
        survival.append(Survival(months, eligible, still))

    reports = db.session.execute(
        apply_scope(
            select(IncomeProject.id, func.lower(IncomeProject.activity), IncomeReport.month, IncomeReport.currency,
                   type_coerce(IncomeReport.revenue - IncomeReport.costs, Money(2)))
            .select_from(IncomeReport)
            .join(IncomeReport.income_project),
            IncomeProject, user,
        )
    ).all()
    rates = rate_table({r[3] for r in reports})
    profits: dict[str, list[Decimal]] = {}
    counts: dict[str, set] = {}
    for project_id, activity, month, currency, profit in reports:
        counts.setdefault(activity, set()).add(project_id)
        rate = rate_in_table(rates, currency, month)
        if rate is not None:
            profits.setdefault(activity, []).append(round_cents(Decimal(profit) * rate))
    by_activity = [
        ActivityProfit(activity, len(counts[activity]), len(profits.get(activity, [])),
                       round_cents(statistics.median(profits[activity])) if profits.get(activity) else None)
        for activity in sorted(counts)
    ]
    return IncomeOutcomes(survival, by_activity)
