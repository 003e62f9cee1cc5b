"""The Fund's money on screen: donors, pledges, contributions, allocations, budgets and projects.

Routes stay thin: parse the form, call one service of
:mod:`tracker.funding.services`, commit, redirect. Donors, pledges and
contributions are the Fund's and seen by every manager; allocations, budget
lines and projects belong to a project and go through the country scope.
The read queries below aggregate in SQL (USD as integer cents, as the engine
does) and hand plain rows to the templates; what a pledge still owes comes
from the engine's :func:`~tracker.funding.pledges.pledge_positions`, never
from a rule of its own.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import BigInteger, func, select, type_coerce
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired

from tracker import audit
from tracker.auth.permissions import permission
from tracker.auth.scope import get_scoped_or_404, in_scope, scoped_select, user_countries
from tracker.countries import country_choices
from tracker.database import writes_on_get
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.formatting import money
from tracker.forms import amount_field, date_field, show_errors
from tracker.funding import bp, services
from tracker.funding.pledges import PledgePosition, counted_against_pledges, pledge_positions
from tracker.models import (
    CATEGORIES,
    DONOR_KINDS,
    PROJECT_STATUSES,
    Allocation,
    Contribution,
    Donor,
    Partner,
    Pledge,
    Project,
    User,
)
from tracker.models.base import Money, today
from tracker.projects.queries import project_page
from tracker.web import currency_choices, page_number, paginate, paginate_list, project_choices, scoped_project
from tracker.vocab import label

# --- forms (they carry what was typed; the services hold the rules) --------------------------------------------------


def _choices(values):
    return [(v, label(v)) for v in values]


def _countries(only=None, *, blank=None):
    everyone = country_choices(str(get_locale() or "en"))
    chosen = [c for c in everyone if only is None or c[0] in only]
    return ([("", blank)] if blank else []) + chosen


class DonorForm(FlaskForm):
    name = StringField(_l("Name"))
    kind = SelectField(_l("Kind"), choices=_choices(DONOR_KINDS))
    country = SelectField(_l("Country"), validate_choice=False)


class PledgeForm(FlaskForm):
    donor = SelectField(_l("Donor"), validators=[InputRequired(message=_l("Choose a donor."))])
    reference = StringField(_l("Reference"), render_kw={"autocomplete": "off"})
    amount = amount_field(_l("Amount"))
    currency = SelectField(_l("Currency"), validate_choice=False)
    pledged_on = date_field(_l("Pledged on"))
    country = SelectField(_l("Earmarked for a country"), validate_choice=False)
    #: Any code typed here is looked up in the user's countries (404 outside them), so the choices are not checked.
    project = SelectField(_l("Earmarked for a project"), validate_choice=False)


class ContributionForm(FlaskForm):
    donor = SelectField(_l("Donor"), validators=[InputRequired(message=_l("Choose a donor."))])
    pledge = SelectField(_l("Against the pledge"))
    reference = StringField(_l("Reference"), render_kw={"autocomplete": "off"})
    amount = amount_field(_l("Amount"))
    currency = SelectField(_l("Currency"), validate_choice=False)
    received_on = date_field(_l("Received on"))


class AllocationForm(FlaskForm):
    project = SelectField(_l("Project"), validators=[InputRequired(message=_l("Choose a project."))],
                          validate_choice=False)
    amount_usd = amount_field(_l("Amount in US dollars"))
    allocated_on = date_field(_l("Allocated on"))
    reference = StringField(_l("Reference"), render_kw={"autocomplete": "off"})
    note = TextAreaField(_l("Note"))


class BudgetLineForm(FlaskForm):
    year = StringField(_l("Year"), render_kw={"inputmode": "numeric", "maxlength": 4})
    category = SelectField(_l("Category"), choices=_choices(CATEGORIES))
    amount_usd = amount_field(_l("Need in US dollars"))


class ProjectForm(FlaskForm):
    code = StringField(_l("Code"), render_kw={"placeholder": "TF-CD-2025-01", "autocomplete": "off"})
    title = StringField(_l("Title"))
    country = SelectField(_l("Country"), validate_choice=False)
    partner = StringField(_l("Implementing partner"), render_kw={"list": "partners", "autocomplete": "off"})
    start_date = date_field(_l("Start date"))
    end_date = date_field(_l("End date"), default=None)
    status = SelectField(_l("Status"), choices=_choices(PROJECT_STATUSES), default="pipeline")
    description = TextAreaField(_l("Description"))


# --- read queries ----------------------------------------------------------------------------------------------------

def _cents(column):
    """A Money column as its stored integer (cents), for exact sums and differences in SQL."""
    return type_coerce(column, BigInteger)


def _usd(expression):
    """Integer cents computed in SQL, read back as an exact Decimal."""
    return type_coerce(expression, Money(2))


@dataclass(frozen=True)
class DonorRow:
    id: int
    name: str
    kind: str
    country: str | None
    pledged: Decimal
    received: Decimal
    #: What the donor's pledges still owe today, each in its own currency valued at its rate (the engine's rule).
    outstanding: Decimal


def donors_select():
    by_pledges = (
        select(Pledge.donor_id.label("donor_id"), func.sum(_cents(Pledge.usd_amount)).label("pledged"))
        .group_by(Pledge.donor_id).subquery()
    )
    by_contributions = (
        select(Contribution.donor_id.label("donor_id"), func.sum(_cents(Contribution.usd_amount)).label("received"))
        .group_by(Contribution.donor_id).subquery()
    )
    return (
        select(Donor.id, Donor.name, Donor.kind, Donor.country, _usd(func.coalesce(by_pledges.c.pledged, 0)),
               _usd(func.coalesce(by_contributions.c.received, 0)))
        .outerjoin(by_pledges, by_pledges.c.donor_id == Donor.id)
        .outerjoin(by_contributions, by_contributions.c.donor_id == Donor.id)
        .order_by(Donor.name)
    )


def donor_rows():
    """Turns rows of :func:`donors_select` into :class:`DonorRow`, with what each donor's pledges owe today."""
    owed: dict[int, Decimal] = {}
    for position in pledge_positions(today(), outstanding_only=True):
        owed[position.donor_id] = owed.get(position.donor_id, Decimal("0.00")) + position.outstanding
    return lambda row: DonorRow(*row, outstanding=owed.get(row[0], Decimal("0.00")))


