"""The ``disbursements`` import in batches (``Kind.apply_batch``): the rules of
:func:`~tracker.disbursements.import_kind.apply_disbursement`, row by row in Python, with what the rows name
looked up a batch at a time and the rows and their audit events written in bulk.

Per batch: one ``IN`` query for the references already imported, one per kind of code not met yet (projects,
mothers, children, income activities, in the importer's countries), one for the enrolments of new children and
one for the terms their enrolments already hold (then kept up to date in memory as rows are accepted); with
``--history``, one for the payment references. The accepted rows are written in one savepoint (``COPY`` on
PostgreSQL, an executemany elsewhere) with the same ``create`` and ``submit`` events as row by row. When the
database refuses the batch (someone entered the same term a moment ago), the savepoint is rolled back and its
rows are applied one by one (``one``) to name the row refused.

What a row costs here is Python: the row's checks (the rules the entry form runs), its values as a tuple and its
``create`` event's ``changes``; the records it names are loaded once per import with only the columns the checks
read (a mother's name is never decrypted), rates once per currency and day, and the rows and events go to the
database a batch at a time without a dict per row (:func:`tracker.bulk.insert_tuples`).
"""
from __future__ import annotations

import json
from collections import namedtuple
from decimal import Decimal
from operator import itemgetter

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text

from tracker import audit
from tracker.auth.scope import apply_scope
from tracker.bulk import insert_tuples
from tracker.disbursements import services
from tracker.disbursements.import_rules import import_user, resolve_row
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.funding.rates import usd_value
from tracker.imports.batching import REFUSED, parts
from tracker.imports.kinds import RowContext, row_errors
from tracker.models import Beneficiary, Child, Disbursement, Enrolment, IncomeProject, Project
from tracker.models.base import now_utc
from tracker.rates import rate_on

_CODES = ((Project, "project_code", "code"), (Beneficiary, "mother_code", "code"), (Child, "child_code", "code"),
          (IncomeProject, "income_project_reference", "reference"))
#: The records a row names, as the checks read them (resolve_row, services.check_entry, and services.enter when
#: a refused batch is applied row by row): named tuples of these columns, not ORM objects, so that a few thousand
#: mothers and children cost no identity map to build and expire at the commit, and nothing personal is read
#: (no name is decrypted).
_RECORDS = {model: namedtuple(model.__name__, names) for model, names in (
    (Project, ("id", "code", "status", "country")), (Beneficiary, ("id", "code", "project_id", "status")),
    (Child, ("id", "code", "mother_id")), (IncomeProject, ("id", "reference", "beneficiary_id")),
    (Enrolment, ("id", "child_id", "academic_year", "terms")))}
#: The columns of a row that vary (from the file); the others are the same for a whole batch (:func:`_insert`).
_ROW = ("reference", "project_id", "category", "beneficiary_id", "child_id", "enrolment_id", "term",
        "income_project_id", "payee", "amount", "currency", "entered_on")
_row_values = itemgetter(*_ROW)
#: The ``changes`` of every ``submit`` event, written once.
_SUBMIT_CHANGES = audit.JSONText(json.dumps({"status": ["draft", "submitted"]}))
_MISSING = object()


