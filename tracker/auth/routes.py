from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from tracker import audit
from tracker.auth import bp
from tracker.auth.forms import LoginForm, LogoutForm
from tracker.auth.permissions import PUBLIC, SIGNED_IN, permission
from tracker.auth.services import authenticate
from tracker.extensions import db
from tracker.models.users import new_session_token


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else ``None``.

    Refuses absolute and scheme-relative URLs (``//evil``, ``/\\evil``),
    schemes such as ``javascript:``, and control characters.
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@permission(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        db.session.commit()
        if user is None:
            flash(_("The e-mail or the password is not right."), "error")
        else:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(form.next.data) or url_for("main.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@permission(SIGNED_IN)
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        # A new token ends this session and every other one of this user.
        user.session_token = new_session_token()
        audit.record(db.session, "sign_out", entity="users", entity_id=user.id)
        db.session.commit()
        logout_user()
        flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
