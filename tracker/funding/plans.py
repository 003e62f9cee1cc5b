"""Allocation plans: the planner's proposal (or the manager's amounts) made into allocations as one decision.

A manager looks at a plan (:mod:`tracker.funding.planner`) and allocates it: :func:`allocate_plan` records the
plan and its lines and, when its total is at most ``ALLOCATION_FOUR_EYES_USD``, one allocation per line at
once (``allocated``). A larger plan allocates nothing yet (``pending``): another manager whose countries hold
every project of the plan looks at it on today's figures (:func:`pending_review`) and confirms it
(:func:`confirm_plan`: the allocations are made then, dated that day) or rejects it with a reason
(:func:`reject_plan`); whoever made it may withdraw it (:func:`withdraw_plan`). Whoever made a plan never
confirms it.

A plan rests on figures that other people change: each decision carries the fingerprint of the figures the
manager saw (:func:`tracker.funding.planner.fingerprint`), and is refused with :class:`StalePlan`, nothing
allocated, when a payment, an allocation or a pledge recorded meanwhile changed them. The check and the
allocations hold the allocations' lock (:func:`tracker.funding.services.lock_allocations`), so that no other
allocation slips in between. Each transition is one guarded UPDATE (``... WHERE status = 'pending'``), as for
the disbursements' approvals: two managers confirming at once give exactly one confirmation.

Every service writes in one savepoint and flushes: a refusal leaves nothing of the plan; the caller commits.
Fingerprints are of the figures without pledges (:func:`current_inputs` with ``with_pledges=False``): only
money received can be allocated.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import aliased

from tracker import audit
from tracker import validation as v
from tracker.auth.scope import user_countries
from tracker.errors import Errors, Invalid
from tracker.extensions import db
from tracker.formatting import format_money
from tracker.funding import planner, services
from tracker.funding.engine import ScopeError, parse_scope
from tracker.funding.plan_solver import to_cents
from tracker.models import Allocation, AllocationPlan, AllocationPlanLine, Project, User
from tracker.models.base import now_utc, today

#: What a plan's status says to the people deciding it.
STATUS_LABELS = {
    "pending": _l("Waiting for a second manager"),
    "confirmed": _l("Confirmed"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
    "allocated": _l("Allocated"),
}


class StalePlan(Exception):
    """The figures a plan was computed on changed before it was allocated or confirmed: nothing was done.

    ``fresh`` is the plan computed again on today's figures, to show in its place."""

    def __init__(self, fresh: planner.Plan):
        self.fresh = fresh
        self.message = _l("The figures changed since this plan was computed (a payment, an allocation or a pledge "
                          "was recorded meanwhile): nothing was allocated. Here is the plan recomputed on today's "
                          "figures.")
        super().__init__(self.message)

    def __str__(self) -> str:
        return str(self.message)


class PlanConflict(Invalid):
    """Someone else decided the plan first, or it is no longer waiting for a decision; nothing was done."""


class PlanNotFound(LookupError):
    """No plan of that id that the user may see (the route answers 404)."""


# --- reading ---------------------------------------------------------------------------------------------------------

def current_inputs(*, user: User, scope: str, with_pledges: bool = False) -> planner.Inputs:
    """What a plan of ``scope`` is computed from today, over the user's countries."""
    return planner.gather(scope=scope, date_to=today(), countries=user_countries(user), with_pledges=with_pledges)


def _outside(countries):
    """A condition true for a plan one of whose projects is outside ``countries``."""
    return exists().where(AllocationPlanLine.plan_id == AllocationPlan.id,
                          AllocationPlanLine.project_id == Project.id, Project.country.not_in(countries))


def _visible(stmt, user: User):
    """Only the plans every project of which is in the user's countries."""
    countries = user_countries(user)
    if countries is None:
        return stmt
    if not countries:
        return stmt.where(AllocationPlan.id.is_(None))
    return stmt.where(~_outside(countries))


def plan_in_scope(*, plan_id, user: User) -> AllocationPlan | None:
    """The plan ``plan_id`` if the user's countries hold all its projects, else ``None`` (a 404 for routes)."""
    if not isinstance(plan_id, int) or isinstance(plan_id, bool):
        return None
    return db.session.scalars(_visible(select(AllocationPlan).where(AllocationPlan.id == plan_id), user)).first()


