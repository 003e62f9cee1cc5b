"""Append-only audit events.

Every insert, update and delete of an audited model (``__audited__ = True``)
is recorded automatically when the session flushes, in the same transaction,
with the changed field names and their old and new values. Personal and
secret fields are named but their values are never written. Sign-ins,
failures and the showing of personal data are recorded with :func:`record`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from tracker.models.audit import AuditEvent
from tracker.models.base import now_utc

#: Changes to these fields alone are bookkeeping, not worth an event.
_QUIET_FIELDS = {"last_login_at", "failed_logins", "locked_until", "version_id"}


def _actor():
    if has_app_context():
        forced = g.get("audit_actor")
        if forced is not None:
            return forced
    if has_request_context():
        from flask_login import current_user

        user_id = current_user.id if getattr(current_user, "is_authenticated", False) else None
        return user_id, request.remote_addr
    return None, None


@contextlib.contextmanager
def acting_as(user_id: int | None, ip: str | None = None):
    """Attribute the events recorded inside the block to ``user_id`` (CLI, jobs)."""
    previous = g.get("audit_actor")
    g.audit_actor = (user_id, ip)
    try:
        yield
    finally:
        g.audit_actor = previous


@contextlib.contextmanager
def suspended():
    """Record no automatic events inside the block (bulk demo data only)."""
    previous = g.get("audit_suspended", False)
    g.audit_suspended = True
    try:
        yield
    finally:
        g.audit_suspended = previous


def record(session: Session, action: str, *, entity: str | None = None, entity_id=None, changes=None, user_id=None):
    """Add an explicit audit event to ``session`` (committed with it)."""
    actor_id, ip = _actor()
    event_ = AuditEvent(
        at=now_utc(),
        user_id=user_id if user_id is not None else actor_id,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        changes=changes,
        ip=ip,
    )
    session.add(event_)
    return event_


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return f"({len(value)} bytes)"
    return value


def entity_label(obj) -> tuple[str, str]:
    """The entity name and the key people know it by (code, reference, number, else id)."""
    for attr in ("code", "reference", "number"):
        value = getattr(obj, attr, None)
        if isinstance(value, str) and value:
            return obj.__tablename__, value
    return obj.__tablename__, str(inspect(obj).identity[0] if inspect(obj).identity else getattr(obj, "id", ""))


def _unknown_old_values(session: Session, obj) -> dict:
    """Old values of fields changed after they were expired (e.g. by a commit): read them before the flush."""
    state = inspect(obj)
    keys = [a.key for a in state.mapper.column_attrs
            if state.attrs[a.key].history.added and not state.attrs[a.key].history.deleted
            and not state.attrs[a.key].history.unchanged]
    if not keys or state.identity is None:
        return {}
    mapper = state.mapper
    columns = [mapper.column_attrs[k].columns[0] for k in keys]
    condition = [col == value for col, value in zip(mapper.primary_key, state.identity, strict=True)]
    with session.no_autoflush:
        row = session.execute(select(*columns).where(*condition)).one_or_none()
    return dict(zip(keys, row, strict=True)) if row is not None else {}


def _before_flush(session: Session, flush_context, instances) -> None:
    if has_app_context() and g.get("audit_suspended"):
        return
    olds = session.info.setdefault("audit_old", {})
    for obj in session.dirty:
        if getattr(obj, "__audited__", False):
            found = _unknown_old_values(session, obj)
            if found:
                olds[id(obj)] = found


def _changes(obj, *, created: bool, olds: dict | None = None):
    olds = olds or {}
    state = inspect(obj)
    excluded = set(getattr(obj, "__audit_exclude__", ()))
    out = {}
    for column_attr in state.mapper.column_attrs:
        key = column_attr.key
        if key in excluded:
            continue
        column = column_attr.columns[0]
        hist = state.attrs[key].history
        if created:
            new = hist.added[0] if hist.added else getattr(obj, key, None)
            if new is None:
                continue
            old = None
        else:
            if not hist.has_changes():
                continue
            old = hist.deleted[0] if hist.deleted else olds.get(key)
            new = hist.added[0] if hist.added else None
            if old == new:
                continue
        if column.info.get("personal"):
            out[key] = "(personal)"
        elif column.info.get("secret"):
            out[key] = "(secret)"
        else:
            out[key] = [_plain(old), _plain(new)]
    return out


def creation_changes(model, values: dict) -> dict:
    """The ``changes`` of the ``create`` event the flush would record for a ``model`` row of ``values``
    (every column but the empty ones and ``__audit_exclude__``), for rows written in bulk
    (:func:`insert_events`)."""
    excluded = set(getattr(model, "__audit_exclude__", ()))
    out = {}
    for column_attr in inspect(model).column_attrs:
        key = column_attr.key
        new = values.get(key)
        if key in excluded or new is None:
            continue
        info = column_attr.columns[0].info
        out[key] = "(personal)" if info.get("personal") else "(secret)" if info.get("secret") \
            else [None, _plain(new)]
    return out


def insert_events(session: Session, rows: list[dict], *, insert=None) -> None:
    """Write many events at once, in order: dicts of ``action``, ``entity``, ``entity_id``, ``changes`` and
    ``user_id`` (``None``: the actor, as for the events a flush records). ``insert(session, model, rows)``
    writes them when given (a bulk writer), else one executemany."""
    if not rows:
        return
    actor_id, ip = _actor()
    at = now_utc()
    for row in rows:
        row.update(at=at, user_id=row["user_id"] if row.get("user_id") is not None else actor_id, ip=ip)
    if insert is not None:
        insert(session, AuditEvent, rows)
    else:
        session.connection().execute(AuditEvent.__table__.insert(), rows)


def _after_flush(session: Session, flush_context) -> None:
    olds = session.info.pop("audit_old", {})
    if has_app_context() and g.get("audit_suspended"):
        return
    rows = []
    for action, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if not getattr(obj, "__audited__", False):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes = (_changes(obj, created=(action == "create"), olds=olds.get(id(obj)))
                       if action != "delete" else None)
            if action == "update":
                if not changes or set(changes) <= _QUIET_FIELDS:
                    continue
            entity, entity_id = entity_label(obj)
            rows.append({"action": action, "entity": entity, "entity_id": entity_id, "changes": changes})
    if not rows:
        return
    user_id, ip = _actor()
    at = now_utc()
    for row in rows:
        row.update(at=at, user_id=user_id, ip=ip)
    session.connection().execute(AuditEvent.__table__.insert(), rows)


def init_app(app) -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
