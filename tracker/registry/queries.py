"""Read queries of the registry, all through the country scope, returning plain data: mothers,
children, enrolments and paternity claims (income projects are :mod:`tracker.registry.income_queries`)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, case, func, select

from tracker.auth.scope import scoped_select
from tracker.countries import name_key
from tracker.crypto import keyring
from tracker.extensions import db
from tracker.models import (
    Beneficiary,
    Child,
    ClaimStep,
    Disbursement,
    Enrolment,
    IncomeProject,
    PaternityClaim,
    Project,
)
from tracker.models.base import today
from tracker.registry.claims import FINAL_STEPS, RANK
from tracker.registry.income_queries import IncomeRow, income_rows
from tracker.web import Key, Page, keyset_page, paginate

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


def mothers_page(user, **filters) -> Page:
    """A page of the mothers list, by code, paged by key (``?after=`` a code)."""
    return keyset_page(mothers_select(user, **filters), [Key(Beneficiary.code, str)], descending=False,
                       row=lambda r: MotherRow(*r))


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
    #: The date of the ``received`` step (the claims list only).
    received_on: dt.date | None = None


@dataclass
class ChildRow:
    code: str
    year_of_birth: int
    sex: str
    first_name: str | None
    enrolments: list[EnrolmentRow] = field(default_factory=list)
    claim: ClaimRow | None = None


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

#: The columns the claims list sorts by, each with the direction its header link first asks for.
CLAIM_SORTS = {"waiting": "desc", "received": "desc", "step": "asc", "member_state": "asc"}
DEFAULT_CLAIM_SORT = "waiting"


def parse_claim_sort(raw: str | None) -> tuple[str, str]:
    """``(column, "asc"|"desc")`` from ``?sort=``: ``received`` ascending, ``-received`` descending; anything
    else is the default, longest waiting first."""
    raw = (raw or "").strip()
    column = raw.removeprefix("-")
    if column not in CLAIM_SORTS:
        return DEFAULT_CLAIM_SORT, CLAIM_SORTS[DEFAULT_CLAIM_SORT]
    return column, "desc" if raw.startswith("-") else "asc"


def _received_on():
    """The date of the claim's ``received`` step (the one in force, not a corrected one)."""
    return (
        select(func.min(ClaimStep.occurred_on))
        .where(ClaimStep.claim_id == PaternityClaim.id, ClaimStep.step == "received", ClaimStep.superseded_at.is_(None))
        .correlate(PaternityClaim)
        .scalar_subquery()
    )


def _claim_order(column: str, direction: str, member_state_names: dict[str, str]) -> list:
    """ORDER BY of the claims list. Days waiting only count for open claims: closed ones (final step) come after
    every open one in both directions of that column; the other columns break ties by the same rule."""
    closed = case((PaternityClaim.status.in_(FINAL_STEPS), 1), else_=0)
    received = _received_on()
    # Longest waiting first = the oldest date of the current step first.
    waiting = [closed, PaternityClaim.status_on.desc() if direction == "asc" else PaternityClaim.status_on]
    default_tail = [closed, PaternityClaim.status_on, Child.code]
    if column == "waiting":
        return waiting + [Child.code]
    if column == "received":
        return [case((received.is_(None), 1), else_=0), received.desc() if direction == "desc" else received,
                *default_tail]
    if column == "step":
        rank = case(RANK, value=PaternityClaim.status, else_=99)
        return [rank.desc() if direction == "desc" else rank, *default_tail]
    # Member State: in the order of the country names in the reader's language, not of their codes.
    by_name_order = sorted(member_state_names, key=lambda code: name_key(member_state_names[code]))
    order = {code: n for n, code in enumerate(by_name_order)}
    by_name = case(order, value=PaternityClaim.member_state, else_=len(order)) if order else PaternityClaim.member_state
    return [by_name.desc() if direction == "desc" else by_name, *default_tail]


def claims_select(user, *, status: str | None = None, member_state: str | None = None, open_only: bool = False,
                  min_days: int | None = None, stalled: str | None = None,
                  sort: tuple[str, str] | None = None,
                  member_state_names: dict[str, str] | None = None):
    """The claims the user may see, filtered, open claims first and the longest waiting first unless ``sort``
    (from :func:`parse_claim_sort`) asks for another order."""
    column, direction = sort or (DEFAULT_CLAIM_SORT, CLAIM_SORTS[DEFAULT_CLAIM_SORT])
    stmt = (
        scoped_select(PaternityClaim, user)
        .with_only_columns(PaternityClaim.id, Child.code, PaternityClaim.member_state,
                           PaternityClaim.personnel_category, PaternityClaim.status, PaternityClaim.status_on,
                           _received_on().label("received_on"))
        .order_by(*_claim_order(column, direction, member_state_names or {}))
    )
    if status:
        stmt = stmt.where(PaternityClaim.status == status)
    if member_state:
        stmt = stmt.where(PaternityClaim.member_state == member_state)
    if open_only or min_days:
        stmt = stmt.where(PaternityClaim.status.notin_(FINAL_STEPS))
    if min_days:
        stmt = stmt.where(PaternityClaim.status_on <= today() - dt.timedelta(days=min_days))
    if stalled:
        stmt = stmt.where(claim_stalled(today()))
    return stmt


def claim_member_states(user) -> list[str]:
    """The Member States named by the claims the user may see, by code."""
    stmt = (scoped_select(PaternityClaim, user).with_only_columns(PaternityClaim.member_state)
            .distinct().order_by(PaternityClaim.member_state))
    return list(db.session.scalars(stmt))


def claim_stalled(on: dt.date):
    """An open claim with no step for more than ``CLAIM_STALLED_DAYS`` days before ``on`` (DESIGN section 3):
    its current step (``status_on``, the date of its latest step in force) is older than that."""
    days = current_app.config["CLAIM_STALLED_DAYS"]
    return and_(PaternityClaim.status.notin_(FINAL_STEPS),
                PaternityClaim.status_on < on - dt.timedelta(days=days))


def claims_page(user, page: int = 1, **filters) -> Page:
    now = today()
    return paginate(
        claims_select(user, **filters), page,
        row=lambda r: ClaimRow(r[0], r[1], r[2], r[3], r[4], r[5], None if r[4] in FINAL_STEPS else (now - r[5]).days,
                               received_on=r[6]),
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
