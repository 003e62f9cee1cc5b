"""Small helpers of the demo: dates, seeded draws, rounding."""
from __future__ import annotations

import datetime as dt
import random
from decimal import ROUND_HALF_EVEN, Decimal

from tracker.dates import add_months
from tracker.money import exponent

UTC = dt.UTC
DAY = dt.timedelta(days=1)


def month_end(day: dt.date) -> dt.date:
    return add_months(day, 1) - DAY


def month_starts(first: dt.date, last: dt.date):
    """First days of the months from ``first``'s to ``last``'s, both included."""
    month = first.replace(day=1)
    while month <= last:
        yield month
        month = add_months(month, 1)


def day_between(rng: random.Random, low: dt.date, high: dt.date) -> dt.date:
    return low + dt.timedelta(days=rng.randint(0, max((high - low).days, 0)))


def weighted_choice(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def to_step(value: Decimal, step: Decimal) -> Decimal:
    """``value`` rounded half-even to a multiple of ``step`` (at least one step)."""
    units = (value / step).to_integral_value(rounding=ROUND_HALF_EVEN)
    return max(units, Decimal(1)) * step


def round_hundreds(value: Decimal) -> Decimal:
    return (value / 100).to_integral_value(rounding=ROUND_HALF_EVEN) * 100


def nice_amount(value: Decimal, currency: str) -> Decimal:
    """A round amount near ``value`` (three significant digits), as people pledge."""
    if value <= 0:
        return Decimal(0)
    digits = value.adjusted() + 1
    step = Decimal(10) ** max(digits - 3, 0)
    return to_step(value, step).quantize(Decimal(1).scaleb(-exponent(currency)))


def percent_between(rng: random.Random, bounds) -> Decimal:
    return Decimal(rng.randint(*bounds)) / 100


class DrawQueue:
    """Hands out every value once first (in a seeded order), then weighted picks."""

    def __init__(self, rng: random.Random, weights: dict):
        self.weights = weights
        self.pending = list(weights)
        rng.shuffle(self.pending)

    def take(self, rng: random.Random, allowed=None):
        for value in self.pending:
            if allowed is None or value in allowed:
                self.pending.remove(value)
                return value
        choices = {k: w for k, w in self.weights.items() if allowed is None or k in allowed}
        return weighted_choice(rng, choices)


class AcademicYear:
    def __init__(self, start_year: int, start_month: int, current: bool):
        self.start = dt.date(start_year, start_month, 1)
        self.end = add_months(self.start, 12) - DAY
        self.label = f"{start_year}-{start_year + 1}"
        # Three terms: September, January, April for a September start.
        self.terms = [add_months(self.start, offset) for offset in (0, 4, 7)]
        self.current = current

    def term_end(self, term: int) -> dt.date:
        return self.terms[term] - DAY if term < 3 else self.end
