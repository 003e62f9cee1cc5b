"""The disbursement lifecycle: one service holds every rule (DESIGN section 2).

``draft`` → ``submitted`` → ``approved`` → ``paid``; ``submitted`` →
``rejected``; ``approved`` or ``paid`` → ``voided`` (with a reason);
``submitted`` → ``draft`` when whoever entered it withdraws it (with a reason)
to correct it and submit it again.

Each transition is one guarded UPDATE: ``... WHERE id = :id AND status =
:expected AND version_id = :seen``. If another person moved the same
disbursement a moment earlier the UPDATE changes no row and the second person
gets a clear refusal, so two managers approving at once give exactly one
approval, on SQLite and on PostgreSQL alike. Whoever entered a disbursement can
never approve it (the database refuses it too). Services flush; the caller
commits once.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from tracker import audit
from tracker import validation as v
from tracker.errors import Errors, Invalid
from tracker.extensions import db
from tracker.funding.rates import usd_value
from tracker.models import CATEGORIES, Beneficiary, Child, Disbursement, Enrolment, IncomeProject, Project, User
from tracker.models.base import now_utc, today
from tracker.registry.codes import lock_counter
from tracker.vocab import label

#: Disbursements that hold a term of school fees (a second one needs a top-up reason).
HOLDING = ("draft", "submitted", "approved", "paid")


class Conflict(Invalid):
    """Someone else changed the disbursement first; nothing was done."""


@dataclass(frozen=True)
class Transition:
    name: str
    from_states: tuple[str, ...]
    to_state: str


TRANSITIONS = {
    "submit": Transition("submit", ("draft",), "submitted"),
    "approve": Transition("approve", ("submitted",), "approved"),
    "reject": Transition("reject", ("submitted",), "rejected"),
    "pay": Transition("pay", ("approved",), "paid"),
    "void": Transition("void", ("approved", "paid"), "voided"),
    "withdraw": Transition("withdraw", ("submitted",), "draft"),
}


def reference_prefix(country: str, year: int) -> str:
    """``DB-CD-2026-``: the start of every payment number of a country and year (:func:`new_reference`)."""
    return f"DB-{country}-{year}-"


def new_reference(country: str, year: int) -> str:
    """``DB-CD-2026-000123``: the next payment number of ``country`` for ``year`` (the year it was entered).

    One scheme wherever a payment gets a number: the entry form, the whole-term batch and the demo
    (:mod:`tracker.demo.payments`); imports bring their own. The country's counter row (kind ``D``) is locked
    until commit (:func:`~tracker.registry.codes.lock_counter`: the row's lock on PostgreSQL, the write lock on
    SQLite), so two people entering at once take turns; the number is then one more than the highest of that
    country and year already stored, which also counts the demo's and imported ones. Only six-digit numbers
    count, so their text order is their number order under any collation; a number is never reused because
    references are never deleted.
    """
    lock_counter(db.session, country, "D")
    prefix = reference_prefix(country, year)
    highest = db.session.scalar(
        select(Disbursement.reference)
        .where(Disbursement.reference.like(prefix + "%"), Disbursement.reference >= prefix,
               Disbursement.reference <= prefix + "999999", func.length(Disbursement.reference) == len(prefix) + 6)
        .order_by(Disbursement.reference.desc()).limit(1))
    tail = highest[len(prefix):] if highest else ""
    return f"{prefix}{(int(tail) if tail.isdigit() else 0) + 1:06d}"


def _guarded(disbursement: Disbursement, transition: Transition, values: dict, *, user: User,
             note: dict | None = None) -> Disbursement:
    """Move ``disbursement`` along ``transition`` only if nobody moved it since it was read.

    ``note`` adds to the audit event what has no column (the reason of a withdrawal)."""
    if disbursement.status not in transition.from_states:
        raise Conflict(_l("%(ref)s is %(status)s; it cannot be %(action)s",
                          ref=disbursement.reference, status=label(disbursement.status).lower(),
                          action=_ACTION_WORDS[transition.name]))
    seen_status, seen_version = disbursement.status, disbursement.version_id
    result = db.session.execute(
        update(Disbursement)
        .where(Disbursement.id == disbursement.id, Disbursement.status == seen_status,
               Disbursement.version_id == seen_version)
        .values(status=transition.to_state, version_id=seen_version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.expire(disbursement)
        raise Conflict(_l("%(ref)s was changed by someone else a moment ago (it is now %(status)s); nothing was done",
                          ref=disbursement.reference, status=label(disbursement.status).lower()))
    db.session.expire(disbursement)
    changes = {"status": [seen_status, transition.to_state]}
    for key, value in values.items():
        if key.endswith("_by_id") or key.endswith("_at"):
            continue
        changes[key] = [None, value.isoformat() if hasattr(value, "isoformat") else str(value)]
    changes.update(note or {})
    audit.record(db.session, transition.name, entity="disbursements", entity_id=disbursement.reference,
                 changes=changes, user_id=user.id)
    return disbursement


_ACTION_WORDS = {
    "submit": _l("submitted"), "approve": _l("approved"), "reject": _l("rejected"), "pay": _l("paid"),
    "void": _l("voided"), "withdraw": _l("withdrawn"),
}


def submit(*, disbursement: Disbursement, user: User) -> Disbursement:
    return _guarded(disbursement, TRANSITIONS["submit"],
                    {"submitted_by_id": user.id, "submitted_at": now_utc()}, user=user)


def approve(*, disbursement: Disbursement, user: User) -> Disbursement:
    """Approve, freezing the USD value at the rate in force on the entry date (four eyes)."""
    if disbursement.entered_by_id == user.id:
        raise Invalid(_l("%(ref)s was entered by you; another manager must approve it",
                         ref=disbursement.reference))
    usd, rate = usd_value(disbursement.amount, disbursement.currency, disbursement.entered_on)
    return _guarded(disbursement, TRANSITIONS["approve"],
                    {"approved_by_id": user.id, "approved_at": now_utc(), "usd_amount": usd, "usd_rate": rate},
                    user=user)


def reject(*, disbursement: Disbursement, user: User, reason: str) -> Disbursement:
    reason = v.text(reason, "reason", max_length=500)
    return _guarded(disbursement, TRANSITIONS["reject"],
                    {"rejected_by_id": user.id, "rejected_at": now_utc(), "rejection_reason": reason}, user=user)


def pay(*, disbursement: Disbursement, user: User, paid_on, payment_reference: str) -> Disbursement:
    """Record the payment: a date (not in the future) and a reference unique within the project."""
    paid_on = v.date(paid_on, "paid_on")
    reference = v.text(payment_reference, "payment_reference", max_length=80)
    if paid_on < disbursement.entered_on:
        raise Invalid(_l("is before the payment was entered (%(date)s)", date=disbursement.entered_on.isoformat()),
                      "paid_on")
    taken = db.session.scalar(select(Disbursement.reference).where(
        Disbursement.project_id == disbursement.project_id, Disbursement.payment_reference == reference,
        Disbursement.id != disbursement.id))
    if taken is not None:
        raise Invalid(_l("%(pay)s is already the payment reference of %(ref)s in this project",
                         pay=reference, ref=taken), "payment_reference")
    try:
        with db.session.begin_nested():
            return _guarded(disbursement, TRANSITIONS["pay"],
                            {"paid_by_id": user.id, "paid_at": now_utc(), "paid_on": paid_on,
                             "payment_reference": reference}, user=user)
    except IntegrityError:
        raise Invalid(_l("%(pay)s is already a payment reference in this project", pay=reference),
                      "payment_reference") from None


def void(*, disbursement: Disbursement, user: User, reason: str) -> Disbursement:
    reason = v.text(reason, "reason", max_length=500)
    return _guarded(disbursement, TRANSITIONS["void"],
                    {"voided_by_id": user.id, "voided_at": now_utc(), "void_reason": reason}, user=user)


def withdraw(*, disbursement: Disbursement, user: User, reason: str) -> Disbursement:
    """Take a submitted payment back to draft, to correct it: only whoever entered it, only before a decision.

    The guarded UPDATE (``WHERE status = 'submitted' AND version_id = :seen``) makes a withdrawal and a manager's
    approval at the same moment end in exactly one of the two. The reason has no column: the audit event holds
    it. Submitting it again needs a new approval, and four eyes still hold (the one who entered it never approves).
    """
    if disbursement.entered_by_id != user.id:
        raise Invalid(_l("only the person who entered %(ref)s may withdraw it", ref=disbursement.reference))
    reason = v.text(reason, "reason", max_length=200)
    return _guarded(disbursement, TRANSITIONS["withdraw"], {"submitted_by_id": None, "submitted_at": None},
                    user=user, note={"reason": [None, reason]})


def correct(*, disbursement: Disbursement, user: User, payee: str, amount, currency: str,
            entered_on=None) -> Disbursement:
    """Correct a draft's payee, amount, currency and date; only whoever entered it (so four eyes still hold).

    One guarded UPDATE (``WHERE status = 'draft' AND version_id = :seen``): a draft submitted or corrected by
    another tab a moment earlier is refused, not overwritten. The audit event lists each value before and after.
    """
    if disbursement.entered_by_id != user.id:
        raise Invalid(_l("only the person who entered %(ref)s may correct it", ref=disbursement.reference))
    if disbursement.status != "draft":
        raise Conflict(_l("%(ref)s is %(status)s; only a draft can be corrected",
                          ref=disbursement.reference, status=label(disbursement.status).lower()))
    currency = v.currency(currency)
    values = {"payee": v.text(payee, "payee", max_length=200), "amount": v.amount(amount, "amount", currency),
              "currency": currency, "entered_on": v.date(entered_on or today(), "entered_on")}
    changes = {}
    for key, value in values.items():
        before = getattr(disbursement, key)
        if before != value:
            changes[key] = [str(before) if not hasattr(before, "isoformat") else before.isoformat(),
                            str(value) if not hasattr(value, "isoformat") else value.isoformat()]
    if not changes:
        return disbursement
    seen = disbursement.version_id
    result = db.session.execute(
        update(Disbursement)
        .where(Disbursement.id == disbursement.id, Disbursement.status == "draft", Disbursement.version_id == seen)
        .values(version_id=seen + 1, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(disbursement)
    if result.rowcount != 1:
        raise Conflict(_l("%(ref)s was changed by someone else a moment ago (it is now %(status)s); nothing was done",
                          ref=disbursement.reference, status=label(disbursement.status).lower()))
    audit.record(db.session, "correct", entity="disbursements", entity_id=disbursement.reference,
                 changes=changes, user_id=user.id)
    return disbursement


# --- entry -----------------------------------------------------------------------------------------------------------

def holding_disbursement(enrolment_id: int, term: int, *, exclude_id: int | None = None) -> str | None:
    """The reference of a school-fee disbursement already holding this term, if any."""
    stmt = select(Disbursement.reference).where(
        Disbursement.enrolment_id == enrolment_id, Disbursement.term == term,
        Disbursement.category == "school_fees", Disbursement.status.in_(HOLDING),
    )
    if exclude_id:
        stmt = stmt.where(Disbursement.id != exclude_id)
    return db.session.scalar(stmt.limit(1))


class Entry(NamedTuple):
    """The values of a disbursement entry once :func:`check_entry` accepted them (a named tuple: an import makes
    one per row)."""
    category: str
    currency: str
    amount: Decimal
    payee: str
    entered_on: dt.date
    term: int | None
    top_up_reason: str | None


def check_entry(*, project: Project, category: str, beneficiary: Beneficiary, payee: str, amount, currency: str,
                entered_on=None, child: Child | None = None, enrolment: Enrolment | None = None, term=None,
                income_project: IncomeProject | None = None, top_up: bool = False, top_up_reason: str | None = None,
                past: bool = False, holder: Callable[[int, int], str | None] | None = None) -> Entry:
    """Every rule of an entry but its reference (:func:`enter`); raises :class:`Invalid` naming every problem
    at once (a rule that needs a value refused by another is skipped).

    ``holder(enrolment_id, term)`` names the disbursement already holding a term of school fees
    (:func:`holding_disbursement` unless a batch import knows them already).
    """
    errors = Errors()
    category, currency, amount, payee, entered_on = check_entry_values(
        errors, category=category, currency=currency, amount=amount, payee=payee, entered_on=entered_on)
    if beneficiary.project_id != project.id:
        errors.add(_l("%(code)s is not enrolled in %(project)s", code=beneficiary.code, project=project.code),
                   "mother_code")
    if project.status == "closed" and not past:
        errors.add(_l("project %(code)s is closed", code=project.code), "project_code")
    if beneficiary.status != "active" and not past:
        errors.add(_l("%(code)s has left the programme", code=beneficiary.code), "mother_code")
    if child is not None and child.mother_id != beneficiary.id:
        errors.add(_l("%(child)s is not a child of %(mother)s", child=child.code, mother=beneficiary.code),
                   "child_code")
    if category == "school_fees":
        term = _check_term(child, enrolment, term, top_up, holder, errors)
    elif category is not None:
        if enrolment is not None or term not in (None, ""):
            errors.add(_l("only school fees have an academic year and a term"), "term")
        term = None
    if category == "iga":
        if income_project is None:
            errors.add(_l("an income-activity grant needs the income activity"), "income_project_reference")
        elif income_project.beneficiary_id != beneficiary.id:
            errors.add(_l("%(ref)s is not an activity of %(mother)s", ref=income_project.reference,
                          mother=beneficiary.code), "income_project_reference")
    elif category is not None and income_project is not None:
        errors.add(_l("only income-activity grants name an income activity"), "income_project_reference")
    top_up_reason = errors.check(v.text, top_up_reason, "top_up_reason", required=bool(top_up), max_length=500)
    errors.raise_any()
    return Entry(category=category, currency=currency, amount=amount, payee=payee, entered_on=entered_on,
                 term=term, top_up_reason=top_up_reason)


def check_entry_values(errors: Errors, *, category, currency, amount, payee, entered_on) -> tuple:
    """The values of an entry that need no record, checked into ``errors``: ``(category, currency, amount, payee,
    entered_on)``, ``None`` for each refused. An import row naming an unknown mother still reports these."""
    category = errors.check(v.choice, category, "category", CATEGORIES)
    currency = errors.check(v.currency, currency)
    amount = errors.check(v.amount, amount, "amount", currency)
    payee = errors.check(v.text, payee, "payee", max_length=200)
    entered_on = errors.check(v.date, entered_on or today(), "entered_on")
    return category, currency, amount, payee, entered_on


def _check_term(child, enrolment, term, top_up, holder, errors: Errors) -> int | None:
    """The term of a school-fee payment: of the child's enrolment, and not held already unless a top-up."""
    if child is None:
        errors.add(_l("school fees need the child"), "child_code")
        return None
    if enrolment is None:
        errors.add(_l("school fees need the child's enrolment (academic year)"), "academic_year")
        return None
    if enrolment.child_id != child.id:
        errors.add(_l("this enrolment is not of %(child)s", child=child.code), "academic_year")
        return None
    term = errors.check(v.integer, term, "term", minimum=1)
    if term is None:
        return None
    if term > enrolment.terms:
        errors.add(_l("the enrolment for %(year)s has %(n)d terms", year=enrolment.academic_year, n=enrolment.terms),
                   "term")
        return term
    held_by = (holding_disbursement if holder is None else holder)(enrolment.id, term)
    if held_by and not top_up:
        errors.add(_l("term %(term)d of %(child)s is already asked for or paid (%(ref)s); mark this one as a "
                      "top-up with a reason if it is really a second payment",
                      term=term, child=child.code, ref=held_by), "term")
    if top_up and not held_by:
        errors.add(_l("term %(term)d of %(child)s has no payment to top up", term=term, child=child.code), "term")
    return term


