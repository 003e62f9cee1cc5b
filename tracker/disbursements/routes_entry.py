"""Entering disbursements: one at a time, or a whole school term at once."""
from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from tracker import validation as v
from tracker.auth.permissions import permission
from tracker.auth.routes import safe_next
from tracker.auth.scope import scoped_select
from tracker.dates import current_academic_year
from tracker.disbursements import queries, services
from tracker.disbursements.blueprint import bp
from tracker.disbursements.forms import EntryForm, StartForm, TermForm
from tracker.disbursements.term_totals import batch_totals
from tracker.errors import Errors, Invalid
from tracker.extensions import db
from tracker.forms import ActionForm, check_too, show_errors
from tracker.models import Beneficiary, Child, Disbursement, Enrolment, IncomeProject, Project
from tracker.models.base import today
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
    back = came_from()
    start.back.data = back
    mother_code = (request.args.get("mother") or "").strip().upper()
    category = request.args.get("category") or ""
    if not mother_code or category not in {c.value for c in start.category.choices}:
        return render_template("disbursements/start.html", start=start, mother=_mother_or_none(mother_code))
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
    prefill_missed = None
    if request.method == "GET":
        form.request_key.data = uuid.uuid4().hex
        form.back.data = back
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
        if category == "school_fees" and not top_up and request.args.get("child"):
            prefill_missed = _prefill_term(form, mother, targets)
    if form.validate_on_submit():
        try:
            disbursement = _enter(mother, category, form)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error, {"child_code": "target", "academic_year": "target", "term": "target",
                                      "income_project_reference": "target", "mother_code": "target"})
        else:
            db.session.commit()
            # The page of the payment says so, with "Enter another for this mother" and "Back to the list".
            session["after_entry"] = {"reference": disbursement.reference, "back": safe_back(form.back.data)}
            return redirect(url_for("disbursements.show", reference=disbursement.reference))
    else:
        check_too(form, lambda: _check_values(category, form))
    return render_template("disbursements/new.html", form=form, mother=mother, category=category,
                                   targets=targets, top_up=top_up, prefill_missed=prefill_missed)


def safe_back(value: str | None) -> str | None:
    """A path on this site to go back to, never the entry form itself."""
    value = safe_next((value or "")[:300])
    if value is None or urlsplit(value).path.startswith(url_for("disbursements.new")):
        return None
    return value


def came_from() -> str | None:
    """Where the user came from: ``back`` carried by the form or the link, else the page that linked here."""
    given = request.form.get("back") if request.method == "POST" else request.args.get("back")
    if given:
        return safe_back(given)
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host:
        return None
    return safe_back(referrer.path + (f"?{referrer.query}" if referrer.query else ""))


def _mother_or_none(code: str) -> Beneficiary | None:
    if not code:
        return None
    return db.session.scalars(scoped_select(Beneficiary, current_user).where(Beneficiary.code == code[:20])).first()


def _prefill_term(form: EntryForm, mother: Beneficiary, targets) -> str | None:
    """Choose the term a link asked for (``child``, ``year``, ``term``: codes and numbers only) with its school and
    fee; say so when that term is already asked for or paid. Nothing is saved until the form is sent."""
    child_code = (request.args.get("child") or "").strip().upper()[:24]
    year = (request.args.get("year") or "").strip()[:9]
    term = (request.args.get("term") or "").strip()[:2]
    enrolment_id = db.session.scalar(
        select(Enrolment.id).join(Enrolment.child)
        .where(Child.mother_id == mother.id, Child.code == child_code, Enrolment.academic_year == year)
    )
    wanted = f"{enrolment_id}:{term}" if enrolment_id and term.isdigit() else None
    chosen = next((t for t in targets if t.value == wanted), None)
    if chosen is None:
        return _("Term %(term)s of %(child)s for %(year)s is not open: it is already asked for or paid, or the "
                 "child is not enrolled that year. Choose below.", term=term or "?", child=child_code or "?",
                 year=year or "?")
    form.target.data = chosen.value
    form.payee.data = chosen.payee or ""
    if chosen.amount is not None:
        form.amount.data = format(chosen.amount, "f")
    if chosen.currency:
        form.currency.data = chosen.currency
    return None


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
    redo = request.form.get("do") if request.method == "POST" else None
    if redo in RECALCULATE:
        if not ActionForm().validate_on_submit():
            abort(400)
    elif request.method == "POST" and project is not None and rows:
        result = _enter_batch(project, rows, _term(form))
        if isinstance(result, dict):
            errors = result
        else:
            return redirect(url_for("disbursements.index", project=project.code, status="submitted"))
    ticked, totals = _selection(project, rows, redo)
    if redo == "recalculate":
        errors = {**totals.unreadable, **errors}
    return render_template("disbursements/term.html", form=form, project=project, rows=rows,
                                   errors=errors, action=ActionForm(), ticked=ticked, totals=totals,
                                   batch_key=request.form.get("batch_key") or uuid.uuid4().hex)


#: The buttons of the batch page that only redraw it, with the totals of what is ticked (no JavaScript needed).
RECALCULATE = ("recalculate", "select_all", "select_none")


def _selection(project: Project | None, rows, redo: str | None):
    """The rows ticked (all of them when the page opens, or on "Select all") and the batch's totals."""
    if project is None or not rows:
        return set(), None
    if request.method == "GET" or redo == "select_all":
        ticked = {r.enrolment_id for r in rows}
    elif redo == "select_none":
        ticked = set()
    else:
        ticked = _ids(request.form.getlist("enrolment"))
    amounts = {} if request.method == "GET" else {
        r.enrolment_id: request.form[f"amount-{r.enrolment_id}"] for r in rows
        if f"amount-{r.enrolment_id}" in request.form}
    totals = batch_totals(project=project, rows=rows, ticked=ticked, amounts=amounts,
                          entered_on=request.form.get("entered_on"), today=today())
    return ticked, totals


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


