"""Disbursements: school fees per term, school material, medical, psychosocial and legal support, and the
grants of income projects, each taken through the states of its life (a rejected or voided one often
entered again)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from tracker.bulk import insert_rows
from tracker.demo.countries import COUNTRIES
from tracker.demo.helpers import DAY, day_between, month_end, month_starts, to_step, weighted_choice
from tracker.demo.story import AHEAD_STATES, FOLLOW_UP_STATES, PAST_STATES, REJECTIONS, VOIDS
from tracker.disbursements.services import reference_prefix
from tracker.models import Disbursement
from tracker.money import to_usd

_DISBURSEMENT_KEYS = [c.key for c in Disbursement.__table__.columns if c.key != "id"]


def _reference(seeder, country: str, year: int) -> str:
    key = (country, year)
    if key not in seeder.disbursement_numbers:
        prefix = reference_prefix(country, year)
        highest = seeder.session.scalar(select(func.max(Disbursement.reference)).where(
            Disbursement.reference.like(prefix + "%")))
        tail = highest[len(prefix):] if highest else ""
        seeder.disbursement_numbers[key] = int(tail) if tail.isdigit() else 0
    seeder.disbursement_numbers[key] += 1
    return f"{reference_prefix(country, year)}{seeder.disbursement_numbers[key]:06d}"


def _payment(seeder, rng, p, m, rows, *, category, payee, amount, currency, entered_on, states,
             child=None, enrolment=None, term=None, iga=None, batch_key=None, follow_up=True):
    """Add one disbursement (and, after a rejection or a void, often its corrected re-entry)."""
    country = p.country
    target = weighted_choice(rng, states)
    if rng.random() < 0.05:   # now and then a manager enters, and the other manager approves
        entered_by, approver = rng.sample(seeder.managers[country], 2)
    else:
        entered_by = rng.choice(seeder.staff[country])
        approver = rng.choice(seeder.managers[country])
    minutes = dt.timedelta(minutes=1)
    row = dict.fromkeys(_DISBURSEMENT_KEYS)
    row.update(project_id=p.id, category=category,
               beneficiary_id=m.id, child_id=child.id if child else None,
               enrolment_id=enrolment.id if enrolment else None, term=term,
               income_project_id=iga.id if iga else None, payee=payee, amount=amount, currency=currency,
               entered_on=entered_on, status="draft", top_up=False, imported_history=False,
               batch_key=batch_key, entered_by_id=entered_by, entered_at=seeder.at(rng, entered_on, country),
               version_id=1)
    state, ended_on = "draft", None
    if target != "draft":
        submitted_at = row["entered_at"] + rng.randint(5, 26 * 60) * minutes
        if submitted_at <= seeder.end_of_last:
            state = "submitted"
            row.update(submitted_by_id=entered_by, submitted_at=submitted_at)
    if state == "submitted" and target == "rejected":
        rejected_at = row["submitted_at"] + rng.randint(240, 6 * 24 * 60) * minutes
        if rejected_at <= seeder.end_of_last:
            state = "rejected"
            ended_on = rejected_at.date()
            row.update(rejected_by_id=approver, rejected_at=rejected_at,
                       rejection_reason=rng.choice(REJECTIONS))
    elif state == "submitted" and target in ("approved", "paid", "voided"):
        approved_at = row["submitted_at"] + rng.randint(120, 9 * 24 * 60) * minutes
        if approved_at <= seeder.end_of_last:
            state = "approved"
            usd_rate = seeder.rate(currency, entered_on)
            row.update(approved_by_id=approver, approved_at=approved_at, usd_rate=usd_rate,
                       usd_amount=to_usd(amount, currency, usd_rate))
            last_moment = approved_at
            if target == "paid" or (target == "voided" and rng.random() < 0.6):
                paid_at = approved_at + rng.randint(30, 14 * 24 * 60) * minutes
                if paid_at <= seeder.end_of_last:
                    state = "paid"
                    last_moment = paid_at
                    # The payment reference is numbered when the chunk is written (see _write_payments).
                    prefix = "MM" if category != "school_fees" and rng.random() < 0.2 else \
                        COUNTRIES[country]["pay_prefix"]
                    row.update(paid_by_id=rng.choice(seeder.managers[country]), paid_at=paid_at,
                               paid_on=paid_at.date(), payment_reference=prefix)
            if target == "voided":
                voided_at = last_moment + rng.randint(60, 30 * 24 * 60) * minutes
                if voided_at <= seeder.end_of_last:
                    state = "voided"
                    ended_on = voided_at.date()
                    row.update(voided_by_id=rng.choice(seeder.managers[country]), voided_at=voided_at,
                               void_reason=rng.choice(VOIDS))
    row["status"] = state
    rows.append(row)
    if state == "paid":
        seeder.spend[p.key][(row["paid_on"].replace(day=1), category)] += row["usd_amount"]
        seeder.paid[p.key][row["paid_on"].replace(day=1)] += row["usd_amount"]
    elif state == "approved":
        seeder.spend[p.key][(entered_on.replace(day=1), category)] += row["usd_amount"]
        seeder.committed[p.key] += row["usd_amount"]
    if ended_on and follow_up and rng.random() < 0.7:
        again = ended_on + dt.timedelta(days=rng.randint(1, 7))
        if again <= m.end:
            _payment(seeder, rng, p, m, rows, category=category, payee=payee, amount=amount, currency=currency,
                     entered_on=again, states=FOLLOW_UP_STATES, child=child, enrolment=enrolment,
                     term=term, iga=iga, follow_up=False)


def seed_disbursements(seeder, rng, p, mothers):
    data = COUNTRIES[p.country]
    local = data["currency"]
    rows = []

    def currency_for():
        return "USD" if rng.random() < data["usd_share"] else local

    def amount(usd_low, usd_high, currency, day):
        step = Decimal(1) if currency == "USD" else data["step"]
        return seeder.local(rng.randint(usd_low, usd_high), currency, day, step)

    def pay(category, payee, usd_range, day, **kwargs):
        currency = kwargs.pop("currency", None) or currency_for()
        _payment(seeder, rng, p, m, rows, category=category, payee=payee,
                 amount=amount(*usd_range, currency, day), currency=currency, entered_on=day,
                 states=PAST_STATES, **kwargs)

    for m in mothers:
        # School fees, per enrolment and term; and school material at the start of the year.
        for c in m.children:
            for e in c.enrolments:
                ay = e.ay
                for term in (1, 2, 3):
                    batch_day = p.batch_dates[(ay.label, term)]
                    if batch_day >= m.enrolled and rng.random() < 0.8:
                        day, key = batch_day, f"{p.code}-{ay.start.year}-T{term}"
                    else:
                        day, key = max(batch_day, m.enrolled) + dt.timedelta(days=rng.randint(2, 30)), None
                    if day > ay.term_end(term) or day < seeder.start:
                        continue
                    states = PAST_STATES
                    if day > seeder.last:   # not due yet: some schools are paid ahead, most are not
                        if not ay.current or m.exited is not None or rng.random() >= 0.3:
                            continue
                        day = day_between(rng, max(m.enrolled, ay.start - dt.timedelta(days=14), seeder.start),
                                       seeder.last)
                        key, states = None, AHEAD_STATES
                    elif day > m.end:
                        continue
                    _payment(seeder, rng, p, m, rows, category="school_fees", payee=e.school, amount=e.fee,
                             currency=e.currency, entered_on=day, states=states, child=c, enrolment=e,
                             term=term, batch_key=key)
                kit_day = ay.start + dt.timedelta(days=rng.randint(0, 25))
                if rng.random() < 0.7 and max(m.enrolled, seeder.start) <= kit_day <= m.end:
                    pay("material", rng.choice(data["suppliers"]), (1000, 3500), kit_day, child=c)
            if c.claim is not None:
                low = max(c.claim.received, m.enrolled)
                for _ in range(rng.randint(1, 3)):
                    if low <= m.end:
                        pay("legal", rng.choice(data["lawyers"]), (4000, 25000), day_between(rng, low, m.end),
                            child=c)
        # A dignity kit on arrival.
        if rng.random() < 0.85:
            day = m.enrolled + dt.timedelta(days=rng.randint(0, 20))
            if day <= m.end:
                pay("material", rng.choice(data["suppliers"]), (1500, 4000), day)
        # Medical care, for her or a child: three or four a year.
        for month in month_starts(m.enrolled, m.end):
            if rng.random() < 0.3:
                day = day_between(rng, max(month, m.enrolled), min(month_end(month), m.end))
                child = rng.choice(m.children) if rng.random() < 0.4 else None
                usd = (15000, 30000) if rng.random() < 0.05 else (1500, 12000)
                pay("medical", rng.choice(data["clinics"]), usd, day, child=child)
        # Counselling: monthly sessions for a while.
        if rng.random() < 0.75:
            day = m.enrolled + dt.timedelta(days=rng.randint(7, 45))
            provider = rng.choice(data["counsellors"])
            for _ in range(rng.randint(8, 16)):
                if day > m.end:
                    break
                pay("psychosocial", provider, (800, 2500), day)
                day += dt.timedelta(days=rng.randint(26, 35))
        # Income projects: the grant, in one or two tranches, paid to a supplier.
        for iga in m.igas:
            supplier = rng.choice(data["suppliers"])
            if iga.status == "planned":
                if rng.random() < 0.5:
                    _payment(seeder, rng, p, m, rows, category="iga", payee=supplier, amount=iga.grant,
                             currency=iga.currency, entered_on=max(m.enrolled, iga.started - 3 * DAY),
                             states={"draft": 1, "submitted": 1}, iga=iga)
                continue
            first_day = max(m.enrolled, iga.started - dt.timedelta(days=rng.randint(0, 10)))
            second_day = iga.started + dt.timedelta(days=rng.randint(60, 120))
            if rng.random() < 0.4 and second_day <= min(iga.closed or m.end, m.end):
                first = to_step(iga.grant * rng.randint(55, 70) / 100, data["step"])
                if first < iga.grant:
                    _payment(seeder, rng, p, m, rows, category="iga", payee=supplier, amount=first,
                             currency=iga.currency, entered_on=first_day, states=PAST_STATES, iga=iga)
                    _payment(seeder, rng, p, m, rows, category="iga", payee=supplier, amount=iga.grant - first,
                             currency=iga.currency, entered_on=second_day, states=PAST_STATES, iga=iga)
                    continue
            _payment(seeder, rng, p, m, rows, category="iga", payee=supplier, amount=iga.grant,
                     currency=iga.currency, entered_on=first_day, states=PAST_STATES, iga=iga)
    _write_payments(seeder, p, rows)


def _write_payments(seeder, p, rows: list[dict]):
    """Number the chunk's payments in the order they were entered and paid, then insert them."""
    for row in sorted((r for r in rows if r["paid_at"] is not None), key=lambda r: r["paid_at"]):
        p.payment_seq += 1
        row["payment_reference"] = f"{row['payment_reference']}-{row['paid_at']:%y%m%d}-{p.payment_seq:05d}"
    rows.sort(key=lambda r: r["entered_at"])
    for row in rows:
        row["reference"] = _reference(seeder, p.country, row["entered_on"].year)
    insert_rows(seeder.session, Disbursement, rows)
    seeder.counts["disbursements"] += len(rows)