@dataclass(frozen=True)
class PledgeRow:
    """A pledge as the lists show it: the engine's position, and whether its project may be linked."""

    position: PledgePosition
    #: The earmarked project is linked only when it is in the reader's countries.
    project_visible: bool

    EXPORT = ("reference", "donor", "amount", "currency", "usd_amount", "usd_rate", "pledged_on", "project_code",
              "country", "received_usd", "outstanding_usd", "age_days", "received", "remaining",
              "exchange_difference")

    def __getattr__(self, name):
        return getattr(self.position, name)

    def export_row(self) -> list:
        p = self.position
        return [p.reference, p.donor, p.amount, p.currency, p.usd_amount, p.usd_rate, p.pledged_on, p.project_code,
                p.country, p.received_usd, p.outstanding, p.age_days, p.received, p.remaining,
                p.exchange_difference]


def pledge_list(*, donor_id: int | None = None, outstanding_only: bool = False) -> list[PledgeRow]:
    """The pledges as of today, newest first, each with what it owes in its own currency (DESIGN section 3)."""
    countries = user_countries()
    positions = pledge_positions(today(), donor_id=donor_id, outstanding_only=outstanding_only, newest_first=True)
    # A project earmark's country is the project's (PledgePosition.country).
    return [PledgeRow(p, p.project_id is not None and (countries is None or p.country in countries))
            for p in positions]


@dataclass(frozen=True)
class ContributionRow:
    reference: str
    donor: str
    amount: Decimal
    currency: str
    usd_amount: Decimal
    usd_rate: Decimal
    received_on: dt.date
    pledge_reference: str | None
    donor_id: int
    id: int = 0
    #: Against a pledge in another currency: what it counts for there, and that currency (the engine's rule).
    counted: tuple[Decimal, str] | None = None


def contribution_rows(rows) -> list[ContributionRow]:
    rows = list(rows)
    counted = counted_against_pledges(r.id for r in rows)
    return [ContributionRow(*r, counted=counted.get(r.id)) for r in rows]


CONTRIBUTION_EXPORT = ["reference", "donor", "amount", "currency", "usd_amount", "usd_rate", "received_on",
                       "pledge_reference"]


def contributions_select(*, donor_id: int | None = None):
    stmt = (
        select(Contribution.reference, Donor.name, Contribution.amount, Contribution.currency,
               Contribution.usd_amount, Contribution.usd_rate, Contribution.received_on, Pledge.reference, Donor.id,
               Contribution.id)
        .join(Contribution.donor).outerjoin(Contribution.pledge)
        .order_by(Contribution.received_on.desc(), Contribution.reference)
    )
    if donor_id is not None:
        stmt = stmt.where(Contribution.donor_id == donor_id)
    return stmt


