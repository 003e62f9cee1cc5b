"""Deterministic, realistic demo data behind ``flask seed-demo``.

All randomness comes from :class:`random.Random` seeded from ``--seed`` (one
generator per part, derived from the seed, so that one part never shifts
another), and the only other input is today's date: the data covers the
current calendar year and the previous one, and nothing is dated after
yesterday. The same seed on the same day gives the same data.

People and payments are generated per project in chunks of mothers and
written in bulk, so memory stays bounded at a large ``--scale``: Core
``INSERT`` executemany (with ``RETURNING`` ids where other rows point at them)
or, on PostgreSQL, ``COPY`` with ids drawn from the tables' own sequences.
Column types (``Money``, ``Encrypted``, ``UTCDateTime``) apply either way. The
budgets, allocations, pledges and contributions are derived afterwards from
what the projects actually spent, so that the data tells the Fund's story, last
year and this year so far: some projects are well covered and others far from
it, one has paid and approved beyond its allocations and another has about a
month of money left; the Fund holds some unallocated money and pledges still
owed (in several currencies, whose rates moved both ways), and a quarter or so
of the year's need is covered by nothing at all. ``--scale K``
multiplies the people and payments by K; the money of budgets, allocations,
pledges and contributions follows (their number does not).
"""

from tracker.demo.guard import DemoRefused, database_is_empty, holds_demo, refusal
from tracker.demo.seeder import seed_demo
from tracker.demo.users import DEMO_USERS

__all__ = ["DEMO_USERS", "DemoRefused", "database_is_empty", "holds_demo", "refusal", "seed_demo"]
