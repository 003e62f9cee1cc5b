"""Mothers, their children and the children's school enrolments, generated per project in chunks of mothers;
each chunk then gets its paternity claims, income projects and payments."""
from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import func, insert, select, update

from tracker.bulk import insert_rows
from tracker.crypto import normalise_name
from tracker.demo.claims import seed_claims
from tracker.demo.countries import COUNTRIES
from tracker.demo.helpers import day_between, to_step, weighted_choice
from tracker.demo.income import seed_income_projects
from tracker.demo.payments import seed_disbursements
from tracker.demo.story import CHUNK, CLOSED_EXIT_WEIGHTS, MOTHERS_PER_SCALE
from tracker.models import Beneficiary, Child, CodeSequence, Enrolment
from tracker.registry.codes import child_code, mother_code


def seed_people(seeder):
    active = [p for p in seeder.projects if p.status != "pipeline"]
    total = MOTHERS_PER_SCALE * seeder.scale
    weights = sum(p.share for p in active)
    exact = [total * p.share / weights for p in active]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(active)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    next_number = {}
    for country in COUNTRIES:
        counter = seeder.session.scalar(select(CodeSequence.last_value).where(
            CodeSequence.country == country, CodeSequence.kind == "M")) or 0
        highest = seeder.session.scalar(select(func.max(Beneficiary.number)).where(
            Beneficiary.country == country)) or 0
        next_number[country] = max(counter, highest) + 1
    first_number = dict(next_number)
    # Enrolment dates first, so that codes are handed out per country in the order women were enrolled.
    arrivals = defaultdict(list)
    for index, (p, count) in enumerate(zip(active, counts, strict=True)):
        p.enrol_from = max(p.start, seeder.start)
        p.enrol_to = min(p.end - dt.timedelta(days=150), seeder.last - dt.timedelta(days=10))
        p.plan = []
        drng = seeder.rng("arrivals", p.key)
        span = (p.enrol_to - p.enrol_from).days
        for k in range(count):   # more women early on: the caseload carried into the period
            enrolled = p.enrol_from + dt.timedelta(days=int(span * drng.random() ** 1.5))
            arrivals[p.country].append((enrolled, index, k, p))
    for country, items in arrivals.items():
        items.sort(key=lambda item: item[:3])
        for enrolled, _index, _k, p in items:
            p.plan.append((next_number[country], enrolled))
            next_number[country] += 1
    for p, count in zip(active, counts, strict=True):
        brng = seeder.rng("batches", p.key)
        p.batch_dates = {(ay.label, term): ay.terms[term - 1] + dt.timedelta(days=brng.randint(5, 25))
                         for ay in seeder.academic_years for term in (1, 2, 3)}
        p.payment_seq = 0
        for chunk, first in enumerate(range(0, count, CHUNK)):
            _chunk(seeder, p, chunk, p.plan[first:first + CHUNK])
        p.plan = None
        seeder.progress(f"{p.code}: {count} mothers (total so far: {seeder.counts['mothers']} mothers, "
                        f"{seeder.counts['disbursements']} disbursements)")
    for country in COUNTRIES:
        highest = next_number[country] - 1
        if highest < first_number[country]:
            continue
        # Later registrations take their numbers from here, after the demo's.
        exists = seeder.session.scalar(select(CodeSequence.last_value).where(
            CodeSequence.country == country, CodeSequence.kind == "M"))
        if exists is None:
            seeder.session.execute(insert(CodeSequence).values(country=country, kind="M", last_value=highest))
        else:   # ``highest`` is above it: numbering started after max(counter, numbers in use)
            seeder.session.execute(update(CodeSequence).where(
                CodeSequence.country == country, CodeSequence.kind == "M").values(last_value=highest))


def _full_name(seeder, rng: random.Random, country: str) -> str:
    data = COUNTRIES[country]
    used = seeder.used_names   # normalised, as the name hash sees them, across countries
    name = None
    for attempt in range(60):
        given = rng.choice(data["women"])
        surname = rng.choice(data["surnames"])
        if attempt < 2:
            name = f"{given} {surname}"
        else:   # a middle name (post-nom, father's name, second given name) keeps names apart
            middle = rng.choice(data["surnames"] if country in ("CD", "SS", "LR") else data["women"])
            if middle in (given, surname):
                continue
            name = f"{given} {middle} {surname}"
        if normalise_name(name) not in used:
            break
    used.add(normalise_name(name))
    return name