@dataclass(frozen=True)
class AllocationRow:
    project_code: str
    amount_usd: Decimal
    allocated_on: dt.date
    note: str | None
    created_by: str | None
    reference: str | None


#: ``reference`` last: columns are only ever added, at the end, for the scripts that read the export.
ALLOCATION_EXPORT = ["project_code", "amount_usd", "allocated_on", "note", "created_by", "reference"]


def allocations_select(user, *, project: str | None = None):
    stmt = (
        scoped_select(Allocation, user)
        .with_only_columns(Project.code, Allocation.amount_usd, Allocation.allocated_on, Allocation.note, User.name,
                           Allocation.reference)
        .outerjoin(User, User.id == Allocation.created_by_id)
        .order_by(Allocation.allocated_on.desc(), Allocation.id.desc())
    )
    if project:
        stmt = stmt.where(Project.code == project)
    return stmt


# --- helpers ---------------------------------------------------------------------------------------------------------

def _donor_choices():
    rows = db.session.execute(select(Donor.id, Donor.name).order_by(Donor.name)).all()
    return [("", _("Choose…"))] + [(str(i), name) for i, name in rows]


def _donor_or_404(value) -> Donor:
    raw = str(value or "")
    donor = db.session.get(Donor, int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    if donor is None:
        abort(404)
    return donor


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


def _export(fmt: str, entity: str, header: list[str], make_rows):
    """A list as CSV or XLSX, recorded in the audit log like every export (counts, never contents)."""
    from tracker.exports import csv_response, xlsx_response

    if fmt not in ("csv", "xlsx"):
        abort(404)
    rows = make_rows()
    audit.record(db.session, "export", entity=entity, changes={"rows": len(rows)})
    db.session.commit()
    if fmt == "csv":
        return csv_response(f"{entity}.csv", header, rows)
    return xlsx_response(f"{entity}.xlsx", header, rows, sheet_title=entity)


def _form_page(form, *, title, crumbs, cancel, submit=None, intro=None, hints=None, datalists=None):
    return render_template(
        "funding/form.html", form=form, title=title, crumbs=crumbs, cancel=cancel, submit=submit or _("Save"),
        intro=intro, hints=hints or {}, datalists=datalists or {},
    )


# --- donors ----------------------------------------------------------------------------------------------------------

DONOR_EXPORT = ["name", "kind", "country", "pledged_usd", "received_usd", "outstanding_usd"]


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
    return _export(fmt, "donors", DONOR_EXPORT, lambda: [
        [d.name, d.kind, d.country, d.pledged, d.received, d.outstanding]
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
    form.country.choices = _countries(blank=_("None"))
    if donor_ is None:
        return _form_page(form, title=_("New donor"), crumbs=[(url_for("funding.donors"), _("Donors"))],
                          cancel=url_for("funding.donors"), submit=_("Record"))
    return _form_page(form, title=_("Edit %(name)s", name=donor_.name),
                      crumbs=[(url_for("funding.donors"), _("Donors")),
                              (url_for("funding.donor", id=donor_.id), donor_.name)],
                      cancel=url_for("funding.donor", id=donor_.id))


@bp.route("/donors/new", methods=["GET", "POST"])
@permission("funding.manage")
def new_donor():
    form = DonorForm()
    if form.validate_on_submit():
        try:
            donor_ = services.create_donor(name=form.name.data, kind=form.kind.data, country=form.country.data)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s is recorded.", name=donor_.name), "success")
            return redirect(url_for("funding.donor", id=donor_.id))
    return _donor_form_page(form)


@bp.route("/donors/<int:id>/edit", methods=["GET", "POST"])
@permission("funding.manage")
def edit_donor(id: int):
    donor_ = _donor_or_404(id)
    form = DonorForm(obj=None if request.method == "POST" else donor_)
    if request.method == "GET":
        form.country.data = donor_.country or ""
    if form.validate_on_submit():
        try:
            services.update_donor(donor=donor_, name=form.name.data, kind=form.kind.data, country=form.country.data)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("%(name)s is updated.", name=donor_.name), "success")
            return redirect(url_for("funding.donor", id=donor_.id))
    return _donor_form_page(form, donor_)


# --- pledges ---------------------------------------------------------------------------------------------------------

def _pledge_filters() -> dict:
    return {"donor": _int_arg("donor"), "outstanding": "1" if request.args.get("outstanding") else None}


def _pledges(filters) -> list[PledgeRow]:
    return pledge_list(donor_id=filters["donor"], outstanding_only=bool(filters["outstanding"]))


@bp.route("/pledges/")
@permission("funding.view")
def pledges():
    filters = _pledge_filters()
    page = paginate_list(_pledges(filters), page_number())
    return render_template("funding/pledges.html", page=page, filters=filters, donors=_donor_choices()[1:])


@bp.route("/pledges/export.<fmt>")
@writes_on_get
@permission("funding.view")
def export_pledges(fmt: str):
    return _export(fmt, "pledges", list(PledgeRow.EXPORT),
                   lambda: [row.export_row() for row in _pledges(_pledge_filters())])


@bp.route("/pledges/new", methods=["GET", "POST"])
@permission("funding.manage")
def new_pledge():
    form = PledgeForm()
    form.donor.choices = _donor_choices()
    form.currency.choices = currency_choices()
    form.country.choices = _countries(blank=_("No earmark"))
    form.project.choices = [("", _("No earmark"))] + project_choices(open_only=False)
    if request.method == "GET" and _int_arg("donor"):
        form.donor.data = str(_int_arg("donor"))
    if form.validate_on_submit():
        donor_ = _donor_or_404(form.donor.data)
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
                    usd=money(pledge.usd_amount)), "success")
            return redirect(url_for("funding.donor", id=donor_.id))
    return _form_page(
        form, title=_("New pledge"), crumbs=[(url_for("funding.pledges"), _("Pledges"))],
        cancel=url_for("funding.pledges"), submit=_("Record"),
        intro=_("Its value in US dollars is frozen at the exchange rate in force on the day of the pledge."),
        hints={"project": _("Only projects in your countries are listed."),
               "amount": _("In the pledge's currency: digits and one dot, such as 1250000.")},
    )


