"""Donors, their pledges and contributions, sized on the Fund's need and allocations."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from types import SimpleNamespace

from sqlalchemy import select

from tracker.bulk import insert_rows
from tracker.demo.helpers import UTC, day_between, nice_amount, percent_between, to_step
from tracker.demo.story import (
    DONOR_NAMES_FR,
    DONORS,
    EARMARKS,
    PAID_IN_OTHER_CURRENCY,
    UNALLOCATED_SHARE,
    UNCOVERED_SHARE,
)
from tracker.models import Contribution, Donor, Pledge
from tracker.money import exponent, to_usd


def _numbered(base: str):
    """References ``base``, ``base2``, ``base3``... (for ``free``)."""
    return lambda n: base if n == 1 else f"{base}{n}"


def _received_share(plan, to: dt.date) -> Decimal:
    """The share of a planned pledge received by ``to``, by its pattern and dates."""
    if plan.pattern == "none" or plan.first_on > to:
        return Decimal(0)
    if plan.pattern == "full" or (plan.pattern == "full2" and plan.second_on <= to):
        return Decimal(1)
    return plan.first_share


def seed_donors(seeder):
    seeder.donors = {}
    for name, kind, country, _currency, _abbreviation, _weight in DONORS:
        donor = seeder.session.scalars(select(Donor).where(Donor.name == name)).one_or_none()
        if donor is None:
            donor = Donor(name=name, name_fr=DONOR_NAMES_FR[name], kind=kind, country=country,
                          created_at=dt.datetime.combine(seeder.start, dt.time(9), UTC))
            seeder.session.add(donor)
            seeder.counts["donors"] += 1
        seeder.donors[name] = donor
    seeder.session.flush()


def _year_figures(seeder, year: int, to: dt.date) -> tuple[Decimal, Decimal, Decimal]:
    """The Fund's ``need`` and ``gap`` for the period from 1 January of ``year`` to ``to``, and what was
    allocated up to ``to`` (DESIGN section 3, from the rows about to be written)."""
    need, allocated = defaultdict(Decimal), defaultdict(Decimal)
    for row in seeder.budget_rows:
        if row["year"] == year:
            need[row["project_id"]] += row["amount_usd"]
    for row in seeder.allocation_rows:
        if dt.date(year, 1, 1) <= row["allocated_on"] <= to:
            allocated[row["project_id"]] += row["amount_usd"]
    gap = sum((max(amount - allocated[project_id], Decimal(0)) for project_id, amount in need.items()),
              Decimal(0))
    up_to = sum((row["amount_usd"] for row in seeder.allocation_rows if row["allocated_on"] <= to), Decimal(0))
    return sum(need.values(), Decimal(0)), gap, up_to


def seed_pledges_and_contributions(seeder):
    """Pledges and contributions that leave the Fund underfunded, each year, by a chosen share of its need.

    Each year's pledges are sized once their dates and patterns are drawn: as of the year's end (or
    today), the gap − what is received and not allocated − what is pledged and still owed is
    ``UNCOVERED_SHARE`` of the year's need (DESIGN section 3, the fund's uncovered gap). The pledges' size
    is solved for, then an unpledged contribution tops up what was received to the exact figure. Payment
    patterns: ``full`` (one payment), ``full2`` (two), ``partial`` (one of 40-70 %, the rest still owed)
    and ``none`` (nothing received yet); half of last year's pledges still owed are completed this year.
    A payment is in the pledge's currency, which the exchange rates moved since the pledge, or now and
    then in dollars (``PAID_IN_OTHER_CURRENCY``).
    """
    rng = seeder.rng("donors")
    projects = {p.key: p for p in seeder.projects}
    pledge_refs = set(seeder.session.scalars(select(Pledge.reference)))
    contribution_refs = set(seeder.session.scalars(select(Contribution.reference)))
    pledging = [d for d in DONORS if d[1] not in ("private", "withheld_payments")]
    pledge_rows, contribution_rows = [], []
    ceiling = None   # USD per unit of weight and per USD of need: at most twice last year's

    def free(make, taken):
        """The first of ``make(1)``, ``make(2)``... not taken yet (``--force`` on earlier data)."""
        n = 1
        while make(n) in taken:
            n += 1
        taken.add(make(n))
        return make(n)

    def contribution(donor_name, currency, amount, on, reference, pledge_index=None) -> dict:
        rate = seeder.rate(currency, on)
        contribution_rows.append({"reference": free(reference, contribution_refs),
                                  "donor_id": seeder.donors[donor_name].id, "pledge_index": pledge_index,
                                  "amount": amount, "currency": currency, "received_on": on,
                                  "usd_amount": to_usd(amount, currency, rate), "usd_rate": rate,
                                  "created_at": seeder.at(rng, on)})
        return contribution_rows[-1]

    for offset, year in enumerate((seeder.y1, seeder.y2)):
        to = min(dt.date(year, 12, 31), seeder.today)
        need, gap, allocated = _year_figures(seeder, year, to)
        in_year = sum((row["amount_usd"] for row in seeder.allocation_rows if row["allocated_on"].year == year),
                      Decimal(0))
        base = in_year / 70   # USD per unit of weight, for the gifts that come without a pledge
        # Without a pledge: payments withheld from personnel, and private gifts.
        for name, kind, _country, currency, abbreviation, weight in DONORS:
            if kind not in ("private", "withheld_payments"):
                continue
            for month in range(rng.randint(1, 3), 13, rng.randint(2, 4)):
                on = dt.date(year, month, rng.randint(1, 28))
                if on > seeder.last:
                    break
                share = base * weight / 4 * percent_between(rng, (50, 150))
                contribution(name, currency, to_step(share, Decimal(50)), on,
                             lambda n, base=f"CT-{year}-{abbreviation}-U": f"{base}{n:02d}")
        plans = _pledge_plans(seeder, rng, offset, year, pledging)
        # Their size, in USD per unit of weight: per unit, what is received and what is still owed as of
        # ``to``; then the unit that leaves the uncovered share of the need wanted.
        owed = sum((plan.weight * (1 - _received_share(plan, to)) for plan in plans), Decimal(0))
        paying = sum((plan.weight * _received_share(plan, to) for plan in plans), Decimal(0))
        uncovered = percent_between(rng, UNCOVERED_SHARE)
        cover = max(gap - need * uncovered, gap / 10)
        reserve = min(cover * percent_between(rng, UNALLOCATED_SHARE), allocated * Decimal("0.15"))
        received_before = _received(contribution_rows, to)
        owed_before = _outstanding(seeder, pledge_rows, contribution_rows, to)
        unit = (cover - reserve - owed_before) / owed if owed else base
        if received_before + paying * unit > allocated + reserve and owed + paying:
            # The pledges alone bring in more than needed: fewer of them, and no top-up.
            unit = (gap + allocated - received_before - owed_before - need * uncovered) / (owed + paying)
        # Early in the year, when few donors have pledged yet, they do not pledge for the whole year: what
        # is still uncovered then is larger.
        unit = max(unit, base / 5) if ceiling is None else min(max(unit, base / 5), ceiling * need)
        ceiling = unit * 2 / need if need else None
        for plan in plans:
            rate = seeder.rate(plan.currency, plan.pledged_on)
            amount = nice_amount(unit * plan.weight / rate, plan.currency)
            if amount <= 0:
                continue
            earmark = EARMARKS.get((plan.name, offset))
            reference = free(lambda n, year=year, plan=plan: f"PL-{year}-{plan.abbreviation}-{n:02d}", pledge_refs)
            pledge_rows.append({"reference": reference, "donor_id": seeder.donors[plan.name].id, "amount": amount,
                                "currency": plan.currency, "pledged_on": plan.pledged_on,
                                "project_id": projects[earmark[1]].id if earmark and earmark[0] == "project"
                                else None,
                                "country": earmark[1] if earmark and earmark[0] == "country" else None,
                                "usd_amount": to_usd(amount, plan.currency, rate), "usd_rate": rate,
                                "created_at": seeder.at(rng, plan.pledged_on)})
            index = len(pledge_rows) - 1
            first = nice_amount(amount * plan.first_share, plan.currency)
            instalments = {"full": [(amount, plan.first_on)], "partial": [(first, plan.first_on)],
                           "full2": [(first, plan.first_on), (None, plan.second_on)], "none": []}[plan.pattern]
            if plan.late and plan.pattern in ("partial", "none"):
                instalments.append((None, plan.late_on))
            other = PAID_IN_OTHER_CURRENCY.get((plan.name, offset), (plan.currency,))[0]
            received = Decimal(0)   # in the pledge's currency
            for letter, (amount_due, on) in zip("ABC", instalments, strict=False):
                if on > seeder.last:
                    break
                if amount_due is None:   # the rest
                    amount_due = amount - received
                reference = _numbered(f"CT{pledge_rows[index]['reference'][2:]}-{letter}")
                if letter == "A" and other != plan.currency:
                    worth = amount_due * seeder.rate(plan.currency, on) / seeder.rate(other, on)
                    row = contribution(plan.name, other, nice_amount(worth, other), on, reference, index)
                else:
                    row = contribution(plan.name, plan.currency, amount_due, on, reference, index)
                received += _in_pledge_currency(seeder, row, pledge_rows[index])
        # Top up what was received with an early contribution without a pledge, to the year's figure
        # exactly (or nearly: it is paid in kroner and rounded as people give). Never more than the
        # allocations and the reserve need, and at least what keeps a little money unallocated.
        received = _received(contribution_rows, to)
        top_up = (allocated + gap - need * uncovered - received
                  - _outstanding(seeder, pledge_rows, contribution_rows, to))
        top_up = min(max(top_up, allocated + in_year * Decimal("0.03") - received), allocated + reserve - received)
        if top_up > 0:
            name, _kind, _country, currency, abbreviation, _weight = DONORS[0]
            on = day_between(rng, min(dt.date(year, 1, 5), seeder.last), min(dt.date(year, 3, 31), seeder.last))
            contribution(name, currency, nice_amount(top_up / seeder.rate(currency, on), currency), on,
                         lambda n, year=year, abbreviation=abbreviation: f"CT-{year}-{abbreviation}-X{n:02d}")
    pledge_ids = insert_rows(seeder.session, Pledge, pledge_rows, returning=True)
    for row in contribution_rows:
        index = row.pop("pledge_index")
        row["pledge_id"] = pledge_ids[index] if index is not None else None
    insert_rows(seeder.session, Contribution, contribution_rows)
    seeder.counts["pledges"] = len(pledge_rows)
    seeder.counts["contributions"] = len(contribution_rows)


def _pledge_plans(seeder, rng, offset: int, year: int, pledging: list) -> list:
    """The year's pledges, made by yesterday: who pays how, and when (every draw made, whatever the pattern).

    Two smaller donors have paid nothing yet and two have paid part; the earmarked pledges and those paid
    in another currency have their own pattern; the others pay in full, in one or two instalments, or in
    part.
    """
    forced = {name for name, at in [*EARMARKS, *PAID_IN_OTHER_CURRENCY] if at == offset}
    open_to = [i for i, d in enumerate(pledging) if d[0] not in forced]
    nothing = set(rng.sample([i for i in open_to if pledging[i][5] < 7], 2))   # the big donors pay
    part = set(rng.sample([i for i in open_to if i not in nothing], 2))
    plans = []
    for index, (name, _kind, _country, currency, abbreviation, weight) in enumerate(pledging):
        pattern = rng.choices(["full", "full2", "partial"], weights=(55, 30, 15))[0]
        if (name, offset) in EARMARKS:
            pattern = EARMARKS[(name, offset)][2]
        elif (name, offset) in PAID_IN_OTHER_CURRENCY:
            pattern = PAID_IN_OTHER_CURRENCY[(name, offset)][1]
        elif index in nothing:
            pattern = "none"
        elif index in part:
            pattern = "partial"
        # The largest donors pledge in January, the others by the end of April.
        pledged_on = dt.date(year, 1, 10) + dt.timedelta(days=rng.randint(0, 20 if weight >= 7 else 110))
        first_on = pledged_on + dt.timedelta(days=rng.randint(14, 100))
        plans.append(SimpleNamespace(
            name=name, currency=currency, abbreviation=abbreviation, pattern=pattern, pledged_on=pledged_on,
            weight=weight * percent_between(rng, (85, 115)), first_on=first_on,
            second_on=first_on + dt.timedelta(days=rng.randint(90, 200)),
            first_share=percent_between(rng, (50, 60) if pattern == "full2" else (40, 70)),
            # Half the pledges still owed at the end of their year are completed in the next.
            late_on=dt.date(year + 1, 1, 1) + dt.timedelta(days=rng.randint(20, 240)),
            late=rng.random() < 0.5))
    return [plan for plan in plans if plan.pledged_on <= seeder.last]


def _in_pledge_currency(seeder, contribution: dict, pledge: dict) -> Decimal:
    """A contribution in its pledge's currency: its amount, or its USD at that currency's rate of the day."""
    if contribution["currency"] == pledge["currency"]:
        return contribution["amount"]
    worth = contribution["usd_amount"] / seeder.rate(pledge["currency"], contribution["received_on"])
    return worth.quantize(Decimal(1).scaleb(-exponent(pledge["currency"])), rounding=ROUND_HALF_EVEN)


def _outstanding(seeder, pledge_rows: list[dict], contribution_rows: list[dict], to: dt.date) -> Decimal:
    """USD still owed on the pledges as of ``to``, each in its own currency (DESIGN section 3)."""
    received = defaultdict(Decimal)
    for row in contribution_rows:
        if row["pledge_index"] is not None and row["received_on"] <= to:
            received[row["pledge_index"]] += _in_pledge_currency(seeder, row, pledge_rows[row["pledge_index"]])
    return sum((to_usd(max(pledge["amount"] - received[index], Decimal(0)), pledge["currency"], pledge["usd_rate"])
                for index, pledge in enumerate(pledge_rows) if pledge["pledged_on"] <= to), Decimal(0))


def _received(contribution_rows: list[dict], to: dt.date) -> Decimal:
    return sum((row["usd_amount"] for row in contribution_rows if row["received_on"] <= to), Decimal(0))
