"""Form helpers shared by every feature."""
from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.fields.choices import SelectChoice

from tracker import money
from tracker.errors import Invalid
from tracker.models.base import today

#: The languages the interface and the reports are written in, each named in itself: never translated, so
#: that a reader finds their own language whatever the page is in.
AUTONYMS = {"en": "English", "fr": "Français"}
LANGUAGE_CHOICES = [SelectChoice(code, name) for code, name in AUTONYMS.items()]


class ActionForm(FlaskForm):
    """A button that changes something: a POST with a CSRF token and nothing else."""


def show_errors(form: FlaskForm, error: Invalid, aliases: dict[str, str] | None = None, *,
                fields_with_errors: bool = True) -> None:
    """Put a service's messages next to the form fields they name; others go on top of the form.

    ``fields_with_errors=False`` leaves out the messages of a field that has an error of its own already (the
    service's checks run after the form's refused the field, :func:`check_too`: they would say the same).
    """
    aliases = aliases or {}
    form.form_errors = list(getattr(form, "form_errors", []) or [])
    for field_name, messages in error.messages.items():
        field = getattr(form, aliases.get(field_name, field_name), None) if field_name else None
        if field is not None and hasattr(field, "errors") and field.errors and not fields_with_errors:
            continue
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors or []) + [m for m in messages if m not in (field.errors or [])]
        else:
            form.form_errors.extend(messages)


def check_too(form: FlaskForm, check, aliases: dict[str, str] | None = None) -> None:
    """A form refused before its service ran: run the service's checks too (``check()``, which saves nothing),
    so that the page shows every problem at once, and not the form's first and the service's after another try.
    Nothing runs for a form not submitted, or whose CSRF token was refused."""
    csrf = getattr(form, "csrf_token", None)
    if not form.is_submitted() or (csrf is not None and csrf.errors):
        return
    try:
        check()
    except Invalid as error:
        show_errors(form, error, aliases, fields_with_errors=False)


def date_field(label, **kwargs):
    """A date input (``YYYY-MM-DD``) defaulting to today."""
    kwargs.setdefault("default", today)
    kwargs.setdefault("format", "%Y-%m-%d")
    kwargs.setdefault("render_kw", {"type": "date"})
    return DateField(label, **kwargs)


class AmountField(StringField):
    """An amount typed as text, read exactly in the user's language (``1 250,50`` in French, ``1,250.50`` in
    English) into a :class:`~decimal.Decimal`, or ``None`` when empty; text that is no amount is this field's
    error (with the form's other errors). The service still checks the value (zero, decimals of the currency).
    """

    def process_formdata(self, valuelist):
        self.data = None
        raw = (valuelist[0] if valuelist else "") or ""
        if raw.strip():
            try:
                self.data = money.parse_typed_amount(raw, get_locale() or "en")
            except money.MoneyError as error:
                raise ValueError(str(error)) from None

    @property
    def example(self) -> str:
        """An amount written as this field reads it in the user's language (``1,250.50``, ``1 250,50``)."""
        return money.typed_example(get_locale() or "en")

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]  # as typed, to correct it
        if isinstance(self.data, Decimal):
            whole = self.data == self.data.to_integral_value()
            return format_decimal(self.data, "0" if whole else "0.00", locale=get_locale() or "en")
        return self.data or ""


def amount_field(label, **kwargs):
    """Amounts are typed as text in the user's language and read exactly (never a float)."""
    render_kw = {"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"}
    render_kw.update(kwargs.pop("render_kw", {}))
    return AmountField(label, render_kw=render_kw, **kwargs)


__all__ = ["LANGUAGE_CHOICES", "ActionForm", "show_errors", "check_too", "date_field", "amount_field", "AmountField",
           "Invalid"]