# --- contributions ---------------------------------------------------------------------------------------------------

@bp.route("/contributions/")
@permission("funding.view")
def contributions():
    filters = {"donor": _int_arg("donor")}
    page = paginate(contributions_select(donor_id=filters["donor"]), page_number())
    page = replace(page, items=contribution_rows(page.items))
    return render_template("funding/contributions.html", page=page, filters=filters,
                                   donors=_donor_choices()[1:])


@bp.route("/contributions/export.<fmt>")
@writes_on_get
@permission("funding.view")
def export_contributions(fmt: str):
    return _export(fmt, "contributions", CONTRIBUTION_EXPORT, lambda: [
        list(r)[:-2] for r in db.session.execute(contributions_select(donor_id=_int_arg("donor")))])


@bp.route("/contributions/new", methods=["GET", "POST"])
@permission("funding.manage")
def new_contribution():
    form = ContributionForm()
    form.donor.choices = _donor_choices()
    form.currency.choices = currency_choices()
    pledges_ = db.session.execute(
        select(Pledge.reference, Donor.name).join(Pledge.donor).order_by(Donor.name, Pledge.pledged_on)).all()
    form.pledge.choices = [("", _("Not against a pledge"))] + [(ref, f"{ref} · {name}") for ref, name in pledges_]
    if request.method == "GET" and _int_arg("donor"):
        form.donor.data = str(_int_arg("donor"))
    if form.validate_on_submit():
        donor_ = _donor_or_404(form.donor.data)
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
                    usd=money(contribution.usd_amount)), "success")
            return redirect(url_for("funding.donor", id=donor_.id))
    return _form_page(
        form, title=_("New contribution"), crumbs=[(url_for("funding.contributions"), _("Contributions"))],
        cancel=url_for("funding.contributions"), submit=_("Record"),
        intro=_("Money actually received. Its value in US dollars is frozen at the exchange rate in force on the "
                "day it was received."),
        hints={"pledge": _("Only a pledge of the same donor.")},
    )


# --- allocations -----------------------------------------------------------------------------------------------------

@bp.route("/allocations/")
@permission("funding.view")
def allocations():
    filters = {"project": request.args.get("project") or None}
    page = paginate(allocations_select(current_user, **filters), page_number(), row=lambda r: AllocationRow(*r))
    return render_template("funding/allocations.html", page=page, filters=filters,
                                   projects=project_choices(open_only=False),
                                   unallocated=services.unallocated_on(today()))


@bp.route("/allocations/export.<fmt>")
@writes_on_get
@permission("funding.view")
def export_allocations(fmt: str):
    return _export(fmt, "allocations", ALLOCATION_EXPORT, lambda: [list(r) for r in db.session.execute(
        allocations_select(current_user, project=request.args.get("project") or None))])