class _Known:
    """What the file's rows name, looked up a batch at a time; kept in the import's scratch space."""

    def __init__(self):
        self.existing: dict[str, tuple[int, int]] = {}         # reference -> (project_id, beneficiary_id)
        self.enrolments: dict[tuple[int, str], tuple] = {}      # (child_id, academic_year) -> Enrolment record
        self.children_loaded: set[int] = set()
        self.held: dict[tuple[int, int], str] = {}              # (enrolment_id, term) -> reference
        self.enrolments_loaded: set[int] = set()
        self.payments: dict[tuple[int, str], str] = {}          # (project_id, payment_reference) -> reference
        self.rates: dict[tuple[str, object], Decimal | None] = {}  # (currency, day) -> USD per unit
        self.plan_cache_mode: str | None = None                 # PostgreSQL's, before the look-ups

    def existing_of(self, reference: str):
        found = self.existing.get(reference, _MISSING)
        if found is _MISSING:
            found = db.session.execute(select(Disbursement.project_id, Disbursement.beneficiary_id)
                                       .where(Disbursement.reference == reference)).one_or_none()
            self.existing[reference] = found
        return found

    def enrolment(self, child_id: int, year: str):
        if child_id not in self.children_loaded:
            self.load_enrolments([child_id])
        return self.enrolments.get((child_id, year))

    def holder(self, enrolment_id: int, term: int) -> str | None:
        if enrolment_id not in self.enrolments_loaded:
            self.load_held([enrolment_id])
        return self.held.get((enrolment_id, term))

    def rate(self, currency: str, day) -> Decimal | None:
        """:func:`~tracker.rates.rate_on`, asked once per currency and day of the import."""
        key = (currency, day)
        if key not in self.rates:
            self.rates[key] = rate_on(currency, day)
        return self.rates[key]

    def load_enrolments(self, child_ids) -> None:
        ids = sorted(set(child_ids) - self.children_loaded)
        for part in parts(ids):
            for enrolment in _records(select(*_columns(Enrolment)).where(Enrolment.child_id.in_(part)), Enrolment):
                self.enrolments[(enrolment.child_id, enrolment.academic_year)] = enrolment
        self.children_loaded.update(ids)
        self.load_held([e.id for e in self.enrolments.values()])

    def load_held(self, enrolment_ids) -> None:
        ids = sorted(set(enrolment_ids) - self.enrolments_loaded)
        for part in parts(ids):
            for reference, enrolment_id, term in db.session.execute(
                    select(Disbursement.reference, Disbursement.enrolment_id, Disbursement.term).where(
                        Disbursement.enrolment_id.in_(part), Disbursement.category == "school_fees",
                        Disbursement.status.in_(services.HOLDING)).order_by(Disbursement.id)):
                self.held.setdefault((enrolment_id, term), reference)
        self.enrolments_loaded.update(ids)


def _columns(model) -> list:
    return [getattr(model, name) for name in _RECORDS[model]._fields]


def _records(stmt, model):
    return map(_RECORDS[model]._make, db.session.execute(stmt))


def _look_up(rows, ctx: RowContext, known: _Known) -> None:
    """Fill the scratch space with what this batch names, in a few queries (the row checks then find it there)."""
    references = sorted({values["reference"].strip() for _, values in rows} - set(known.existing))
    for part in parts(references):
        found = {r: (p, b) for r, p, b in db.session.execute(
            select(Disbursement.reference, Disbursement.project_id, Disbursement.beneficiary_id)
            .where(Disbursement.reference.in_(part)))}
        for reference in part:
            known.existing[reference] = found.get(reference)
    cache = ctx.cache
    for model, column, attr in _CODES:
        name = model.__name__
        wanted = sorted({code for code in {values[column].strip() for _, values in rows}
                         if code and (name, code) not in cache})
        for part in parts(wanted):
            stmt = select(*_columns(model))
            if ctx.user is not None:
                stmt = apply_scope(stmt, model, ctx.user)
            found = {getattr(o, attr): o for o in _records(stmt.where(getattr(model, attr).in_(part)), model)}
            for value in part:
                cache[(name, value)] = found.get(value)
    children = [ctx.cache.get(("Child", values["child_code"].strip())) for _, values in rows]
    known.load_enrolments([c.id for c in children if c is not None])
    if ctx.history:
        payments = sorted({values["payment_reference"].strip() for _, values in rows} - {""})
        for part in parts(payments):
            for reference, project_id, payment in db.session.execute(
                    select(Disbursement.reference, Disbursement.project_id, Disbursement.payment_reference)
                    .where(Disbursement.payment_reference.in_(part)).order_by(Disbursement.id)):
                known.payments.setdefault((project_id, payment), reference)


