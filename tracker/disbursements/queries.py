"""Read queries for disbursements: lists, entry choices, whole-term rows, approval queues."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from tracker.auth.scope import apply_scope, scoped_select
from tracker.disbursements.services import HOLDING
from tracker.extensions import db
from tracker.models import AuditEvent, Beneficiary, Child, Disbursement, Enrolment, IncomeProject, Project, User
from tracker.money import to_usd
from tracker.rates import rate_on


@dataclass(frozen=True)
class Row:
    reference: str
    project_code: str
    category: str
    mother_code: str
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


#: The staff worklist's own payments (tracker/main): ``?mine=drafts`` or ``?mine=rejected`` on the list.
MINE = {"drafts": "draft", "rejected": "rejected"}


def list_select(user, *, project=None, category=None, status=None, date_from=None, date_to=None, child=None,
                mother=None, mine=None):
    stmt = (
        scoped_select(Disbursement, user)
        .join(Beneficiary, Disbursement.beneficiary_id == Beneficiary.id)
        .outerjoin(Child, Disbursement.child_id == Child.id)
        .outerjoin(Enrolment, Disbursement.enrolment_id == Enrolment.id)
        .with_only_columns(
            Disbursement.reference, Project.code, Disbursement.category, Beneficiary.code, Child.code,
            Enrolment.academic_year, Disbursement.term, Disbursement.payee, Disbursement.amount,
            Disbursement.currency, Disbursement.usd_amount, Disbursement.status, Disbursement.entered_on,
            Disbursement.paid_on,
        )
        .order_by(Disbursement.entered_on.desc(), Disbursement.id.desc())
    )
    if project:
        stmt = stmt.where(Project.code == project)
    if category:
        stmt = stmt.where(Disbursement.category == category)
    if status:
        stmt = stmt.where(Disbursement.status == status)
    if date_from:
        stmt = stmt.where(Disbursement.entered_on >= date_from)
    if date_to:
        stmt = stmt.where(Disbursement.entered_on <= date_to)
    if child:
        stmt = stmt.where(Child.code == child)
    if mother:
        stmt = stmt.where(Beneficiary.code == mother)
    if mine in MINE:
        stmt = stmt.where(Disbursement.entered_by_id == user.id, Disbursement.status == MINE[mine])
    return stmt


# --- entry choices ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    value: str
    label: str
    payee: str | None = None
    amount: Decimal | None = None
    currency: str | None = None


def school_fee_targets(mother: Beneficiary) -> list[Target]:
    """Each term of her children's enrolments that no payment holds yet, with its school and fee."""
    rows = db.session.execute(
        select(Enrolment.id, Child.code, Enrolment.academic_year, Enrolment.school, Enrolment.fee_per_term,
               Enrolment.currency, Enrolment.terms)
        .join(Enrolment.child)
        .where(Child.mother_id == mother.id)
        .order_by(Enrolment.academic_year.desc(), Child.code)
    ).all()
    held = set()
    if rows:
        held = set(db.session.execute(
            select(Disbursement.enrolment_id, Disbursement.term).where(
                Disbursement.enrolment_id.in_([r.id for r in rows]), Disbursement.category == "school_fees",
                Disbursement.status.in_(HOLDING))
        ).all())
    targets = []
    for r in rows:
        for term in range(1, r.terms + 1):
            if (r.id, term) in held:
                continue
            targets.append(Target(f"{r.id}:{term}", f"{r.code} · {r.academic_year} · {term}", r.school,
                                  r.fee_per_term, r.currency))
    return targets


def held_school_fee_targets(mother: Beneficiary) -> list[Target]:
    """Terms already held, offered only for a top-up."""
    rows = db.session.execute(
        select(Enrolment.id, Child.code, Enrolment.academic_year, Enrolment.school, Disbursement.term,
               Enrolment.currency)
        .join(Enrolment.child)
        .join(Disbursement, and_(Disbursement.enrolment_id == Enrolment.id, Disbursement.category == "school_fees",
                                 Disbursement.status.in_(HOLDING)))
        .where(Child.mother_id == mother.id)
        .distinct()
        .order_by(Enrolment.academic_year.desc(), Child.code, Disbursement.term)
    ).all()
    return [Target(f"{r.id}:{r.term}", f"{r.code} · {r.academic_year} · {r.term}", r.school, None, r.currency)
            for r in rows]


def income_targets(mother: Beneficiary) -> list[Target]:
    rows = db.session.execute(
        select(IncomeProject.id, IncomeProject.reference, IncomeProject.activity, IncomeProject.planned_grant,
               IncomeProject.currency)
        .where(IncomeProject.beneficiary_id == mother.id,
               IncomeProject.status.notin_(("closed_successful", "closed_failed")))
        .order_by(IncomeProject.started_on.desc())
    ).all()
    return [Target(f"iga:{r.id}", f"{r.reference} · {r.activity}", None, r.planned_grant, r.currency) for r in rows]


