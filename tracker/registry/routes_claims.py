"""Paternity claims: open, move on, correct, and the stalled list managers ask for."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tracker import audit
from tracker.auth.permissions import permission
from tracker.auth.scope import get_scoped_or_404
from tracker.countries import country_choices, country_name, name_key
from tracker.database import writes_on_get
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.formatting import locale_code
from tracker.forms import check_too, show_errors
from tracker.models import CLAIM_STEPS, Child, ClaimStep, PaternityClaim
from tracker.models.base import today
from tracker.registry import claims
from tracker.registry.blueprint import bp
from tracker.registry.forms import ClaimForm, CorrectStepForm, StepForm
from tracker.registry.queries import (
    CLAIM_SORTS,
    DEFAULT_CLAIM_SORT,
    claim_history,
    claim_member_states,
    claims_page,
    claims_select,
    parse_claim_sort,
)
from tracker.web import SelectChoice, page_number, vocab_choices

EXPORT_HEADER = ["child_code", "member_state", "personnel_category", "status", "status_on", "waiting_days"]


def _filters() -> dict:
    args = request.args
    days = args.get("min_days", "")
    return {
        "status": args.get("status") if args.get("status") in CLAIM_STEPS else None,
        "member_state": (args.get("member_state") or "").upper()[:2] or None,
        "open_only": args.get("open") == "1",
        "min_days": int(days) if days.isascii() and days.isdigit() and 0 < int(days) < 100000 else None,
        # The staff worklist's "no step for 90 days" (tracker/main): open claims past CLAIM_STALLED_DAYS.
        "stalled": "1" if args.get("stalled") == "1" else None,
    }


def _member_state_names() -> dict[str, str]:
    """The Member States of the claims the user may see, code → name in the reader's language."""
    locale = locale_code()
    return {code: country_name(code, locale) for code in claim_member_states(current_user)}


@bp.route("/claims/")
@permission("records.view")
def claims_list():
    """Open claims first, the longest waiting first, unless a column header asked for another order."""
    filters = _filters()
    names = _member_state_names()
    sort = parse_claim_sort(request.args.get("sort"))
    page = claims_page(current_user, page_number(), sort=sort, member_state_names=names, **filters)
    member_states = sorted(names.items(), key=lambda item: name_key(item[1]))
    if filters["member_state"] and filters["member_state"] not in names:
        # A code typed into the URL that no claim names: keep it chosen, so the empty result explains itself.
        member_states.append((filters["member_state"], country_name(filters["member_state"], locale_code())))
    return render_template("registry/claims.html", page=page, filters=filters, steps=CLAIM_STEPS,
                           member_states=[SelectChoice(code, name) for code, name in member_states],
                           sort=sort, sorts=CLAIM_SORTS, sort_arg=_sort_arg(sort))


def _sort_arg(sort: tuple[str, str]) -> str | None:
    """``?sort=`` as the links carry it (nothing for the default order)."""
    if sort == (DEFAULT_CLAIM_SORT, CLAIM_SORTS[DEFAULT_CLAIM_SORT]):
        return None
    return ("-" if sort[1] == "desc" else "") + sort[0]


@bp.route("/claims/export.<fmt>")
@writes_on_get
@permission("records.export")
def export_claims(fmt: str):
    from tracker.exports import csv_response, xlsx_response

    if fmt not in ("csv", "xlsx"):
        abort(404)
    rows = []
    now = today()
    for _id, child_code, member_state, category, status, status_on, _received in db.session.execute(
        claims_select(current_user, sort=parse_claim_sort(request.args.get("sort")),
                      member_state_names=_member_state_names(), **_filters())
    ):
        waiting = None if status in claims.FINAL_STEPS else (now - status_on).days
        rows.append([child_code, member_state, category, status, status_on, waiting])
    audit.record(db.session, "export", entity="paternity_claims", changes={"rows": len(rows)})
    db.session.commit()
    if fmt == "csv":
        return csv_response("claims.csv", EXPORT_HEADER, rows)
    return xlsx_response("claims.xlsx", EXPORT_HEADER, rows, sheet_title="claims")


