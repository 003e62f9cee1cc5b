"""A project's money on screen: allocations, budget lines, and creating or editing a project.

Routes stay thin: parse the form, call one service of
:mod:`tracker.funding.services`, commit, redirect. Allocations, budget lines
and projects belong to a project and go through the country scope.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from tracker.auth.permissions import permission
from tracker.auth.scope import get_scoped_or_404, in_scope, user_countries
from tracker.database import writes_on_get
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.formatting import format_money
from tracker.forms import check_too, show_errors
from tracker.funding import services
from tracker.funding.blueprint import bp
from tracker.funding.forms import AllocationForm, BudgetLineForm, ProjectForm, countries_choices
from tracker.funding.pages import export_list, form_page
from tracker.funding.queries import ALLOCATION_EXPORT, AllocationRow, allocations_select, project_page
from tracker.models import Allocation, Partner, Project
from tracker.models.base import today
from tracker.web import SelectChoice, page_number, paginate, project_choices, scoped_project

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
    return export_list(fmt, "allocations", ALLOCATION_EXPORT, lambda: [list(r) for r in db.session.execute(
        allocations_select(current_user, project=request.args.get("project") or None))])


@bp.route("/allocations/new", methods=["GET", "POST"])
@permission("funding.manage")
def new_allocation():
    form = AllocationForm()
    form.project.choices = [SelectChoice("", _("Choose…"))] + project_choices()
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
            flash(_("%(usd)s are allocated to %(code)s.", usd=format_money(allocation.amount_usd),
                    code=project.code), "success")
            return redirect(url_for("funding.allocations"))
    elif request.method == "POST" and form.project.data and not form.project.errors:
        project = scoped_project(form.project.data) or abort(404)
        check_too(form, lambda: services.check_allocation(
            project=project, amount_usd=form.amount_usd.data, allocated_on=form.allocated_on.data, note=form.note.data,
            reference=form.reference.data, reference_taken=services.taken(Allocation, Allocation.reference),
            available_on=services.unallocated_on), {"project_code": "project"})
    available = services.unallocated_on(today())
    return form_page(
        form, title=_("New allocation"), crumbs=[(url_for("funding.allocations"), _("Allocations"))],
        cancel=url_for("funding.allocations"), submit=_("Allocate"),
        intro=_("Received and not yet allocated today: %(usd)s.", usd=format_money(available)),
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
    else:
        check_too(form, lambda: services.check_budget_line(project=project, year=form.year.data,
                                                           category=form.category.data,
                                                           amount_usd=form.amount_usd.data))
    return render_template("funding/budget.html", form=form, page=project_page(project))


# --- projects --------------------------------------------------------------------------------------------------------

def _project_form(form) -> None:
    form.country.choices = countries_choices(user_countries())


def _save_project(form, project: Project | None):
    """Save through the service; a manager may only place a project in one of their countries."""
    if not in_scope(form.country.data or ""):
        form.country.errors = list(form.country.errors) + [_("is not one of your countries")]
        return None
    try:
        saved = services.save_project(
            code=form.code.data if project is None else project.code, title=form.title.data,
            title_fr=form.title_fr.data, country=form.country.data, partner=form.partner.data,
            start_date=form.start_date.data, end_date=form.end_date.data, status=form.status.data,
            description=form.description.data, project=project,
        )
    except Invalid as error:
        db.session.rollback()
        show_errors(form, error)
        return None
    db.session.commit()
    return saved


def _check_project_too(form, project: Project | None) -> None:
    """The form refused: the service's rules too (a code already used among them), and the scope's."""
    if not form.is_submitted():
        return
    if not form.country.errors and not in_scope(form.country.data or ""):
        form.country.errors = list(form.country.errors) + [_("is not one of your countries")]
    check_too(form, lambda: services.check_project(
        code=form.code.data if project is None else project.code, title=form.title.data,
        title_fr=form.title_fr.data, country=form.country.data, partner=form.partner.data,
        start_date=form.start_date.data, end_date=form.end_date.data, status=form.status.data,
        description=form.description.data, project=project, **services.project_lookups()))


def _project_form_page(form, project=None):
    partners = db.session.scalars(select(Partner.name).order_by(Partner.name)).all()
    crumbs = [(url_for("projects.index"), _("Projects"))]
    hints = {"title_fr": _("Optional: the title used in reports issued in French. Left blank, they use the title "
                           "above.")}
    if project is None:
        return form_page(form, title=_("New project"), crumbs=crumbs, cancel=url_for("projects.index"),
                         submit=_("Create"), datalists={"partners": partners},
                         hints=hints | {"partner": _("A new name adds the partner.")})
    crumbs.append((url_for("projects.show", code=project.code), project.code))
    return form_page(form, title=_("Edit %(code)s", code=project.code), crumbs=crumbs,
                     cancel=url_for("projects.show", code=project.code), datalists={"partners": partners},
                     hints=hints)


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
    else:
        _check_project_too(form, None)
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
    else:
        _check_project_too(form, project)
    return _project_form_page(form, project)
