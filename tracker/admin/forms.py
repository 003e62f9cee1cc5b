from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from tracker.forms import LANGUAGE_CHOICES, date_field
from tracker.models import ROLES
from tracker.vocab import ROLE_LABELS

ROLE_CHOICES = [SelectChoice(r, ROLE_LABELS.get(r, r)) for r in ROLES]


class AccessForm(FlaskForm):
    """What a user may see: role, countries (staff and managers), donor (donor users)."""

    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    countries = SelectMultipleField(_l("Countries"), choices=[], validate_choice=True)
    donor = SelectField(_l("Donor"), choices=[], validate_choice=True)


class UserForm(AccessForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)


class AuditFilterForm(FlaskForm):
    """Filters of the audit log, read from the query string (codes and ids only)."""

    class Meta:
        csrf = False

    user = SelectField(_l("User"), choices=[], validate_choice=False)
    action = SelectField(_l("Action"), choices=[], validate_choice=False)
    entity = SelectField(_l("Record type"), choices=[], validate_choice=False)
    entity_id = StringField(_l("Record number"), validators=[Optional(), Length(max=60)])
    date_from = date_field(_l("From"), default=None, validators=[Optional()])
    date_to = date_field(_l("To"), default=None, validators=[Optional()])
