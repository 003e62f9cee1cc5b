"""Pledges, contributions and allocations imported in batches (:mod:`tracker.funding.import_batch` says how a
batch runs): what a batch looks up at once, how a row is checked against that memory with the rules of row by row
(USD values frozen with the rate :func:`tracker.rates.rate_on` would give, rounded as row by row rounds them), and
what an accepted row adds to it for the rows after it.

Per batch: pledges and contributions, one query for the donors, projects or pledges they name (cached for the
import), one for their references and, once per currency in the import, one for its rates; allocations, one for
the projects, one for the references, one for the allocations of the projects and days named, and, once a row adds
one, one lock and two sums (what was received up to each day, what is allocated), kept up to date as rows are
accepted.
"""
from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from decimal import Decimal
from itertools import count

from sqlalchemy import func, select

from tracker import validation as v
from tracker.extensions import db
from tracker.funding import services
from tracker.funding.import_batch import (
    Batch,
    Create,
    Record,
    Update,
    cache_donors,
    cache_projects,
    known,
    parts,
    read_records,
    references,
    valid,
)
from tracker.funding.import_rules import (
    given,
    resolve_allocation_row,
    resolve_contribution_row,
    resolve_pledge_row,
)
from tracker.models import Allocation, Contribution, Pledge
from tracker.models.base import now_utc
from tracker.rates import ONE, rate_in_table, rate_table

# --- pledges and contributions ---------------------------------------------------------------------------------------

