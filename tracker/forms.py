"""Form helpers shared by every feature."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.fields.choices import SelectChoice

from tracker.errors import Invalid
from tracker.models.base import today

#: The languages the interface and the reports are written in, each named in itself: never translated, so
#: that a reader finds their own language whatever the page is in.
AUTONYMS = {"en": "English", "fr": "Français"}
LANGUAGE_CHOICES = [SelectChoice(code, name) for code, name in AUTONYMS.items()]


class ActionForm(FlaskForm):
    """A button that changes something: a POST with a CSRF token and nothing else."""


def show_errors(form: FlaskForm, error: Invalid, aliases: dict[str, str] | None = None) -> None:
    """Put a service's messages next to the form fields they name; others go on top of the form."""
    aliases = aliases or {}
    form.form_errors = list(getattr(form, "form_errors", []) or [])
    for field_name, message in error.errors.items():
        field = getattr(form, aliases.get(field_name, field_name), None) if field_name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + [message]
        else:
            form.form_errors.append(message)


def date_field(label, **kwargs):
    """A date input (``YYYY-MM-DD``) defaulting to today."""
    kwargs.setdefault("default", today)
    kwargs.setdefault("format", "%Y-%m-%d")
    kwargs.setdefault("render_kw", {"type": "date"})
    return DateField(label, **kwargs)


def amount_field(label, **kwargs):
    """Amounts are typed as text and parsed exactly by the service (never a float)."""
    render_kw = {"inputmode": "decimal", "autocomplete": "off", "pattern": r"[0-9]+(\.[0-9]+)?",
                 "title": str(_l("Digits and one dot, such as 1250.50"))}
    render_kw.update(kwargs.pop("render_kw", {}))
    return StringField(label, render_kw=render_kw, **kwargs)


__all__ = ["LANGUAGE_CHOICES", "ActionForm", "show_errors", "date_field", "amount_field", "Invalid"]
