"""Donor reports: issue (managers), read and download (donors and staff of the Fund), verify (anyone)."""
from __future__ import annotations

import datetime as dt

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from tracker import audit
from tracker.auth.permissions import PUBLIC, permission
from tracker.auth.scope import scoped_select, sees_whole_fund
from tracker.countries import country_name
from tracker.database import writes_on_get
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.formatting import locale_code
from tracker.forms import show_errors
from tracker.jobs.queries import latest_job
from tracker.jobs.routes import REFRESH_SECONDS, refresh_state, refreshing
from tracker.models import Donor, IssuedReport, Project
from tracker.models.base import today
from tracker.reports import archive
from tracker.reports.blueprint import bp
from tracker.reports.data import build_report
from tracker.reports.forms import ReportForm, VerifyForm
from tracker.reports.render import report_html
from tracker.web import SelectChoice


def _scope_choices() -> list[SelectChoice]:
    """What the user may issue a report for; reading issued ones follows the same rule
    (:func:`tracker.reports.archive.readable_reports`)."""
    projects = db.session.execute(
        scoped_select(Project, current_user).with_only_columns(Project.code, Project.country).order_by(Project.code)
    ).all()
    mine = sorted({c for _code, c in projects})
    choices = []
    if sees_whole_fund(current_user):
        choices.append(SelectChoice("fund", _("The whole Fund")))
    choices += [SelectChoice(f"country:{c}", country_name(c, locale_code())) for c in mine]
    choices += [SelectChoice(f"project:{code}", _("Project %(code)s", code=code)) for code, _c in projects]
    return choices


def _form(*, csrf: bool = True) -> ReportForm:
    """The report's choices: from the query string on a GET that has one (filled in, not submitted),
    else from the posted form. ``csrf=False`` only for the preview by address, which reads and never writes."""
    if request.method == "GET" and request.args:
        form = ReportForm(request.args, meta={"csrf": csrf})
    else:
        form = ReportForm()
    form.scope.choices = _scope_choices()
    form.donor.choices = [SelectChoice("", _("Every donor (fund-wide)"))] + [
        SelectChoice(str(i), name) for i, name in db.session.execute(select(Donor.id, Donor.name).order_by(Donor.name))]
    if not form.date_from.data:
        form.date_from.data = dt.date(today().year, 1, 1)
    return form


def _request_values(form: ReportForm):
    if form.scope.data not in {c.value for c in form.scope.choices}:
        abort(404)
    donor = db.session.get(Donor, int(form.donor.data)) if (form.donor.data or "").isdigit() else None
    return form.scope.data, form.date_from.data, form.date_to.data, form.lang.data, donor


@bp.route("/reports/")
@permission("reports.read")
def index():
    stmt = archive.readable_reports(current_user).order_by(IssuedReport.issued_at.desc())
    reports = db.session.scalars(stmt.limit(500)).all()
    return render_template("reports/index.html", reports=reports,
                                   can_issue=current_user.can("reports.issue"))


@bp.route("/reports/new", methods=["GET", "POST"])
@permission("reports.issue")
def new():
    form = _form()
    if request.method == "POST" and form.validate_on_submit():
        scope, date_from, date_to, lang, donor = _request_values(form)
        try:
            report = archive.issue_report(scope=scope, date_from=date_from, date_to=date_to, lang=lang,
                                          donor=donor, user=current_user)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error, {"date_to": "date_to"})
        else:
            archive.start_rendering(report, archive.verify_url())
            flash(_("Report %(number)s is issued; its PDF is being rendered.", number=report.number), "success")
            return redirect(url_for("reports.show", number=report.number))
    return render_template("reports/new.html", form=form)


@bp.route("/reports/preview", methods=["GET", "POST"])
@permission("reports.issue")
def preview():
    """The report as HTML in the browser, exactly as it will be printed, before issuing it.

    The form's "Preview" button posts the form, so its CSRF token stays in the body and out of every
    URL and access log; a POST is checked for the token like any other. A GET with the choices in the
    query string (codes and dates only, no token) previews too. Either way nothing is written and the
    page is ``no-store``, so sending it again (a reload) only renders it again.
    """
    form = _form(csrf=request.method == "POST")
    if not form.validate():
        return render_template("reports/new.html", form=form), 422
    scope, date_from, date_to, lang, donor = _request_values(form)
    try:
        archive.check_request(scope=scope, date_from=date_from, date_to=date_to, lang=lang)
    except Invalid as error:
        show_errors(form, error)
        return render_template("reports/new.html", form=form), 422
    from flask_babel import force_locale

    with force_locale(lang):
        data = build_report(scope=scope, date_from=date_from, date_to=date_to, lang=lang, donor=donor)
        html = report_html(data, for_pdf=False)
    return html


def _readable_or_404(number: str) -> IssuedReport:
    report = archive.readable_report(current_user, number)
    if report is None:
        abort(404)
    return report


@bp.route("/reports/<number>")
@permission("reports.read")
def show(number: str):
    report = _readable_or_404(number)
    job_id = latest_job(archive.RENDER_KIND.name, report.number) if current_user.can("jobs.view") else None
    rendering = report.status == "rendering"
    return refreshing(make_response(render_template(
        "reports/show.html", report=report, job_id=job_id, scope_label=_scope_label(report.scope),
        refresh=refresh_state(rendering), seconds=REFRESH_SECONDS)), rendering)


@bp.route("/reports/<number>/pdf")
@writes_on_get
@permission("reports.read")
def download(number: str):
    """The stored bytes, exactly as issued (never rendered again)."""
    report = _readable_or_404(number)
    if report.status != "issued" or report.pdf is None:
        abort(404)
    audit.record(db.session, "download_report", entity="issued_reports", entity_id=report.number)
    db.session.commit()
    response = make_response(report.pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{report.number}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _scope_label(scope: str) -> str:
    kind, _sep, value = scope.partition(":")
    if kind == "fund":
        return _("The whole Fund")
    if kind == "country":
        return country_name(value, locale_code())
    return _("Project %(code)s", code=value)


@bp.route("/verify", methods=["GET", "POST"])
@permission(PUBLIC)
def verify():
    """Anyone can learn whether a PDF (or a SHA-256) is an issued report, and which, and nothing else."""
    form = VerifyForm()
    result, checked = None, False
    if form.validate_on_submit():
        upload = form.file.data
        if upload and getattr(upload, "filename", ""):
            data = upload.read(30 * 1024 * 1024 + 1)
            result = archive.find_by_bytes(data)
            checked = True
        elif form.sha256.data:
            result = archive.find_by_sha256(form.sha256.data)
            checked = True
        else:
            form.sha256.errors = [_("Choose a file or paste a fingerprint.")]
    found = None
    if result is not None:
        found = {"number": result.number, "issued_at": result.issued_at, "scope": _scope_label(result.scope),
                 "period_from": result.period_from, "period_to": result.period_to,
                 "addressee": result.donor.name if result.donor else None, "lang": result.lang}
    return render_template("reports/verify.html", form=form, found=found, checked=checked)
