"""All disbursements (scoped, filtered, exported) and one disbursement's page with its actions."""
from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tracker import audit
from tracker import validation as v
from tracker.auth.permissions import permission
from tracker.auth.scope import get_scoped_or_404
from tracker.database import writes_on_get
from tracker.disbursements import services
from tracker.disbursements.blueprint import bp
from tracker.disbursements.forms import PayForm, ReasonForm, WithdrawForm
from tracker.disbursements.queries import MINE, Row, history, list_select
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.forms import ActionForm
from tracker.models import CATEGORIES, DISBURSEMENT_STATES, Disbursement
from tracker.web import Key, keyset_page, project_choices

EXPORT_HEADER = ["reference", "project_code", "category", "mother_code", "child_code", "academic_year", "term",
                 "payee", "amount", "currency", "usd_amount", "status", "entered_on", "paid_on"]


def _filters() -> dict:
    args = request.args

    def day(name):
        try:
            return v.date(args.get(name, ""), name, required=False, not_future=False)
        except Invalid:
            return None

    return {
        "project": args.get("project") or None,
        "category": args.get("category") if args.get("category") in CATEGORIES else None,
        "status": args.get("status") if args.get("status") in DISBURSEMENT_STATES else None,
        "date_from": day("date_from"),
        "date_to": day("date_to"),
        "child": (args.get("child") or "").strip().upper()[:24] or None,
        "mother": (args.get("mother") or "").strip().upper()[:20] or None,
        # The staff worklist's "my drafts" and "my rejected payments" (tracker/main).
        "mine": args.get("mine") if args.get("mine") in MINE else None,
    }


#: The list's order, newest first (index ix_disbursements_entered_on_id), and its keys in ``?after=``.
LIST_KEYS = [Key(Disbursement.entered_on, dt.date.fromisoformat), Key(Disbursement.id, int)]


@bp.route("/disbursements/")
@permission("records.view")
def index():
    filters = _filters()
    page = keyset_page(list_select(current_user, **filters), LIST_KEYS, descending=True, row=lambda r: Row(*r))
    return render_template(
        "disbursements/index.html", page=page, filters=filters, projects=project_choices(open_only=False),
        categories=CATEGORIES, states=DISBURSEMENT_STATES,
    )


@bp.route("/disbursements/export.<fmt>")
@writes_on_get
@permission("records.export")
def export(fmt: str):
    from tracker.exports import csv_response, xlsx_response

    if fmt not in ("csv", "xlsx"):
        abort(404)
    rows = [list(r) for r in db.session.execute(list_select(current_user, **_filters()))]
    audit.record(db.session, "export", entity="disbursements", changes={"rows": len(rows)})
    db.session.commit()
    if fmt == "csv":
        return csv_response("disbursements.csv", EXPORT_HEADER, rows)
    return xlsx_response("disbursements.xlsx", EXPORT_HEADER, rows, sheet_title="disbursements")


def get_or_404(reference: str) -> Disbursement:
    return get_scoped_or_404(Disbursement, reference=reference)


@bp.route("/disbursements/<reference>")
@permission("records.view")
def show(reference: str):
    disbursement = get_or_404(reference)
    mine = disbursement.entered_by_id == current_user.id
    return render_template(
        "disbursements/show.html", d=disbursement, events=history(disbursement), action=ActionForm(),
        reason_form=ReasonForm(), pay_form=PayForm(), withdraw_form=WithdrawForm(),
        can_approve=current_user.can("disbursements.approve") and not mine,
        can_enter=current_user.can("disbursements.enter"),
        can_withdraw=current_user.can("disbursements.enter") and mine,
        after_entry=_after_entry(disbursement),
    )


def _after_entry(disbursement: Disbursement) -> dict | None:
    """Once, right after this payment was entered: where to enter another for her, and the way back."""
    after = session.pop("after_entry", None)
    if not isinstance(after, dict) or after.get("reference") != disbursement.reference:
        return None
    back = after.get("back")
    return {
        "another": url_for("disbursements.new", mother=disbursement.beneficiary.code, back=back),
        "back": back or url_for("disbursements.index"),
    }


def _act(reference: str, run, success: str):
    disbursement = get_or_404(reference)
    try:
        run(disbursement)
    except Invalid as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(success % {"ref": reference}, "success")
    return redirect(url_for("disbursements.show", reference=reference))


@bp.route("/disbursements/<reference>/submit", methods=["POST"])
@permission("disbursements.enter")
def submit(reference: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(reference, lambda d: services.submit(disbursement=d, user=current_user),
                _("%(ref)s is submitted for approval."))


@bp.route("/disbursements/<reference>/approve", methods=["POST"])
@permission("disbursements.approve")
def approve(reference: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    return _act(reference, lambda d: services.approve(disbursement=d, user=current_user), _("%(ref)s is approved."))


@bp.route("/disbursements/<reference>/reject", methods=["POST"])
@permission("disbursements.approve")
def reject(reference: str):
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Say why it is rejected."), "error")
        return redirect(url_for("disbursements.show", reference=reference))
    return _act(reference, lambda d: services.reject(disbursement=d, user=current_user, reason=form.reason.data),
                _("%(ref)s is rejected."))


@bp.route("/disbursements/<reference>/pay", methods=["POST"])
@permission("disbursements.approve")
def pay(reference: str):
    form = PayForm()
    if not form.validate_on_submit():
        flash(_("Give the date paid and the payment reference."), "error")
        return redirect(url_for("disbursements.show", reference=reference))
    return _act(reference, lambda d: services.pay(disbursement=d, user=current_user, paid_on=form.paid_on.data,
                                                  payment_reference=form.payment_reference.data),
                _("%(ref)s is recorded as paid."))


@bp.route("/disbursements/<reference>/void", methods=["POST"])
@permission("disbursements.approve")
def void(reference: str):
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("Say why it is voided."), "error")
        return redirect(url_for("disbursements.show", reference=reference))
    return _act(reference, lambda d: services.void(disbursement=d, user=current_user, reason=form.reason.data),
                _("%(ref)s is voided; it stays on record."))
