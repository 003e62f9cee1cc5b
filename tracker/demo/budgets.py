"""Budgets and allocations, derived from what the projects actually spent."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from tracker.bulk import insert_rows
from tracker.dates import add_months
from tracker.demo.helpers import DAY, month_starts, percent_between, round_hundreds
from tracker.demo.story import BALANCE_STORY, DIRECT, PIPELINE_NEED, PROFILES
from tracker.models import Allocation, BudgetLine


def seed_budgets_and_allocations(seeder):
    rng = seeder.rng("budgets")
    budget_rows, allocation_rows = [], []
    minimum = Decimal(500 * seeder.scale)
    for p in seeder.projects:
        spend = seeder.spend[p.key]
        if p.status == "pipeline":
            for year in (seeder.y1, seeder.y2):
                if p.start.year <= year <= p.end.year:
                    direct = {cat: round_hundreds(Decimal(usd * seeder.scale) * percent_between(rng, (90, 110)))
                              for cat, usd in PIPELINE_NEED.items()}
                    budget_rows += _budget_lines(rng, p, year, direct)
            continue
        need_factor = percent_between(rng, PROFILES[p.profile][0])
        allocation_factor = percent_between(rng, PROFILES[p.profile][1])
        active_from = max(p.start, seeder.start).replace(day=1)
        active_to = min(p.end, seeder.last)
        months = list(month_starts(active_from, active_to))
        by_year = defaultdict(Decimal)
        recent_by_category = defaultdict(Decimal)
        recent = {add_months(seeder.last_complete_month, -k) for k in range(6)}
        for (month, category), usd in spend.items():
            by_year[(month.year, category)] += usd
            if month in recent:
                recent_by_category[category] += usd / 6
        recent_rate = sum(recent_by_category.values(), Decimal(0))
        # Need: what the year costs at the pace of spending, times the profile's factor.
        for year in (seeder.y1, seeder.y2):
            if not (p.start.year <= year <= p.end.year):
                continue
            months_in_year = sum(1 for month in months if month.year == year)
            direct = {}
            for category in DIRECT:
                if year == seeder.y1:   # what last year cost
                    base = by_year[(year, category)]
                else:   # this year: spent so far, and the last six months' pace for the rest
                    base = (by_year[(year, category)]
                            + recent_by_category[category] * (12 - months_in_year)) * percent_between(rng, (100, 105))
                direct[category] = max(round_hundreds(base * need_factor), minimum)
            budget_rows += _budget_lines(rng, p, year, direct)
        # Allocations: a tranche each half-year, sized on what the half-year costs.
        for year in (seeder.y1, seeder.y2):
            for half in (1, 2):
                first = dt.date(year, 1 if half == 1 else 7, 1)
                last = add_months(first, 6) - DAY
                if last < p.start or first > p.end:
                    continue
                on = max(first, p.start) + dt.timedelta(days=rng.randint(10, 25))
                if on > seeder.last:
                    continue
                if last <= seeder.last or p.end <= seeder.last:
                    cost = sum((usd for (month, _cat), usd in spend.items() if first <= month <= last),
                               Decimal(0))
                else:
                    cost = recent_rate * 6
                amount = round_hundreds(cost * allocation_factor)
                if p.profile == "under" and first <= seeder.last <= last:
                    # The current tranche of an underfunded project falls short: its balance no longer
                    # covers every child's next term, so the review has children at risk to show.
                    amount = round_hundreds(amount * Decimal("0.85"))
                if amount <= 0:
                    continue
                allocation_rows.append({"project_id": p.id, "amount_usd": amount, "allocated_on": on,
                                        "note": f"{year} tranche {half} for {p.code}",
                                        "created_by_id": seeder.allocator_id,
                                        "created_at": seeder.at(rng, on)})
    _story_balances(seeder, allocation_rows)
    seeder.budget_rows, seeder.allocation_rows = budget_rows, allocation_rows
    insert_rows(seeder.session, BudgetLine, budget_rows)
    insert_rows(seeder.session, Allocation, allocation_rows)
    seeder.counts["budget lines"] = len(budget_rows)
    seeder.counts["allocations"] = len(allocation_rows)


def _story_balances(seeder, allocation_rows: list[dict]):
    """Resize the latest tranche of the projects of ``BALANCE_STORY``, for the end of last year and today.

    ``balance`` = allocations up to the day − payments paid up to it − what is approved today (DESIGN
    section 3), and ``burn`` = what was paid in the three whole months before the day's month, / 3: the
    tranche is changed by the difference between the balance and the percentage of the burn wanted. Last
    year's tranche first, as this year's balance carries it.
    """
    rng = seeder.rng("balances")
    for p in seeder.projects:
        if p.key not in BALANCE_STORY:
            continue
        tranches = [row for row in allocation_rows if row["project_id"] == p.id]
        for year in (seeder.y1, seeder.y2):
            to = dt.date(year, 12, 31) if year < seeder.y2 else seeder.today
            wanted = percent_between(rng, BALANCE_STORY[p.key])
            latest = max((row for row in tranches if row["allocated_on"].year == year),
                         key=lambda row: row["allocated_on"], default=None)
            if latest is None:
                continue
            month = to.replace(day=1)
            burn = sum((usd for paid_in, usd in seeder.paid[p.key].items()
                        if add_months(month, -3) <= paid_in < month), Decimal(0)) / 3
            balance = (sum((row["amount_usd"] for row in tranches if row["allocated_on"] <= to), Decimal(0))
                       - sum((usd for paid_in, usd in seeder.paid[p.key].items() if paid_in <= to), Decimal(0))
                       - seeder.committed[p.key])
            latest["amount_usd"] = max(latest["amount_usd"] + round_hundreds(burn * wanted - balance),
                                       Decimal(100))


def _budget_lines(rng, p, year, direct: dict) -> list[dict]:
    lines = dict(direct)
    lines["outreach"] = round_hundreds(sum(direct.values()) * percent_between(rng, (8, 12)))
    lines["admin"] = round_hundreds((sum(direct.values()) + lines["outreach"]) * Decimal("0.07"))
    return [{"project_id": p.id, "year": year, "category": category, "amount_usd": amount}
            for category, amount in lines.items() if amount > 0]
