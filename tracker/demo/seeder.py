"""The seeding run: :func:`seed_demo`, and the :class:`Seeder` that every part of the demo writes through.

Each part is a function ``seed_...(seeder)`` of its module, called in a fixed order by :meth:`Seeder.run`:
exchange rates, partners and projects, donors, users, then the people (with their claims, income projects
and payments, chunk by chunk), then budgets and allocations, then pledges and contributions. The order, and
the generator each part draws from, are what keep the same seed on the same day giving the same data.
"""
from __future__ import annotations

import bisect
import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from flask import current_app

from tracker import audit
from tracker.crypto import keyring
from tracker.database import refresh_planner_statistics
from tracker.dates import add_months
from tracker.demo.budgets import seed_budgets_and_allocations
from tracker.demo.countries import COUNTRIES
from tracker.demo.guard import DEMO_MARK, DemoRefused, refusal
from tracker.demo.helpers import DAY, UTC, AcademicYear, DrawQueue, to_step
from tracker.demo.people import seed_people
from tracker.demo.pledges import seed_donors, seed_pledges_and_contributions
from tracker.demo.projects import seed_partners_and_projects
from tracker.demo.rates import seed_exchange_rates
from tracker.demo.story import CLAIM_WEIGHTS, EXIT_WEIGHTS, IGA_WEIGHTS
from tracker.demo.users import seed_users
from tracker.extensions import db
from tracker.models.base import today as _today


def seed_demo(*, seed: int = 1, scale: int = 1, progress=None) -> dict:
    """Write demo data (inside an app context) and commit; return what was created, in order.

    Raises :class:`DemoRefused` where :func:`refusal` says no.
    """
    if scale < 1:
        raise ValueError("scale must be 1 or more")
    refused = refusal()
    if refused:
        raise DemoRefused(refused)
    seeder = Seeder(seed=int(seed), scale=int(scale), progress=progress or (lambda message: None))
    try:
        with audit.suspended():
            summary = seeder.run()
        changes = {"seed": [None, seed], "scale": [None, scale]}
        changes.update({what: [None, n] for what, n in summary.items()})
        audit.record(db.session, DEMO_MARK, changes=changes)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    refresh_planner_statistics(db.session)
    return summary


class Seeder:
    """What the parts share: the seed and the scale, today and the period the data covers, a generator per
    part (:meth:`rng`), the exchange rates (:meth:`rate`, loaded by ``seed_exchange_rates``), and what earlier
    parts leave for later ones (``projects``, ``donors``, ``staff`` and ``managers``; the ``spend``, ``paid``
    and ``committed`` that budgets, allocations and pledges are sized on; ``counts``).
    """

    def __init__(self, *, seed: int, scale: int, progress):
        self.seed = seed
        self.scale = scale
        self.progress = progress
        self.session = db.session
        self.keyring = keyring()
        self.today = _today()
        self.last = self.today - DAY                      # nothing is dated after yesterday
        self.end_of_last = dt.datetime.combine(self.last, dt.time(23, 59, 59), UTC)
        self.y2 = self.today.year
        self.y1 = self.y2 - 1
        self.start = dt.date(self.y1, 1, 1)
        self.last_complete_month = add_months(self.today.replace(day=1), -1)
        start_month = int(current_app.config.get("ACADEMIC_YEAR_START_MONTH", 9) or 9)
        current_start = self.today.year if self.today.month >= start_month else self.today.year - 1
        # Every academic year that overlaps the two calendar years and has begun.
        self.academic_years = [
            AcademicYear(year, start_month, year == current_start)
            for year in range(self.y1 - 1, current_start + 1)
            if add_months(dt.date(year, start_month, 1), 12) > self.start
        ]
        self.counts = {key: 0 for key in (
            "projects", "partners", "budget lines", "donors", "pledges", "contributions", "allocations",
            "exchange rates", "mothers", "children", "enrolments", "paternity claims", "claim steps",
            "income projects", "income reports", "disbursements", "users")}
        self.spend = defaultdict(lambda: defaultdict(Decimal))  # project key -> (month, category) -> USD
        self.paid = defaultdict(lambda: defaultdict(Decimal))   # project key -> month paid -> USD
        self.committed = defaultdict(Decimal)                   # project key -> USD approved, not paid (today)
        self.disbursement_numbers = {}
        self.used_names = set()
        queue_rng = self.rng("queues")
        self.exit_queue = DrawQueue(queue_rng, EXIT_WEIGHTS)
        self.claim_queue = DrawQueue(queue_rng, CLAIM_WEIGHTS)
        self.iga_queue = DrawQueue(queue_rng, IGA_WEIGHTS)
        self.corrections_wanted = 3

    def rng(self, *parts) -> random.Random:
        return random.Random(":".join(["tracker-demo", str(self.seed), *map(str, parts)]))

    def at(self, rng: random.Random, day: dt.date, country: str | None = None) -> dt.datetime:
        """A moment during office hours on ``day`` (UTC), never after the end of yesterday."""
        low, high = COUNTRIES[country]["hours"] if country else (7, 16)
        moment = dt.datetime(day.year, day.month, day.day, rng.randint(low, high), rng.randint(0, 59),
                             rng.randint(0, 59), tzinfo=UTC)
        return min(moment, self.end_of_last)

    def run(self) -> dict:
        self.progress(f"Seeding demo data (seed {self.seed}, scale {self.scale}) for "
                      f"{self.y1}-01-01 to {self.last.isoformat()}")
        seed_exchange_rates(self)
        seed_partners_and_projects(self)
        seed_donors(self)
        seed_users(self)
        seed_people(self)
        self.progress("Budgets and allocations")
        seed_budgets_and_allocations(self)
        self.progress("Pledges and contributions")
        seed_pledges_and_contributions(self)
        self.session.flush()
        return dict(self.counts)

    def rate(self, currency: str, day: dt.date) -> Decimal:
        """The rate in force on ``day``: the latest with ``valid_from`` on or before it."""
        if currency == "USD":
            return Decimal("1.00000000")
        key = (currency, day)
        found = self.rate_cache.get(key)
        if found is None:
            dates, values = self.rates[currency]
            index = bisect.bisect_right(dates, day) - 1
            if index < 0:
                raise LookupError(f"no {currency} rate on {day}")
            found = self.rate_cache[key] = values[index]
        return found

    def local(self, usd_cents: int, currency: str, day: dt.date, step: Decimal) -> Decimal:
        """An amount in ``currency`` worth about ``usd_cents`` on ``day``, rounded to ``step``."""
        return to_step(Decimal(usd_cents) / 100 / self.rate(currency, day), step)
