"""Income-generating activities: start, follow month by month, and the outcome figures."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from tracker import audit
from tracker.auth.permissions import permission
from tracker.auth.scope import get_scoped_or_404
from tracker.database import writes_on_get
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.forms import check_too, show_errors
from tracker.models import INCOME_PROJECT_STATUSES, Beneficiary, Disbursement, IncomeProject, IncomeReport
from tracker.registry import income
from tracker.registry.blueprint import bp
from tracker.registry.forms import IncomeEditForm, IncomeProjectForm, IncomeReportForm
from tracker.registry.income_queries import income_outcomes, income_page, income_select, income_summary
from tracker.registry.queries import payment_rows
from tracker.web import currency_choices, local_currency, page_number

EXPORT_HEADER = ["reference", "mother_code", "activity", "status", "started_on", "planned_grant", "currency"]


def _filters() -> dict:
    args = request.args
    return {
        "status": args.get("status") if args.get("status") in INCOME_PROJECT_STATUSES else None,
        "activity": (args.get("activity") or "").strip()[:120] or None,
        # The staff worklist's "income reports due" (tracker/main).
        "report_due": "1" if args.get("report_due") == "1" else None,
    }


@bp.route("/income/")
@permission("records.view")
def income_list():
    filters = _filters()
    return render_template(
        "registry/income_list.html", page=income_page(current_user, page_number(), **filters), filters=filters,
        statuses=INCOME_PROJECT_STATUSES, outcomes=income_outcomes(current_user),
        activities=income.SUGGESTED_ACTIVITIES,
    )


@bp.route("/income/export.<fmt>")
@writes_on_get
@permission("records.export")
def export_income(fmt: str):
    from tracker.exports import csv_response, xlsx_response

    if fmt not in ("csv", "xlsx"):
        abort(404)
    rows = [list(r) for r in db.session.execute(income_select(current_user, **_filters()))]
    audit.record(db.session, "export", entity="income_projects", changes={"rows": len(rows)})
    db.session.commit()
    if fmt == "csv":
        return csv_response("income-projects.csv", EXPORT_HEADER, rows)
    return xlsx_response("income-projects.xlsx", EXPORT_HEADER, rows, sheet_title="income projects")


@bp.route("/mothers/<code>/income/new", methods=["GET", "POST"])
@permission("records.edit")
def new_income_project(code: str):
    mother = get_scoped_or_404(Beneficiary, code=code)
    form = IncomeProjectForm()
    local = local_currency(mother.country)
    form.currency.choices = currency_choices(local)
    if request.method == "GET":
        form.currency.data = local
    if form.validate_on_submit():
        try:
            project = income.start_income_project(
                beneficiary=mother, activity=form.activity.data, started_on=form.started_on.data,
                planned_grant=form.planned_grant.data, currency=form.currency.data, status=form.status.data,
            )
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("%(ref)s is recorded.", ref=project.reference), "success")
            return redirect(url_for("registry.income_project", reference=project.reference))
    else:
        check_too(form, lambda: income.check_income_project(
            activity=form.activity.data, started_on=form.started_on.data, planned_grant=form.planned_grant.data,
            currency=form.currency.data, status=form.status.data))
    return render_template("registry/income_form.html", form=form, mother_code=mother.code,
                                   income_project=None, activities=income.SUGGESTED_ACTIVITIES)


def _income_or_404(reference: str) -> IncomeProject:
    return get_scoped_or_404(IncomeProject, reference=reference)


def _render_income(project: IncomeProject, report_form=None):
    reports = db.session.execute(
        select(IncomeReport.month, IncomeReport.revenue, IncomeReport.costs, IncomeReport.currency, IncomeReport.note)
        .where(IncomeReport.income_project_id == project.id)
        .order_by(IncomeReport.month.desc())
    ).all()
    return render_template(
        "registry/income.html", project=project, mother_code=project.beneficiary.code,
        summary=income_summary(project), reports=reports, report_form=report_form or IncomeReportForm(),
        payments=payment_rows(Disbursement.income_project_id == project.id),
        can_edit=current_user.can("records.edit"),
    )


@bp.route("/income/<reference>")
@permission("records.view")
def income_project(reference: str):
    return _render_income(_income_or_404(reference))


@bp.route("/income/<reference>/edit", methods=["GET", "POST"])
@permission("records.edit")
def edit_income_project(reference: str):
    project = _income_or_404(reference)
    form = IncomeEditForm(obj=project if request.method == "GET" else None)
    if request.method == "GET":
        form.planned_grant.data = format(project.planned_grant, "f")
    if form.validate_on_submit():
        try:
            income.update_income_project(income_project=project, activity=form.activity.data,
                                         planned_grant=form.planned_grant.data, status=form.status.data,
                                         closed_on=form.closed_on.data)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("%(ref)s is updated.", ref=project.reference), "success")
            return redirect(url_for("registry.income_project", reference=project.reference))
    else:
        check_too(form, lambda: income.check_income_update(
            income_project=project, activity=form.activity.data, planned_grant=form.planned_grant.data,
            status=form.status.data, closed_on=form.closed_on.data))
    return render_template("registry/income_form.html", form=form, mother_code=project.beneficiary.code,
                                   income_project=project, activities=income.SUGGESTED_ACTIVITIES)


@bp.route("/income/<reference>/reports", methods=["POST"])
@permission("records.edit")
def add_income_report(reference: str):
    project = _income_or_404(reference)
    form = IncomeReportForm()
    if form.validate_on_submit():
        try:
            income.report_income(income_project=project, month=form.month.data, revenue=form.revenue.data,
                                 costs=form.costs.data, note=form.note.data)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("The month is recorded."), "success")
            return redirect(url_for("registry.income_project", reference=project.reference))
    return _render_income(project, report_form=form), 422