def _chunk(seeder, p, chunk: int, plan: list):
    rng = seeder.rng("people", p.key, chunk)
    country, data = p.country, COUNTRIES[p.country]
    name_hash = seeder.keyring.name_hash
    mothers, rows = [], []
    for number, enrolled in plan:
        status, reason, exited = "active", None, None
        if p.status == "closed":
            exited = day_between(rng, enrolled + dt.timedelta(days=60), p.end)
            reason = weighted_choice(rng, CLOSED_EXIT_WEIGHTS)
        elif rng.random() < 0.12 and enrolled + dt.timedelta(days=45) <= seeder.last:
            exited = day_between(rng, enrolled + dt.timedelta(days=45), seeder.last)
            reason = seeder.exit_queue.take(rng)
        if exited:
            status = "exited"
        end = min(exited or (p.end if p.status == "closed" else seeder.last), seeder.last)
        full_name = _full_name(seeder, rng, country)
        services_on = enrolled if rng.random() < 0.98 else None
        services_withdrawn = (day_between(rng, enrolled + dt.timedelta(days=30), end)
                              if services_on and rng.random() < 0.01 and enrolled + dt.timedelta(days=30) <= end
                              else None)
        reporting_on = enrolled + dt.timedelta(days=rng.choice((0, 0, 0, 7, 14))) if rng.random() < 0.85 else None
        if reporting_on and reporting_on > seeder.last:
            reporting_on = enrolled
        reporting_withdrawn = (day_between(rng, reporting_on + dt.timedelta(days=30), end)
                               if reporting_on and rng.random() < 0.03
                               and reporting_on + dt.timedelta(days=30) <= end else None)
        yob = rng.randint(1985, 2006)
        m = SimpleNamespace(number=number, country=country, code=mother_code(country, number), enrolled=enrolled,
                            end=end, exited=exited, yob=yob, children=[], igas=[], place=rng.choice(p.places))
        n_children = rng.choices((1, 2, 3), weights=(60, 30, 10))[0]
        first_names = set()
        for child_number, child_yob in enumerate(
                sorted(rng.randint(max(2008, yob + 13), 2021) for _ in range(n_children)), start=1):
            sex = rng.choice("FM")
            first = rng.choice(data["women"] if sex == "F" else data["boys"])
            for _ in range(5):
                if first not in first_names:
                    break
                first = rng.choice(data["women"] if sex == "F" else data["boys"])
            first_names.add(first)
            m.children.append(SimpleNamespace(number=child_number, code=child_code(m, child_number),
                                              yob=child_yob, sex=sex, first_name=first, enrolments=[],
                                              claim=None))
        mothers.append(m)
        rows.append({
            "code": m.code, "country": country, "number": number, "project_id": p.id,
            "full_name": full_name, "name_hash": name_hash(full_name),
            "phone": data["phone"](rng) if rng.random() < 0.88 else None,
            "village": m.place, "year_of_birth": yob, "enrolled_on": enrolled, "status": status,
            "exit_reason": reason, "exited_on": exited,
            "consent_services_on": services_on, "consent_services_withdrawn_on": services_withdrawn,
            "consent_reporting_on": reporting_on, "consent_reporting_withdrawn_on": reporting_withdrawn,
            "children_seq": len(m.children), "created_at": seeder.at(rng, enrolled, country),
        })
    for m, mother_id in zip(mothers, insert_rows(seeder.session, Beneficiary, rows, returning=True), strict=True):
        m.id = mother_id
    seeder.counts["mothers"] += len(rows)

    # Children
    rows = [{"code": c.code, "mother_id": m.id, "number": c.number, "first_name": c.first_name,
             "year_of_birth": c.yob, "sex": c.sex, "created_at": seeder.at(rng, m.enrolled, country)}
            for m in mothers for c in m.children]
    children = [c for m in mothers for c in m.children]
    for c, child_id in zip(children, insert_rows(seeder.session, Child, rows, returning=True), strict=True):
        c.id = child_id
    seeder.counts["children"] += len(rows)

    _enrolments(seeder, rng, p, mothers)
    seed_claims(seeder, rng, p, mothers)
    seed_income_projects(seeder, rng, p, mothers)
    seed_disbursements(seeder, rng, p, mothers)


def _enrolments(seeder, rng, p, mothers):
    data = COUNTRIES[p.country]
    grades, n_primary = data["grades"], data["n_primary"]
    rows, targets = [], []
    for m in mothers:
        for c in m.children:
            schooled = rng.random() < 0.93
            held_back = 1 if rng.random() < 0.25 else 0
            in_usd = rng.random() < data["usd_fee_share"]
            schools = {"primary": rng.choice(data["primary"]), "secondary": rng.choice(data["secondary"])}
            level_before, fee = None, None
            for ay in seeder.academic_years:
                if not (m.enrolled <= ay.end and m.end >= ay.start):
                    continue
                index = ay.start.year - c.yob - 6 - held_back
                if not schooled or index < 0 or index >= len(grades) or rng.random() < 0.03:
                    continue
                level = "primary" if index < n_primary else "secondary"
                currency = "USD" if in_usd else data["currency"]
                if in_usd:
                    low, high = data["usd_fee_" + level]
                    step = 5
                else:
                    low, high = data["fee_" + level]
                    step = data["fee_step"]
                if level != level_before or fee is None:
                    fee = Decimal(rng.randrange(low // step, high // step + 1) * step)
                else:   # the same school raises its fee a little each year
                    fee = to_step(fee * (100 + rng.randint(0, 10)) / 100, Decimal(step))
                level_before = level
                e = SimpleNamespace(ay=ay, school=schools[level], fee=fee, currency=currency, terms=3)
                created = min(max(m.enrolled, ay.start - dt.timedelta(days=20)), seeder.last)
                rows.append({"child_id": c.id, "school": e.school, "academic_year": ay.label,
                             "grade": grades[index], "fee_per_term": fee, "currency": currency, "terms": 3,
                             "created_at": seeder.at(rng, created, p.country)})
                targets.append(e)
                c.enrolments.append(e)
    for e, enrolment_id in zip(targets, insert_rows(seeder.session, Enrolment, rows, returning=True), strict=True):
        e.id = enrolment_id
    seeder.counts["enrolments"] += len(rows)
