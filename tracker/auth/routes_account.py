"""Every user's own account: password, language, second factor, recovery codes."""
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tracker import audit
from tracker.auth import sessions, two_factor
from tracker.auth.blueprint import bp
from tracker.auth.forms import (
    ConfirmPasswordForm,
    EnrolForm,
    LanguageForm,
    NewTokenForm,
    PasswordForm,
    RevokeTokenForm,
)
from tracker.auth.permissions import SIGNED_IN, permission
from tracker.auth.services import (
    UserError,
    check_password,
    end_sessions,
    is_locked,
    must_change_password,
    set_password,
)
from tracker.auth.tokens import create_token, revoke_token, token_state, user_tokens
from tracker.extensions import db
from tracker.forms import ActionForm


def _me():
    return current_user._get_current_object()


def _locked_out():
    """A wrong password inside a session that locked the account ends the session too."""
    user = _me()
    if not is_locked(user):
        return None
    end_sessions(user)
    db.session.commit()
    sessions.end()
    flash(_("Too many wrong passwords: you are signed out and your account is locked for a while."), "error")
    return redirect(url_for("auth.login"))


@bp.route("/account")
@permission(SIGNED_IN)
def account():
    return _account_page()


def _account_page(*, token_form=None, new_token=None, status=200):
    user = _me()
    return render_template(
        "auth/account.html",
        language_form=LanguageForm(locale=user.locale),
        enrolled=two_factor.enrolled(user),
        required=two_factor.required_for(user),
        recovery_left=two_factor.unused_recovery_codes(user) if two_factor.enrolled(user) else 0,
        disable_form=ConfirmPasswordForm(prefix="disable"),
        codes_form=ConfirmPasswordForm(prefix="codes"),
        **_token_context(user, token_form), new_token=new_token,
    ), status


@bp.route("/account/language", methods=["POST"])
@permission(SIGNED_IN)
def language():
    form = LanguageForm()
    if form.validate_on_submit() and form.locale.data in current_app.config["LANGUAGES"]:
        _me().locale = form.locale.data
        db.session.commit()
        flash(_("Your language is saved."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/password", methods=["GET", "POST"])
@permission(SIGNED_IN)
def password():
    """Change one's password; every other session of the user ends, this one carries on."""
    user = _me()
    form = PasswordForm()
    if form.validate_on_submit():
        if not check_password(user, form.current.data):
            db.session.commit()
            gone = _locked_out()
            if gone is not None:
                return gone
            form.current.errors = [_("This is not your current password.")]
        elif form.new.data == form.current.data:
            form.new.errors = [_("Choose a password other than the current one.")]
        else:
            try:
                set_password(user, form.new.data)
            except UserError as error:
                form.new.errors = [str(error)]
            else:
                audit.record(db.session, "password_changed", entity="users", entity_id=user.id)
                db.session.commit()
                sessions.reissue(user)
                flash(_("Your password is changed; your other sessions have ended."), "success")
                return redirect(url_for("auth.account"))
    return render_template("auth/password.html", form=form, forced=must_change_password(user))


@bp.route("/account/two-factor")
@permission(SIGNED_IN)
def two_factor_setup():
    """Enrol: scan the code (or type the key) into an authenticator app, then confirm with a code."""
    user = _me()
    if two_factor.enrolled(user):
        return redirect(url_for("auth.account"))
    secret = two_factor.pending_secret(user)
    qr = key = None
    if secret:
        qr = two_factor.qr_data_uri(two_factor.provisioning_uri(user, secret))
        key = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template(
        "auth/two_factor.html", qr=qr, key=key, start_form=ActionForm(), form=EnrolForm(),
        required=two_factor.required_for(user),
    )


@bp.route("/account/two-factor/start", methods=["POST"])
@permission(SIGNED_IN)
def two_factor_start():
    user = _me()
    if ActionForm().validate_on_submit() and not two_factor.enrolled(user):
        two_factor.start_enrolment(user)
        db.session.commit()
    return redirect(url_for("auth.two_factor_setup"))


@bp.route("/account/two-factor/confirm", methods=["POST"])
@permission(SIGNED_IN)
def two_factor_confirm():
    user = _me()
    if two_factor.enrolled(user):
        return redirect(url_for("auth.account"))
    form = EnrolForm()
    if not form.validate_on_submit() or two_factor.pending_secret(user) is None:
        return redirect(url_for("auth.two_factor_setup"))
    codes = two_factor.confirm_enrolment(user, form.code.data)
    if codes is None:
        db.session.rollback()
        flash(_("This code is not right. Check the time on your phone and try again with a new code."), "error")
        return redirect(url_for("auth.two_factor_setup"))
    db.session.commit()
    # Shown once, on this answer only: never stored in clear, never behind a URL.
    return render_template("auth/recovery_codes.html", codes=codes, first=True)


@bp.route("/account/two-factor/disable", methods=["POST"])
@permission(SIGNED_IN)
def two_factor_disable():
    user = _me()
    form = ConfirmPasswordForm(prefix="disable")
    if two_factor.required_for(user):
        abort(403)
    if not form.validate_on_submit() or not two_factor.enrolled(user):
        return redirect(url_for("auth.account"))
    if not check_password(user, form.password.data):
        db.session.commit()
        gone = _locked_out()
        if gone is not None:
            return gone
        flash(_("This is not your current password."), "error")
        return redirect(url_for("auth.account"))
    two_factor.disable(user)
    db.session.commit()
    flash(_("Two-step sign-in is off."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@permission(SIGNED_IN)
def recovery_codes():
    user = _me()
    form = ConfirmPasswordForm(prefix="codes")
    if not form.validate_on_submit() or not two_factor.enrolled(user):
        return redirect(url_for("auth.account"))
    if not check_password(user, form.password.data):
        db.session.commit()
        gone = _locked_out()
        if gone is not None:
            return gone
        flash(_("This is not your current password."), "error")
        return redirect(url_for("auth.account"))
    codes = two_factor.new_recovery_codes(user)
    db.session.commit()
    return render_template("auth/recovery_codes.html", codes=codes, first=False)


# --- API tokens (tracker/auth/tokens.py) ------------------------------------------------------------------------------

def _token_context(user, token_form=None) -> dict:
    return {"token_form": token_form or NewTokenForm(formdata=None), "revoke_form": RevokeTokenForm(formdata=None),
            "api_tokens": [(t, token_state(t)) for t in user_tokens(user)]}


@bp.route("/account/api-tokens", methods=["POST"])
@permission(SIGNED_IN)
def create_api_token():
    """Make a token; it is shown once, on the page that answers this POST (never in a URL, flash or log)."""
    form = NewTokenForm()
    if not form.validate_on_submit():
        return _account_page(token_form=form, status=422)
    made = create_token(user=_me(), name=form.name.data, days=int(form.days.data))
    db.session.commit()
    return _account_page(new_token=made)


@bp.route("/account/api-tokens/revoke", methods=["POST"])
@permission(SIGNED_IN)
def revoke_api_token():
    form = RevokeTokenForm()
    value = form.token_id.data or ""
    if form.validate_on_submit() and value.isdigit() and len(value) < 12:
        revoked = revoke_token(user=_me(), token_id=int(value))
        if revoked is not None:
            db.session.commit()
            flash(_("The token %(prefix)s… is revoked.", prefix=revoked.prefix), "success")
            return redirect(url_for("auth.account"))
    flash(_("No such token of yours to revoke."), "error")
    return redirect(url_for("auth.account"))
