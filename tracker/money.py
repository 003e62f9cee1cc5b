"""Exact money: parsing, currency exponents, rounding and conversion to USD.

Amounts are :class:`decimal.Decimal` from the form to the database to the
report. Binary floating-point values are refused wherever they could sneak in.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from babel import Locale
from babel.numbers import (
    NumberFormatError,
    format_decimal,
    get_currency_precision,
    get_decimal_symbol,
    get_group_symbol,
    get_territory_currencies,
    parse_decimal,
)
from flask_babel import lazy_gettext as _l

#: Every amount the Fund handles must be below this (in any currency).
MAX_AMOUNT = Decimal("1000000000000")
#: Decimal places stored for amounts and for exchange rates.
AMOUNT_SCALE = 2
RATE_SCALE = 8

_CENT = Decimal("0.01")


def legal_tender(day: dt.date) -> frozenset[str]:
    """The currencies that are legal tender somewhere on ``day``, from Babel's CLDR data.

    Codes that are no longer money (FRF, ANG since the Caribbean guilder, BGN
    since Bulgaria took the euro) and units of account that are nobody's money
    (XAD, XDR) are not in it.
    """
    found: set[str] = set()
    for territory in Locale("en").territories:
        if len(territory) == 2 and territory.isalpha():
            found.update(get_territory_currencies(territory, start_date=day, end_date=day, tender=True))
    return frozenset(found)


#: Currencies a new amount may be in: legal tender today (read once, when the app starts).
CURRENCIES: frozenset[str] = legal_tender(dt.date.today())
#: The currencies of the programme countries, offered first in forms.
PROGRAMME_CURRENCIES = ("USD", "CDF", "XAF", "SSP", "HTG", "LRD", "EUR")


class MoneyError(ValueError):
    """An amount or currency that cannot be accepted; the message says why."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def is_currency(code: str | None) -> bool:
    return bool(code) and code in CURRENCIES


def exponent(currency: str) -> int:
    """Decimal places an amount may have in ``currency``: its minor unit (XAF 0, CDF 2), at most 2.

    Amounts are stored in cents, so the few currencies with three decimals
    (KWD, BHD, OMR...) are entered to the hundredth; none is used by the Fund.
    """
    found = _EXPONENTS.get(currency)
    if found is None:
        if not is_currency(currency):
            raise MoneyError(_l("unknown currency %(code)s", code=repr(currency)))
        found = _EXPONENTS[currency] = min(get_currency_precision(currency), AMOUNT_SCALE)
    return found


#: Each currency's exponent, read from Babel once (the CLDR data do not change while the app runs).
_EXPONENTS: dict[str, int] = {}
#: ``10 ** -places``, for 0 to :data:`AMOUNT_SCALE` places.
_QUANTA = tuple(Decimal(1).scaleb(-places) for places in range(AMOUNT_SCALE + 1))


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def parse_amount(text, currency: str | None = None, *, allow_zero: bool = False) -> Decimal:
    """Parse what a person typed (``"1250.50"``) into an exact amount.

    Refuses floats, thousands separators, ``NaN``/``Infinity``, exponents,
    negative numbers, zero (unless ``allow_zero``), absurdly large amounts and
    more decimals than the currency has (``12.5`` XAF, ``12.345`` USD).
    """
    if isinstance(text, float):
        raise MoneyError(_l("amounts must not be floats"))
    if isinstance(text, Decimal):
        value = text
    else:
        raw = str(text if text is not None else "").strip()
        if not raw:
            raise MoneyError(_l("an amount is required"))
        if raw.startswith("-") and _PLAIN_DECIMAL(raw[1:]):
            raise MoneyError(_l("the amount must be greater than zero"))
        if not _PLAIN_DECIMAL(raw):
            raise MoneyError(_l("%(value)s is not a plain amount like 1250.50 (digits and one dot only: no spaces, "
                                "no commas)",
                                value=repr(raw[:40])))
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise MoneyError(_l("%(value)s is not an amount", value=repr(raw[:40]))) from None
    if not value.is_finite():
        raise MoneyError(_l("the amount must be a finite number"))
    if value < 0 or (value == 0 and not allow_zero):
        raise MoneyError(_l("the amount must be greater than zero") if not allow_zero
                         else _l("the amount must not be negative"))
    if value >= MAX_AMOUNT:
        raise MoneyError(_l("the amount is too large"))
    places = exponent(currency) if currency else AMOUNT_SCALE
    if value != value.quantize(_QUANTA[places], rounding=ROUND_HALF_EVEN):
        if currency and places == 0:
            raise MoneyError(_l("%(code)s amounts have no decimals", code=currency))
        if currency:
            raise MoneyError(_l("%(code)s amounts have at most %(n)d decimal places", code=currency, n=places))
        raise MoneyError(_l("amounts have at most %(n)d decimal places", n=places))
    return value.quantize(_QUANTA[AMOUNT_SCALE])


