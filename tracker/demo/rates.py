"""Exchange rates: a monthly walk per currency around its trend."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from tracker.bulk import insert_rows
from tracker.demo.helpers import DAY, month_starts
from tracker.demo.story import RATE_WALKS
from tracker.models import ExchangeRate


def seed_exchange_rates(seeder):
    rng = seeder.rng("rates")
    months = list(month_starts(seeder.start, seeder.today))
    existing = {(currency, valid_from) for currency, valid_from in seeder.session.execute(
        select(ExchangeRate.currency, ExchangeRate.valid_from))}
    rows = []
    for currency, (start, trend, noise, quantum) in RATE_WALKS.items():
        step = start * noise // 1000
        deviation = 0
        for index, month in enumerate(months):
            # The trend, and around it a small walk pulled back towards it: over the few months between a
            # pledge and its payment, the trend mostly shows through the noise.
            deviation += rng.randint(-step, step) - deviation // 3
            deviation = min(max(deviation, -2 * step), 2 * step)
            value = start + start * trend * index // 1200 + deviation
            value = value // quantum * quantum
            if (currency, month) in existing:
                continue
            rows.append({"currency": currency, "valid_from": month,
                         "usd_per_unit": Decimal(value).scaleb(-8),
                         "created_at": seeder.at(rng, max(month - 2 * DAY, seeder.start - 2 * DAY))})
    insert_rows(seeder.session, ExchangeRate, rows)
    seeder.counts["exchange rates"] = len(rows)
    seeder.progress(f"Exchange rates: {len(rows)} ({len(RATE_WALKS)} currencies, {len(months)} months)")
    # The lookup reads the table, so that rates already there are honoured.
    seeder.rates = {}
    for currency, valid_from, rate in seeder.session.execute(
            select(ExchangeRate.currency, ExchangeRate.valid_from, ExchangeRate.usd_per_unit)
            .order_by(ExchangeRate.currency, ExchangeRate.valid_from)):
        dates, values = seeder.rates.setdefault(currency, ([], []))
        dates.append(valid_from)
        values.append(rate)
    seeder.rate_cache = {}