@bp.route("/allocations/new", methods=["GET", "POST"])
@permission("funding.manage")
def new_allocation():
    form = AllocationForm()
    form.project.choices = [("", _("Choose…"))] + project_choices()
    if request.method == "GET" and request.args.get("project"):
        form.project.data = (scoped_project(request.args["project"]) or abort(404)).code
    if form.validate_on_submit():
        project = scoped_project(form.project.data) or abort(404)
        try:
            allocation = services.allocate(project=project, amount_usd=form.amount_usd.data,
                                           allocated_on=form.allocated_on.data, note=form.note.data,
                                           reference=form.reference.data, user_id=current_user.id)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error, {"project_code": "project"})
        else:
            db.session.commit()
            flash(_("%(usd)s are allocated to %(code)s.", usd=money(allocation.amount_usd),
                    code=project.code), "success")
            return redirect(url_for("funding.allocations"))
    available = services.unallocated_on(today())
    return _form_page(
        form, title=_("New allocation"), crumbs=[(url_for("funding.allocations"), _("Allocations"))],
        cancel=url_for("funding.allocations"), submit=_("Allocate"),
        intro=_("Received and not yet allocated today: %(usd)s.", usd=money(available)),
        hints={"project": _("Open projects in your countries."),
               "reference": _("Optional: your own or the partner's reference, such as AL-2025-CD-01; no two "
                              "allocations may share one.")},
    )


# --- budget lines ----------------------------------------------------------------------------------------------------

@bp.route("/projects/<code>/budget", methods=["GET", "POST"])
@permission("funding.manage")
def budget(code: str):
    project = get_scoped_or_404(Project, code=code)
    form = BudgetLineForm()
    if request.method == "GET":
        form.year.data = str(min(max(today().year, project.start_date.year), project.end_date.year))
    if form.validate_on_submit():
        try:
            line, outcome = services.set_budget_line(project=project, year=form.year.data,
                                                     category=form.category.data, amount_usd=form.amount_usd.data)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            message = {"created": _("The budget line is added."), "updated": _("The budget line is changed."),
                       "unchanged": _("The budget line already had this amount.")}[outcome]
            flash(message, "success")
            return redirect(url_for("funding.budget", code=project.code))
    return render_template("funding/budget.html", form=form, page=project_page(project))


# --- projects --------------------------------------------------------------------------------------------------------

def _project_form(form) -> None:
    form.country.choices = _countries(user_countries())


def _save_project(form, project: Project | None):
    """Save through the service; a manager may only place a project in one of their countries."""
    if not in_scope(form.country.data or ""):
        form.country.errors = list(form.country.errors) + [_("is not one of your countries")]
        return None
    try:
        saved = services.save_project(
            code=form.code.data if project is None else project.code, title=form.title.data,
            country=form.country.data, partner=form.partner.data, start_date=form.start_date.data,
            end_date=form.end_date.data, status=form.status.data, description=form.description.data,
            project=project,
        )
    except Invalid as error:
        db.session.rollback()
        show_errors(form, error)
        return None
    db.session.commit()
    return saved


def _project_form_page(form, project=None):
    partners = db.session.scalars(select(Partner.name).order_by(Partner.name)).all()
    crumbs = [(url_for("projects.index"), _("Projects"))]
    if project is None:
        return _form_page(form, title=_("New project"), crumbs=crumbs, cancel=url_for("projects.index"),
                          submit=_("Create"), datalists={"partners": partners},
                          hints={"partner": _("A new name adds the partner.")})
    crumbs.append((url_for("projects.show", code=project.code), project.code))
    return _form_page(form, title=_("Edit %(code)s", code=project.code), crumbs=crumbs,
                      cancel=url_for("projects.show", code=project.code), datalists={"partners": partners})


@bp.route("/projects/new", methods=["GET", "POST"])
@permission("funding.manage")
def new_project():
    form = ProjectForm()
    _project_form(form)
    if form.validate_on_submit():
        project = _save_project(form, None)
        if project is not None:
            flash(_("%(code)s is created.", code=project.code), "success")
            return redirect(url_for("projects.show", code=project.code))
    return _project_form_page(form)


@bp.route("/projects/<code>/edit", methods=["GET", "POST"])
@permission("funding.manage")
def edit_project(code: str):
    project = get_scoped_or_404(Project, code=code)
    form = ProjectForm(obj=None if request.method == "POST" else project)
    del form.code
    _project_form(form)
    if request.method == "GET":
        form.partner.data = project.partner.name
    if form.validate_on_submit():
        if _save_project(form, project) is not None:
            flash(_("%(code)s is updated.", code=project.code), "success")
            return redirect(url_for("projects.show", code=project.code))
    return _project_form_page(form, project)
