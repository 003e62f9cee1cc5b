"""The pledges' and contributions' screens: the lists, their exports, new ones.

Routes stay thin: parse the form, call one service of
:mod:`tracker.funding.services`, commit, redirect. Pledges and contributions
are the Fund's and seen by every manager; what a pledge still owes is the
engine's (:func:`~tracker.funding.pledges.pledge_positions`).
"""
from __future__ import annotations

from dataclasses import replace

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from tracker.auth.permissions import permission
from tracker.database import writes_on_get
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.formatting import format_money
from tracker.forms import check_too, show_errors
from tracker.funding import services
from tracker.funding.blueprint import bp
from tracker.funding.forms import ContributionForm, PledgeForm, countries_choices, donor_choices
from tracker.funding.pages import donor_or_404, export_list, form_page, int_arg
from tracker.funding.queries import (
    CONTRIBUTION_EXPORT,
    PledgeRow,
    contribution_rows,
    contributions_select,
    pledge_list,
)
from tracker.models import Contribution, Donor, Pledge
from tracker.web import (
    SelectChoice,
    currency_choices,
    page_number,
    paginate,
    paginate_list,
    project_choices,
    scoped_project,
)

# --- pledges ---------------------------------------------------------------------------------------------------------

def _pledge_filters() -> dict:
    return {"donor": int_arg("donor"), "outstanding": "1" if request.args.get("outstanding") else None}


def _pledges(filters) -> list[PledgeRow]:
    return pledge_list(donor_id=filters["donor"], outstanding_only=bool(filters["outstanding"]))


@bp.route("/pledges/")
@permission("funding.view")
def pledges():
    filters = _pledge_filters()
    page = paginate_list(_pledges(filters), page_number())
    return render_template("funding/pledges.html", page=page, filters=filters, donors=donor_choices()[1:])


@bp.route("/pledges/export.<fmt>")
@writes_on_get
@permission("funding.view")
def export_pledges(fmt: str):
    return export_list(fmt, "pledges", list(PledgeRow.EXPORT),
                       lambda: [row.export_row() for row in _pledges(_pledge_filters())])


@bp.route("/pledges/new", methods=["GET", "POST"])
@permission("funding.manage")
def new_pledge():
    form = PledgeForm()
    form.donor.choices = donor_choices()
    form.currency.choices = currency_choices()
    form.country.choices = countries_choices(blank=_("No earmark"))
    form.project.choices = [SelectChoice("", _("No earmark"))] + project_choices(open_only=False)
    if request.method == "GET" and int_arg("donor"):
        form.donor.data = str(int_arg("donor"))
    if form.validate_on_submit():
        donor_ = donor_or_404(form.donor.data)
        project = (scoped_project(form.project.data) or abort(404)) if form.project.data else None
        try:
            pledge = services.record_pledge(
                donor=donor_, reference=form.reference.data, amount=form.amount.data, currency=form.currency.data,
                pledged_on=form.pledged_on.data, project=project, country=form.country.data or None,
            )
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error, {"project_code": "project"})
        else:
            db.session.commit()
            flash(_("The pledge %(ref)s is recorded: %(usd)s.", ref=pledge.reference,
                    usd=format_money(pledge.usd_amount)), "success")
            return redirect(url_for("funding.donor", id=donor_.id))
    elif request.method == "POST" and form.donor.data and not form.donor.errors:
        donor_ = donor_or_404(form.donor.data)
        check_too(form, lambda: services.check_pledge(
            donor=donor_, reference=form.reference.data, amount=form.amount.data, currency=form.currency.data,
            pledged_on=form.pledged_on.data, country=form.country.data or None,
            reference_taken=services.taken(Pledge, Pledge.reference)))
    return form_page(
        form, title=_("New pledge"), crumbs=[(url_for("funding.pledges"), _("Pledges"))],
        cancel=url_for("funding.pledges"), submit=_("Record"),
        intro=_("Its value in US dollars is frozen at the exchange rate in force on the day of the pledge."),
        hints={"project": _("Only projects in your countries are listed."),
               "amount": _("In the pledge's currency, such as %(example)s.", example=form.amount.example)},
    )


# --- contributions ---------------------------------------------------------------------------------------------------

@bp.route("/contributions/")
@permission("funding.view")
def contributions():
    filters = {"donor": int_arg("donor")}
    page = paginate(contributions_select(donor_id=filters["donor"]), page_number())
    page = replace(page, items=contribution_rows(page.items))
    return render_template("funding/contributions.html", page=page, filters=filters,
                                   donors=donor_choices()[1:])


@bp.route("/contributions/export.<fmt>")
@writes_on_get
@permission("funding.view")
def export_contributions(fmt: str):
    return export_list(fmt, "contributions", CONTRIBUTION_EXPORT, lambda: [
        list(r)[:-2] for r in db.session.execute(contributions_select(donor_id=int_arg("donor")))])


@bp.route("/contributions/new", methods=["GET", "POST"])
@permission("funding.manage")
def new_contribution():
    form = ContributionForm()
    form.donor.choices = donor_choices()
    form.currency.choices = currency_choices()
    pledges_ = db.session.execute(
        select(Pledge.reference, Donor.name).join(Pledge.donor).order_by(Donor.name, Pledge.pledged_on)).all()
    form.pledge.choices = [SelectChoice("", _("Not against a pledge"))] + [
        SelectChoice(ref, f"{ref} · {name}") for ref, name in pledges_]
    if request.method == "GET" and int_arg("donor"):
        form.donor.data = str(int_arg("donor"))
    if form.validate_on_submit():
        donor_ = donor_or_404(form.donor.data)
        pledge = None
        if form.pledge.data:
            pledge = db.session.scalars(select(Pledge).where(Pledge.reference == form.pledge.data)).one_or_none() \
                or abort(404)
        try:
            contribution = services.record_contribution(
                donor=donor_, reference=form.reference.data, amount=form.amount.data, currency=form.currency.data,
                received_on=form.received_on.data, pledge=pledge,
            )
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error, {"pledge_reference": "pledge"})
        else:
            db.session.commit()
            flash(_("The contribution %(ref)s is recorded: %(usd)s.", ref=contribution.reference,
                    usd=format_money(contribution.usd_amount)), "success")
            return redirect(url_for("funding.donor", id=donor_.id))
    elif request.method == "POST" and form.donor.data and not form.donor.errors:
        donor_ = donor_or_404(form.donor.data)
        check_too(form, lambda: services.check_contribution(
            donor=donor_, reference=form.reference.data, amount=form.amount.data, currency=form.currency.data,
            received_on=form.received_on.data,
            reference_taken=services.taken(Contribution, Contribution.reference)))
    return form_page(
        form, title=_("New contribution"), crumbs=[(url_for("funding.contributions"), _("Contributions"))],
        cancel=url_for("funding.contributions"), submit=_("Record"),
        intro=_("Money actually received. Its value in US dollars is frozen at the exchange rate in force on the "
                "day it was received."),
        hints={"pledge": _("Only a pledge of the same donor.")},
    )