def child_targets(mother: Beneficiary) -> list[Target]:
    rows = db.session.execute(select(Child.id, Child.code).where(Child.mother_id == mother.id).order_by(Child.number))
    return [Target(f"child:{r.id}", r.code) for r in rows]


# --- whole term ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TermRow:
    enrolment_id: int
    child_code: str
    mother_code: str
    school: str
    grade: str
    fee_per_term: Decimal
    currency: str


def term_rows(project: Project, *, academic_year: str, term: int, school: str | None = None) -> list[TermRow]:
    """Children of active mothers of the project enrolled that year with ``term`` not yet asked for or paid."""
    held = (
        select(Disbursement.id)
        .where(Disbursement.enrolment_id == Enrolment.id, Disbursement.term == term,
               Disbursement.category == "school_fees", Disbursement.status.in_(HOLDING))
        .correlate(Enrolment)
        .exists()
    )
    stmt = (
        select(Enrolment.id, Child.code, Beneficiary.code, Enrolment.school, Enrolment.grade, Enrolment.fee_per_term,
               Enrolment.currency)
        .join(Enrolment.child)
        .join(Child.mother)
        .where(Beneficiary.project_id == project.id, Beneficiary.status == "active",
               Enrolment.academic_year == academic_year, Enrolment.terms >= term, ~held)
        .order_by(Enrolment.school, Child.code)
    )
    if school:
        stmt = stmt.where(Enrolment.school == school)
    return [TermRow(*r) for r in db.session.execute(stmt)]


def schools_of(project: Project, academic_year: str) -> list[str]:
    return list(db.session.scalars(
        select(Enrolment.school).join(Enrolment.child).join(Child.mother)
        .where(Beneficiary.project_id == project.id, Enrolment.academic_year == academic_year)
        .distinct().order_by(Enrolment.school)
    ))


# --- approval queues -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueRow:
    id: int
    reference: str
    category: str
    mother_code: str
    child_code: str | None
    term: int | None
    payee: str
    amount: Decimal
    currency: str
    entered_on: dt.date
    entered_by: str
    entered_by_id: int
    usd_estimate: Decimal | None
    running_usd: Decimal | None
    version_id: int
    usd_amount: Decimal | None = None


@dataclass
class ProjectQueue:
    code: str
    title: str
    balance: Decimal
    rows: list[QueueRow] = field(default_factory=list)

    @property
    def total_usd(self) -> Decimal:
        return sum((r.usd_estimate or Decimal(0) for r in self.rows), Decimal("0.00"))

    @property
    def over_balance(self) -> bool:
        return self.total_usd > self.balance


def queue(user, status: str) -> list[ProjectQueue]:
    """Disbursements in ``status`` in the user's countries, by project, with a running USD total against the balance.

    Submitted ones have no frozen USD value yet: they are estimated at the rate
    in force on their entry date (the rate approval will freeze).
    """
    from tracker.funding.engine import project_balances

    enterer = aliased(User)
    rows = db.session.execute(
        apply_scope(
            select(Disbursement.id, Disbursement.reference, Disbursement.category, Beneficiary.code, Child.code,
                   Disbursement.term, Disbursement.payee, Disbursement.amount, Disbursement.currency,
                   Disbursement.entered_on, enterer.name, Disbursement.entered_by_id, Disbursement.usd_amount,
                   Disbursement.version_id, Project.id, Project.code, Project.title)
            .select_from(Disbursement)
            .join(Beneficiary, Disbursement.beneficiary_id == Beneficiary.id)
            .outerjoin(Child, Disbursement.child_id == Child.id)
            .join(enterer, Disbursement.entered_by_id == enterer.id),
            Disbursement, user,
        ).where(Disbursement.status == status).order_by(Project.code, Disbursement.entered_on, Disbursement.id)
    ).all()
    balances = project_balances({r[14] for r in rows})
    rates: dict[tuple[str, dt.date], Decimal | None] = {}
    groups: dict[str, ProjectQueue] = {}
    for r in rows:
        group = groups.setdefault(r[15], ProjectQueue(r[15], r[16], balances.get(r[14], Decimal("0.00"))))
        usd = r[12]
        if usd is None:
            key = (r[8], r[9])
            if key not in rates:
                rates[key] = rate_on(*key)
            usd = to_usd(r[7], r[8], rates[key]) if rates[key] is not None else None
        running = group.total_usd + (usd or Decimal(0))
        group.rows.append(QueueRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], usd,
                                   running, r[13], r[12]))
    return list(groups.values())


# --- one disbursement ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Event:
    at: dt.datetime
    action: str
    user: str | None
    changes: dict | None


def history(disbursement: Disbursement) -> list[Event]:
    rows = db.session.execute(
        select(AuditEvent.at, AuditEvent.action, User.name, AuditEvent.changes)
        .outerjoin(User, AuditEvent.user_id == User.id)
        .where(AuditEvent.entity == "disbursements", AuditEvent.entity_id == disbursement.reference)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return [Event(*r) for r in rows]
