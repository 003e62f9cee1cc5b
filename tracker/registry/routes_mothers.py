"""Mothers: list, find, register, page, personal data on purpose, exit, consent, exports."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tracker import audit
from tracker.auth.permissions import permission
from tracker.auth.scope import get_scoped_or_404, scoped_select
from tracker.database import writes_on_get
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.forms import ActionForm, check_too, show_errors
from tracker.models import BENEFICIARY_STATUSES, Beneficiary
from tracker.registry import people
from tracker.registry.blueprint import bp
from tracker.registry.forms import ConsentForm, ExitForm, MotherEditForm, MotherForm, PersonalExportForm
from tracker.registry.queries import CODE_LIKE, filter_mothers, mother_page, mothers_page, mothers_select
from tracker.web import project_choices, scoped_project

CONSENT_FILTERS = ("reporting", "no_reporting", "no_services")
EXPORT_HEADER = ["code", "project_code", "year_of_birth", "enrolled_on", "status", "children",
                 "consent_services", "consent_reporting"]


def _filters() -> dict:
    args = request.args
    return {
        "project": args.get("project") or None,
        "status": args.get("status") if args.get("status") in BENEFICIARY_STATUSES else None,
        "consent": args.get("consent") if args.get("consent") in CONSENT_FILTERS else None,
        # Only codes travel in a URL; a name is searched through the POST form.
        "q": q if (q := (args.get("q") or "").strip()[:40]) and CODE_LIKE.match(q) else None,
    }


@bp.route("/mothers/")
@permission("records.view")
def mothers():
    filters = _filters()
    page = mothers_page(current_user, **filters)
    # The search text may be a name: it is never put back into the page or a link.
    return render_template(
        "registry/mothers.html", page=page, filters=filters, searched=bool(filters["q"]),
        projects=project_choices(open_only=False), statuses=BENEFICIARY_STATUSES, consents=CONSENT_FILTERS,
        export_form=PersonalExportForm(),
    )


@bp.route("/mothers/find", methods=["POST"])
@permission("records.view")
def find_mother():
    """Find by code or exact name without putting the name in a URL (search forms would); audited."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    filters = _filters()
    q = (request.form.get("q") or "").strip()[:200]
    page = mothers_page(current_user, **{**filters, "q": q or None})
    if q:
        _record_search(by="code" if CODE_LIKE.match(q) else "name", page=page)
        db.session.commit()
    if page.total == 1:
        return redirect(url_for("registry.mother", code=page.items[0].code))
    return render_template(
        "registry/mothers.html", page=page, filters=filters, searched=bool(q),
        projects=project_choices(open_only=False), statuses=BENEFICIARY_STATUSES, consents=CONSENT_FILTERS,
        export_form=PersonalExportForm(),
    )


def _record_search(*, by: str, page) -> None:
    """Audit a search by what it showed, never by what was typed (a name must not reach the log).

    A name search writes one ``search`` event per mother it showed, with her code, so the audit log's
    record-number filter finds every search that linked her name to her code; a search that showed no
    one writes one event without a code. A code search writes one event, with her code when it found
    only her. ``changes`` says how the search was made and how many mothers matched.
    """
    changes = {"by": by, "matches": page.total}
    shown = [row.code for row in page.items] if by == "name" or page.total == 1 else []
    for code in shown or [None]:
        audit.record(db.session, "search", entity="beneficiaries", entity_id=code, changes=dict(changes))


@bp.route("/mothers/export.<fmt>")
@writes_on_get
@permission("records.export")
def export_mothers(fmt: str):
    from tracker.exports import csv_response, xlsx_response

    if fmt not in ("csv", "xlsx"):
        abort(404)
    filters = {**_filters(), "q": None}
    rows = db.session.execute(mothers_select(current_user, **filters)).all()
    audit.record(db.session, "export", entity="beneficiaries", changes={"rows": len(rows), "personal": False})
    db.session.commit()
    data = [list(r) for r in rows]
    if fmt == "csv":
        return csv_response("mothers.csv", EXPORT_HEADER, data)
    return xlsx_response("mothers.xlsx", EXPORT_HEADER, data, sheet_title="mothers")