@dataclass(frozen=True)
class PlanRow:
    """A plan as the list of plans shows it."""

    id: int
    number: str
    scope: str
    total_usd: Decimal
    status: str
    created_by: str
    created_at: dt.datetime
    decided_by: str | None
    lines: int


def plans_in_scope(*, user: User, status: str | None = None) -> list[PlanRow]:
    """The plans whose projects are all in the user's countries, newest first; only ``status`` ones if given."""
    maker, decider = aliased(User), aliased(User)
    lines = (select(func.count(AllocationPlanLine.id)).where(AllocationPlanLine.plan_id == AllocationPlan.id)
             .correlate(AllocationPlan).scalar_subquery())
    stmt = (select(AllocationPlan.id, AllocationPlan.number, AllocationPlan.scope, AllocationPlan.total_usd,
                   AllocationPlan.status, maker.name, AllocationPlan.created_at, decider.name, lines)
            .join(maker, maker.id == AllocationPlan.created_by_id)
            .outerjoin(decider, decider.id == AllocationPlan.decided_by_id)
            .order_by(AllocationPlan.created_at.desc(), AllocationPlan.id.desc()))
    if status is not None:
        stmt = stmt.where(AllocationPlan.status == status)
    return [PlanRow(*row) for row in db.session.execute(_visible(stmt, user))]


def waiting_for(user: User) -> int:
    """How many plans in the user's countries wait for a second manager, the user's own left out."""
    stmt = select(func.count(AllocationPlan.id)).where(AllocationPlan.status == "pending",
                                                       AllocationPlan.created_by_id != user.id)
    return db.session.scalar(_visible(stmt, user)) or 0


@dataclass(frozen=True)
class SavedLine:
    """A line of a plan as it was saved."""

    project_id: int
    code: str
    amount_usd: Decimal
    children_covered: int


def plan_lines(plan_id: int) -> list[SavedLine]:
    """A plan's lines as saved, by project code (one query)."""
    rows = db.session.execute(
        select(Project.id, Project.code, AllocationPlanLine.amount_usd, AllocationPlanLine.children_covered)
        .join(Project, Project.id == AllocationPlanLine.project_id)
        .where(AllocationPlanLine.plan_id == plan_id).order_by(Project.code))
    return [SavedLine(*row) for row in rows]


def _amounts(plan: AllocationPlan) -> dict[str, Decimal]:
    return {line.code: line.amount_usd for line in plan_lines(plan.id)}


def _review(plan: AllocationPlan, inputs: planner.Inputs) -> planner.Plan:
    return planner.revise(inputs, amount=plan.amount_usd, amounts=_amounts(plan), share=plan.share)


def pending_review(*, plan: AllocationPlan, user: User) -> planner.Plan | None:
    """The plan's amounts on today's figures of its scope, as the user sees them (for the confirmation page);
    ``None`` when a project of the plan is outside the user's countries."""
    if plan_in_scope(plan_id=plan.id, user=user) is None:
        return None
    return _review(plan, current_inputs(user=user, scope=plan.scope))


# --- allocating ------------------------------------------------------------------------------------------------------

def _scope(scope) -> str:
    try:
        kind, value = parse_scope(scope)
    except ScopeError:
        kind, value = None, None
    if kind not in ("fund", "country"):
        raise Invalid(_l("%(scope)s is not a scope a plan is made for: the Fund or one country",
                         scope=str(scope)[:40]), "scope")
    return "fund" if kind == "fund" else f"country:{value}"


def _read_amounts(amounts: dict) -> dict[str, int]:
    """Cents per project code of the amounts given (zeros left out); :class:`Invalid` naming each bad one."""
    errors = Errors()
    cents = {}
    for code, value in amounts.items():
        parsed = errors.check(v.amount, value, str(code), "USD", allow_zero=True)
        if parsed:
            cents[str(code)] = to_cents(parsed)
    errors.raise_any()
    return cents


def _refuse(problems: list[tuple[str | None, str]]) -> None:
    if problems:
        errors = Errors()
        for field, message in problems:
            errors.add(message, field or "")
        errors.raise_any()


def _refuse_beyond_unallocated(total: Decimal, day: dt.date) -> None:
    available = services.unallocated_on(day)
    if total > available:
        raise Invalid(_l("The plan gives %(total)s, more than the %(available)s the Fund has received and not yet "
                         "allocated: nothing was allocated.", total=format_money(total, "USD"),
                         available=format_money(max(available, Decimal("0.00")), "USD")))


