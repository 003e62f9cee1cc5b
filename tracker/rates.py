"""Exchange-rate lookups: the USD rate of a currency in force on a day, one at a time
(:func:`rate_on`) or for many days from a table read in one query (:func:`rate_table`).

Below the features, because funding, disbursements and the registry all read
rates and none of them may import another for it. Recording a rate and the USD
values frozen on records are the funding package's (:mod:`tracker.funding.rates`).
"""
from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from decimal import Decimal

from sqlalchemy import select

from tracker.extensions import db
from tracker.models import ExchangeRate

ONE = Decimal("1.00000000")


def rate_on(currency: str, day: dt.date) -> Decimal | None:
    """USD per unit of ``currency`` in force on ``day``: the latest rate valid from that day or before."""
    if currency == "USD":
        return ONE
    return db.session.scalar(
        select(ExchangeRate.usd_per_unit)
        .where(ExchangeRate.currency == currency, ExchangeRate.valid_from <= day)
        .order_by(ExchangeRate.valid_from.desc())
        .limit(1)
    )


def rate_table(currencies) -> dict[str, tuple[list[dt.date], list[Decimal]]]:
    """Every rate of these currencies, in one query: currency -> (valid-from dates, rates), oldest first."""
    table: dict[str, tuple[list[dt.date], list[Decimal]]] = {}
    if not currencies:
        return table
    for currency, valid_from, rate in db.session.execute(
        select(ExchangeRate.currency, ExchangeRate.valid_from, ExchangeRate.usd_per_unit)
        .where(ExchangeRate.currency.in_(currencies))
        .order_by(ExchangeRate.currency, ExchangeRate.valid_from)
    ):
        dates, values = table.setdefault(currency, ([], []))
        dates.append(valid_from)
        values.append(rate)
    return table


def rate_in_table(table, currency: str, day: dt.date) -> Decimal | None:
    """The rate in force on ``day`` from a :func:`rate_table`, as :func:`rate_on` finds it; None without one."""
    if currency == "USD":
        return Decimal(1)
    if currency not in table:
        return None
    dates, values = table[currency]
    index = bisect_right(dates, day) - 1
    return values[index] if index >= 0 else None
