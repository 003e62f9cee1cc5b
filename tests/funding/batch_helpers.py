"""Running one funding file row by row and in batches, from the same records, and what each run left.

Records and audit events are compared by the keys people know them by (a donor's name, a project's code, a rate's
currency and day...), not by ids, which differ between the two runs on PostgreSQL.
"""
from __future__ import annotations

import csv
import dataclasses
import io

from sqlalchemy import delete, func, select

from tracker.extensions import db as _db
from tracker.imports.kinds import get_kind
from tracker.imports.reading import parse_upload
from tracker.imports.running import run_import
from tracker.models import (
    Allocation,
    AuditEvent,
    Beneficiary,
    BudgetLine,
    Contribution,
    Donor,
    ExchangeRate,
    Partner,
    Pledge,
    Project,
    User,
)

CD, CF, SS = "TF-CD-2025-01", "TF-CF-2025-01", "TF-SS-2025-01"
#: The funding tables, in an order they can be emptied in (the records a test made for both runs go with them).
WIPED = (Beneficiary, Allocation, Contribution, Pledge, BudgetLine, Project, Partner, Donor, ExchangeRate)
_FOREIGN = {"donor_id": "donors", "partner_id": "partners", "project_id": "projects", "pledge_id": "pledges",
            "created_by_id": "users"}


def csv_file(header, *rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def run(kind_name: str, data: bytes, user, *, batch: bool):
    kind = get_kind(kind_name)
    if not batch:
        kind = dataclasses.replace(kind, apply_batch=None)
    parsed = parse_upload(data, "file.csv", kind)
    return run_import(kind, parsed, read_errors=parsed.errors, user=user, dry_run=False, history=False)


def summary(result) -> tuple:
    """What a person sees of an import: its errors in order, its counts, and whether it was saved."""
    return [str(e) for e in result.errors], (result.created, result.updated, result.unchanged), result.committed


def _names() -> dict[str, dict[int, str]]:
    session = _db.session
    codes = dict(session.execute(select(Project.id, Project.code)).all())
    return {
        "donors": dict(session.execute(select(Donor.id, Donor.name)).all()),
        "partners": dict(session.execute(select(Partner.id, Partner.name)).all()),
        "projects": codes,
        "pledges": dict(session.execute(select(Pledge.id, Pledge.reference)).all()),
        "contributions": dict(session.execute(select(Contribution.id, Contribution.reference)).all()),
        "users": dict(session.execute(select(User.id, User.email)).all()),
        "exchange_rates": {i: f"{c} {d}" for i, c, d in session.execute(
            select(ExchangeRate.id, ExchangeRate.currency, ExchangeRate.valid_from))},
        "budget_lines": {i: f"{codes[p]} {y} {c}" for i, p, y, c in session.execute(
            select(BudgetLine.id, BudgetLine.project_id, BudgetLine.year, BudgetLine.category))},
        "allocations": {i: r or f"{codes[p]} {a} {d}" for i, p, a, d, r in session.execute(
            select(Allocation.id, Allocation.project_id, Allocation.amount_usd, Allocation.allocated_on,
                   Allocation.reference))},
    }


def state(after_event: int) -> tuple[dict, list]:
    """The funding records (every column but ``created_at``; ids as keys) and the audit events after
    ``after_event`` (action, entity, entity key, whether a user is named, changes with ids as keys)."""
    names = _names()

    def key(table: str, column: str, value):
        if value is None:
            return None
        if column == "id":
            return names[table].get(value, value)
        if column in _FOREIGN:
            return names[_FOREIGN[column]].get(value, value)
        return value

    records = {}
    for model in reversed(WIPED[1:]):
        table = model.__tablename__
        rows = [{c.key: key(table, c.key, getattr(r, c.key)) for c in model.__table__.columns if c.key != "created_at"}
                for r in _db.session.scalars(select(model))]
        records[table] = sorted(rows, key=repr)
    events = []
    for e in _db.session.scalars(select(AuditEvent).where(AuditEvent.id > after_event).order_by(AuditEvent.id)):
        entity_id = e.entity_id
        if e.entity in names and entity_id and entity_id.isdigit():
            entity_id = names[e.entity].get(int(entity_id), entity_id)
        changes = e.changes or {}
        if e.action in ("create", "update"):
            changes = {k: [key(e.entity, k, old), key(e.entity, k, new)] for k, (old, new) in changes.items()
                       if k != "created_at"}
        events.append((e.action, e.entity, entity_id, e.user_id is not None, changes))
    return records, events


def last_event() -> int:
    return _db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def wipe() -> None:
    _db.session.rollback()
    for model in WIPED:
        _db.session.execute(delete(model))
    _db.session.commit()


def both(kind_name: str, data: bytes, user, setup, *, again: bool = True):
    """The file imported row by row, then (from the same records, set up again by ``setup()``) in batches:
    ``[(summary, state, summary of a second import of the same file), ...]``, row by row first."""
    runs = []
    for batch in (False, True):
        setup()
        after = last_event()
        first = summary(run(kind_name, data, user, batch=batch))
        seen = state(after)
        second = summary(run(kind_name, data, user, batch=batch)) if again and first[2] else None
        runs.append((first, seen, second))
        wipe()
    return runs


def event_kinds(events) -> list[tuple[str, str]]:
    return [(action, entity) for action, entity, *_rest in events]
