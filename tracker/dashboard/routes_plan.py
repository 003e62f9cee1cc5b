"""The allocation planner's pages: a proposal for the manager's parameters, recomputed on the edited amounts,
allocated (or left for a second manager to confirm above the four-eyes threshold); the plans and each plan.

No JavaScript: "Recompute" posts the edited amounts and the same page comes back with their figures beside the
planner's; "Allocate" posts the amounts of the plan shown, with the fingerprint of the data it rests on, so that
a plan computed before anything moved is refused and shown again on today's figures.
"""
from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from tracker.auth.permissions import permission
from tracker.auth.scope import user_countries
from tracker.dashboard import plan_view
from tracker.dashboard.blueprint import bp
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.formatting import format_money
from tracker.forms import ActionForm
from tracker.funding import planner, plans
from tracker.funding.engine import ScopeError
from tracker.models import Project


def _countries() -> list[str]:
    """The countries the user may plan for (all the Fund's when they see every country)."""
    countries = user_countries()
    if countries is not None:
        return sorted(countries)
    return sorted(set(db.session.scalars(db.select(Project.country).distinct())))


def _read_params(source) -> tuple[plan_view.Params, dict[str, str]]:
    params, errors = plan_view.read_params(source, user_countries())
    if "outside" in errors:
        abort(404)
    return params, errors


def _check_csrf() -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


def _fingerprint() -> str:
    """The fingerprint the page was computed on (a SHA-256 in hex); a form without one is no page's: 400."""
    value = request.form.get("fingerprint", "")
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        abort(400)
    return value


def _inputs(params: plan_view.Params, problems: list[str]):
    """Today's inputs of the scope; an unknown country falls back to all the user's, with a message."""
    try:
        return plans.current_inputs(user=current_user, scope=params.scope, with_pledges=params.with_pledges)
    except ScopeError as error:
        problems.append(str(error))
        params.country = None
        return plans.current_inputs(user=current_user, scope="fund", with_pledges=params.with_pledges)


def _compute(params: plan_view.Params, problems: list[str], edits: plan_view.Edits | None = None, inputs=None):
    """The planner's proposal, or the plan of the edited amounts; ``None`` when no plan can be made."""
    inputs = inputs if inputs is not None else _inputs(params, problems)
    try:
        if edits is None:
            return inputs, planner.propose_from(inputs, amount=params.amount, share=params.share)
        return inputs, planner.revise(inputs, amount=params.amount, amounts=edits.amounts, share=params.share,
                                      order=edits.order)
    except planner.PlanError as error:
        problems.append(str(error))
        return inputs, None


def _open_codes(inputs) -> list[str]:
    return [p.figures.code for p in inputs.projects if p.open]


def _render(params, plan, *, inputs, param_errors=None, edits=None, field_errors=None, problems=(), notices=(),
            http_status=200):
    """The planner page. ``edits`` refill the inputs as typed (else the plan's amounts are shown); ``notices``
    are shown with the problems but do not stop the plan shown from being allocated."""
    field_errors = {code: list(msgs) for code, msgs in (field_errors or {}).items()}
    problems = list(problems)
    if plan is not None:
        for code, message in plan.problems:
            if code is None:
                problems.append(message)
            else:
                field_errors.setdefault(code, []).append(message)
    typed = edits.typed if edits is not None else {}
    ranks = edits.ranks if edits is not None and edits.ranks else (plan_view.default_ranks(plan) if plan else {})
    blocked = None
    if plan is not None:
        if params.with_pledges:
            blocked = _("Pledges not yet received cannot be allocated: untick “If the pledges owed arrive” and "
                        "show the proposal again to allocate the money in hand.")
        elif field_errors or problems or (param_errors or {}):
            blocked = _("Correct the problems listed above, then recompute, before allocating.")
        elif not plan.total:
            blocked = _("There is nothing to allocate: the plan gives no money.")
    lines = [(line, plan_view.changes(line.before, line.after)) for line in plan.lines] if plan else []
    return render_template(
        "dashboard/plan.html", params=params, plan=plan, countries=_countries(),
        titles=plan_view.titles([line.code for line in plan.lines]) if plan else {},
        param_errors=param_errors or {}, field_errors=field_errors, problems=problems,
        notices=list(notices), typed=typed, ranks=ranks, lines=lines, blocked=blocked, action=ActionForm(),
        sentence=plan_view.summary(plan) if plan else "",
        totals=plan_view.changes(plan.before, plan.after) if plan else {},
        default_amount=planner.default_amount(inputs) if inputs is not None else max(plan.unallocated, planner.ZERO),
        share_labels=plan_view.SHARE_LABELS, reason_labels=plan_view.REASON_LABELS, pot_label=plan_view.pot_label,
        input_amount=lambda line: typed.get(line.code, _amount_text(line.amount_usd)) if edits is not None
        else _amount_text(line.amount_usd),
    ), http_status