def _check(values: dict[str, str], ctx: RowContext, known: _Known):
    """The row's new disbursement (a dict of the :data:`_ROW` columns, and ``_paid`` for history), or ``None``
    when it is imported already; raises :class:`Invalid` as
    :func:`~tracker.disbursements.import_kind.apply_disbursement` does, in the same order."""
    targets = resolve_row(values, ctx, existing_of=known.existing_of, enrolment_of=known.enrolment)
    if targets is None:
        return None
    project, mother, child, enrolment, income_project = (
        targets.project, targets.mother, targets.child, targets.enrolment, targets.income_project)
    entry = services.check_entry(
        project=project, category=values["category"], beneficiary=mother, child=child, enrolment=enrolment,
        term=values.get("term") or None, income_project=income_project, payee=values["payee"],
        amount=values["amount"], currency=values["currency"], entered_on=values["entered_on"], past=ctx.history,
        holder=known.holder)
    row = {"reference": targets.reference, "project_id": project.id, "category": entry.category,
           "beneficiary_id": mother.id, "child_id": child.id if child else None,
           "enrolment_id": enrolment.id if enrolment else None, "term": entry.term,
           "income_project_id": income_project.id if income_project else None, "payee": entry.payee,
           "amount": entry.amount, "currency": entry.currency, "entered_on": entry.entered_on}
    if ctx.history:
        paid_on, payment_reference = targets.paid_on, targets.payment_reference
        if paid_on < entry.entered_on:
            raise Invalid(_l("is before entered_on"), "paid_on")
        taken = known.payments.get((project.id, payment_reference))
        if taken is not None:
            raise Invalid(_l("%(pay)s is already the payment reference of %(ref)s", pay=payment_reference, ref=taken),
                          "payment_reference")
        usd, rate = usd_value(entry.amount, entry.currency, entry.entered_on, rate_of=known.rate)
        row["_paid"] = {"usd_amount": usd, "usd_rate": rate, "paid_on": paid_on,
                        "payment_reference": payment_reference}
    return row


def _insert(session, rows: list[dict], ctx: RowContext) -> None:
    """Write the accepted rows and their events, in the order row by row would: per row its ``create`` event,
    then its ``submit`` event (history: the ``create`` event shows the draft, then the row is marked paid,
    without an event). The rows of a batch share the moment they were entered (and paid). A dry run writes the
    rows, for the database to check them, but not their events."""
    user_id = import_user(ctx).id
    moment = now_utc()
    entered = {"status": "submitted", "top_up": False, "imported_history": False, "entered_by_id": user_id,
               "entered_at": moment, "submitted_by_id": user_id, "submitted_at": moment, "version_id": 1}
    values = [_row_values(row) for row in rows]
    if ctx.history:
        # As row by row: the ``create`` event shows the draft; the row is then marked paid (no event).
        entered.update(status="draft", submitted_by_id=None, submitted_at=None)
        paid = [row["_paid"] for row in rows]
        ids = insert_tuples(
            session, Disbursement, (*_ROW, "usd_amount", "usd_rate", "paid_on", "payment_reference"),
            [v + (p["usd_amount"], p["usd_rate"], p["paid_on"], p["payment_reference"]) for v, p in zip(
                values, paid, strict=True)],
            same=entered | {"status": "paid", "imported_history": True, "paid_by_id": user_id, "paid_at": now_utc(),
                            "version_id": 2}, key="reference")
    else:
        ids = insert_tuples(session, Disbursement, _ROW, values, same=entered, key="reference")
    if ctx.dry_run:   # rolled back at the end; no event can refuse a row
        return
    changes = audit.creation_changes_json(Disbursement, ("id", *_ROW), entered)
    events = []
    for row_values, new_id in zip(values, ids, strict=True):
        reference = row_values[0]
        events.append({"action": "create", "entity": "disbursements", "entity_id": reference,
                       "changes": changes((new_id, *row_values)), "user_id": None})
        if not ctx.history:
            events.append({"action": "submit", "entity": "disbursements", "entity_id": reference,
                           "changes": _SUBMIT_CHANGES, "user_id": user_id})
    audit.insert_events(session, events)


