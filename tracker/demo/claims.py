"""Paternity claims and their steps, one of them now and then corrected."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from sqlalchemy import bindparam, update

from tracker.bulk import insert_rows
from tracker.demo.countries import COUNTRIES
from tracker.demo.story import CLAIM_AFTER, CLAIM_BASE, CLAIM_FINAL, CLAIM_GAPS, CORRECTION_REASONS
from tracker.models import ClaimStep, PaternityClaim


def _claim_path(rng, final: str) -> tuple:
    if final in CLAIM_BASE:
        return CLAIM_BASE[:CLAIM_BASE.index(final) + 1]
    if final == "withdrawn":
        return CLAIM_BASE[:rng.randint(1, 4)] + ("withdrawn",)
    if final == "not_established":
        return CLAIM_BASE + ("not_established",)
    return CLAIM_BASE + CLAIM_AFTER[:CLAIM_AFTER.index(final) + 1]


def seed_claims(seeder, rng, p, mothers):
    data = COUNTRIES[p.country]
    claims, rows = [], []
    for m in mothers:
        for c in m.children:
            if rng.random() >= 0.25:
                continue
            final = seeder.claim_queue.take(rng)
            path = _claim_path(rng, final)
            gaps = [rng.randint(*CLAIM_GAPS[step]) for step in path[1:]]
            total = sum(gaps)
            waited = rng.randint(0, 420) if final in CLAIM_FINAL else rng.randint(0, 120)
            received = seeder.last - dt.timedelta(days=waited + total)
            earliest = dt.date(c.yob + 1, 1, 1)
            if received < earliest:
                received = earliest
                room = (seeder.last - earliest).days
                if total > room:  # a young child: the same path, faster
                    gaps = [g * room // total for g in gaps]
            dates = [received]
            for gap in gaps:
                dates.append(dates[-1] + dt.timedelta(days=gap))
            weights = (65, 20, 15)
            category = rng.choices(("military", "police", "civilian"), weights=weights)[0]
            steps = []
            for step, day in zip(path, dates, strict=True):
                steps.append({"step": step, "occurred_on": day,
                              "recorded_at": seeder.at(rng, min(day + dt.timedelta(days=rng.randint(0, 6)),
                                                                seeder.last), p.country),
                              "recorded_by_id": rng.choice(seeder.staff[p.country]),
                              "superseded_at": None, "superseded_by_id": None, "correction_reason": None})
            correction = None
            if len(steps) >= 3 and (seeder.corrections_wanted > 0 or rng.random() < 0.02):
                j = rng.randint(1, len(steps) - 1)
                low = dates[j - 1]
                high = dates[j + 1] if j + 1 < len(dates) else seeder.last
                wrong = dates[j] + dt.timedelta(days=rng.choice((-1, 1)) * rng.randint(1, 20))
                wrong = min(max(wrong, low), high)
                if wrong != dates[j]:
                    seeder.corrections_wanted -= 1
                    right = steps[j]
                    old = dict(right, occurred_on=wrong,
                               recorded_at=seeder.at(rng, min(wrong + dt.timedelta(days=rng.randint(0, 3)),
                                                              seeder.last), p.country))
                    fixed_at = min(max(old["recorded_at"], right["recorded_at"])
                                   + dt.timedelta(days=rng.randint(1, 20)), seeder.end_of_last)
                    right["recorded_at"] = fixed_at
                    old["superseded_at"] = fixed_at
                    old["correction_reason"] = rng.choice(CORRECTION_REASONS)
                    steps.insert(j, old)
                    correction = j
            c.claim = SimpleNamespace(received=received, steps=steps, correction=correction)
            claims.append(c.claim)
            rows.append({"child_id": c.id, "member_state": rng.choice(data["member_states"]),
                         "personnel_category": category, "status": path[-1], "status_on": dates[-1],
                         "created_at": steps[0]["recorded_at"]})
    for claim, claim_id in zip(claims, insert_rows(seeder.session, PaternityClaim, rows, returning=True), strict=True):
        claim.id = claim_id
    seeder.counts["paternity claims"] += len(rows)
    step_rows = []
    for claim in claims:
        for step in claim.steps:
            step["claim_id"] = claim.id
            step_rows.append(step)
    step_ids = insert_rows(seeder.session, ClaimStep, step_rows, returning=True)
    seeder.counts["claim steps"] += len(step_rows)
    fixes, position = [], 0
    for claim in claims:
        if claim.correction is not None:
            old = position + claim.correction
            fixes.append({"old_id": step_ids[old], "new_id": step_ids[old + 1],
                          "fixed_at": claim.steps[claim.correction]["superseded_at"],
                          "why": claim.steps[claim.correction]["correction_reason"]})
        position += len(claim.steps)
    if fixes:
        table = ClaimStep.__table__
        seeder.session.execute(
            update(table).where(table.c.id == bindparam("old_id"))
            .values(superseded_by_id=bindparam("new_id"),
                    superseded_at=bindparam("fixed_at", type_=table.c.superseded_at.type),
                    correction_reason=bindparam("why")),
            fixes)
