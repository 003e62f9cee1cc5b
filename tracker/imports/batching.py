"""What the kinds that apply rows in batches (``Kind.apply_batch``) share: looking codes up a batch at a time,
records as a batch knows them (:class:`Record`), the batch's writes and their audit events in the order row by row
would make them (:class:`Writes`), and the run of one batch with its fallback to a savepoint per row
(:func:`run_batch`).

The disbursements import (:mod:`tracker.disbursements.import_batch`) came first and has its own copies of the
look-up and of the errors meaning "the database refused the batch"; the registry's kinds use these.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, defer

from tracker import audit
from tracker.auth.scope import scoped_select
from tracker.bulk import insert_rows
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.imports.kinds import RowContext, RowError, row_errors

#: Values per ``IN`` list.
CHUNK = 500
try:  # COPY goes through the driver: its errors are not wrapped by SQLAlchemy
    from psycopg.errors import DataError as _PgDataError
    from psycopg.errors import IntegrityError as _PgIntegrityError
    #: What the database raises when it refuses a batch (a unique clash with a record written meanwhile...).
    REFUSED: tuple = (IntegrityError, DataError, _PgIntegrityError, _PgDataError)
except ImportError:  # pragma: no cover
    REFUSED = (IntegrityError, DataError)

Row = tuple[int, dict[str, str]]
Outcome = tuple[str, list[RowError]]


def parts(values: list, size: int = CHUNK):
    for first in range(0, len(values), size):
        yield values[first:first + size]


def values_of(rows: list[Row], column: str) -> list[str]:
    """The values of ``column`` in ``rows`` (as typed)."""
    return [values[column] for _, values in rows]


def look_up(ctx: RowContext, model, attr: str, values: Iterable[str]) -> None:
    """Put in the import's scratch space what :meth:`RowContext.find` would find for each of ``values`` (the
    ``model`` whose ``attr`` it is, inside the importer's countries, or ``None``), in one query per 500 values;
    ``find`` then finds it there.

    Their personal fields are left unread (a children file names mothers by code: her name is not decrypted);
    reading one would load it.
    """
    name = model.__name__
    wanted = sorted({value.strip() for value in values if value and value.strip()
                     and (name, value.strip()) not in ctx.cache})
    column = getattr(model, attr)
    personal = [defer(getattr(model, c.key)) for c in model.__table__.columns if c.info.get("personal")]
    for part in parts(wanted):
        stmt = select(model) if ctx.user is None else scoped_select(model, ctx.user)
        found = {getattr(record, attr): record
                 for record in db.session.scalars(stmt.where(column.in_(part)).options(*personal))}
        for value in part:
            ctx.cache[(name, value)] = found.get(value)


def found(ctx: RowContext, model, value: str):
    """What :func:`look_up` put in the scratch space for ``value`` (``None``: not found, or not looked up)."""
    return ctx.cache.get((model.__name__, (value or "").strip()))


class Record:
    """A record as a batch knows it: its columns (``row``, a dict: those looked up of a stored record, all of a
    record the batch inserts, with its ``id`` once written), read like the attributes of a loaded record."""

    __slots__ = ("row",)

    def __init__(self, row: dict):
        self.row = row

    def __getattr__(self, name: str):
        try:
            return self.row[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def stored(self) -> bool:
        return "id" in self.row

    @classmethod
    def of(cls, result_row) -> Record:
        """A row of a ``select`` of columns."""
        return cls(dict(result_row._mapping))


def label(model, values: dict) -> str:
    """The ``entity_id`` of an audit event on a ``model`` row of ``values``, as :func:`tracker.audit.entity_label`
    gives it for a loaded record: its code, reference or number, else its id."""
    for attr in ("code", "reference", "number"):
        value = values.get(attr)
        if isinstance(value, str) and value:
            return value
    return str(values["id"])


@functools.cache
def _column_info(model, key: str) -> dict:
    return inspect(model).column_attrs[key].columns[0].info


def update_changes(model, old: dict, new: dict) -> dict:
    """The ``changes`` of the ``update`` event a flush records when a ``model`` record's columns go from ``old`` to
    ``new``: ``[old, new]`` of each column that changed, personal and secret ones named, never written."""
    out = {}
    for key, value in new.items():
        before = old.get(key)
        if before == value:
            continue
        info = _column_info(model, key)
        out[key] = "(personal)" if info.get("personal") else "(secret)" if info.get("secret") \
            else [audit._plain(before), audit._plain(value)]
    return out


class Writes:
    """A batch's inserts, updates and audit events, written by :meth:`write` in the order row by row makes them.

    ``models`` are the tables inserted into, each before those pointing at it: a column of a row to insert may
    hold the :class:`Record` it points at, which becomes its id. A ``create`` event shows the row as it was given
    to :meth:`insert` (a later change of it in the same batch comes as its own event, as row by row).
    ``then()``, when given, runs with each :meth:`write` after its inserts and updates.
    """

    def __init__(self, session: Session, models: tuple, *, then: Callable[[], None] | None = None):
        self.session = session
        self.models = models
        self.then = then
        self.inserts: dict[Any, list[dict]] = {model: [] for model in models}
        self.updates: dict[tuple[Any, int], dict] = {}
        self.events: list[dict] = []
        self.stale: list[tuple[Any, int, tuple[str, ...]]] = []

    def insert(self, model, row: dict) -> Record:
        """Insert ``row`` (every column but the id), with its ``create`` event."""
        record = Record(row)
        self.inserts[model].append(row)
        self.events.append({"action": "create", "model": model, "record": record, "snapshot": dict(row)})
        return record

    def update(self, model, record: Record, values: dict) -> None:
        """Set ``values`` on ``record`` (whose row holds their old values, and the columns naming it in events),
        with the ``update`` event a flush would record."""
        changes = update_changes(model, record.row, values)
        if record.stored:
            self.updates.setdefault((model, record.id), {}).update(values)
            self.stale.append((model, record.id, tuple(values)))
        record.row.update(values)
        if changes:
            self.events.append({"action": "update", "model": model, "record": record, "changes": changes})

    def forget(self, model, record_id: int, attributes: tuple[str, ...]) -> None:
        """A stored record the batch changes otherwise (a collection of it): what the session holds of these
        ``attributes`` is forgotten after the writes, so that row by row, later, reads them again."""
        self.stale.append((model, record_id, attributes))

    def write(self) -> None:
        """Write what was given so far: the inserts (``COPY`` on PostgreSQL), the updates (an executemany per
        set of columns), then the events, in order."""
        session = self.session
        for model in self.models:
            rows = self.inserts[model]
            if rows:
                ids = insert_rows(session, model, [_resolved(row) for row in rows], returning=True)
                for row, new_id in zip(rows, ids, strict=True):
                    row["id"] = new_id
                rows.clear()
        by_columns: dict[tuple, list[dict]] = {}
        for (model, record_id), values in self.updates.items():
            by_columns.setdefault((model, tuple(values)), []).append(
                {"b_id": record_id, **{f"b_{key}": value for key, value in values.items()}})
        for (model, columns), params in by_columns.items():
            table = model.__table__
            session.connection().execute(update(table).where(table.c.id == bindparam("b_id")).values(
                {key: bindparam(f"b_{key}") for key in columns}), params)
        self.updates.clear()
        if self.then is not None:
            self.then()
        events = []
        for event in self.events:
            model, record = event["model"], event["record"]
            if event["action"] == "create":
                values = _resolved(event["snapshot"]) | {"id": record.id}
                changes, entity_id = audit.creation_changes(model, values), label(model, values)
            else:
                changes, entity_id = event["changes"], label(model, record.row)
            events.append({"action": event["action"], "entity": model.__tablename__, "entity_id": entity_id,
                           "changes": changes, "user_id": None})
        audit.insert_events(session, events, insert=insert_rows)
        self.events.clear()
        for model, record_id, attributes in self.stale:
            loaded = session.identity_map.get(inspect(model).identity_key_from_primary_key((record_id,)))
            if loaded is not None:
                session.expire(loaded, list(attributes))
        self.stale.clear()

    def correct(self, model, record: Record, change: Callable[[Any], Any]) -> None:
        """A correction of ``record`` made row by row, through its service ``change(loaded record)``: what the
        batch gave so far is written first (the events stay in row order, and the service reads what earlier
        rows made), then the service runs in a savepoint of its own, so that a refusal
        (:class:`~tracker.errors.Invalid`) leaves nothing of the row; ``record`` then holds what it stored."""
        self.write()
        with self.session.begin_nested():
            loaded = self.session.get(model, record.id)
            change(loaded)
        for key in record.row:
            record.row[key] = getattr(loaded, key)


def _resolved(row: dict) -> dict:
    return {key: value.id if isinstance(value, Record) else value for key, value in row.items()}


def run_batch(rows: list[Row], ctx: RowContext, one: Callable[[int, dict[str, str]], Outcome], *, key: str,
              known: Callable[[], Any], look_up: Callable, apply: Callable, models: tuple,
              then: Callable[[Any], None] | None = None) -> list[Outcome]:
    """Apply a batch of rows: ``[(outcome, [RowError])]``, one per row, as row by row.

    ``known()`` makes what the import knows of the records its rows name (kept in the scratch space under
    ``key`` from batch to batch); ``look_up(rows, ctx, known)`` adds what this batch names, in a few queries;
    ``apply(values, ctx, known, writes)`` applies one row in memory and to ``writes`` (raising
    :class:`~tracker.errors.Invalid` for a refused row, leaving nothing of it behind) and returns its outcome.
    The writes (into ``models``, then ``then(known)``, see :class:`Writes`) go in one savepoint. When the
    database refuses them (or the look-ups), the savepoint is rolled back, what the import knew is forgotten (the
    next batch looks it up again) and every row of the batch is applied again alone (``one``, a savepoint per
    row), so that the row refused is named as row by row names it.
    """
    session = db.session
    state = ctx.cache.get(key)
    if state is None:
        state = ctx.cache[key] = known()
    try:
        with session.begin_nested():
            look_up(rows, ctx, state)
    except REFUSED:  # a value the database cannot even compare (a NUL on PostgreSQL): row by row names its row
        ctx.cache.pop(key, None)
        return [one(row_number, values) for row_number, values in rows]
    writes = Writes(session, models, then=None if then is None else lambda: then(state))
    results: list[Outcome] = []
    savepoint = session.begin_nested()
    try:
        for row_number, values in rows:
            try:
                outcome = apply(values, ctx, state, writes)
            except Invalid as error:
                results.append(("", row_errors(row_number, error)))
            else:
                results.append((outcome, []))
        writes.write()
    except REFUSED:
        savepoint.rollback()
        ctx.cache.pop(key, None)
        return [one(row_number, values) for row_number, values in rows]
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return results
