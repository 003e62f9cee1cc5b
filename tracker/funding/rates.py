"""Exchange rates: recording one, and USD values frozen with the rate in force on a date.

Looking a rate up is :mod:`tracker.rates`, below every feature.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from tracker import validation as v
from tracker.errors import Errors, Invalid
from tracker.extensions import db
from tracker.models import ExchangeRate
from tracker.money import MoneyError, parse_rate, to_usd
from tracker.rates import rate_on


def usd_value(amount: Decimal, currency: str, day: dt.date, *, field: str = "currency",
              rate_of: Callable[[str, dt.date], Decimal | None] = rate_on) -> tuple[Decimal, Decimal]:
    """``(usd, rate)`` for an amount on a day, or :class:`Invalid` naming the missing rate.

    ``rate_of(currency, day)`` finds the rate in force (:func:`~tracker.rates.rate_on`, one query; a batch import
    gives what it read for many rows at once)."""
    rate = rate_of(currency, day)
    if rate is None:
        raise Invalid(_l("there is no exchange rate for %(code)s on %(date)s; an administrator must add one",
                         code=currency, date=day.isoformat()), field)
    return to_usd(amount, currency, rate), rate


def check_rate(*, currency: str, valid_from, usd_per_unit,
               exists: Callable[[str, dt.date], bool]) -> tuple[str, dt.date, Decimal]:
    """``(currency, valid_from, rate)`` of a new rate, or :class:`Invalid` naming every rule broken;
    ``exists(currency, valid_from)`` tells whether a rate is recorded for that day already."""
    errors = Errors()
    currency = errors.check(v.currency, currency)
    if currency == "USD":
        errors.add(_l("USD is always 1"), "currency")
    valid_from = errors.check(v.date, valid_from, "valid_from", not_future=False)
    try:
        rate = parse_rate(usd_per_unit)
    except MoneyError as error:
        errors.add(str(error), "usd_per_unit")
    if not errors and exists(currency, valid_from):
        errors.add(_l("a rate for %(code)s from %(date)s exists already", code=currency,
                      date=valid_from.isoformat()), "valid_from")
    errors.raise_any()
    return currency, valid_from, rate


def _rate_exists(currency: str, valid_from: dt.date) -> bool:
    return db.session.scalar(select(ExchangeRate.id).where(ExchangeRate.currency == currency,
                                                           ExchangeRate.valid_from == valid_from)) is not None


def add_rate(*, currency: str, valid_from, usd_per_unit) -> ExchangeRate:
    """Record USD per unit of a currency from a date. Values already frozen on records never change."""
    currency, valid_from, rate = check_rate(currency=currency, valid_from=valid_from, usd_per_unit=usd_per_unit,
                                            exists=_rate_exists)
    row = ExchangeRate(currency=currency, valid_from=valid_from, usd_per_unit=rate)
    db.session.add(row)
    db.session.flush()
    return row
