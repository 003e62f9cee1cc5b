"""Read queries of the registry, all through the country scope, returning plain data."""
from __future__ import annotations

import datetime as dt
import re
import statistics
from bisect import bisect_right
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, func, select, type_coerce

from tracker.auth.scope import apply_scope, scoped_select
from tracker.crypto import keyring
from tracker.dates import add_months
from tracker.extensions import db
from tracker.models import (
    Beneficiary,
    Child,
    ClaimStep,
    Disbursement,
    Enrolment,
    ExchangeRate,
    IncomeProject,
    IncomeReport,
    PaternityClaim,
    Project,
)
from tracker.models.base import Money, today
from tracker.money import round_cents
from tracker.web import Page, paginate
from tracker.registry.claims import FINAL_STEPS, RANK

CODE_LIKE = re.compile(r"^[A-Z]{2}-[MC](-\d*)*$", re.IGNORECASE)
#: What a term of an enrolment looks like from its school-fee payments, strongest first.
TERM_PAID, TERM_APPROVED, TERM_PENDING, TERM_NOT_ASKED = "paid", "approved", "pending", "not_requested"


# --- mothers ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MotherRow:
    code: str
    project_code: str
    year_of_birth: int
    enrolled_on: dt.date
    status: str
    children: int
    consent_services: bool
    consent_reporting: bool


def _consent_expr(scope: str):
    given = getattr(Beneficiary, f"consent_{scope}_on")
    withdrawn = getattr(Beneficiary, f"consent_{scope}_withdrawn_on")
    return and_(given.is_not(None), withdrawn.is_(None))


def mothers_select(user, *, project: str | None = None, status: str | None = None, consent: str | None = None,
                   q: str | None = None):
    children = (
        select(func.count(Child.id)).where(Child.mother_id == Beneficiary.id).correlate(Beneficiary).scalar_subquery()
    )
    stmt = (
        scoped_select(Beneficiary, user)
        .with_only_columns(
            Beneficiary.code, Project.code, Beneficiary.year_of_birth, Beneficiary.enrolled_on, Beneficiary.status,
            children, _consent_expr("services"), _consent_expr("reporting"),
        )
        .order_by(Beneficiary.code)
    )
    return filter_mothers(stmt, project=project, status=status, consent=consent, q=q)


def filter_mothers(stmt, *, project=None, status=None, consent=None, q=None):
    """The list's filters, for any scoped select of mothers (the list, its exports)."""
    if project:
        stmt = stmt.where(Project.code == project)
    if status:
        stmt = stmt.where(Beneficiary.status == status)
    if consent == "reporting":
        stmt = stmt.where(_consent_expr("reporting"))
    elif consent == "no_reporting":
        stmt = stmt.where(~_consent_expr("reporting"))
    elif consent == "no_services":
        stmt = stmt.where(~_consent_expr("services"))
    if q:
        q = q.strip()
        if CODE_LIKE.match(q):
            stmt = stmt.where(Beneficiary.code.startswith(q.upper(), autoescape=True))
        else:
            stmt = stmt.where(Beneficiary.name_hash == keyring().name_hash(q))
    return stmt


def mothers_page(user, page: int = 1, **filters) -> Page:
    return paginate(mothers_select(user, **filters), page, row=lambda r: MotherRow(*r))


# --- a mother's page -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TermState:
    term: int
    state: str


@dataclass(frozen=True)
class EnrolmentRow:
    id: int
    child_code: str
    school: str
    academic_year: str
    grade: str
    fee_per_term: Decimal
    currency: str
    terms: list[TermState]


@dataclass(frozen=True)
class ClaimRow:
    id: int
    child_code: str
    member_state: str
    personnel_category: str
    status: str
    status_on: dt.date
    waiting_days: int | None


@dataclass
class ChildRow:
    code: str
    year_of_birth: int
    sex: str
    first_name: str | None
    enrolments: list[EnrolmentRow] = field(default_factory=list)
    claim: ClaimRow | None = None


@dataclass(frozen=True)
class IncomeRow:
    reference: str
    mother_code: str
    activity: str
    status: str
    started_on: dt.date
    planned_grant: Decimal
    currency: str


@dataclass(frozen=True)
class PaymentRow:
    reference: str
    category: str
    child_code: str | None
    academic_year: str | None
    term: int | None
    payee: str
    amount: Decimal
    currency: str
    usd_amount: Decimal | None
    status: str
    entered_on: dt.date
    paid_on: dt.date | None


@dataclass(frozen=True)
class Personal:
    full_name: str
    phone: str | None
    village: str | None


@dataclass
class MotherPage:
    code: str
    project_code: str
    project_title: str
    country: str
    year_of_birth: int
    enrolled_on: dt.date
    status: str
    exit_reason: str | None
    exited_on: dt.date | None
    consent_services_on: dt.date | None
    consent_services_withdrawn_on: dt.date | None
    consent_reporting_on: dt.date | None
    consent_reporting_withdrawn_on: dt.date | None
    personal: Personal | None
    children: list[ChildRow]
    income_projects: list[IncomeRow]
    payments: list[PaymentRow]


