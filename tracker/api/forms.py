"""The account page's forms for API tokens."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from tracker.api.tokens import LIFETIMES


class NewTokenForm(FlaskForm):
    name = StringField(_l("Name of the token"), validators=[DataRequired(), Length(max=100)],
                       render_kw={"autocomplete": "off", "maxlength": 100})
    days = SelectField(_l("Expires after"), choices=[SelectChoice(str(d), _l("%(num)s days", num=d)) for d in LIFETIMES],
                       default="90")


class RevokeTokenForm(FlaskForm):
    token_id = HiddenField(validators=[DataRequired()])