def _amount_text(value) -> str:
    return f"{value:f}" if value else ""


@bp.route("/review/plan", methods=["GET", "POST"])
@permission("funding.plan")
def plan():
    """GET: the planner's proposal for the parameters. POST ("Recompute"): the plan of the edited amounts."""
    if request.method == "POST":
        _check_csrf()
    source = request.form if request.method == "POST" else request.args
    params, param_errors = _read_params(source)
    problems: list[str] = []
    if param_errors:
        return _render(params, None, inputs=_inputs(params, problems), param_errors=param_errors,
                       problems=problems, http_status=422)
    if request.method == "GET":
        inputs, shown = _compute(params, problems)
        return _render(params, shown, inputs=inputs, problems=problems)
    inputs = _inputs(params, problems)
    edits = plan_view.read_edits(source, _open_codes(inputs))
    inputs, shown = _compute(params, problems, edits, inputs)
    return _render(params, shown, inputs=inputs, edits=edits, field_errors=edits.errors, problems=problems)


@bp.route("/review/plan/allocate", methods=["POST"])
@permission("funding.plan")
def allocate():
    """Allocate the amounts of the plan shown; pending when its total needs a second manager's confirmation."""
    _check_csrf()
    params, param_errors = _read_params(request.form)
    problems: list[str] = []
    inputs = _inputs(params, problems)
    edits = plan_view.read_edits(request.form, _open_codes(inputs))
    if param_errors or edits.errors or problems:
        inputs, shown = _compute(params, problems, edits, inputs) if not param_errors else (inputs, None)
        return _render(params, shown, inputs=inputs, param_errors=param_errors, edits=edits,
                       field_errors=edits.errors, problems=problems, http_status=422)
    try:
        row = plans.allocate_plan(user=current_user, scope=params.scope, amounts=edits.amounts,
                                  fingerprint=_fingerprint(), amount=params.amount,
                                  share=params.share, order=edits.order)
        db.session.commit()
    except plans.StalePlan as stale:  # the plan recomputed on today's figures, which it read
        db.session.rollback()
        return _render(params, stale.fresh, inputs=None, notices=[str(stale)], http_status=409)
    except Invalid as error:  # the figures did not change (that would be StalePlan): the inputs read above hold
        db.session.rollback()
        field_errors = {code: msgs for code, msgs in error.messages.items() if code}
        problems = error.messages.get("", [])
        inputs, shown = _compute(params, [], edits, inputs)
        return _render(params, shown, inputs=inputs, edits=edits, field_errors=field_errors, problems=problems,
                       http_status=422)
    if row.status == "pending":
        flash(_("Plan %(number)s waits for a second manager's confirmation.", number=row.number), "success")
    else:
        flash(ngettext("Allocated %(amount)s to %(num)s project (%(number)s).",
                       "Allocated %(amount)s to %(num)s projects (%(number)s).", len(row.lines),
                       amount=format_money(row.total_usd, "USD"), number=row.number), "success")
    return redirect(url_for("dashboard.plan_show", plan_id=row.id))


