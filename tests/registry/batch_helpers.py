"""Running one file through a registry import row by row and in batches, from the same database, and what each
left behind: the records, the audit events, the errors (tests/registry/test_registry_import_batch_*.py)."""
from __future__ import annotations

import dataclasses

from sqlalchemy import func, select, text

from tests.registry.test_registry_imports import csv_file
from tracker.extensions import db as _db
from tracker.imports.kinds import get_kind
from tracker.imports.reading import parse_upload
from tracker.imports.running import run_import
from tracker.models import AuditEvent, CodeSequence

#: Moments differ from one run to the other.
MOMENTS = {"created_at", "recorded_at", "at"}


def fresh() -> None:
    """Empty every table and start every id at 1 again, so that both runs make the same ids."""
    _db.session.remove()
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # the audit log refuses TRUNCATE
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


def run(kind_name: str, rows: list[list[str]], header: list[str], *, batch: bool, user=None,
        may_fall_back: bool = False):
    """Import ``rows`` row by row, or in batches; in batches, a batch applied again row by row because the
    database refused it fails the test unless ``may_fall_back``: falling back would hide a wrong batch."""
    kind = get_kind(kind_name)
    if not batch:
        kind = dataclasses.replace(kind, apply_batch=None)
    elif not may_fall_back:
        in_batches = kind.apply_batch

        def never_row_by_row(batch_rows, ctx, one):
            def refused(row_number, values):
                raise AssertionError(f"the database refused the batch of row {row_number}: it went row by row")
            return in_batches(batch_rows, ctx, refused)

        kind = dataclasses.replace(kind, apply_batch=never_row_by_row)
    parsed = parse_upload(csv_file(header, *rows), "file.csv", kind)
    return run_import(kind, parsed, read_errors=parsed.errors, user=user, dry_run=False, history=False)


def records(*models) -> dict[str, list[dict]]:
    """Every row of ``models`` (personal fields read back, moments left out), in id order."""
    out = {}
    for model in models:
        order = [model.country, model.kind] if model is CodeSequence else [model.id]
        out[model.__tablename__] = [
            {attr.key: getattr(record, attr.key) for attr in model.__mapper__.column_attrs
             if attr.key not in MOMENTS}
            for record in _db.session.scalars(select(model).order_by(*order))]
    return out


def last_event_id() -> int:
    return _db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def events_after(after: int) -> list[tuple]:
    return [(e.id, e.action, e.entity, e.entity_id, e.user_id,
             {k: v for k, v in (e.changes or {}).items() if k not in MOMENTS})
            for e in _db.session.scalars(select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id))]


def outcome(result) -> tuple:
    return [str(e) for e in result.errors], result.created, result.updated, result.unchanged, result.committed


@dataclasses.dataclass
class Run:
    outcome: tuple
    records: dict
    events: list


def both(world, kind_name: str, header: list[str], rows: list[list[str]], models: tuple, user_email=None,
         may_fall_back: bool = False) -> list[Run]:
    """``world()`` built on empty tables, then ``rows`` imported row by row; the same again in batches."""
    runs = []
    for batch in (False, True):
        fresh()
        world()
        user = None
        if user_email:
            from tracker.models import User
            user = _db.session.scalar(select(User).where(User.email == user_email))
        after = last_event_id()
        result = run(kind_name, rows, header, batch=batch, user=user, may_fall_back=may_fall_back)
        runs.append(Run(outcome(result), records(*models), events_after(after)))
    return runs


def kinds_of(events: list[tuple]) -> list[tuple[str, str, str]]:
    """(action, entity, entity_id) of each event."""
    return [(action, entity, entity_id) for _id, action, entity, entity_id, _user, _changes in events]
