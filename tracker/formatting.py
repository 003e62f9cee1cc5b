"""Formatting for the reader's language: money, numbers, dates, labels."""
from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_EVEN, Decimal

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.numbers import format_currency, format_decimal, format_percent
from flask_babel import get_locale

from tracker.countries import country_name
from tracker.vocab import label, role_label


def locale_code() -> str:
    """The reader's language (``en`` or ``fr``), for Babel's functions that take a locale."""
    return str(get_locale() or "en")


#: A currency written in letters (``CDF``, ``FCFA``) glued to its figure, as Babel writes it in English.
_GLUED_LETTERS = re.compile(r"^(-?)([^\W\d_]{2,})(?=\d)")


def format_money(amount: Decimal | None, currency: str = "USD", *, whole: bool = False) -> str:
    """``$1,250.50`` in English, ``1 250,50 $US`` in French; exact, no float.

    A currency written in letters is kept apart from its figure by a no-break space: ``CDF 120,500.00``, not
    Babel's English ``CDF120,500.00``.

    ``whole``: rounded half-even to whole units and written without decimals (``$1,250``, ``1 250 $US``), for
    charts, where cents are noise; the locale's own pattern, with its fraction taken out.
    """
    if amount is None:
        return "—"
    locale = locale_code()
    if whole:
        pattern = re.sub(r"\.0+", "", Locale.parse(locale).currency_formats["standard"].pattern)
        rounded = amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN) + 0  # + 0: never "-$0"
        return _spaced(format_currency(rounded, currency, format=pattern, locale=locale, currency_digits=False))
    return _spaced(format_currency(amount, currency, locale=locale, currency_digits=True))


def _spaced(written: str) -> str:
    return _GLUED_LETTERS.sub("\\1\\2\u00a0", written)


def format_dollars(amount: Decimal | None) -> str:
    """US dollars rounded to the dollar (half to even) for headline figures: ``$25,786``, ``25 786 $US``."""
    return format_money(amount, "USD", whole=True)


def number(value, digits: int = 0) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = Decimal(str(value))
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=fmt, locale=locale_code())


def percent(ratio) -> str:
    if ratio is None:
        return "—"
    return format_percent(ratio, locale=locale_code())


def date(value: dt.date | None, form: str = "medium") -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = value.date()
    return babel_format_date(value, format=form, locale=locale_code())


def country(code: str | None) -> str:
    return country_name(code, locale_code()) if code else ""


def init_app(app) -> None:
    app.add_template_filter(format_money, "money")
    app.add_template_filter(format_dollars, "dollars")
    app.add_template_filter(number)
    app.add_template_filter(percent)
    app.add_template_filter(date)
    app.add_template_filter(label)
    app.add_template_filter(role_label, name="role")
    app.add_template_filter(country)
