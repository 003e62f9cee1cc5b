"""Income projects (income-generating activities) and their monthly reports."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

from tracker.bulk import insert_rows
from tracker.dates import add_months
from tracker.demo.countries import COUNTRIES
from tracker.demo.helpers import day_between, month_starts, to_step
from tracker.demo.story import ACTIVITIES, INCOME_NOTES
from tracker.models import IncomeProject, IncomeReport


def seed_income_projects(seeder, rng, p, mothers):
    data = COUNTRIES[p.country]
    currency = data["currency"]
    projects, rows, reports = [], [], []
    for m in mothers:
        if rng.random() >= 0.4:
            continue
        earliest = m.enrolled + dt.timedelta(days=20)
        allowed = set()
        if m.exited is None and p.status != "closed":
            allowed.add("planned")
            if earliest <= seeder.last - dt.timedelta(days=60):
                allowed.update(("active", "struggling"))
        if earliest + dt.timedelta(days=180) <= m.end:
            allowed.update(("closed_successful", "closed_failed"))
        if not allowed:
            continue
        status = seeder.iga_queue.take(rng, allowed)
        closed = None
        if status == "planned":
            started = day_between(rng, max(earliest, seeder.last - dt.timedelta(days=45)), seeder.last) \
                if earliest <= seeder.last else seeder.last
        elif status in ("active", "struggling"):
            started = day_between(rng, earliest, min(earliest + dt.timedelta(days=130),
                                                  seeder.last - dt.timedelta(days=60)))
        else:
            started = day_between(rng, earliest, min(earliest + dt.timedelta(days=130),
                                                  m.end - dt.timedelta(days=180)))
            closed = day_between(rng, started + dt.timedelta(days=180),
                              min(started + dt.timedelta(days=420), m.end))
        grant = seeder.local(rng.randint(15000, 45000), currency, started, data["grant_step"])
        k = len(m.igas) + 1
        iga = SimpleNamespace(reference=f"IGA-{p.country}-{m.number:05d}-{k}", status=status, started=started,
                              closed=closed, grant=grant, currency=currency)
        m.igas.append(iga)
        projects.append(iga)
        rows.append({"reference": iga.reference, "beneficiary_id": m.id, "activity": rng.choice(ACTIVITIES),
                     "started_on": started, "planned_grant": grant, "currency": currency, "status": status,
                     "closed_on": closed, "created_at": seeder.at(rng, min(started - dt.timedelta(days=10),
                                                                           seeder.last), p.country)})
    for iga, iga_id in zip(projects, insert_rows(seeder.session, IncomeProject, rows, returning=True), strict=True):
        iga.id = iga_id
    seeder.counts["income projects"] += len(rows)
    # Monthly reports, from the month after the start to the last complete month (or the closing month).
    base = {"active": (4000, 15000), "struggling": (1500, 6000), "closed_successful": (5000, 18000),
            "closed_failed": (1000, 5000)}
    loss_odds = {"active": 0.08, "struggling": 0.4, "closed_successful": 0.05, "closed_failed": 0.5}
    for iga in projects:
        if iga.status == "planned":
            continue
        last_month = min(seeder.last_complete_month, (iga.closed or seeder.last).replace(day=1))
        level = rng.randint(*base[iga.status])
        for month in month_starts(add_months(iga.started.replace(day=1), 1), last_month):
            if month < last_month and rng.random() < 0.06:
                continue   # not reported that month
            level = max(500, level + rng.randint(-level // 5, level // 5))
            revenue = seeder.local(level, iga.currency, month, data["step"])
            if rng.random() < loss_odds[iga.status]:
                costs = to_step(revenue * rng.randint(105, 150) / 100, data["step"])
                if rng.random() < 0.15:
                    revenue = Decimal(0)
            else:
                costs = to_step(revenue * rng.randint(40, 90) / 100, data["step"])
            reports.append({"income_project_id": iga.id, "month": month, "revenue": revenue, "costs": costs,
                            "currency": iga.currency,
                            "note": rng.choice(INCOME_NOTES) if rng.random() < 0.1 else None,
                            "created_at": seeder.at(rng, min(add_months(month, 1) + dt.timedelta(
                                days=rng.randint(0, 12)), seeder.last), p.country)})
    insert_rows(seeder.session, IncomeReport, reports)
    seeder.counts["income reports"] += len(reports)
