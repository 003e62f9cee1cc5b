"""The funding screens' forms and the options of their selects.

Forms carry what was typed; the services of :mod:`tracker.funding.services` hold the rules.
Every option is a WTForms ``SelectChoice`` (tuples are deprecated by WTForms 3.3).
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired

from tracker.countries import country_choices
from tracker.extensions import db
from tracker.formatting import locale_code
from tracker.forms import amount_field, date_field
from tracker.models import CATEGORIES, DONOR_KINDS, PROJECT_STATUSES, Donor
from tracker.web import SelectChoice, vocab_choices


def countries_choices(only=None, *, blank=None) -> list[SelectChoice]:
    """Every country (or those in ``only``), named in the reader's language; ``blank`` labels an empty first option."""
    everyone = country_choices(locale_code())
    chosen = [choice for choice in everyone if only is None or choice.value in only]
    return ([SelectChoice("", blank)] if blank else []) + chosen


def donor_choices() -> list[SelectChoice]:
    """Every donor by name, after a "Choose…" option (the list filters leave that one out)."""
    rows = db.session.execute(select(Donor.id, Donor.name).order_by(Donor.name)).all()
    return [SelectChoice("", _("Choose…"))] + [SelectChoice(str(i), name) for i, name in rows]


class DonorForm(FlaskForm):
    name = StringField(_l("Name"))
    name_fr = StringField(_l("Name in French"), render_kw={"lang": "fr"})
    kind = SelectField(_l("Kind"), choices=vocab_choices(DONOR_KINDS))
    country = SelectField(_l("Country"), validate_choice=False)


class PledgeForm(FlaskForm):
    donor = SelectField(_l("Donor"), validators=[InputRequired(message=_l("Choose a donor."))])
    reference = StringField(_l("Reference"), render_kw={"autocomplete": "off"})
    amount = amount_field(_l("Amount"))
    currency = SelectField(_l("Currency"), validate_choice=False)
    pledged_on = date_field(_l("Pledged on"))
    country = SelectField(_l("Earmarked for a country"), validate_choice=False)
    #: Any code typed here is looked up in the user's countries (404 outside them), so the choices are not checked.
    project = SelectField(_l("Earmarked for a project"), validate_choice=False)


class ContributionForm(FlaskForm):
    donor = SelectField(_l("Donor"), validators=[InputRequired(message=_l("Choose a donor."))])
    pledge = SelectField(_l("Against the pledge"))
    reference = StringField(_l("Reference"), render_kw={"autocomplete": "off"})
    amount = amount_field(_l("Amount"))
    currency = SelectField(_l("Currency"), validate_choice=False)
    received_on = date_field(_l("Received on"))


class AllocationForm(FlaskForm):
    project = SelectField(_l("Project"), validators=[InputRequired(message=_l("Choose a project."))],
                          validate_choice=False)
    amount_usd = amount_field(_l("Amount in US dollars"))
    allocated_on = date_field(_l("Allocated on"))
    reference = StringField(_l("Reference"), render_kw={"autocomplete": "off"})
    note = TextAreaField(_l("Note"))


class BudgetLineForm(FlaskForm):
    year = StringField(_l("Year"), render_kw={"inputmode": "numeric", "maxlength": 4})
    category = SelectField(_l("Category"), choices=vocab_choices(CATEGORIES))
    amount_usd = amount_field(_l("Need in US dollars"))


class ProjectForm(FlaskForm):
    code = StringField(_l("Code"), render_kw={"placeholder": "TF-CD-2025-01", "autocomplete": "off"})
    title = StringField(_l("Title"))
    title_fr = StringField(_l("Title in French"), render_kw={"lang": "fr"})
    country = SelectField(_l("Country"), validate_choice=False)
    partner = StringField(_l("Implementing partner"), render_kw={"list": "partners", "autocomplete": "off"})
    start_date = date_field(_l("Start date"))
    end_date = date_field(_l("End date"), default=None)
    status = SelectField(_l("Status"), choices=vocab_choices(PROJECT_STATUSES), default="pipeline")
    description = TextAreaField(_l("Description"))


class RateForm(FlaskForm):
    currency = SelectField(_l("Currency"))
    valid_from = date_field(_l("Valid from"))
    usd_per_unit = StringField(_l("US dollars per unit"), validators=[InputRequired()],
                               render_kw={"inputmode": "decimal", "placeholder": "0.00035"})
