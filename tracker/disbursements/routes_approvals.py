"""The managers' queues: submitted payments to approve or reject, approved ones to pay."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tracker.auth.permissions import permission
from tracker.auth.scope import scoped_select
from tracker.disbursements import queries, services
from tracker.disbursements.blueprint import bp
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.forms import ActionForm
from tracker.models import Disbursement


@bp.route("/approvals/")
@permission("disbursements.approve")
def approvals():
    return render_template("disbursements/approvals.html", groups=queries.queue(current_user, "submitted"),
                                   action=ActionForm())


@bp.route("/approvals/to-pay")
@permission("disbursements.approve")
def to_pay():
    return render_template("disbursements/to_pay.html", groups=queries.queue(current_user, "approved"),
                                   action=ActionForm())


def _ticked() -> list[Disbursement]:
    """The ticked disbursements in the user's countries, with the version each was ticked at."""
    ids = [int(x) for x in request.form.getlist("id") if x.isascii() and x.isdigit() and len(x) < 10][:1000]
    if not ids:
        return []
    found = db.session.scalars(scoped_select(Disbursement, current_user).where(Disbursement.id.in_(ids))).all()
    return sorted(found, key=lambda d: d.id)


def _run_batch(items, run) -> tuple[list[str], list[str]]:
    """Run ``run`` on each item in its own savepoint: each one is still guarded on its own."""
    done, refused = [], []
    for disbursement in items:
        seen = request.form.get(f"version-{disbursement.id}", "")
        try:
            with db.session.begin_nested():
                if seen.isascii() and seen.isdigit() and len(seen) < 10 and int(seen) != disbursement.version_id:
                    raise services.Conflict(_("%(ref)s was changed by someone else since you opened this page",
                                              ref=disbursement.reference))
                run(disbursement)
            done.append(disbursement.reference)
        except Invalid as error:
            message = str(error)
            refused.append(message if disbursement.reference in message
                           else _("%(label)s: %(value)s", label=disbursement.reference, value=message))
    db.session.commit()
    return done, refused


def _report(done, refused, verb: str):
    if done:
        flash(_("%(verb)s: %(refs)s.", verb=verb, refs=", ".join(done)), "success")
    for message in refused:
        flash(message, "error")


@bp.route("/approvals/decide", methods=["POST"])
@permission("disbursements.approve")
def decide():
    """Approve or reject the ticked ones; a batch says which were already taken by someone else."""
    if not ActionForm().validate_on_submit():
        abort(400)
    items = _ticked()
    decision = request.form.get("decision")
    if not items:
        flash(_("Tick at least one payment."), "error")
    elif decision == "approve":
        done, refused = _run_batch(items, lambda d: services.approve(disbursement=d, user=current_user))
        _report(done, refused, _("Approved"))
    elif decision == "reject":
        reason = (request.form.get("reason") or "").strip()
        if not reason:
            flash(_("Say why they are rejected."), "error")
        else:
            done, refused = _run_batch(items, lambda d: services.reject(disbursement=d, user=current_user,
                                                                        reason=reason))
            _report(done, refused, _("Rejected"))
    else:
        abort(400)
    return redirect(url_for("disbursements.approvals"))


@bp.route("/approvals/pay", methods=["POST"])
@permission("disbursements.approve")
def pay_many():
    """Record payment of the ticked ones, each with its own payment reference."""
    if not ActionForm().validate_on_submit():
        abort(400)
    items = _ticked()
    paid_on = request.form.get("paid_on") or ""
    if not items:
        flash(_("Tick at least one payment."), "error")
        return redirect(url_for("disbursements.to_pay"))
    done, refused = _run_batch(items, lambda d: services.pay(
        disbursement=d, user=current_user, paid_on=paid_on,
        payment_reference=request.form.get(f"payref-{d.id}", "")))
    _report(done, refused, _("Paid"))
    return redirect(url_for("disbursements.to_pay"))
