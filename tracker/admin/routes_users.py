"""Admin pages for users: list, create, change access, disable/enable, reset second factor or password."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from tracker.admin import services
from tracker.admin.blueprint import bp
from tracker.admin.forms import AccessForm, UserForm
from tracker.admin.queries import recovery_codes_left, user_rows
from tracker.auth import two_factor
from tracker.auth.permissions import permission
from tracker.auth.services import is_locked
from tracker.countries import country_choices
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.formatting import locale_code
from tracker.forms import ActionForm, show_errors
from tracker.models import Donor, User
from tracker.web import SelectChoice


def _choices(form: AccessForm) -> None:
    form.countries.choices = country_choices(locale_code())
    form.donor.choices = [SelectChoice("", _("None"))] + [
        SelectChoice(str(i), name) for i, name in db.session.execute(select(Donor.id, Donor.name).order_by(Donor.name))]


def _donor_id(form: AccessForm) -> int | None:
    return int(form.donor.data) if (form.donor.data or "").isdigit() else None


def _user_or_404(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


def _me() -> User:
    return current_user._get_current_object()


@bp.route("/users/")
@permission("admin.users")
def users():
    return render_template("admin/users.html", users=user_rows())


@bp.route("/users/new", methods=["GET", "POST"])
@permission("admin.users")
def new_user():
    form = UserForm()
    _choices(form)
    if form.validate_on_submit():
        try:
            user, password = services.create(
                email=form.email.data, name=form.name.data, role=form.role.data, countries=form.countries.data,
                donor_id=_donor_id(form), locale=form.locale.data)
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            # The initial password is on this answer only: no URL, no log, no later page shows it.
            return render_template("admin/initial_password.html", user=user, password=password, new=True)
    return render_template("admin/user_form.html", form=form)


@bp.route("/users/<int:user_id>")
@permission("admin.users")
def user(user_id: int):
    found = _user_or_404(user_id)
    form = AccessForm(role=found.role, countries=found.countries,
                      donor=str(found.donor_id) if found.donor_id else "")
    _choices(form)
    return _render_user(found, form)


def _render_user(found: User, form: AccessForm):
    return render_template(
        "admin/user.html", user=found, form=form, action=ActionForm(), me=found.id == current_user.id,
        enrolled=two_factor.enrolled(found), locked=is_locked(found),
        recovery_left=recovery_codes_left(found.id),
    )


@bp.route("/users/<int:user_id>/access", methods=["POST"])
@permission("admin.users")
def change_access(user_id: int):
    found = _user_or_404(user_id)
    form = AccessForm()
    _choices(form)
    if form.validate_on_submit():
        try:
            changed = services.change_access(user=found, role=form.role.data, countries=form.countries.data,
                                             donor_id=_donor_id(form), by=_me())
        except Invalid as error:
            db.session.rollback()
            show_errors(form, error)
        else:
            db.session.commit()
            if changed:
                flash(_("The access of %(email)s is changed; their sessions have ended.", email=found.email),
                      "success")
            return redirect(url_for("admin.user", user_id=found.id))
    return _render_user(found, form), 422


def _act(user_id: int, change):
    """Run ``change(user=..., by=...)`` on a button's POST; returns the user, the result and whether it was done."""
    found = _user_or_404(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        result = change(user=found, by=_me())
    except Invalid as error:
        db.session.rollback()
        flash(" ".join(error.errors.values()), "error")
        return found, None, False
    db.session.commit()
    return found, result, True


@bp.route("/users/<int:user_id>/disable", methods=["POST"])
@permission("admin.users")
def disable_user(user_id: int):
    found, _result, done = _act(user_id, lambda **kw: services.set_active(active=False, **kw))
    if done:
        flash(_("%(email)s is disabled; their sessions have ended.", email=found.email), "success")
    return redirect(url_for("admin.user", user_id=found.id))


@bp.route("/users/<int:user_id>/enable", methods=["POST"])
@permission("admin.users")
def enable_user(user_id: int):
    found, _result, done = _act(user_id, lambda **kw: services.set_active(active=True, **kw))
    if done:
        flash(_("%(email)s may sign in again.", email=found.email), "success")
    return redirect(url_for("admin.user", user_id=found.id))


@bp.route("/users/<int:user_id>/reset-two-factor", methods=["POST"])
@permission("admin.users")
def reset_two_factor(user_id: int):
    found, _result, done = _act(user_id, services.reset_two_factor)
    if done:
        flash(_("The second factor of %(email)s is removed; their sessions have ended.", email=found.email),
              "success")
    return redirect(url_for("admin.user", user_id=found.id))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@permission("admin.users")
def reset_password(user_id: int):
    found, password, done = _act(user_id, services.reset_password)
    if not done:
        return redirect(url_for("admin.user", user_id=found.id))
    return render_template("admin/initial_password.html", user=found, password=password, new=False)
