"""A submitted payment taken back by whoever entered it, corrected, and submitted again."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tracker.auth.permissions import permission
from tracker.disbursements import services
from tracker.disbursements.blueprint import bp
from tracker.disbursements.forms import CorrectForm, WithdrawForm
from tracker.disbursements.routes_list import _act, get_or_404
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.forms import show_errors
from tracker.web import currency_choices


@bp.route("/disbursements/<reference>/withdraw", methods=["POST"])
@permission("disbursements.enter")
def withdraw(reference: str):
    """Back to draft, with a reason; the service refuses anyone but its author, and a payment already decided."""
    form = WithdrawForm()
    if not form.validate_on_submit():
        get_or_404(reference)  # outside the user's countries: 404, whatever the form
        flash(_("Say why you withdraw it."), "error")
        return redirect(url_for("disbursements.show", reference=reference))
    return _act(reference, lambda d: services.withdraw(disbursement=d, user=current_user, reason=form.reason.data),
                _("%(ref)s is withdrawn: it is a draft again. Correct it, then submit it for approval."))


@bp.route("/disbursements/<reference>/correct", methods=["GET", "POST"])
@permission("disbursements.enter")
def correct(reference: str):
    """Correct a draft's payee, amount, currency and date (only its author); submitting it stays a separate step."""
    disbursement = get_or_404(reference)
    if disbursement.status != "draft" or disbursement.entered_by_id != current_user.id:
        flash(_("Only the person who entered %(ref)s may correct it, and only while it is a draft.", ref=reference),
              "error")
        return redirect(url_for("disbursements.show", reference=reference))
    form = CorrectForm()
    form.currency.choices = currency_choices(disbursement.currency)
    if request.method == "GET":
        form.payee.data = disbursement.payee
        form.amount.data = format(disbursement.amount, "f")
        form.currency.data = disbursement.currency
        form.entered_on.data = disbursement.entered_on
    if form.validate_on_submit():
        try:
            services.correct(disbursement=disbursement, user=current_user, payee=form.payee.data,
                             amount=form.amount.data, currency=form.currency.data, entered_on=form.entered_on.data)
        except services.Conflict as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for("disbursements.show", reference=reference))
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("%(ref)s is corrected. Submit it for approval when it is right.", ref=reference), "success")
            return redirect(url_for("disbursements.show", reference=reference))
    return render_template("disbursements/correct.html", form=form, d=disbursement)