# --- the plans -------------------------------------------------------------------------------------------------------

@bp.route("/review/plans/")
@permission("funding.plan")
def plans_list():
    status = request.args.get("status") if request.args.get("status") in plans.STATUS_LABELS else None
    rows = plans.plans_in_scope(user=current_user, status=status)
    return render_template("dashboard/plans.html", rows=rows, status=status, statuses=plans.STATUS_LABELS)


def _plan_in_scope(plan_id: int):
    """The plan, if it is among the user's (its projects in the user's countries); else 404."""
    found = plans.plan_in_scope(plan_id=plan_id, user=current_user)
    if found is None:
        abort(404)
    return found


def _render_plan(row, *, review=None, reject_error: str | None = None, problems=(), http_status=200):
    """A plan's page; a pending one with ``review``, its amounts on today's figures (read here when not given)."""
    if review is None and row.status == "pending":
        review = plans.pending_review(plan=row, user=current_user)
    lines = plans.plan_lines(row.id)
    return render_template(
        "dashboard/plan_show.html", row=row, review=review, lines=lines, problems=list(problems),
        titles=plan_view.titles([line.code for line in lines]),
        action=ActionForm(),
        statuses=plans.STATUS_LABELS, share_labels=plan_view.SHARE_LABELS,
        reason_labels=plan_view.REASON_LABELS, reject_error=reject_error,
        own=row.created_by_id == current_user.id,
        sentence=plan_view.summary(review) if review else "",
        totals=plan_view.changes(review.before, review.after) if review else {},
        review_lines=[(line, plan_view.changes(line.before, line.after)) for line in review.lines
                      if line.amount_usd] if review else [],
    ), http_status


@bp.route("/review/plans/<int:plan_id>")
@permission("funding.plan")
def plan_show(plan_id: int):
    return _render_plan(_plan_in_scope(plan_id))


def _decide(plan_id: int, decide, done) -> object:
    """A decision on a plan: 404 outside the user's plans; the plan shown again with what stops it, or ``done``
    (the message, given the plan's number) flashed."""
    _check_csrf()
    row = _plan_in_scope(plan_id)
    try:
        decide(row)
        db.session.commit()
    except plans.StalePlan as stale:
        db.session.rollback()
        return _render_plan(row, review=stale.fresh, problems=[str(stale)], http_status=409)
    except Invalid as error:
        db.session.rollback()
        others = [message for key, message in error.errors.items() if key != "reason"]
        return _render_plan(row, reject_error=error.errors.get("reason"), problems=others, http_status=422)
    flash(done(row.number), "success")
    return redirect(url_for("dashboard.plan_show", plan_id=plan_id))


@bp.route("/review/plans/<int:plan_id>/confirm", methods=["POST"])
@permission("funding.plan")
def plan_confirm(plan_id: int):
    return _decide(plan_id, lambda row: plans.confirm_plan(plan_id=row.id, user=current_user,
                                                           fingerprint=_fingerprint()),
                   lambda number: _("Plan %(number)s is confirmed: its allocations are made.", number=number))


@bp.route("/review/plans/<int:plan_id>/reject", methods=["POST"])
@permission("funding.plan")
def plan_reject(plan_id: int):
    reason = (request.form.get("reason") or "").strip()
    return _decide(plan_id, lambda row: plans.reject_plan(plan_id=row.id, user=current_user, reason=reason),
                   lambda number: _("Plan %(number)s is rejected: nothing is allocated.", number=number))


@bp.route("/review/plans/<int:plan_id>/withdraw", methods=["POST"])
@permission("funding.plan")
def plan_withdraw(plan_id: int):
    return _decide(plan_id, lambda row: plans.withdraw_plan(plan_id=row.id, user=current_user),
                   lambda number: _("Plan %(number)s is withdrawn: nothing is allocated.", number=number))