@bp.route("/children/<code>/claim/new", methods=["GET", "POST"])
@permission("records.edit")
def new_claim(code: str):
    child = get_scoped_or_404(Child, code=code)
    form = ClaimForm()
    form.member_state.choices = [SelectChoice("", "—")] + country_choices(locale_code(), programme_first=False)
    if form.validate_on_submit():
        try:
            claim = claims.open_claim(child=child, member_state=form.member_state.data,
                                      personnel_category=form.personnel_category.data,
                                      received_on=form.received_on.data, user_id=current_user.id)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("The claim for %(code)s is opened.", code=child.code), "success")
            return redirect(url_for("registry.claim", claim_id=claim.id))
    else:
        check_too(form, lambda: claims.check_claim(
            child=child, member_state=form.member_state.data, personnel_category=form.personnel_category.data,
            received_on=form.received_on.data, claimed=claims.has_claim))
    return render_template("registry/claim_form.html", form=form, child_code=child.code)


def _claim_or_404(claim_id: int) -> PaternityClaim:
    return get_scoped_or_404(PaternityClaim, id=claim_id)


def _render_claim(claim: PaternityClaim, step_form=None, correct_forms=None):
    history = claim_history(claim)
    current = [s for s in history if not s.superseded]
    step_form = step_form or StepForm()
    step_form.step.choices = vocab_choices(claims.allowed_next(claim.status))
    corrections = {}
    for index, row in enumerate(current):
        form = (correct_forms or {}).get(row.id) or CorrectStepForm(prefix=f"c{row.id}")
        if request.method == "GET" or row.id not in (correct_forms or {}):
            form.occurred_on.data = row.occurred_on
        previous = current[index - 1].step if index else None
        kinds = claims.allowed_next(previous) if index == len(current) - 1 else [row.step]
        form.new_step.choices = vocab_choices(kinds)
        if request.method == "GET" or row.id not in (correct_forms or {}):
            form.new_step.data = row.step
        corrections[row.id] = form
    return render_template(
        "registry/claim.html", claim=claim, child_code=claim.child.code, history=history, current=current,
        step_form=step_form, corrections=corrections, can_edit=current_user.can("records.edit"),
        waiting=claims.waiting_days(claim.status_on, claim.status, today()),
    )


@bp.route("/claims/<int:claim_id>")
@writes_on_get
@permission("records.view")
def claim(claim_id: int):
    """The claim's page: each opening is an audited ``view`` (the claim's id, as its other events, and the
    child's code), written once it is rendered."""
    claim_ = _claim_or_404(claim_id)
    response = _render_claim(claim_)
    audit.record(db.session, "view", entity="paternity_claims", entity_id=claim_.id,
                 changes={"child": claim_.child.code})
    db.session.commit()
    return response


@bp.route("/claims/<int:claim_id>/steps", methods=["POST"])
@permission("records.edit")
def add_step(claim_id: int):
    claim_ = _claim_or_404(claim_id)
    form = StepForm()
    form.step.choices = vocab_choices(claims.allowed_next(claim_.status))
    if form.validate_on_submit():
        try:
            claims.record_step(claim=claim_, step=form.step.data, occurred_on=form.occurred_on.data,
                               user_id=current_user.id)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("The step is recorded."), "success")
            return redirect(url_for("registry.claim", claim_id=claim_.id))
    else:
        check_too(form, lambda: claims.check_next_step(claim=claim_, step=form.step.data,
                                                       occurred_on=form.occurred_on.data))
    return _render_claim(claim_, step_form=form), 422


@bp.route("/claims/<int:claim_id>/steps/<int:step_id>/correct", methods=["POST"])
@permission("records.edit")
def correct_step(claim_id: int, step_id: int):
    claim_ = _claim_or_404(claim_id)
    step = db.session.get(ClaimStep, step_id)
    if step is None or step.claim_id != claim_.id:
        abort(404)
    form = CorrectStepForm(prefix=f"c{step.id}")
    form.new_step.choices = vocab_choices(CLAIM_STEPS)
    if form.validate_on_submit():
        try:
            claims.correct_step(step=step, occurred_on=form.occurred_on.data, reason=form.reason.data,
                                new_step=form.new_step.data or None, user_id=current_user.id)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("The step is corrected; the history keeps the old one."), "success")
            return redirect(url_for("registry.claim", claim_id=claim_.id))
    return _render_claim(claim_, correct_forms={step.id: form}), 422
