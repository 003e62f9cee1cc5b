"""Children and their school enrolments."""
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
from tracker.models import Beneficiary, Child, Enrolment
from tracker.registry import people
from tracker.registry.blueprint import bp
from tracker.registry.forms import ChildEditForm, ChildForm, EnrolmentForm
from tracker.registry.queries import child_page
from tracker.registry.routes_mothers import can_pay_for
from tracker.web import currency_choices, local_currency


def _child_or_404(code: str) -> Child:
    return get_scoped_or_404(Child, code=code)


def _schools_near(country: str) -> list[str]:
    """School names already used in the user's countries, offered as suggestions."""
    stmt = scoped_select(Enrolment, current_user).with_only_columns(Enrolment.school).distinct()
    stmt = stmt.where(Beneficiary.country == country).order_by(Enrolment.school).limit(300)
    return list(db.session.scalars(stmt))


@bp.route("/mothers/<code>/children/new", methods=["GET", "POST"])
@permission("records.edit")
def new_child(code: str):
    mother = get_scoped_or_404(Beneficiary, code=code)
    form = ChildForm()
    if form.validate_on_submit():
        try:
            child = people.add_child(mother=mother, first_name=form.first_name.data,
                                     year_of_birth=form.year_of_birth.data, sex=form.sex.data)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("%(code)s is added.", code=child.code), "success")
            return redirect(url_for("registry.child", code=child.code))
    else:
        check_too(form, lambda: people.check_child(mother=mother, first_name=form.first_name.data,
                                                   year_of_birth=form.year_of_birth.data, sex=form.sex.data))
    return render_template("registry/child_form.html", form=form, mother_code=mother.code, child=None)


@bp.route("/children/<code>")
@writes_on_get
@permission("records.view")
def child(code: str):
    """The child's page: each opening is an audited ``view``, written once it is rendered."""
    child_ = _child_or_404(code)
    response = _render_child(child_, show_personal=False)
    audit.record(db.session, "view", entity="children", entity_id=child_.code)
    db.session.commit()
    return response


def _render_child(child_: Child, *, show_personal: bool):
    return render_template(
        "registry/child.html", page=child_page(child_, show_personal=show_personal), action=ActionForm(),
        can_edit=current_user.can("records.edit"), can_show=current_user.can("personal.show"),
        can_pay=can_pay_for(child_.mother),
    )


@bp.route("/children/<code>/personal", methods=["POST"])
@permission("personal.show")
def child_personal(code: str):
    child_ = _child_or_404(code)
    if not ActionForm().validate_on_submit():
        abort(400)
    audit.record(db.session, "show_personal", entity="children", entity_id=child_.code)
    db.session.commit()
    return _render_child(child_, show_personal=True)


@bp.route("/children/<code>/edit", methods=["GET", "POST"])
@permission("records.edit")
def edit_child(code: str):
    child_ = _child_or_404(code)
    form = ChildEditForm()
    if request.method == "GET":
        form.year_of_birth.data = str(child_.year_of_birth)
        form.sex.data = child_.sex
    if form.validate_on_submit():
        try:
            people.update_child(child=child_, first_name=form.first_name.data or None,
                                year_of_birth=form.year_of_birth.data, sex=form.sex.data)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("%(code)s is updated.", code=child_.code), "success")
            return redirect(url_for("registry.child", code=child_.code))
    return render_template("registry/child_form.html", form=form, mother_code=child_.mother.code,
                                   child=child_)


@bp.route("/children/<code>/enrolments/new", methods=["GET", "POST"])
@permission("records.edit")
def new_enrolment(code: str):
    child_ = _child_or_404(code)
    form = EnrolmentForm()
    local = local_currency(child_.mother.country)
    form.currency.choices = currency_choices(local)
    if request.method == "GET":
        form.currency.data = local
        from tracker.dates import current_academic_year

        form.academic_year.data = current_academic_year()
    if form.validate_on_submit():
        try:
            people.enrol_child(child=child_, school=form.school.data, academic_year=form.academic_year.data,
                               grade=form.grade.data, fee_per_term=form.fee_per_term.data,
                               currency=form.currency.data, terms=form.terms.data)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("%(code)s is enrolled for %(year)s.", code=child_.code, year=form.academic_year.data), "success")
            return redirect(url_for("registry.child", code=child_.code))
    else:
        check_too(form, lambda: people.check_enrolment(
            child=child_, school=form.school.data, academic_year=form.academic_year.data, grade=form.grade.data,
            fee_per_term=form.fee_per_term.data, currency=form.currency.data, terms=form.terms.data))
    return render_template("registry/enrolment_form.html", form=form, child_code=child_.code,
                                   enrolment=None, schools=_schools_near(child_.mother.country))


@bp.route("/enrolments/<int:enrolment_id>/edit", methods=["GET", "POST"])
@permission("records.edit")
def edit_enrolment(enrolment_id: int):
    enrolment = get_scoped_or_404(Enrolment, id=enrolment_id)
    form = EnrolmentForm(obj=enrolment if request.method == "GET" else None)
    form.currency.choices = currency_choices(enrolment.currency)
    if request.method == "GET":
        form.terms.data = str(enrolment.terms)
        form.fee_per_term.data = format(enrolment.fee_per_term, "f")
    form.academic_year.data = enrolment.academic_year
    if form.validate_on_submit():
        try:
            people.update_enrolment(enrolment=enrolment, school=form.school.data, grade=form.grade.data,
                                    fee_per_term=form.fee_per_term.data, currency=form.currency.data,
                                    terms=form.terms.data)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            flash(_("The enrolment is updated."), "success")
            return redirect(url_for("registry.child", code=enrolment.child.code))
    return render_template("registry/enrolment_form.html", form=form, child_code=enrolment.child.code,
                                   enrolment=enrolment, schools=_schools_near(enrolment.child.mother.country))