def apply_batch(rows, ctx: RowContext, one):
    """``Kind.apply_batch`` of the disbursements import: ``[(outcome, [RowError])]`` for ``rows``."""
    known = ctx.cache.setdefault("_batch_known", _Known())
    planning = _custom_plans(db.session, known)
    _look_up(rows, ctx, known)
    planning()
    results: list[tuple[str, list]] = []
    accepted: list[tuple[int, int, dict]] = []   # (index in rows, row number, new row)
    for index, (row_number, values) in enumerate(rows):
        try:
            row = _check(values, ctx, known)
        except Invalid as error:
            results.append(("", row_errors(row_number, error)))
            continue
        if row is None:
            results.append(("unchanged", []))
            continue
        results.append(("created", []))
        accepted.append((index, row_number, row))
        if row["category"] == "school_fees":
            known.held.setdefault((row["enrolment_id"], row["term"]), row["reference"])
        if "_paid" in row:
            known.payments.setdefault((row["project_id"], row["_paid"]["payment_reference"]), row["reference"])
    if not accepted:
        return results
    session = db.session
    usd = [row["_paid"]["usd_amount"] for _, _, row in accepted if "_paid" in row]
    try:
        with session.begin_nested():
            _insert(session, [row for _, _, row in accepted], ctx)
    except REFUSED:
        _one_by_one(rows, accepted, results, ctx, known, one)
        return results
    if usd:
        ctx.cache["_history_rows"] = ctx.cache.get("_history_rows", 0) + len(usd)
        ctx.cache["_history_usd"] = ctx.cache.get("_history_usd", Decimal(0)) + sum(usd, Decimal(0))
    return results


def _custom_plans(session, known: _Known):
    """PostgreSQL: plan the batch's look-ups for the tables as they are now; returns what puts the setting back.

    psycopg prepares a statement run five times, and PostgreSQL may then keep one generic plan for it: planned
    while ``disbursements`` was small (a new database, a first big history import), the look-up of a batch's
    references stays a sequential scan as the import itself fills the table, each batch costing more than the
    one before (50,000 rows: 22 of the import's 40 seconds). Only for the look-ups: the foreign-key checks of
    every row written are prepared plans too, and planning each of them again would cost more than it saves.
    """
    if session.get_bind().dialect.name != "postgresql":
        return lambda: None
    if known.plan_cache_mode is None:
        known.plan_cache_mode = session.scalar(text("SELECT current_setting('plan_cache_mode')"))
    session.execute(text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)"))
    return lambda: session.execute(text("SELECT set_config('plan_cache_mode', :mode, true)"),
                                   {"mode": known.plan_cache_mode})


def _one_by_one(rows, accepted, results, ctx: RowContext, known: _Known, one) -> None:
    """The database refused the batch: apply its accepted rows alone, each in a savepoint, as row by row."""
    seen = ctx.cache["_seen"]
    for _, _, row in accepted:
        seen.discard(row["reference"])
        if known.held.get((row["enrolment_id"], row["term"])) == row["reference"]:
            del known.held[(row["enrolment_id"], row["term"])]
        paid = row.get("_paid")
        if paid and known.payments.get((row["project_id"], paid["payment_reference"])) == row["reference"]:
            del known.payments[(row["project_id"], paid["payment_reference"])]
    for index, row_number, row in accepted:
        outcome, errors = one(row_number, rows[index][1])
        results[index] = (outcome, errors)
        if outcome == "created":   # one() counted its history figures itself
            if row["category"] == "school_fees":
                known.held.setdefault((row["enrolment_id"], row["term"]), row["reference"])
            if row.get("_paid"):
                known.payments.setdefault((row["project_id"], row["_paid"]["payment_reference"]), row["reference"])
