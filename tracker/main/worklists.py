"""What needs doing, per role: the home pages' worklists, as plain data.

Each count of the staff worklist is the count of a list's own query with one
filter added (``?stalled=1`` on the claims, ``?report_due=1`` on the income
activities, ``?mine=drafts|rejected`` on the disbursements, and the children
whose current term is unpaid, :func:`unpaid_terms_select`), so that the link
beside a count always shows exactly the rows counted.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from babel.dates import get_month_names
from flask import current_app
from sqlalchemy import case, exists, func, select

from tracker.auth.scope import apply_scope, user_countries
from tracker.dates import academic_year_of
from tracker.disbursements.queries import list_select
from tracker.extensions import db
from tracker.formatting import locale_code
from tracker.funding import plans
from tracker.funding.engine import ProjectFigures, funding_picture
from tracker.models import AuditEvent, Beneficiary, Child, Disbursement, Enrolment, Project, User
from tracker.models.base import now_utc
from tracker.registry.income_queries import income_select
from tracker.registry.queries import claims_select
from tracker.reports.suppression import UnprotectableTableError, suppress
from tracker.web import Page, paginate

#: Payments of a school-fee term that count as asked for: a draft is not (it is in "my drafts").
TERM_ASKED = ("submitted", "approved", "paid")
#: A project whose money lasts less than this many months (at its recent spending) is short of runway.
SHORT_RUNWAY_MONTHS = Decimal("2")


# --- the current term ------------------------------------------------------------------------------------------------

def _month_index(on: dt.date) -> int:
    """Whole months from the start of the academic year to ``on``'s month: 0 in the first month, 11 in the last."""
    return (on.month - current_app.config["ACADEMIC_YEAR_START_MONTH"]) % 12


def current_term(on: dt.date, terms: int) -> int:
    """The term of an enrolment of ``terms`` terms that ``on`` falls in.

    The academic year (12 months from ``ACADEMIC_YEAR_START_MONTH``, 1 September by default) is split into
    ``terms`` equal parts: with 3 terms, September-December is term 1, January-April term 2, May-August term 3;
    with 4 terms, three months each; with 2, six months each.
    """
    return _month_index(on) * terms // 12 + 1


