"""Entering disbursements: one at a time, or a whole school term at once."""
from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from tracker import validation as v
from tracker.auth.permissions import permission
from tracker.auth.scope import scoped_select
from tracker.dates import current_academic_year
from tracker.disbursements import queries, services
from tracker.disbursements.blueprint import bp
from tracker.disbursements.forms import EntryForm, StartForm, TermForm
from tracker.errors import Errors, Invalid
from tracker.extensions import db
from tracker.forms import ActionForm, check_too, show_errors
from tracker.models import Beneficiary, Child, Disbursement, Enrolment, IncomeProject, Project
from tracker.web import SelectChoice, currency_choices, local_currency, project_choices, scoped_project


def _targets(mother: Beneficiary, category: str, top_up: bool):
    if category == "school_fees":
        return queries.held_school_fee_targets(mother) if top_up else queries.school_fee_targets(mother)
    if category == "iga":
        return queries.income_targets(mother)
    return queries.child_targets(mother)


@bp.route("/disbursements/new", methods=["GET", "POST"])
@permission("disbursements.enter")
def new():
    """Step one chooses the mother and category; step two offers only what fits her."""
    start = StartForm(request.args)
    mother_code = (request.args.get("mother") or "").strip().upper()
    category = request.args.get("category") or ""
    if not mother_code or category not in {c.value for c in start.category.choices}:
        return render_template("disbursements/start.html", start=start)
    mother = db.session.scalars(
        scoped_select(Beneficiary, current_user).where(Beneficiary.code == mother_code)
    ).one_or_none()
    if mother is None:
        start.mother.errors = [_("%(code)s is not a mother in your countries.", code=mother_code[:20])]
        return render_template("disbursements/start.html", start=start), 404
    key = (request.form.get("request_key") or "")[:64]
    if request.method == "POST" and key:
        # The same form sent twice (double click, retried request) creates nothing new.
        done = db.session.scalar(select(Disbursement.reference).where(Disbursement.request_key == key))
        if done is not None:
            return redirect(url_for("disbursements.show", reference=done))
    top_up = request.args.get("top_up") == "1"
    targets = _targets(mother, category, top_up)
    form = EntryForm()
    anyone = [] if category in ("school_fees", "iga") else [SelectChoice("", _("No child in particular"))]
    form.target.choices = anyone + [SelectChoice(t.value, t.label) for t in targets]
    form.currency.choices = currency_choices(local_currency(mother.country))
    if request.method == "GET":
        form.request_key.data = uuid.uuid4().hex
        form.currency.data = local_currency(mother.country)
        form.top_up.data = top_up
        if len(targets) == 1 or (targets and category in ("school_fees", "iga")):
            first = targets[0]
            form.target.data = first.value
            form.payee.data = first.payee or ""
            if first.amount is not None and not top_up:
                form.amount.data = format(first.amount, "f")
            if first.currency:
                form.currency.data = first.currency
    if form.validate_on_submit():
        try:
            disbursement = _enter(mother, category, form)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error, {"child_code": "target", "academic_year": "target", "term": "target",
                                      "income_project_reference": "target", "mother_code": "target"})
        else:
            db.session.commit()
            flash(_("%(ref)s is entered.", ref=disbursement.reference), "success")
            return redirect(url_for("disbursements.show", reference=disbursement.reference))
    else:
        check_too(form, lambda: _check_values(category, form))
    return render_template("disbursements/new.html", form=form, mother=mother, category=category,
                                   targets=targets, top_up=top_up)


def _check_values(category: str, form: EntryForm) -> None:
    """The entry's own values as the service checks them (for a form refused before it, :func:`check_too`)."""
    errors = Errors()
    services.check_entry_values(errors, category=category, currency=form.currency.data, amount=form.amount.data,
                                payee=form.payee.data, entered_on=form.entered_on.data)
    errors.raise_any()


def _enter(mother: Beneficiary, category: str, form: EntryForm):
    child = enrolment = income_project = None
    term = None
    target = form.target.data or ""
    if category == "school_fees":
        enrolment_id, _sep, term = target.partition(":")
        enrolment = db.session.get(Enrolment, int(enrolment_id)) if enrolment_id.isdigit() else None
        if enrolment is None or enrolment.child.mother_id != mother.id:
            raise Invalid(_("choose the child, year and term"), "target")
        child = enrolment.child
    elif category == "iga":
        kind, _sep, ident = target.partition(":")
        income_project = db.session.get(IncomeProject, int(ident)) if kind == "iga" and ident.isdigit() else None
        if income_project is None or income_project.beneficiary_id != mother.id:
            raise Invalid(_("choose the income activity"), "target")
    elif target:
        kind, _sep, ident = target.partition(":")
        child = db.session.get(Child, int(ident)) if kind == "child" and ident.isdigit() else None
        if child is None or child.mother_id != mother.id:
            raise Invalid(_("choose one of her children"), "target")
    return services.enter(
        project=mother.project, category=category, beneficiary=mother, child=child, enrolment=enrolment, term=term,
        income_project=income_project, payee=form.payee.data, amount=form.amount.data, currency=form.currency.data,
        entered_on=form.entered_on.data, user=current_user, top_up=form.top_up.data,
        top_up_reason=form.top_up_reason.data, submit_now=form.save_as.data != "draft",
        request_key=(form.request_key.data or "")[:64] or None,
    )


