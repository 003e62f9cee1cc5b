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
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _json_text  # a string as json.dumps writes it

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
    plain = _PLAIN_TYPES.get(type(value))
    if plain is not None:   # the usual types, told apart in one look-up
        return plain(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return f"({len(value)} bytes)"
    return value


def _same(value):
    return value


_PLAIN_TYPES = {str: _same, int: _same, bool: _same, type(None): _same, Decimal: str,
                dt.date: dt.date.isoformat, dt.datetime: dt.datetime.isoformat}


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
    out = {}
    for key, hidden in _creation_plan(model):
        new = values.get(key)
        if new is not None:
            out[key] = hidden or [None, _plain(new)]
    return out


class JSONText(str):
    """``changes`` already written as JSON (:func:`creation_changes_json`), stored as it is by
    :func:`insert_events`."""

    __slots__ = ()


def creation_changes_json(model, columns: Sequence[str], same: Mapping[str, object] | None = None
                          ) -> Callable[[Sequence], JSONText]:
    """:func:`creation_changes` as JSON, for many rows of one shape written in bulk: the function giving a row's
    ``changes`` as the text ``json.dumps`` makes of them (the text a JSON column stores), for a row given as a
    tuple of values in the order of ``columns``; ``same`` holds the values every row shares, written once (the
    columns in neither are empty). Building the text directly costs a fraction of a dict and its ``dumps``."""
    where = {name: index for index, name in enumerate(columns)}
    same = same or {}
    plan: list[tuple[int | None, str, str | None]] = []   # (index in the row or None, text, what hides it)
    for key, hidden in _creation_plan(model):
        head = _json_text(key) + ": "
        if key in where:
            plan.append((where[key], head, _json_text(hidden) if hidden else None))
        elif same.get(key) is not None:
            text = head + json.dumps(hidden or [None, _plain(same[key])])
            if plan and plan[-1][0] is None:   # shared values next to each other: one piece
                text = plan.pop()[1] + ", " + text
            plan.append((None, text, None))

    def changes(row: Sequence) -> JSONText:
        parts = []
        for index, text, hidden in plan:
            if index is None:
                parts.append(text)
                continue
            new = row[index]
            if new is None:
                continue
            if hidden:
                parts.append(text + hidden)
                continue
            kind = type(new)   # the usual types inline: this runs for every value of every row
            value = _json_text(new) if kind is str else int.__repr__(new) if kind is int else _json_value(new)
            parts.append(text + "[null, " + value + "]")
        return JSONText("{" + ", ".join(parts) + "}")

    return changes


def _json_value(value) -> str:
    """``json.dumps(_plain(value))``, without the encoder for the usual types."""
    kind = type(value)
    if kind is str:
        return _json_text(value)
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    value = _plain(value)
    return _json_text(value) if type(value) is str else json.dumps(value)


@functools.cache
def _creation_plan(model) -> tuple[tuple[str, str | None], ...]:
    """The columns a ``create`` event of ``model`` names, in order, each with what hides its value
    (``"(personal)"``, ``"(secret)"``) or ``None``."""
    excluded = set(getattr(model, "__audit_exclude__", ()))
    plan = []
    for column_attr in inspect(model).column_attrs:
        if column_attr.key in excluded:
            continue
        info = column_attr.columns[0].info
        plan.append((column_attr.key, "(personal)" if info.get("personal") else "(secret)" if info.get("secret")
                     else None))
    return tuple(plan)


def insert_events(session: Session, rows: list[dict], *, insert=None) -> None:
    """Write many events at once, in order: dicts of ``action``, ``entity``, ``entity_id``, ``changes`` and
    ``user_id`` (``None``: the actor, as for the events a flush records). ``insert(session, model, rows)``
    writes them when given (a bulk writer), else :func:`tracker.bulk.insert_tuples` (``COPY`` on PostgreSQL,
    one executemany elsewhere)."""
    if not rows:
        return
    actor_id, ip = _actor()
    at = now_utc()
    if insert is not None:
        for row in rows:
            row.update(at=at, user_id=row["user_id"] if row.get("user_id") is not None else actor_id, ip=ip)
            if isinstance(row["changes"], JSONText):
                row["changes"] = json.loads(row["changes"])
        insert(session, AuditEvent, rows)
        return
    from tracker.bulk import converter, insert_tuples

    # ``changes`` as the column stores them: a JSONText as it is (when the engine writes JSON with json.dumps,
    # as it does unless told otherwise), anything else through the column type.
    convert = converter(session, AuditEvent, "changes")
    as_is = convert is not None and getattr(session.connection().dialect, "_json_serializer", None) is None

    def stored(changes):
        if type(changes) is JSONText:
            if as_is:
                return str(changes)
            changes = json.loads(changes)
        return changes if convert is None else convert(changes)

    insert_tuples(session, AuditEvent, _EVENT_COLUMNS, [
        (actor_id if row.get("user_id") is None else row["user_id"], row["action"], row["entity"], row["entity_id"],
         stored(row["changes"])) for row in rows], same={"at": at, "ip": ip},
        converted=() if convert is None else ("changes",))


_EVENT_COLUMNS = ("user_id", "action", "entity", "entity_id", "changes")


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
