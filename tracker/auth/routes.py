"""Signing in (password, then a code for users with a second factor) and out."""
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tracker import audit
from tracker.auth import sessions, two_factor
from tracker.auth.blueprint import bp
from tracker.auth.forms import CodeForm, LoginForm, LogoutForm
from tracker.auth.permissions import PUBLIC, SIGNED_IN, permission
from tracker.auth.services import (
    authenticate,
    complete_sign_in,
    count_failure,
    end_sessions,
    give_back_attempt,
    take_attempt,
)
from tracker.extensions import db
from tracker.models import User
from tracker.models.base import now_utc

#: Session key of a sign-in whose password was right and whose code is awaited.
PENDING = "pending_sign_in"
#: Seconds the code may come after the password.
PENDING_SECONDS = 300


def failed_message() -> str:
    """The one message for every refused sign-in: unknown e-mail, wrong password, wrong code, locked account."""
    return _("The e-mail or the password is not right.")


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
            flash(failed_message(), "error")
        elif two_factor.enrolled(user):
            session.clear()
            session[PENDING] = {"user": user.id, "token": user.session_token, "at": int(now_utc().timestamp()),
                                "remember": bool(form.remember.data), "next": safe_next(form.next.data) or ""}
            return redirect(url_for("auth.login_code"))
        else:
            complete_sign_in(user)
            db.session.commit()
            sessions.start(user, remember=form.remember.data)
            return redirect(safe_next(form.next.data) or url_for("main.home"))
    return render_template("auth/login.html", form=form)


def _pending() -> tuple[User, dict] | None:
    """The user whose password was right a moment ago in this browser, if their code may still come."""
    state = session.get(PENDING)
    if not isinstance(state, dict):
        return None
    age = int(now_utc().timestamp()) - int(state.get("at", 0))
    user = db.session.get(User, state.get("user")) if isinstance(state.get("user"), int) else None
    if (user is None or not 0 <= age <= PENDING_SECONDS or not user.active
            or user.session_token != state.get("token") or not two_factor.enrolled(user)):
        return None
    return user, state


@bp.route("/login/code", methods=["GET", "POST"])
@permission(PUBLIC)
def login_code():
    """Second step: a code from the authenticator app, or one of the recovery codes."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    pending = _pending()
    if pending is None:
        session.pop(PENDING, None)
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    user, state = pending
    form = CodeForm()
    if form.validate_on_submit():
        # Counted before the code is checked, as a password is (tracker/auth/services.py, take_attempt).
        user_id = user.id
        attempt = take_attempt(user)
        if attempt is None:
            audit.record(db.session, "sign_in_failed", entity="users", entity_id=user_id, user_id=user_id,
                         changes={"reason": "locked"})
            db.session.commit()
            session.pop(PENDING, None)
            flash(failed_message(), "error")
            return redirect(url_for("auth.login"))
        method = two_factor.verify_second_factor(user, form.code.data)
        if method is None:
            locked = count_failure(user, step="second_factor", attempt=attempt)
            db.session.commit()
            if locked:
                session.pop(PENDING, None)
                flash(failed_message(), "error")
                return redirect(url_for("auth.login"))
            form.code.errors = [_("This code is not right, or it was used already.")]
        else:
            give_back_attempt(user)
            complete_sign_in(user, second_factor=method)
            db.session.commit()
            sessions.start(user, remember=state.get("remember", False))
            if method == "recovery_code":
                left = two_factor.unused_recovery_codes(user)
                flash(_("You signed in with a recovery code; %(n)d are left. Make new ones on your account page "
                        "when few are left.", n=left), "info")
            return redirect(safe_next(state.get("next")) or url_for("main.home"))
    return render_template("auth/code.html", form=form)


@bp.route("/logout", methods=["POST"])
@permission(SIGNED_IN)
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        # A new token ends this session and every other one of this user.
        end_sessions(user)
        audit.record(db.session, "sign_out", entity="users", entity_id=user.id)
        db.session.commit()
        current_app.logger.info("user %s signed out", user.id)
        sessions.end()
        flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


from tracker.auth import routes_account  # noqa: E402,F401
