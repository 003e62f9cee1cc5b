"""Formatting for the reader's language: money, numbers, dates, labels."""
from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from babel import Locale
from babel.dates import get_date_format
from babel.dates import parse_pattern as parse_date_pattern
from babel.numbers import NumberPattern, format_percent, parse_pattern
from jinja2 import pass_context

from tracker.countries import country_name
from tracker.i18n import locale_code
from tracker.vocab import label, role_label

__all__ = ["country", "date", "format_dollars", "format_money", "locale_code", "number", "percent"]


@functools.cache
def _locale(code: str) -> Locale:
    return Locale.parse(code)


@functools.cache
def _currency_pattern(code: str, whole: bool) -> NumberPattern:
    """The locale's currency pattern, parsed once (``whole``: with its fraction taken out)."""
    pattern = _locale(code).currency_formats["standard"]
    return parse_pattern(re.sub(r"\.0+", "", pattern.pattern)) if whole else pattern


@functools.cache
def _date_pattern(code: str, form: str):
    if form in ("full", "long", "medium", "short"):
        form = get_date_format(form, locale=_locale(code))
    return parse_date_pattern(form)


@functools.cache
def _decimal_pattern(digits: int) -> NumberPattern:
    return parse_pattern("#,##0" + ("." + "0" * digits if digits else ""))


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
    code = locale_code()
    if isinstance(amount, int):
        amount = Decimal(amount)  # exact (a chart's axis at 0)
    elif not isinstance(amount, Decimal):
        return _babel_money(amount, currency, code, whole)
    if whole:
        amount = amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN) + 0  # + 0: never "-$0"
    if not amount.is_finite():
        return _babel_money(amount, currency, code, whole)
    return _money_layout(code, currency, whole).write(amount)


def _babel_money(amount: Decimal, currency: str, code: str, whole: bool) -> str:
    """Babel's format_currency, with the locale and its pattern parsed once."""
    return _spaced(_currency_pattern(code, whole).apply(amount, _locale(code), currency=currency,
                                                        currency_digits=not whole))


@dataclass(frozen=True)
class _MoneyLayout:
    """How Babel writes amounts of one currency in one language, read once from what it writes for
    ±1234567.89, and then applied with Python's own formatting: a list of 50 payments formats hundreds of amounts,
    and Babel's pattern engine costs a tenth of a millisecond each (tests/test_money.py checks both agree)."""

    digits: int
    group: str
    decimal: str
    positive: tuple[str, str]
    negative: tuple[str, str]

    def write(self, amount: Decimal) -> str:
        rounded = amount.quantize(_EXPONENTS[self.digits], rounding=ROUND_HALF_EVEN)
        prefix, suffix = self.negative if rounded.is_signed() else self.positive
        figure = f"{abs(rounded):,.{self.digits}f}".translate({44: self.group, 46: self.decimal})
        return prefix + figure + suffix


_EXPONENTS = {n: Decimal(1).scaleb(-n) for n in range(0, 5)}
_SAMPLE = Decimal("1234567.8912")


@functools.cache
def _money_layout(code: str, currency: str, whole: bool) -> _MoneyLayout:
    def parts(written: str) -> tuple[str, str, str]:
        """What comes before the figure, after it, and the figure."""
        first = next(i for i, ch in enumerate(written) if ch.isdigit())
        last = max(i for i, ch in enumerate(written) if ch.isdigit())
        return written[:first], written[last + 1:], written[first:last + 1]

    pos_prefix, pos_suffix, figure = parts(_babel_money(_SAMPLE, currency, code, whole))
    neg_prefix, neg_suffix, _ = parts(_babel_money(-_SAMPLE, currency, code, whole))
    # "1,234,567.89": the group separator follows the "1"; what is left that is not a digit separates the fraction.
    group = figure[1]
    body = figure.replace(group, "")
    if body.isdigit():
        digits, decimal = 0, "."
    else:
        decimal = next(c for c in body if not c.isdigit())
        digits = len(body) - body.index(decimal) - 1
    return _MoneyLayout(digits, group, decimal, (pos_prefix, pos_suffix), (neg_prefix, neg_suffix))


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
    return _decimal_pattern(digits).apply(value, _locale(locale_code()))


def percent(ratio) -> str:
    if ratio is None:
        return "—"
    return format_percent(ratio, locale=locale_code())


def date(value: dt.date | None, form: str = "medium") -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        value = value.date()
    # Babel's format_date, with the locale and its pattern parsed once rather than on every date.
    return _date_pattern(locale_code(), form).apply(value, _locale(locale_code()))


def country(code: str | None) -> str:
    return country_name(code, locale_code()) if code else ""


def _per_request(function):
    """A filter Jinja never works out once for all when a template is compiled: it would fold
    ``"received"|label`` into the language of the first request. ``pass_context`` keeps it for each render."""
    @functools.wraps(function)
    def filter_(_context, *args, **kwargs):
        return function(*args, **kwargs)

    return pass_context(filter_)


def init_app(app) -> None:
    for function, name in ((format_money, "money"), (format_dollars, "dollars"), (number, "number"),
                           (percent, "percent"), (date, "date"), (label, "label"), (role_label, "role"),
                           (country, "country")):
        app.add_template_filter(_per_request(function), name)