class _Money(Batch):
    """Pledges and contributions: the rates of their currencies, read once per import."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.rates: dict = {}
        self.rates_read: set[str] = set()

    def read_rates(self, rows) -> None:
        currencies = {valid(v.currency, values["currency"]) for _, values in rows} - {None, "USD"} - self.rates_read
        if currencies:
            self.rates.update(rate_table(sorted(currencies)))
            self.rates_read |= currencies

    def rate_of(self, currency: str, day: dt.date) -> Decimal | None:
        """The rate in force, as :func:`tracker.rates.rate_on` gives it (USD: ``1.00000000``)."""
        if currency == "USD":
            return ONE
        if currency not in self.rates_read:
            self.rates.update(rate_table([currency]))
            self.rates_read.add(currency)
        return rate_in_table(self.rates, currency, day)


class Pledges(_Money):
    models = (Pledge,)
    _COLUMNS = (Pledge.id, Pledge.reference, Pledge.donor_id, Pledge.amount, Pledge.currency, Pledge.pledged_on,
                Pledge.project_id, Pledge.country)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.pledges: dict[str, Record | None] = {}

    def look_up(self, rows) -> None:
        cache_donors(rows, self.ctx)
        cache_projects(rows, self.ctx)
        for part in parts(references(rows, "reference") - set(self.pledges)):
            found = {r.reference: r for r in read_records(select(*self._COLUMNS).where(Pledge.reference.in_(part)))}
            for reference in part:
                self.pledges[reference] = found.get(reference)
        self.read_rates(rows)

    def pledge(self, reference: str) -> Record | None:
        return known(self.pledges, reference, lambda r: next(iter(read_records(
            select(*self._COLUMNS).where(Pledge.reference == r))), None))

    def check(self, values):
        row = resolve_pledge_row(values, self.ctx, existing_of=self.pledge)
        if not row.new:
            return "unchanged", []
        checked = services.check_pledge(
            donor=row.donor, reference=row.reference, amount=values["amount"], currency=values["currency"],
            pledged_on=values["pledged_on"], project=row.project, country=given(values, "country"),
            reference_taken=lambda r: self.pledge(r) is not None, rate_of=self.rate_of)
        columns = {"reference": checked.reference, "donor_id": row.donor.id, "amount": checked.amount,
                   "currency": checked.currency, "pledged_on": checked.day,
                   "project_id": row.project.id if row.project else None, "country": checked.country}
        record = self.pledges[checked.reference] = Record(**columns)
        return "created", [Create(Pledge, columns | {"usd_amount": checked.usd_amount, "usd_rate": checked.usd_rate,
                                                     "created_at": now_utc()}, record)]


class Contributions(_Money):
    models = (Contribution,)
    _COLUMNS = (Contribution.id, Contribution.reference, Contribution.donor_id, Contribution.amount,
                Contribution.currency, Contribution.received_on, Contribution.pledge_id)
    _PLEDGE = (Pledge.id, Pledge.reference, Pledge.donor_id, Pledge.pledged_on)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.contributions: dict[str, Record | None] = {}
        self.pledges: dict[str, Record | None] = {}

    def look_up(self, rows) -> None:
        cache_donors(rows, self.ctx)
        for part in parts(references(rows, "reference") - set(self.contributions)):
            found = {r.reference: r for r in read_records(select(*self._COLUMNS)
                                                          .where(Contribution.reference.in_(part)))}
            for reference in part:
                self.contributions[reference] = found.get(reference)
        for part in parts(references(rows, "pledge_reference") - set(self.pledges)):
            found = {r.reference: r for r in read_records(select(*self._PLEDGE).where(Pledge.reference.in_(part)))}
            for reference in part:
                self.pledges[reference] = found.get(reference)
        self.read_rates(rows)

    def contribution(self, reference: str) -> Record | None:
        return known(self.contributions, reference, lambda r: next(iter(read_records(
            select(*self._COLUMNS).where(Contribution.reference == r))), None))

    def pledge(self, reference: str) -> Record | None:
        return known(self.pledges, reference, lambda r: next(iter(read_records(
            select(*self._PLEDGE).where(Pledge.reference == r))), None))

    def check(self, values):
        row = resolve_contribution_row(values, self.ctx, pledge_of=self.pledge, existing_of=self.contribution)
        if not row.new:
            return "unchanged", []
        checked = services.check_contribution(
            donor=row.donor, reference=row.reference, amount=values["amount"], currency=values["currency"],
            received_on=values["received_on"], pledge=row.pledge,
            reference_taken=lambda r: self.contribution(r) is not None, rate_of=self.rate_of)
        columns = {"reference": checked.reference, "donor_id": row.donor.id,
                   "pledge_id": row.pledge.id if row.pledge else None, "amount": checked.amount,
                   "currency": checked.currency, "received_on": checked.day}
        record = self.contributions[checked.reference] = Record(**columns)
        return "created", [Create(Contribution, columns | {"usd_amount": checked.usd_amount,
                                                           "usd_rate": checked.usd_rate,
                                                           "created_at": now_utc()}, record)]


# --- allocations -----------------------------------------------------------------------------------------------------

class Allocations(Batch):
    """Allocations in batches, the money kept as a running figure rather than applied row by row.

    Row by row, each new allocation is limited by :func:`~tracker.funding.services.unallocated_on`: what was
    received up to its day less everything allocated, earlier rows included. Here that figure is kept in memory:
    what was received up to each day and what is allocated are read once per batch, after taking the lock
    :func:`~tracker.funding.services.allocate` takes (held until the import ends, so no one else allocates
    meanwhile), and each accepted row adds its amount to what is allocated; so each row is accepted or refused
    as row by row would. Only contributions someone else records while a batch runs are seen at the next batch
    rather than at the next row (row by row would then accept a row the batch refuses; never the reverse).

    Which recorded allocation a row already is follows the same order as row by row: those without a reference
    first, then by id, the ones the file adds after them in the order added.
    """

    models = (Allocation,)
    _COLUMNS = (Allocation.id, Allocation.project_id, Allocation.amount_usd, Allocation.allocated_on,
                Allocation.reference)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.by_id: dict[int, Record] = {}
        self.named: dict[str, Record | None] = {}
        self.same: dict[tuple[int, dt.date], list[Record]] = {}  # (project id, day) -> its allocations
        self.sequence = count()
        self.totals: tuple[list[dt.date], list[Decimal]] | None = None
        self.allocated = Decimal("0.00")
        self.taken_here: dict[int, Record] = {}   # id(record) -> record: found or added by this batch's rows

    def look_up(self, rows) -> None:
        ctx = self.ctx
        cache_projects(rows, ctx)
        self.totals, self.taken_here = None, {}  # what was received and allocated is read again for each batch
        for part in parts(references(rows, "reference") - set(self.named)):
            found = {r.reference: r for r in self._records(Allocation.reference.in_(part))}
            for reference in part:
                self.named[reference] = found.get(reference)
        projects, days = set(), set()
        for _, values in rows:
            project = ctx.cache.get(("Project", values["project_code"].strip()))
            day = valid(v.date, values["allocated_on"], "allocated_on")
            if project is not None and day is not None and (project.id, day) not in self.same:
                projects.add(project.id)
                days.add(day)
        self._load_same(projects, days)

    def _records(self, *where) -> list[Record]:
        out = []
        for record in read_records(select(*self._COLUMNS).where(*where)):
            known = self.by_id.setdefault(record.id, record)
            known.__dict__.setdefault("order", (known.id, 0))
            out.append(known)
        return out

    def _load_same(self, projects, days) -> None:
        for project_part in parts(projects):
            for day_part in parts(days):
                pairs = {(p, d) for p in project_part for d in day_part}
                for record in self._records(Allocation.project_id.in_(project_part),
                                            Allocation.allocated_on.in_(day_part)):
                    if record not in self.same.setdefault((record.project_id, record.allocated_on), []):
                        self.same[(record.project_id, record.allocated_on)].append(record)
                for pair in pairs:
                    self.same.setdefault(pair, [])

    def named_of(self, reference: str) -> Record | None:
        if reference not in self.named:
            self.named[reference] = next(iter(self._records(Allocation.reference == reference)), None)
        return self.named[reference]

    def same_of(self, project_id: int, amount: Decimal, day: dt.date, unreferenced: bool) -> list[Record]:
        if (project_id, day) not in self.same:
            self._load_same([project_id], [day])
        same = [a for a in self.same[(project_id, day)]
                if a.amount_usd == amount and not (unreferenced and a.reference is not None)]
        # As row by row orders them: without a reference first, then by id (the new ones after, in order).
        return sorted(same, key=lambda a: (a.reference is not None, a.order))

    def reference_taken(self, reference: str) -> bool:
        return self.named_of(reference) is not None

    def taken(self, allocation: Record) -> bool:
        taken = self.ctx.cache.get((Allocation, "taken"), ())
        return (allocation.id is not None and allocation.id in taken) or id(allocation) in self.taken_here

    def available_on(self, day: dt.date) -> Decimal:
        if self.totals is None:
            services.lock_allocations()
            days, received = [], []
            for received_on, usd in db.session.execute(
                    select(Contribution.received_on, func.sum(Contribution.usd_amount))
                    .group_by(Contribution.received_on).order_by(Contribution.received_on)):
                days.append(received_on)
                received.append((received[-1] if received else Decimal("0.00")) + usd)
            self.totals = days, received
            self.allocated = db.session.scalar(select(func.sum(Allocation.amount_usd))) or Decimal("0.00")
        days, received = self.totals
        index = bisect_right(days, day)
        return (received[index - 1] if index else Decimal("0.00")) - self.allocated

    def check(self, values):
        row = resolve_allocation_row(values, self.ctx, named_of=self.named_of, same_of=self.same_of,
                                     taken=self.taken)
        if row.match is not None:
            self.taken_here[id(row.match)] = row.match  # as row by row, before the reference is checked
            if row.outcome != "updated":
                return row.outcome, []
            reference = services.check_allocation_name(allocation=row.match, reference=row.reference,
                                                       reference_taken=self.reference_taken)
            row.match.reference = reference
            self.named[reference] = row.match
            return "updated", [Update(Allocation, row.match, {"reference": None}, {"reference": reference})]
        checked = services.check_allocation(project=row.project, amount_usd=row.amount, allocated_on=row.day,
                                            reference=row.reference, reference_taken=self.reference_taken,
                                            available_on=self.available_on)
        record = Record(project_id=row.project.id, amount_usd=checked.amount_usd, allocated_on=checked.allocated_on,
                        reference=checked.reference, order=(math.inf, next(self.sequence)))
        self.allocated += checked.amount_usd
        self.same.setdefault((record.project_id, record.allocated_on), []).append(record)
        if record.reference:
            self.named[record.reference] = record
        self.taken_here[id(record)] = record
        user = self.ctx.user
        return "created", [Create(Allocation, {
            "project_id": record.project_id, "amount_usd": record.amount_usd, "allocated_on": record.allocated_on,
            "note": checked.note, "reference": record.reference, "created_by_id": user.id if user else None,
            "created_at": now_utc()}, record)]

    def written(self) -> None:
        taken = self.ctx.cache.setdefault((Allocation, "taken"), set())
        for record in self.taken_here.values():
            self.by_id.setdefault(record.id, record)
            taken.add(record.id)
        self.taken_here = {}