@bp.route("/mothers/export-personal", methods=["POST"])
@permission("personal.show")
def export_mothers_personal():
    """Export with names, phones and villages: a deliberate, audited choice, never the default."""
    from tracker.exports import csv_response, xlsx_response

    form = PersonalExportForm()
    if not form.validate_on_submit() or not current_user.can("records.export"):
        flash(_("Tick the box and say why you need the personal data."), "error")
        return redirect(url_for("registry.mothers"))
    stmt = filter_mothers(scoped_select(Beneficiary, current_user).order_by(Beneficiary.code), **_filters())
    mothers_ = db.session.scalars(stmt).all()
    header = ["code", "project_code", "full_name", "phone", "village", "year_of_birth", "enrolled_on", "status"]
    data = [[m.code, m.project.code, m.full_name, m.phone, m.village, m.year_of_birth, m.enrolled_on, m.status]
            for m in mothers_]
    audit.record(db.session, "export_personal", entity="beneficiaries",
                 changes={"rows": len(data), "reason": form.reason.data[:300]})
    db.session.commit()
    if form.fmt.data == "csv":
        return csv_response("mothers-personal.csv", header, data)
    return xlsx_response("mothers-personal.xlsx", header, data, sheet_title="mothers")


@bp.route("/mothers/new", methods=["GET", "POST"])
@permission("records.edit")
def new_mother():
    form = MotherForm()
    form.project.choices = project_choices()
    if not form.project.choices:
        flash(_("There is no open project in your countries to register a mother in."), "error")
        return redirect(url_for("registry.mothers"))
    if form.validate_on_submit():
        project = scoped_project(form.project.data) or abort(404)
        on = form.enrolled_on.data
        try:
            mother = people.register_beneficiary(
                project=project, full_name=form.full_name.data, phone=form.phone.data, village=form.village.data,
                year_of_birth=form.year_of_birth.data, enrolled_on=on,
                consent_services_on=on if form.consent_services.data else None,
                consent_reporting_on=on if form.consent_reporting.data else None,
            )
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error, {"project_code": "project"})
        else:
            db.session.commit()
            flash(_("%(code)s is registered.", code=mother.code), "success")
            return redirect(url_for("registry.mother", code=mother.code))
    else:
        project = scoped_project(form.project.data) if form.project.data else None
        if project is not None:
            check_too(form, lambda: people.check_beneficiary(
                project=project, full_name=form.full_name.data, phone=form.phone.data, village=form.village.data,
                year_of_birth=form.year_of_birth.data, enrolled_on=form.enrolled_on.data), {"project_code": "project"})
    return render_template("registry/mother_form.html", form=form, mother=None)


def _mother_or_404(code: str) -> Beneficiary:
    return get_scoped_or_404(Beneficiary, code=code)


def can_pay_for(mother: Beneficiary) -> bool:
    """Whether her unpaid terms link to the payment form: the user enters payments, and a payment for her would
    be accepted (she is in the programme, her project is not closed)."""
    return (current_user.can("disbursements.enter") and mother.status == "active"
            and mother.project.status != "closed")


def _render_mother(mother: Beneficiary, *, show_personal: bool):
    return render_template(
        "registry/mother.html",
        page=mother_page(mother, show_personal=show_personal),
        action=ActionForm(), exit_form=ExitForm(), consent_form=ConsentForm(),
        can_edit=current_user.can("records.edit"), can_show=current_user.can("personal.show"),
        can_pay=can_pay_for(mother),
    )


