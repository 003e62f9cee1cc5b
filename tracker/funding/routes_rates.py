"""Exchange rates: the administrators' page."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from tracker.auth.permissions import permission
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.forms import show_errors
from tracker.funding.blueprint import bp
from tracker.funding.forms import RateForm
from tracker.funding.rates import add_rate
from tracker.models import ExchangeRate
from tracker.web import currency_choices


@bp.route("/rates/", methods=["GET", "POST"])
@permission("admin.rates")
def rates():
    form = RateForm()
    form.currency.choices = [c for c in currency_choices() if c.value != "USD"]
    if form.validate_on_submit():
        try:
            add_rate(currency=form.currency.data, valid_from=form.valid_from.data,
                     usd_per_unit=form.usd_per_unit.data)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("The rate is recorded."), "success")
            return redirect(url_for("funding.rates"))
    chosen = request.args.get("currency") or None
    latest = db.session.execute(
        select(ExchangeRate.currency, func.max(ExchangeRate.valid_from), func.count(ExchangeRate.id))
        .group_by(ExchangeRate.currency).order_by(ExchangeRate.currency)
    ).all()
    stmt = select(ExchangeRate.currency, ExchangeRate.valid_from, ExchangeRate.usd_per_unit).order_by(
        ExchangeRate.currency, ExchangeRate.valid_from.desc())
    if chosen:
        stmt = stmt.where(ExchangeRate.currency == chosen)
    history = db.session.execute(stmt.limit(200)).all()
    return render_template("funding/rates.html", form=form, latest=latest, history=history, chosen=chosen)
