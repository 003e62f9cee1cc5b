from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from tracker.forms import LANGUAGE_CHOICES, date_field


class ReportForm(FlaskForm):
    scope = SelectField(_l("Scope"), validators=[InputRequired()])
    date_from = date_field(_l("From"), default=None)
    date_to = date_field(_l("To"))
    lang = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    donor = SelectField(_l("Addressed to"), validators=[Optional()])


class VerifyForm(FlaskForm):
    file = FileField(_l("The PDF file"))
    sha256 = StringField(_l("or its SHA-256 fingerprint"), validators=[Optional(), Length(max=100)],
                         render_kw={"autocomplete": "off", "spellcheck": "false"})
