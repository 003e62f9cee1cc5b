"""Registry forms. The services hold the rules; these only carry what was typed."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from tracker.forms import amount_field, date_field
from tracker.models import EXIT_REASONS, INCOME_PROJECT_STATUSES, PERSONNEL_CATEGORIES
from tracker.web import vocab_choices

NAME_HINT = _l("Stored encrypted; shown only when someone presses “Show personal data”.")
KEEP_HINT = _l("Leave empty to keep the current value.")


class MotherForm(FlaskForm):
    project = SelectField(_l("Project"), validators=[InputRequired()])
    full_name = StringField(_l("Full name"), validators=[InputRequired(), Length(max=200)],
                            render_kw={"autocomplete": "off"})
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)], render_kw={"autocomplete": "off"})
    village = StringField(_l("Village or neighbourhood"), validators=[Optional(), Length(max=120)],
                          render_kw={"autocomplete": "off"})
    year_of_birth = StringField(_l("Year of birth"), validators=[InputRequired()],
                                render_kw={"inputmode": "numeric", "maxlength": 4})
    enrolled_on = date_field(_l("Enrolled on"))
    consent_services = BooleanField(_l("She consents to receive services"), default=True)
    consent_reporting = BooleanField(_l("She consents to be counted in reports to donors"))


class MotherEditForm(FlaskForm):
    project = SelectField(_l("Project"), validators=[InputRequired()])
    full_name = StringField(_l("New full name"), validators=[Optional(), Length(max=200)],
                            render_kw={"autocomplete": "off"})
    phone = StringField(_l("New phone"), validators=[Optional(), Length(max=40)], render_kw={"autocomplete": "off"})
    clear_phone = BooleanField(_l("Remove the phone number"))
    village = StringField(_l("New village or neighbourhood"), validators=[Optional(), Length(max=120)],
                          render_kw={"autocomplete": "off"})
    clear_village = BooleanField(_l("Remove the village"))
    year_of_birth = StringField(_l("Year of birth"), validators=[InputRequired()],
                                render_kw={"inputmode": "numeric", "maxlength": 4})


class ExitForm(FlaskForm):
    reason = SelectField(_l("Reason"), choices=vocab_choices(EXIT_REASONS), validators=[InputRequired()])
    exited_on = date_field(_l("Exited on"))


class ConsentForm(FlaskForm):
    scope = SelectField(_l("Consent"), choices=[
        SelectChoice("services", _l("To receive services")),
        SelectChoice("reporting", _l("To be counted in reports to donors")),
    ])
    action = SelectField(_l("Change"), choices=[SelectChoice("give", _l("Given")),
                                                SelectChoice("withdraw", _l("Withdrawn"))])
    on = date_field(_l("On"))


class ChildForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[InputRequired(), Length(max=100)],
                             render_kw={"autocomplete": "off"})
    year_of_birth = StringField(_l("Year of birth"), validators=[InputRequired()],
                                render_kw={"inputmode": "numeric", "maxlength": 4})
    sex = SelectField(_l("Sex"), choices=[SelectChoice("F", _l("Girl")), SelectChoice("M", _l("Boy"))])


class ChildEditForm(ChildForm):
    first_name = StringField(_l("New first name"), validators=[Optional(), Length(max=100)],
                             render_kw={"autocomplete": "off"})


class EnrolmentForm(FlaskForm):
    school = StringField(_l("School"), validators=[InputRequired(), Length(max=200)], render_kw={"list": "schools"})
    academic_year = StringField(_l("Academic year"), validators=[InputRequired()],
                                render_kw={"placeholder": "2025-2026", "maxlength": 9})
    grade = StringField(_l("Grade"), validators=[InputRequired(), Length(max=40)])
    fee_per_term = amount_field(_l("Fee per term"), validators=[InputRequired()])
    currency = SelectField(_l("Currency"))
    terms = SelectField(_l("Terms in the year"), choices=[SelectChoice(t) for t in "1234"], default="3")


class ClaimForm(FlaskForm):
    member_state = SelectField(_l("Member State of the personnel"))
    personnel_category = SelectField(_l("Personnel category"), choices=vocab_choices(PERSONNEL_CATEGORIES))
    received_on = date_field(_l("Claim received on"))


class StepForm(FlaskForm):
    step = SelectField(_l("Next step"))
    occurred_on = date_field(_l("Date"))


class CorrectStepForm(FlaskForm):
    occurred_on = date_field(_l("Correct date"))
    new_step = SelectField(_l("Correct step"), validators=[Optional()])
    reason = TextAreaField(_l("Why it is corrected"), validators=[InputRequired(), Length(max=500)])


class IncomeProjectForm(FlaskForm):
    activity = StringField(_l("Activity"), validators=[InputRequired(), Length(max=120)],
                           render_kw={"list": "activities"})
    started_on = date_field(_l("Started on"))
    planned_grant = amount_field(_l("Planned grant"), validators=[InputRequired()])
    currency = SelectField(_l("Currency"))
    status = SelectField(_l("Status"), choices=vocab_choices(INCOME_PROJECT_STATUSES), default="planned")


class IncomeEditForm(FlaskForm):
    activity = StringField(_l("Activity"), validators=[InputRequired(), Length(max=120)],
                           render_kw={"list": "activities"})
    planned_grant = amount_field(_l("Planned grant"), validators=[InputRequired()])
    status = SelectField(_l("Status"), choices=vocab_choices(INCOME_PROJECT_STATUSES))
    closed_on = date_field(_l("Closed on (for a closed activity)"), validators=[Optional()], default=None)


class IncomeReportForm(FlaskForm):
    month = StringField(_l("Month"), validators=[InputRequired()],
                        render_kw={"type": "month", "placeholder": "2025-03"})
    revenue = amount_field(_l("Revenue"), validators=[InputRequired()])
    costs = amount_field(_l("Costs"), validators=[InputRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])


class PersonalExportForm(FlaskForm):
    """Exporting names is a deliberate, audited act."""

    confirm = BooleanField(_l("I need the personal data in this file and will protect it"),
                           validators=[InputRequired()])
    reason = StringField(_l("Why"), validators=[InputRequired(), Length(max=300)])
    fmt = HiddenField(default="xlsx")
