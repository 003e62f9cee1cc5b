from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from tracker.forms import amount_field, date_field
from tracker.models import CATEGORIES
from tracker.web import vocab_choices


class StartForm(FlaskForm):
    """Step one of an entry: whose payment, and for what."""

    class Meta:
        csrf = False  # a GET form that only chooses what the next form offers

    mother = StringField(_l("Mother's code"), validators=[InputRequired(), Length(max=20)],
                         render_kw={"placeholder": "CD-M-00042", "autocomplete": "off"})
    category = SelectField(_l("Category"), choices=vocab_choices(CATEGORIES))
    back = HiddenField(validators=[Length(max=300)])


class EntryForm(FlaskForm):
    request_key = HiddenField(validators=[Length(max=64)])
    #: The page the user came from, for "Back to the list" once the payment is saved (a path on this site).
    back = HiddenField(validators=[Length(max=300)])
    target = SelectField(_l("For"), validators=[Optional()])
    payee = StringField(_l("Payee (school, supplier, provider)"), validators=[InputRequired(), Length(max=200)])
    amount = amount_field(_l("Amount"), validators=[InputRequired()])
    currency = SelectField(_l("Currency"))
    entered_on = date_field(_l("Date of the request"))
    top_up = BooleanField(_l("This is a top-up: a second payment for the same term"))
    top_up_reason = StringField(_l("Why a top-up"), validators=[Optional(), Length(max=500)])
    save_as = SelectField(_l("Then"), choices=[SelectChoice("submit", _l("Submit for approval")),
                                                SelectChoice("draft", _l("Keep as a draft"))])


class TermForm(FlaskForm):
    """Whole-term entry: choose the selection (GET, no CSRF needed to look)."""

    class Meta:
        csrf = False

    project = SelectField(_l("Project"), validators=[InputRequired()])
    school = SelectField(_l("School"), validators=[Optional()])
    academic_year = StringField(_l("Academic year"), validators=[InputRequired()], render_kw={"maxlength": 9})
    term = SelectField(_l("Term"), choices=[SelectChoice(t) for t in "1234"])


class CorrectForm(FlaskForm):
    """A withdrawn (draft) payment's values that its author may correct before submitting it again."""
    payee = StringField(_l("Payee (school, supplier, provider)"), validators=[InputRequired(), Length(max=200)])
    amount = amount_field(_l("Amount"), validators=[InputRequired()])
    currency = SelectField(_l("Currency"))
    entered_on = date_field(_l("Date of the request"))


class WithdrawForm(FlaskForm):
    reason = StringField(_l("Why you withdraw it"), validators=[InputRequired(), Length(max=200)])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=500)])


class PayForm(FlaskForm):
    paid_on = date_field(_l("Paid on"))
    payment_reference = StringField(_l("Payment reference"), validators=[InputRequired(), Length(max=80)],
                                    render_kw={"autocomplete": "off"})


