from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from tracker.auth.services import PASSWORD_MAX
from tracker.auth.tokens import LIFETIMES
from tracker.forms import LANGUAGE_CHOICES


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Keep me signed in on this computer"))
    next = HiddenField()


class CodeForm(FlaskForm):
    """The second step of signing in: a code from the app, or a recovery code."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True,
                                  "spellcheck": "false", "autocapitalize": "off"})


class LogoutForm(FlaskForm):
    """Sign-out is a POST with a CSRF token, never a link a page could trigger."""


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("New password again"),
                            validators=[DataRequired(), EqualTo("new", message=_l("The two passwords differ."))],
                            render_kw={"autocomplete": "new-password"})


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)


class EnrolForm(FlaskForm):
    code = StringField(_l("The 6-digit code the app shows"), validators=[DataRequired(), Length(max=12)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class ConfirmPasswordForm(FlaskForm):
    """A change to the second factor asks for the password again."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)],
                             render_kw={"autocomplete": "current-password"})


# --- the account page's API tokens (tracker/auth/tokens.py) ---


class NewTokenForm(FlaskForm):
    name = StringField(_l("Name of the token"), validators=[DataRequired(), Length(max=100)],
                       render_kw={"autocomplete": "off", "maxlength": 100})
    days = SelectField(_l("Expires after"),
                       choices=[SelectChoice(str(d), _l("%(num)s days", num=d)) for d in LIFETIMES], default="90")


class RevokeTokenForm(FlaskForm):
    token_id = HiddenField(validators=[DataRequired()])