def _next_number(year: int) -> str:
    """``PLAN-2026-0001``: one more than the year's highest (the allocations' lock is held: one at a time)."""
    prefix = f"PLAN-{year}-"
    highest = db.session.scalar(select(func.max(AllocationPlan.number)).where(
        AllocationPlan.number.like(prefix + "%"), func.length(AllocationPlan.number) == len(prefix) + 4))
    tail = highest[len(prefix):] if highest else ""
    return f"{prefix}{(int(tail) if tail.isdigit() else 0) + 1:04d}"


def _note(plan: AllocationPlan, maker: User) -> str:
    """What each allocation of the plan says, in the app's own language (notes are stored once, for everyone)."""
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "en")):
        return gettext("Plan %(number)s of %(date)s by %(name)s", number=plan.number,
                       date=plan.created_at.date().isoformat(), name=maker.name or maker.email)


def _allocate_lines(plan: AllocationPlan, *, day: dt.date, user: User, maker: User) -> list[Allocation]:
    """One allocation per line of ``plan``, dated ``day``, through :func:`services.allocate`; a refusal names the
    project."""
    note = _note(plan, maker)
    lines = plan_lines(plan.id)
    projects = {p.id: p for p in db.session.scalars(
        select(Project).where(Project.id.in_([line.project_id for line in lines])))}
    made = []
    for line in lines:
        try:
            made.append(services.allocate(project=projects[line.project_id],
                                          amount_usd=line.amount_usd, allocated_on=day, note=note,
                                          user_id=user.id, plan_id=plan.id))
        except Invalid as error:
            raise Invalid({line.code: [m for ms in error.messages.values() for m in ms]}) from None
    return made


def allocate_plan(*, user: User, scope: str, amounts: dict[str, Decimal], fingerprint: str,
                  amount: Decimal | None, share: str = "need", order=()) -> AllocationPlan:
    """Record the plan of ``amounts`` (USD per project code) of ``scope``, and allocate it at once when its total
    is at most ``ALLOCATION_FOUR_EYES_USD``; above it the plan waits, allocating nothing, for a second manager.

    ``fingerprint`` is the one of the plan the manager saw; ``amount`` the money it was made for (``None``: the
    Fund's unallocated money), ``share`` and ``order`` how it was made (for a fresh plan when the figures
    changed). Raises :class:`StalePlan` when they did, :class:`Invalid` for amounts the plan cannot give."""
    scope = _scope(scope)
    if share not in planner.SHARES:
        raise Invalid(_l("%(share)s is not a way of sharing the money", share=str(share)[:20]), "share")
    if amount is not None:
        amount = v.amount(amount, "amount", "USD", allow_zero=True)
    cents = _read_amounts(amounts)
    services.lock_allocations()
    day = today()
    inputs = current_inputs(user=user, scope=scope)
    if planner.fingerprint(inputs) != fingerprint:
        raise StalePlan(planner.propose_from(inputs, amount=amount, share=share, order=tuple(order)))
    money = planner.default_amount(inputs) if amount is None else amount
    _refuse(planner.check(inputs, amount=money, cents=cents))
    if not cents:
        raise Invalid(_l("The plan gives no project anything: there is nothing to allocate."))
    seen = planner.build(inputs, amount=money, cents=cents, proposed=cents, share=share, order=tuple(order))
    total = seen.total
    _refuse_beyond_unallocated(total, day)
    pending = total > current_app.config["ALLOCATION_FOUR_EYES_USD"]
    with db.session.begin_nested():
        plan = AllocationPlan(number=_next_number(day.year), scope=scope, share=share, amount_usd=money,
                              total_usd=total, status="pending" if pending else "allocated", created_by_id=user.id,
                              created_at=now_utc())
        db.session.add(plan)
        db.session.flush()
        for line in seen.allocations:
            db.session.add(AllocationPlanLine(plan_id=plan.id, project_id=line.project_id, amount_usd=line.amount_usd,
                                              children_covered=line.children_covered))
        db.session.flush()
        if pending:
            audit.record(db.session, "submit", entity="allocation_plans", entity_id=plan.number,
                         changes={"status": [None, "pending"], "total_usd": [None, str(total)],
                                  "lines": [None, _lines_text(seen)]}, user_id=user.id)
        else:
            _allocate_lines(plan, day=day, user=user, maker=user)
    return plan


