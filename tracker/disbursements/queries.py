"""Read queries for disbursements: lists, entry choices, whole-term rows, approval queues."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

from sqlalchemy import and_, func, select, type_coerce
from sqlalchemy.orm import aliased

from tracker.auth.scope import apply_scope, scoped_select
from tracker.disbursements.services import HOLDING
from tracker.extensions import db
from tracker.models import AuditEvent, Beneficiary, Child, Disbursement, Enrolment, IncomeProject, Project, User
from tracker.models.base import today
from tracker.money import to_usd
from tracker.rates import rate_in_table, rate_table


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

#: The queues' age filter: waiting more than this many days.
QUEUE_AGES = (30, 60, 90)
#: The moment a payment joined each queue: submitted (to approve), approved (to pay).
_QUEUE_SINCE = {"submitted": "submitted_at", "approved": "approved_at"}


@dataclass(frozen=True)
class QueueFilters:
    project: str | None = None
    category: str | None = None
    age: int | None = None          #: waiting more than this many days
    entered_by: int | None = None   #: the id of the person who entered them

    def args(self) -> dict:
        """The filters as query arguments (codes and ids only)."""
        return {k: v for k, v in (("project", self.project), ("category", self.category), ("age", self.age),
                                  ("entered_by", self.entered_by)) if v}


@dataclass(frozen=True)
class QueueRow:
    id: int
    reference: str
    project_code: str
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
    usd_estimate: Decimal | None    #: frozen USD once approved, else estimated at the rate of the entry date
    running_usd: Decimal | None     #: this one and the older ones of its project in the list
    version_id: int
    waiting_days: int               #: whole days since it joined the queue
    over_balance: bool = False      #: the running total is more than the project's balance


@dataclass(frozen=True)
class QueueProject:
    code: str
    title: str
    title_fr: str | None
    balance: Decimal
    count: int
    total_usd: Decimal

    @property
    def over_balance(self) -> bool:
        return self.total_usd > self.balance


@dataclass(frozen=True)
class QueuePage:
    page: object                    #: a :class:`tracker.web.Page` of :class:`QueueRow`
    projects: list[QueueProject]    #: the projects of this page's rows, with what the whole list asks of them
    oldest_days: int | None         #: the longest wait in the whole list


def _queue_since(status: str):
    column = getattr(Disbursement, _QUEUE_SINCE[status])
    # Rows stored before the queue's moment was kept fall back to when they were entered.
    return type_coerce(func.coalesce(column, Disbursement.entered_at), column.type)


def _queue_select(user, status: str, filters: QueueFilters, *columns):
    since = _queue_since(status)
    stmt = (apply_scope(select(*columns).select_from(Disbursement), Disbursement, user)
            .where(Disbursement.status == status))
    if filters.project:
        stmt = stmt.where(Project.code == filters.project)
    if filters.category:
        stmt = stmt.where(Disbursement.category == filters.category)
    if filters.entered_by:
        stmt = stmt.where(Disbursement.entered_by_id == filters.entered_by)
    if filters.age:
        # More than N whole days: it joined the queue before the start of the day N days ago (UTC).
        cutoff = dt.datetime.combine(today() - dt.timedelta(days=filters.age), dt.time(), tzinfo=dt.UTC)
        stmt = stmt.where(since < cutoff)
    return stmt.order_by(since, Disbursement.id)


class _Usd:
    """USD values of queued payments: frozen ones as stored, the others at the rate of their entry date, from
    the rates of their currencies read in one query (the first time one is needed)."""

    def __init__(self, currencies):
        self.currencies = set(currencies)
        self.table = None

    def __call__(self, amount, currency, entered_on, frozen) -> Decimal | None:
        if frozen is not None:
            return frozen
        if self.table is None:
            self.table = rate_table(self.currencies - {"USD"})
        rate = rate_in_table(self.table, currency, entered_on)
        return to_usd(amount, currency, rate) if rate is not None else None


def queue_page(user, status: str, filters: QueueFilters, page: int, per_page: int = 50) -> QueuePage:
    """One page of the disbursements in ``status`` in the user's countries, the longest waiting first.

    Each row carries its project's running USD total over the whole list in that order (this one and every
    older one of the same project, earlier pages included), against the project's balance: approving the
    oldest first, the row where it passes the balance is the first the project cannot afford.
    """
    from tracker.funding.engine import project_balances
    from tracker.web import paginate_list

    # The whole list, light: what each row asks of its project (a few hundred rows of six columns).
    light = db.session.execute(_queue_select(
        user, status, filters, Disbursement.id, Disbursement.project_id, Disbursement.amount, Disbursement.currency,
        Disbursement.entered_on, Disbursement.usd_amount, _queue_since(status))).all()
    usd = _Usd(r.currency for r in light)
    running: dict[int, Decimal | None] = {}
    sums: dict[int, Decimal] = {}
    counts: dict[int, int] = {}
    for r in light:
        value = usd(r.amount, r.currency, r.entered_on, r.usd_amount)
        sums[r.project_id] = sums.get(r.project_id, Decimal("0.00")) + (value or Decimal(0))
        counts[r.project_id] = counts.get(r.project_id, 0) + 1
        running[r.id] = sums[r.project_id] if value is not None else None
    oldest = (today() - light[0][-1].date()).days if light else None
    balances = project_balances(set(sums))

    enterer = aliased(User)
    stmt = (_queue_select(
        user, status, filters, Disbursement.id, Disbursement.reference, Project.code, Disbursement.category,
        Beneficiary.code, Child.code, Disbursement.term, Disbursement.payee, Disbursement.amount,
        Disbursement.currency, Disbursement.entered_on, enterer.name, Disbursement.entered_by_id,
        Disbursement.usd_amount, Disbursement.version_id, Disbursement.project_id, _queue_since(status))
        .join(Beneficiary, Disbursement.beneficiary_id == Beneficiary.id)
        .outerjoin(Child, Disbursement.child_id == Child.id)
        .join(enterer, Disbursement.entered_by_id == enterer.id))

    def row(r) -> QueueRow:
        total = running.get(r[0])
        over = total is not None and total > balances.get(r[15], Decimal("0.00"))
        return QueueRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
                        usd(r[8], r[9], r[10], r[13]), total, r[14], (today() - r[16].date()).days, over)

    # The whole list is in order already: the page is its slice, fetched by id (no second sort, no count).
    sliced = paginate_list(light, page, per_page)
    ids = [r.id for r in sliced.items]
    rows = [row(r) for r in db.session.execute(stmt.where(Disbursement.id.in_(ids)))] if ids else []
    shown = replace(sliced, items=rows)
    on_page = {r.project_code for r in shown.items}
    projects = [QueueProject(code, title, title_fr, balances.get(pid, Decimal("0.00")), counts.get(pid, 0),
                             sums.get(pid, Decimal("0.00")))
                for pid, code, title, title_fr in db.session.execute(
                    select(Project.id, Project.code, Project.title, Project.title_fr).where(Project.id.in_(set(sums)))
                    .order_by(Project.code)) if code in on_page]
    return QueuePage(shown, projects, oldest)


def queue_enterers(user, status: str) -> list[tuple[int, str]]:
    """Who entered the payments in ``status`` in the user's countries: ``(id, name)`` by name (a filter's options)."""
    return [tuple(r) for r in db.session.execute(
        apply_scope(select(User.id, User.name).select_from(Disbursement), Disbursement, user)
        .join(User, Disbursement.entered_by_id == User.id)
        .where(Disbursement.status == status).distinct().order_by(User.name, User.id))]


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