def term_months(terms: int) -> list[tuple[str, str]]:
    """Each term's first and last month, by name in the reader's language (for the page that explains it)."""
    names = get_month_names("wide", locale=locale_code())
    start = current_app.config["ACADEMIC_YEAR_START_MONTH"]
    out = []
    for k in range(1, terms + 1):
        first = -(-(k - 1) * 12 // terms)  # the first month index m with m * terms // 12 == k - 1
        last = -(-k * 12 // terms) - 1
        out.append((names[(start - 1 + first) % 12 + 1], names[(start - 1 + last) % 12 + 1]))
    return out


@dataclass(frozen=True)
class UnpaidTerm:
    child_code: str
    mother_code: str
    project_code: str
    school: str
    academic_year: str
    term: int
    terms: int
    fee_per_term: Decimal
    currency: str


def unpaid_terms_select(user, on: dt.date):
    """Children of active mothers, in the user's countries, enrolled this academic year, whose current term
    (:func:`current_term` of their enrolment) has no school-fee payment submitted, approved or paid."""
    index = _month_index(on)
    term_now = case({n: index * n // 12 + 1 for n in (1, 2, 3, 4)}, value=Enrolment.terms)
    asked = exists().where(
        Disbursement.enrolment_id == Enrolment.id, Disbursement.term == term_now,
        Disbursement.category == "school_fees", Disbursement.status.in_(TERM_ASKED),
    )
    stmt = select(
        Child.code, Beneficiary.code, Project.code, Enrolment.school, Enrolment.academic_year, term_now,
        Enrolment.terms, Enrolment.fee_per_term, Enrolment.currency,
    ).select_from(Enrolment)
    return (
        apply_scope(stmt, Enrolment, user)
        .where(Enrolment.academic_year == academic_year_of(on), Beneficiary.status == "active", ~asked)
        .order_by(Project.code, Child.code)
    )


def unpaid_terms_page(user, on: dt.date, page: int, per_page: int | None = None) -> Page:
    return paginate(unpaid_terms_select(user, on), page, per_page, row=lambda r: UnpaidTerm(*r))


# --- staff -----------------------------------------------------------------------------------------------------------

def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


@dataclass(frozen=True)
class StaffWorklist:
    on: dt.date
    academic_year: str
    unpaid_terms: int
    stalled_claims: int
    stalled_days: int
    reports_due: int
    report_month: dt.date
    my_drafts: int
    my_rejected: int


def staff_worklist(user, on: dt.date) -> StaffWorklist:
    """The staff home's counts, each that of the list its link opens (same query, same filter)."""
    last_month = (on.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    return StaffWorklist(
        on=on,
        academic_year=academic_year_of(on),
        unpaid_terms=_count(unpaid_terms_select(user, on)),
        stalled_claims=_count(claims_select(user, stalled="1")),
        stalled_days=current_app.config["CLAIM_STALLED_DAYS"],
        reports_due=_count(income_select(user, report_due="1")),
        report_month=last_month,
        my_drafts=_count(list_select(user, mine="drafts")),
        my_rejected=_count(list_select(user, mine="rejected")),
    )


# --- managers --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ManagerHome:
    waiting: int
    #: Allocation plans of other managers waiting for a second manager's confirmation.
    plans_waiting: int
    #: The oldest waiting payment (by the date it was entered) and how many days ago that was.
    oldest_reference: str | None
    oldest_days: int | None
    overcommitted: list[ProjectFigures]
    short_runway: list[ProjectFigures]
    children_at_risk: int
    at_risk_cost: Decimal
    date_from: dt.date
    date_to: dt.date


def manager_home(user, on: dt.date) -> ManagerHome:
    """Payments waiting for a decision, and the funding engine's warnings, for the manager's countries."""
    oldest = db.session.execute(
        apply_scope(select(Disbursement.reference, Disbursement.entered_on), Disbursement, user)
        .where(Disbursement.status == "submitted")
        .order_by(Disbursement.entered_on, Disbursement.id).limit(1)
    ).first()
    waiting = _count(apply_scope(select(Disbursement.id), Disbursement, user).where(Disbursement.status == "submitted"))
    picture = funding_picture(scope="fund", countries=user_countries(user), with_children=False)
    over = [p for p in picture.projects if p.overcommitted > 0]
    short = [p for p in picture.projects
             if not p.overcommitted and p.runway_months is not None and p.runway_months < SHORT_RUNWAY_MONTHS]
    return ManagerHome(
        waiting=waiting,
        plans_waiting=plans.waiting_for(user),
        oldest_reference=oldest.reference if oldest else None,
        oldest_days=(on - oldest.entered_on).days if oldest else None,
        overcommitted=sorted(over, key=lambda p: (-p.overcommitted, p.code)),
        short_runway=sorted(short, key=lambda p: (p.runway_months, p.code)),
        children_at_risk=picture.totals.children_at_risk,
        at_risk_cost=picture.totals.at_risk_cost,
        date_from=picture.date_from,
        date_to=picture.date_to,
    )


# --- donors ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DonorHeadline:
    date_from: dt.date
    date_to: dt.date
    need: Decimal
    allocated: Decimal
    coverage: Decimal | None
    gap: Decimal
    uncovered_gap: Decimal
    received: Decimal
    outstanding_pledges: Decimal
    #: The children at risk as a donor may read it: "0", "<10", "131", or ``None`` when it cannot be published.
    children_at_risk: str | None
    at_risk_cost: Decimal


def donor_headline() -> DonorHeadline:
    """The whole Fund's figures, as the donor reports give them: money in whole dollars, people as
    suppressed counts (a count from 1 to ``REPORT_MIN_CELL`` - 1 reads "<10")."""
    picture = funding_picture(scope="fund", countries=None, with_children=False)
    t, fund = picture.totals, picture.fund
    min_cell = current_app.config["REPORT_MIN_CELL"]
    try:
        children = suppress([[t.children_at_risk]], min_cell=min_cell).grand_total.display(min_cell)
    except UnprotectableTableError:
        children = None
    return DonorHeadline(
        date_from=picture.date_from, date_to=picture.date_to, need=t.need, allocated=t.allocated,
        coverage=t.coverage, gap=t.gap, uncovered_gap=t.uncovered_gap, received=fund.received,
        outstanding_pledges=fund.outstanding_pledges, children_at_risk=children, at_risk_cost=t.at_risk_cost,
    )


# --- administrators --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AdminHome:
    active_users: int
    locked_users: int
    #: Active users whose role must sign in with a second factor (``TWO_FACTOR_REQUIRED_ROLES``) and who have none
    #: yet: they are made to set one up at their next sign-in.
    without_second_factor: int
    audit_events_week: int


def admin_home() -> AdminHome:
    now = now_utc()
    required = tuple(current_app.config.get("TWO_FACTOR_REQUIRED_ROLES") or ()) or ("-",)
    active, locked, no_2fa = db.session.execute(
        select(
            func.count(User.id).filter(User.active.is_(True)),
            func.count(User.id).filter(User.active.is_(True), User.locked_until > now),
            func.count(User.id).filter(User.active.is_(True), User.role.in_(required),
                                       User.totp_enabled_at.is_(None)),
        )
    ).one()
    events = db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.at >= now - dt.timedelta(days=7)))
    return AdminHome(active or 0, locked or 0, no_2fa or 0, events or 0)