def _lines_text(seen: planner.Plan) -> str:
    return "; ".join(f"{line.code} {line.amount_usd}" for line in seen.allocations)


# --- deciding a pending plan -----------------------------------------------------------------------------------------

_ACTION_WORDS = {"confirm": _l("confirmed"), "reject": _l("rejected"), "withdraw": _l("withdrawn")}


def _pending(plan_id, user: User, action: str) -> AllocationPlan:
    plan = plan_in_scope(plan_id=plan_id, user=user)
    if plan is None:
        raise PlanNotFound(plan_id)
    if plan.status != "pending":
        raise PlanConflict(_l("%(number)s is %(status)s; it cannot be %(action)s any more", number=plan.number,
                              status=str(STATUS_LABELS[plan.status]).lower(), action=_ACTION_WORDS[action]))
    return plan


def _guarded(plan: AllocationPlan, to_state: str, *, user: User, action: str, values: dict,
             changes: dict | None = None) -> None:
    """Move ``plan`` from pending to ``to_state`` only if nobody decided it since it was read."""
    result = db.session.execute(
        update(AllocationPlan)
        .where(AllocationPlan.id == plan.id, AllocationPlan.status == "pending")
        .values(status=to_state, **values)
        .execution_options(synchronize_session=False))
    db.session.expire(plan)
    if result.rowcount != 1:
        raise PlanConflict(_l("%(number)s was decided by someone else a moment ago (it is now %(status)s); nothing "
                              "was done", number=plan.number, status=str(STATUS_LABELS[plan.status]).lower()))
    audit.record(db.session, action, entity="allocation_plans", entity_id=plan.number,
                 changes={"status": ["pending", to_state], **(changes or {})}, user_id=user.id)


def confirm_plan(*, plan_id: int, user: User, fingerprint: str) -> AllocationPlan:
    """A second manager confirms a pending plan: its allocations are made, dated today.

    Refused for whoever made it, for a plan no longer pending, and (:class:`StalePlan`, with the plan on
    today's figures) when the figures the confirmer saw (``fingerprint``) changed; refused too when the money
    or the projects no longer allow it. All or nothing."""
    services.lock_allocations()
    plan = _pending(plan_id, user, "confirm")
    if plan.created_by_id == user.id:
        raise Invalid(_l("%(number)s was made by you; another manager must confirm it", number=plan.number))
    inputs = current_inputs(user=user, scope=plan.scope)
    if planner.fingerprint(inputs) != fingerprint:
        raise StalePlan(_review(plan, inputs))
    day = today()
    amounts = _amounts(plan)
    cents = {code: to_cents(value) for code, value in amounts.items()}
    total = sum(amounts.values(), Decimal("0.00"))
    _refuse_beyond_unallocated(total, day)
    _refuse(planner.check(inputs, amount=planner.default_amount(inputs), cents=cents))
    maker = db.session.get(User, plan.created_by_id)
    with db.session.begin_nested():
        _guarded(plan, "confirmed", user=user, action="approve",
                 values={"decided_by_id": user.id, "decided_at": now_utc()},
                 changes={"allocations": [None, len(amounts)], "total_usd": [None, str(total)]})
        _allocate_lines(plan, day=day, user=user, maker=maker)
    return plan


def reject_plan(*, plan_id: int, user: User, reason: str) -> AllocationPlan:
    """Another manager turns a pending plan down, saying why; nothing is allocated."""
    plan = _pending(plan_id, user, "reject")
    if plan.created_by_id == user.id:
        raise Invalid(_l("%(number)s was made by you: withdraw it rather than reject it", number=plan.number))
    reason = v.text(reason, "reason", max_length=500)
    with db.session.begin_nested():
        _guarded(plan, "rejected", user=user, action="reject",
                 values={"decided_by_id": user.id, "decided_at": now_utc(), "reason": reason},
                 changes={"reason": [None, reason]})
    return plan


def withdraw_plan(*, plan_id: int, user: User) -> AllocationPlan:
    """Whoever made a pending plan takes it back; nothing is allocated."""
    plan = _pending(plan_id, user, "withdraw")
    if plan.created_by_id != user.id:
        raise Invalid(_l("only the manager who made %(number)s may withdraw it", number=plan.number))
    with db.session.begin_nested():
        _guarded(plan, "withdrawn", user=user, action="withdraw",
                 values={"decided_by_id": user.id, "decided_at": now_utc()})
    return plan