def term_states(enrolment_ids: list[int], terms_by_enrolment: dict[int, int]) -> dict[int, list[TermState]]:
    """For each enrolment, each term's state from its school-fee payments (rejected and voided ones do not count)."""
    found: dict[tuple[int, int], str] = {}
    rank = {"paid": 3, "approved": 2, "submitted": 1, "draft": 1}
    if enrolment_ids:
        rows = db.session.execute(
            select(Disbursement.enrolment_id, Disbursement.term, Disbursement.status).where(
                Disbursement.enrolment_id.in_(enrolment_ids),
                Disbursement.category == "school_fees",
                Disbursement.status.in_(tuple(rank)),
            )
        )
        for enrolment_id, term, status in rows:
            key = (enrolment_id, term)
            if rank[status] > rank.get(found.get(key, ""), 0):
                found[key] = status
    names = {"paid": TERM_PAID, "approved": TERM_APPROVED, "submitted": TERM_PENDING, "draft": TERM_PENDING}
    return {
        eid: [TermState(t, names.get(found.get((eid, t), ""), TERM_NOT_ASKED)) for t in range(1, terms + 1)]
        for eid, terms in terms_by_enrolment.items()
    }


def _enrolment_rows(child_ids: list[int]) -> dict[int, list[EnrolmentRow]]:
    if not child_ids:
        return {}
    rows = db.session.execute(
        select(Enrolment.id, Enrolment.child_id, Child.code, Enrolment.school, Enrolment.academic_year,
               Enrolment.grade, Enrolment.fee_per_term, Enrolment.currency, Enrolment.terms)
        .join(Enrolment.child)
        .where(Enrolment.child_id.in_(child_ids))
        .order_by(Enrolment.academic_year.desc())
    ).all()
    states = term_states([r.id for r in rows], {r.id: r.terms for r in rows})
    out: dict[int, list[EnrolmentRow]] = {}
    for r in rows:
        out.setdefault(r.child_id, []).append(
            EnrolmentRow(r.id, r.code, r.school, r.academic_year, r.grade, r.fee_per_term, r.currency, states[r.id])
        )
    return out


def _claim_rows(child_ids: list[int]) -> dict[int, ClaimRow]:
    if not child_ids:
        return {}
    now = today()
    rows = db.session.execute(
        select(PaternityClaim.id, PaternityClaim.child_id, Child.code, PaternityClaim.member_state,
               PaternityClaim.personnel_category, PaternityClaim.status, PaternityClaim.status_on)
        .join(PaternityClaim.child)
        .where(PaternityClaim.child_id.in_(child_ids))
    ).all()
    return {
        r.child_id: ClaimRow(r.id, r.code, r.member_state, r.personnel_category, r.status, r.status_on,
                             None if r.status in FINAL_STEPS else (now - r.status_on).days)
        for r in rows
    }


def payment_rows(*conditions, limit: int | None = None) -> list[PaymentRow]:
    stmt = (
        select(Disbursement.reference, Disbursement.category, Child.code, Enrolment.academic_year, Disbursement.term,
               Disbursement.payee, Disbursement.amount, Disbursement.currency, Disbursement.usd_amount,
               Disbursement.status, Disbursement.entered_on, Disbursement.paid_on)
        .outerjoin(Child, Disbursement.child_id == Child.id)
        .outerjoin(Enrolment, Disbursement.enrolment_id == Enrolment.id)
        .where(*conditions)
        .order_by(Disbursement.entered_on.desc(), Disbursement.reference.desc())
    )
    if limit:
        stmt = stmt.limit(limit)
    return [PaymentRow(*r) for r in db.session.execute(stmt)]


def income_rows(*conditions) -> list[IncomeRow]:
    rows = db.session.execute(
        select(IncomeProject.reference, Beneficiary.code, IncomeProject.activity, IncomeProject.status,
               IncomeProject.started_on, IncomeProject.planned_grant, IncomeProject.currency)
        .join(IncomeProject.beneficiary)
        .where(*conditions)
        .order_by(IncomeProject.started_on.desc())
    )
    return [IncomeRow(*r) for r in rows]


def mother_page(mother: Beneficiary, *, show_personal: bool = False) -> MotherPage:
    """Everything on a mother's page in a fixed number of queries; names only when asked for."""
    children = db.session.scalars(select(Child).where(Child.mother_id == mother.id).order_by(Child.number)).all()
    ids = [c.id for c in children]
    enrolments = _enrolment_rows(ids)
    claims = _claim_rows(ids)
    child_rows = [
        ChildRow(c.code, c.year_of_birth, c.sex, c.first_name if show_personal else None,
                 enrolments.get(c.id, []), claims.get(c.id))
        for c in children
    ]
    personal = Personal(mother.full_name, mother.phone, mother.village) if show_personal else None
    return MotherPage(
        code=mother.code, project_code=mother.project.code, project_title=mother.project.title,
        country=mother.country, year_of_birth=mother.year_of_birth, enrolled_on=mother.enrolled_on,
        status=mother.status, exit_reason=mother.exit_reason, exited_on=mother.exited_on,
        consent_services_on=mother.consent_services_on,
        consent_services_withdrawn_on=mother.consent_services_withdrawn_on,
        consent_reporting_on=mother.consent_reporting_on,
        consent_reporting_withdrawn_on=mother.consent_reporting_withdrawn_on,
        personal=personal, children=child_rows,
        income_projects=income_rows(IncomeProject.beneficiary_id == mother.id),
        payments=payment_rows(Disbursement.beneficiary_id == mother.id),
    )


