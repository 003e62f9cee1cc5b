"""Spreadsheet imports of funding data (DESIGN section 7)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from tracker import validation as v
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.funding.rates import add_rate
from tracker.imports.base import Column, Kind, RowContext, register
from tracker.models import ExchangeRate
from tracker.money import MoneyError, parse_rate


def apply_exchange_rate(values: dict[str, str], ctx: RowContext) -> str:
    currency = v.currency(values["currency"])
    valid_from = v.date(values["valid_from"], "valid_from", not_future=False)
    existing = db.session.scalar(select(ExchangeRate.usd_per_unit).where(
        ExchangeRate.currency == currency, ExchangeRate.valid_from == valid_from))
    if existing is not None:
        try:
            rate = parse_rate(values["usd_per_unit"])
        except MoneyError as error:
            raise Invalid(str(error), "usd_per_unit") from None
        if rate != existing:
            raise Invalid(_l("a different rate for %(code)s from %(date)s exists already (%(rate)s)",
                             code=currency, date=valid_from.isoformat(), rate=existing), "usd_per_unit")
        return "unchanged"
    add_rate(currency=currency, valid_from=valid_from, usd_per_unit=values["usd_per_unit"])
    return "created"


register(Kind(
    name="exchange_rates",
    label=_l("Exchange rates"),
    permission="admin.rates",
    apply_row=apply_exchange_rate,
    columns=(
        Column("currency", help=_l("ISO 4217 code, such as CDF.")),
        Column("valid_from", help=_l("YYYY-MM-DD: the rate is in force from this day until the next one.")),
        Column("usd_per_unit", help=_l("US dollars for one unit of the currency, such as 0.00035 (8 decimals at most).")),
    ),
    example_rows=({"currency": "CDF", "valid_from": "2025-09-01", "usd_per_unit": "0.00035"},),
))