def _PLAIN_DECIMAL(raw: str) -> bool:
    head, dot, tail = raw.partition(".")
    return head.isdigit() and head.isascii() and (not dot or (tail.isdigit() and tail.isascii()))


#: What a typed amount may hold before its language reads it: digits, dots, commas and spaces (plain, no-break,
#: narrow no-break), after an optional minus sign (refused later, with its own message).
_TYPED = re.compile(r"-?[0-9][0-9.,\u0020\u00a0\u202f]*")
_SPACES = re.compile(r"[\u0020\u00a0\u202f]")
#: A plain amount with a dot and one or two decimals: read the same in every language.
_DOT_CENTS = re.compile(r"[0-9]+\.[0-9]{1,2}")


def parse_typed_amount(text, locale) -> Decimal:
    """Read an amount a person typed in a form, as written in their language (``locale``): exact, never a float.

    French: ``1 250,50`` (the thousands separated by a space, a no-break space or a narrow no-break space) and
    ``1250,5``; English: ``1,250.50`` and ``1250.50``. In every language the plain ``1250.50`` is read as
    written. Input that could mean two amounts is refused rather than guessed: ``1.250,50`` in English,
    ``1,250.50`` or ``1.250`` in French, a comma that is no thousands separator in English (``1250,5``).
    Only the writing is read here; :func:`parse_amount` checks the value (zero, negative, decimals).
    Imports never come here: files take plain amounts only.
    """
    if isinstance(text, float):
        raise MoneyError(_l("amounts must not be floats"))
    if isinstance(text, Decimal):
        return text
    raw = str(text if text is not None else "").strip()
    if not raw:
        raise MoneyError(_l("an amount is required"))
    if _PLAIN_DECIMAL(raw) or (raw.startswith("-") and _PLAIN_DECIMAL(raw[1:])):
        if "." not in raw or get_decimal_symbol(locale) == "." or _DOT_CENTS.fullmatch(raw.lstrip("-")):
            return Decimal(raw)
    elif _TYPED.fullmatch(raw):
        group = get_group_symbol(locale)
        # Any space between digits is the language's thousands separator (French: U+202F; English: a comma).
        written = _SPACES.sub(group, raw)
        if get_decimal_symbol(locale) != "." and "." in written:
            written = None  # a dot in a language whose decimals follow a comma: ambiguous
        if written is not None:
            try:
                return parse_decimal(written, locale=locale, strict=True)
            except NumberFormatError:
                pass
    raise MoneyError(_l("%(value)s is not an amount: write a number such as %(example)s",
                        value=repr(raw[:40]), example=typed_example(locale)))


def typed_example(locale) -> str:
    """1250.50 as a person writes it in ``locale``'s language: ``1,250.50`` in English, ``1 250,50`` in French."""
    return format_decimal(Decimal("1250.50"), "#,##0.00", locale=locale)


def parse_rate(text) -> Decimal:
    """Parse an exchange rate (USD per unit), exact to 8 decimal places."""
    if isinstance(text, float):
        raise MoneyError(_l("rates must not be floats"))
    raw = str(text if text is not None else "").strip()
    if not raw or not _PLAIN_DECIMAL(raw):
        raise MoneyError(_l("%(value)s is not a plain rate like 0.00036", value=repr(raw[:40])))
    value = Decimal(raw)
    if value <= 0:
        raise MoneyError(_l("the rate must be greater than zero"))
    if value >= Decimal("100000"):
        raise MoneyError(_l("the rate is too large"))
    if value != value.quantize(Decimal(1).scaleb(-RATE_SCALE)):
        raise MoneyError(_l("rates have at most %(n)d decimal places", n=RATE_SCALE))
    return value


def round_cents(value: Decimal) -> Decimal:
    """Round to cents, half to even (the rule for every USD value)."""
    return value.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def to_usd(amount: Decimal, currency: str, usd_per_unit: Decimal) -> Decimal:
    """USD value of ``amount`` at a rate, rounded to cents half-even."""
    if currency == "USD":
        return round_cents(amount)
    return round_cents(amount * usd_per_unit)


def from_usd(usd: Decimal, currency: str, usd_per_unit: Decimal) -> Decimal:
    """``usd`` in ``currency`` at a rate, rounded half-even to the currency's minor unit (XAF 1, EUR 0.01).

    For a recorded amount: its currency may have stopped being legal tender since, so it is not checked.
    """
    if currency == "USD":
        return round_cents(usd)
    unit = Decimal(1).scaleb(-min(get_currency_precision(currency), AMOUNT_SCALE))
    return (usd / usd_per_unit).quantize(unit, rounding=ROUND_HALF_EVEN).quantize(_CENT)