@dataclass
class ChildPage:
    code: str
    mother_code: str
    year_of_birth: int
    sex: str
    first_name: str | None
    enrolments: list[EnrolmentRow]
    claim: ClaimRow | None
    payments: list[PaymentRow]


def child_page(child: Child, *, show_personal: bool = False) -> ChildPage:
    return ChildPage(
        code=child.code, mother_code=child.mother.code, year_of_birth=child.year_of_birth, sex=child.sex,
        first_name=child.first_name if show_personal else None,
        enrolments=_enrolment_rows([child.id]).get(child.id, []),
        claim=_claim_rows([child.id]).get(child.id),
        payments=payment_rows(Disbursement.child_id == child.id),
    )


# --- claims ----------------------------------------------------------------------------------------------------------

def claims_select(user, *, status: str | None = None, member_state: str | None = None, open_only: bool = False,
                  min_days: int | None = None):
    stmt = (
        scoped_select(PaternityClaim, user)
        .with_only_columns(PaternityClaim.id, Child.code, PaternityClaim.member_state,
                           PaternityClaim.personnel_category, PaternityClaim.status, PaternityClaim.status_on)
        .order_by(PaternityClaim.status_on, Child.code)
    )
    if status:
        stmt = stmt.where(PaternityClaim.status == status)
    if member_state:
        stmt = stmt.where(PaternityClaim.member_state == member_state)
    if open_only or min_days:
        stmt = stmt.where(PaternityClaim.status.notin_(FINAL_STEPS))
    if min_days:
        stmt = stmt.where(PaternityClaim.status_on <= today() - dt.timedelta(days=min_days))
    return stmt


def claims_page(user, page: int = 1, **filters) -> Page:
    now = today()
    return paginate(
        claims_select(user, **filters), page,
        row=lambda r: ClaimRow(r[0], r[1], r[2], r[3], r[4], r[5], None if r[4] in FINAL_STEPS else (now - r[5]).days),
    )


@dataclass(frozen=True)
class StepRow:
    id: int
    step: str
    occurred_on: dt.date
    recorded_at: dt.datetime
    superseded: bool
    correction_reason: str | None
    replaced_by: int | None


def claim_history(claim: PaternityClaim) -> list[StepRow]:
    steps = db.session.scalars(select(ClaimStep).where(ClaimStep.claim_id == claim.id)).all()
    ordered = sorted(steps, key=lambda s: (RANK[s.step], s.occurred_on, s.id))
    return [StepRow(s.id, s.step, s.occurred_on, s.recorded_at, s.superseded_at is not None, s.correction_reason,
                    s.superseded_by_id) for s in ordered]


# --- income projects -------------------------------------------------------------------------------------------------

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


def income_select(user, *, status: str | None = None, activity: str | None = None):
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
    rates = _rate_table({r[3] for r in reports})
    profits: dict[str, list[Decimal]] = {}
    counts: dict[str, set] = {}
    for project_id, activity, month, currency, profit in reports:
        counts.setdefault(activity, set()).add(project_id)
        rate = _rate_on(rates, currency, month)
        if rate is not None:
            profits.setdefault(activity, []).append(round_cents(Decimal(profit) * rate))
    by_activity = [
        ActivityProfit(activity, len(counts[activity]), len(profits.get(activity, [])),
                       round_cents(statistics.median(profits[activity])) if profits.get(activity) else None)
        for activity in sorted(counts)
    ]
    return IncomeOutcomes(survival, by_activity)


def _rate_table(currencies) -> dict[str, tuple[list[dt.date], list[Decimal]]]:
    table: dict[str, tuple[list[dt.date], list[Decimal]]] = {}
    if not currencies:
        return table
    for currency, valid_from, rate in db.session.execute(
        select(ExchangeRate.currency, ExchangeRate.valid_from, ExchangeRate.usd_per_unit)
        .where(ExchangeRate.currency.in_(currencies))
        .order_by(ExchangeRate.currency, ExchangeRate.valid_from)
    ):
        dates, values = table.setdefault(currency, ([], []))
        dates.append(valid_from)
        values.append(rate)
    return table


def _rate_on(table, currency: str, day: dt.date) -> Decimal | None:
    if currency == "USD":
        return Decimal(1)
    if currency not in table:
        return None
    dates, values = table[currency]
    index = bisect_right(dates, day) - 1
    return values[index] if index >= 0 else None
