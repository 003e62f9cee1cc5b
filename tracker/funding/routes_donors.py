"""The donors' screens: the list, its export, a donor's page, new and edit.

Routes stay thin: parse the form, call one service of
:mod:`tracker.funding.services`, commit, redirect. Donors are the Fund's and
seen by every manager.
"""
from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tracker.auth.permissions import permission
from tracker.database import writes_on_get
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.forms import check_too, show_errors
from tracker.funding import services
from tracker.funding.blueprint import bp
from tracker.funding.forms import DonorForm, countries_choices
from tracker.funding.pages import donor_or_404, export_list, form_page
from tracker.funding.queries import (
    DonorRow,
    contribution_rows,
    contributions_select,
    donor_rows,
    donors_select,
    pledge_list,
)
from tracker.models import Donor
from tracker.web import page_number, paginate

#: ``name_fr`` after the columns of the donors import it mirrors; a reader should take the columns by name.
DONOR_EXPORT = ["name", "kind", "country", "name_fr", "pledged_usd", "received_usd", "outstanding_usd"]


@bp.route("/donors/")
@permission("funding.view")
def donors():
    page = paginate(donors_select(), page_number(), row=donor_rows())
    return render_template("funding/donors.html", page=page)


@bp.route("/donors/export.<fmt>")
@writes_on_get
@permission("funding.view")
def export_donors(fmt: str):
    make = donor_rows()
    return export_list(fmt, "donors", DONOR_EXPORT, lambda: [
        [d.name, d.kind, d.country, d.name_fr, d.pledged, d.received, d.outstanding]
        for d in map(make, db.session.execute(donors_select()))])


@bp.route("/donors/<int:id>")
@permission("funding.view")
def donor(id: int):
    row = db.session.execute(donors_select().where(Donor.id == id)).one_or_none() or abort(404)
    pledges = pledge_list(donor_id=id)
    contributions = contribution_rows(db.session.execute(contributions_select(donor_id=id)))
    owed = sum((p.outstanding for p in pledges), Decimal("0.00"))
    return render_template("funding/donor.html", donor=DonorRow(*row, outstanding=owed), pledges=pledges,
                                   contributions=contributions)


def _donor_form_page(form, donor_=None):
    form.country.choices = countries_choices(blank=_("None"))
    hints = {"name_fr": _("Optional: the name used in reports issued in French, such as Norvège for Norway. Left "
                          "blank, they use the name above.")}
    if donor_ is None:
        return form_page(form, title=_("New donor"), crumbs=[(url_for("funding.donors"), _("Donors"))],
                         cancel=url_for("funding.donors"), submit=_("Record"), hints=hints)
    return form_page(form, title=_("Edit %(name)s", name=donor_.name),
                     crumbs=[(url_for("funding.donors"), _("Donors")),
                             (url_for("funding.donor", id=donor_.id), donor_.name)],
                     cancel=url_for("funding.donor", id=donor_.id), hints=hints)


def _check_donor_too(form, donor_=None) -> None:
    """The form refused: the service's rules too (the name already another donor's among them)."""
    check_too(form, lambda: services.check_donor(name=form.name.data, kind=form.kind.data, country=form.country.data,
                                                 name_fr=form.name_fr.data, donor=donor_,
                                                 name_taken=services.taken(Donor, Donor.name)))


@bp.route("/donors/new", methods=["GET", "POST"])
@permission("funding.manage")
def new_donor():
    form = DonorForm()
    if form.validate_on_submit():
        try:
            donor_ = services.create_donor(name=form.name.data, kind=form.kind.data, country=form.country.data,
                                           name_fr=form.name_fr.data)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s is recorded.", name=donor_.name), "success")
            return redirect(url_for("funding.donor", id=donor_.id))
    else:
        _check_donor_too(form)
    return _donor_form_page(form)


@bp.route("/donors/<int:id>/edit", methods=["GET", "POST"])
@permission("funding.manage")
def edit_donor(id: int):
    donor_ = donor_or_404(id)
    form = DonorForm(obj=None if request.method == "POST" else donor_)
    if request.method == "GET":
        form.country.data = donor_.country or ""
    if form.validate_on_submit():
        try:
            services.update_donor(donor=donor_, name=form.name.data, kind=form.kind.data, country=form.country.data,
                                  name_fr=form.name_fr.data)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s is updated.", name=donor_.name), "success")
            return redirect(url_for("funding.donor", id=donor_.id))
    else:
        _check_donor_too(form, donor_)
    return _donor_form_page(form, donor_)