@bp.route("/disbursements/term", methods=["GET", "POST"])
@permission("disbursements.enter")
def whole_term():
    """Every enrolled child of a project (and school) whose term is not yet asked for, to submit in one batch."""
    form = TermForm(request.args)
    form.project.choices = project_choices()
    if not request.args.get("academic_year"):
        form.academic_year.data = current_academic_year()
    project = scoped_project(form.project.data) if form.project.data else None
    rows, errors = [], {}
    if project is not None:
        try:
            year = v.academic_year(form.academic_year.data)
        except Invalid as error:
            form.academic_year.errors = [error.errors.get("academic_year", str(error))]
            year = None
        schools = queries.schools_of(project, year or "")
        form.school.choices = [SelectChoice("", _("All schools"))] + [SelectChoice(s) for s in schools]
        if year:
            rows = queries.term_rows(project, academic_year=year, term=_term(form),
                                     school=form.school.data or None)
    else:
        form.school.choices = [SelectChoice("", _("All schools"))]
    if request.method == "POST" and project is not None and rows:
        result = _enter_batch(project, rows, _term(form))
        if isinstance(result, dict):
            errors = result
        else:
            return redirect(url_for("disbursements.index", project=project.code, status="submitted"))
    return render_template("disbursements/term.html", form=form, project=project, rows=rows,
                                   errors=errors, action=ActionForm(),
                                   batch_key=request.form.get("batch_key") or uuid.uuid4().hex)


def _term(form: TermForm) -> int:
    return int(form.term.data) if form.term.data in ("1", "2", "3", "4") else 1


def _ids(values) -> set[int]:
    """Ticked ids: plain ASCII digits of a plausible size only."""
    return {int(x) for x in values if x.isascii() and x.isdigit() and len(x) < 10}


def _enter_batch(project: Project, rows, term: int):
    """Enter the ticked rows as one batch: all of them, or none (errors by row)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    batch_key = (request.form.get("batch_key") or "")[:40]
    entered_on = request.form.get("entered_on") or None
    ticked = _ids(request.form.getlist("enrolment"))
    if not ticked:
        flash(_("Tick at least one child."), "error")
        return {}
    errors: dict[int, str] = {}
    count = 0
    by_id = {r.enrolment_id: r for r in rows}
    for enrolment_id in sorted(ticked):
        row = by_id.get(enrolment_id)
        if row is None:
            # Say which child, if the user may know it; the page no longer lists that row.
            code = db.session.scalar(scoped_select(Enrolment, current_user).with_only_columns(Child.code)
                                     .where(Enrolment.id == enrolment_id))
            errors[enrolment_id] = _("term %(term)d of %(code)s is no longer open: someone asked for it meanwhile",
                                     term=term, code=code) if code else _("a ticked child is no longer listed")
            continue
        enrolment = db.session.get(Enrolment, enrolment_id)
        child = enrolment.child
        try:
            with db.session.begin_nested():
                services.enter(
                    project=project, category="school_fees", beneficiary=child.mother, child=child,
                    enrolment=enrolment, term=term, payee=request.form.get(f"payee-{enrolment_id}") or row.school,
                    amount=request.form.get(f"amount-{enrolment_id}", ""), currency=row.currency,
                    entered_on=entered_on, user=current_user,
                    request_key=f"{batch_key}:{enrolment_id}" if batch_key else None, batch_key=batch_key or None,
                )
            count += 1
        except Invalid as error:
            errors[enrolment_id] = "; ".join(error.errors.values())
    if errors:
        db.session.rollback()
        flash(ngettext("Nothing was entered: %(num)d row needs a correction.",
                       "Nothing was entered: %(num)d rows need a correction.", len(errors)), "error")
        for enrolment_id, message in errors.items():
            if enrolment_id not in by_id:
                flash(message, "error")
        return errors
    db.session.commit()
    flash(ngettext("%(num)d school-fee payment is submitted for approval.",
                   "%(num)d school-fee payments are submitted for approval.", count), "success")
    return None