def enter(*, project: Project, category: str, beneficiary: Beneficiary, payee: str, amount, currency: str,
          user: User, entered_on=None, child: Child | None = None, enrolment: Enrolment | None = None,
          term=None, income_project: IncomeProject | None = None, top_up: bool = False,
          top_up_reason: str | None = None, submit_now: bool = True, request_key: str | None = None,
          reference: str | None = None, batch_key: str | None = None, past: bool = False) -> Disbursement:
    """Enter a disbursement (and submit it for approval unless kept as a draft).

    The same ``request_key`` (one per form shown) never creates two: a double
    click or a retried request returns the disbursement made the first time.
    """
    if request_key:
        existing = db.session.scalars(select(Disbursement).where(Disbursement.request_key == request_key)).first()
        if existing is not None:
            return existing
    checked = check_entry(project=project, category=category, beneficiary=beneficiary, payee=payee, amount=amount,
                          currency=currency, entered_on=entered_on, child=child, enrolment=enrolment, term=term,
                          income_project=income_project, top_up=top_up, top_up_reason=top_up_reason, past=past)
    category, currency, amount, payee = checked.category, checked.currency, checked.amount, checked.payee
    entered_on, term, top_up_reason = checked.entered_on, checked.term, checked.top_up_reason
    if reference:
        reference = v.text(reference, "reference", max_length=60)
        if db.session.scalar(select(Disbursement.id).where(Disbursement.reference == reference)) is not None:
            raise Invalid(_l("%(ref)s exists already", ref=reference), "reference")
    moment = now_utc()
    child_code = child.code if child else None  # read now: nothing can be loaded after a failed flush
    disbursement = Disbursement(
        reference=reference or new_reference(project.country, entered_on.year), project_id=project.id,
        category=category,
        beneficiary_id=beneficiary.id, child_id=child.id if child else None,
        enrolment_id=enrolment.id if enrolment else None, term=term,
        income_project_id=income_project.id if income_project else None,
        payee=payee, amount=amount, currency=currency, entered_on=entered_on,
        status="submitted" if submit_now else "draft",
        submitted_by_id=user.id if submit_now else None, submitted_at=moment if submit_now else None,
        top_up=bool(top_up), top_up_reason=top_up_reason if top_up else None, request_key=request_key,
        batch_key=batch_key, entered_by_id=user.id, entered_at=moment,
    )
    if request_key:
        # A retried request races its twin: the unique request key decides, and the first one is returned.
        try:
            with db.session.begin_nested():
                db.session.add(disbursement)
                db.session.flush()
        except IntegrityError:
            existing = db.session.scalars(select(Disbursement).where(Disbursement.request_key == request_key)).first()
            if existing is not None:
                return existing
            _refuse_taken_term(category, top_up, term, child_code)
            raise
    else:
        db.session.add(disbursement)
        try:
            db.session.flush()
        except IntegrityError:
            # The caller (an import row, a batch) rolls back its savepoint; say why.
            _refuse_taken_term(category, top_up, term, child_code)
            raise
    if submit_now:
        # Entered and submitted at once: the log still shows both steps.
        audit.record(db.session, "submit", entity="disbursements", entity_id=disbursement.reference,
                     changes={"status": ["draft", "submitted"]}, user_id=user.id)
    return disbursement


def _refuse_taken_term(category, top_up, term, child_code) -> None:
    """The unique index refused a second payment holding a term: someone entered it a moment ago."""
    if category == "school_fees" and not top_up:
        raise Invalid(_l("term %(term)d of %(child)s was asked for by someone else a moment ago",
                         term=term, child=child_code), "term") from None


def count_for_project(project_id: int, status: str) -> int:
    return db.session.scalar(
        select(func.count(Disbursement.id)).where(Disbursement.project_id == project_id, Disbursement.status == status)
    ) or 0