@bp.route("/mothers/<code>")
@writes_on_get
@permission("records.view")
def mother(code: str):
    """Her page (codes, dates, figures): each opening is an audited ``view``, written once it is rendered."""
    mother_ = _mother_or_404(code)
    response = _render_mother(mother_, show_personal=False)
    audit.record(db.session, "view", entity="beneficiaries", entity_id=mother_.code)
    db.session.commit()
    return response


@bp.route("/mothers/<code>/personal", methods=["POST"])
@permission("personal.show")
def mother_personal(code: str):
    """Show her name, phone, village and her children's first names: audited each time."""
    mother_ = _mother_or_404(code)
    if not ActionForm().validate_on_submit():
        abort(400)
    audit.record(db.session, "show_personal", entity="beneficiaries", entity_id=mother_.code)
    db.session.commit()
    return _render_mother(mother_, show_personal=True)


@bp.route("/mothers/<code>/edit", methods=["GET", "POST"])
@permission("records.edit")
def edit_mother(code: str):
    mother_ = _mother_or_404(code)
    form = MotherEditForm(obj=None if request.method == "POST" else mother_)
    if request.method == "GET":
        form.project.data = mother_.project.code
        form.full_name.data = form.phone.data = form.village.data = ""
        form.year_of_birth.data = str(mother_.year_of_birth)
    form.project.choices = project_choices(open_only=False, country=mother_.country)
    if form.validate_on_submit():
        project = scoped_project(form.project.data) or abort(404)
        try:
            people.update_beneficiary(
                beneficiary=mother_, project=project, year_of_birth=form.year_of_birth.data,
                full_name=form.full_name.data or None,
                phone="" if form.clear_phone.data else (form.phone.data or None),
                village="" if form.clear_village.data else (form.village.data or None),
            )
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error, {"project_code": "project"})
        else:
            db.session.commit()
            flash(_("%(code)s is updated.", code=mother_.code), "success")
            return redirect(url_for("registry.mother", code=mother_.code))
    return render_template("registry/mother_form.html", form=form, mother=mother_)


@bp.route("/mothers/<code>/exit", methods=["POST"])
@permission("records.edit")
def exit_mother(code: str):
    mother_ = _mother_or_404(code)
    form = ExitForm()
    if form.validate_on_submit():
        try:
            people.exit_beneficiary(beneficiary=mother_, reason=form.reason.data, on=form.exited_on.data)
        except Invalid as error:
            db.session.rollback()
            flash(_("Not recorded: %(error)s", error=str(error)), "error")
        else:
            db.session.commit()
            flash(_("%(code)s has exited the programme.", code=mother_.code), "success")
    else:
        flash(_("Not recorded: give a reason and a date."), "error")
    return redirect(url_for("registry.mother", code=mother_.code))


@bp.route("/mothers/<code>/readmit", methods=["POST"])
@permission("records.edit")
def readmit_mother(code: str):
    mother_ = _mother_or_404(code)
    if ActionForm().validate_on_submit():
        try:
            people.readmit_beneficiary(beneficiary=mother_)
        except Invalid as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(_("%(code)s is active again.", code=mother_.code), "success")
    return redirect(url_for("registry.mother", code=mother_.code))


@bp.route("/mothers/<code>/consent", methods=["POST"])
@permission("records.edit")
def consent(code: str):
    mother_ = _mother_or_404(code)
    form = ConsentForm()
    if form.validate_on_submit():
        change = people.give_consent if form.action.data == "give" else people.withdraw_consent
        try:
            change(beneficiary=mother_, scope=form.scope.data, on=form.on.data)
        except Invalid as error:
            db.session.rollback()
            flash(_("Not recorded: %(error)s", error=str(error)), "error")
        else:
            db.session.commit()
            flash(_("The consent of %(code)s is recorded.", code=mother_.code), "success")
    else:
        flash(_("Not recorded: choose the consent, the change and a date."), "error")
    return redirect(url_for("registry.mother", code=mother_.code) + "#consent")


