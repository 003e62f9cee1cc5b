"""The funding imports in batches (``Kind.apply_batch``): the rules of row by row, with what the rows name looked
up a batch at a time and the new records, the changes and their audit events written in bulk.

Each kind keeps what its batches looked up, and what their accepted rows added or changed, in the import's
scratch space (:class:`Batch`): a later row of the file, in the same batch or a later one, sees the earlier rows
as row by row it sees them in the database. A row is checked by the same functions as row by row
(:mod:`tracker.funding.import_rules`, the services' ``check_*``), given that memory instead of queries.

The accepted rows of a batch are written in one savepoint, in the order row by row would write them: the new
records with :func:`tracker.bulk.insert_rows` (``COPY`` on PostgreSQL), the changes as ``UPDATE``\\ s by id, then
the same ``create`` and ``update`` events as the flushes of row by row record, in their order. When the database
refuses the batch (someone recorded the same key a moment ago), the savepoint is rolled back, the kind forgets
what it remembered, and the batch's rows are applied one by one (``one``), as row by row, to name the row refused;
the next batch looks everything up again.

The kinds themselves are in :mod:`tracker.funding.import_batch_kinds` (exchange rates, donors, projects, budget
lines) and :mod:`tracker.funding.import_batch_money` (pledges, contributions, allocations).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm.util import identity_key

from tracker import audit
from tracker import validation as v
from tracker.auth.scope import apply_scope
from tracker.bulk import insert_rows
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.imports import batching
from tracker.imports.batching import REFUSED
from tracker.imports.kinds import RowContext, row_errors
from tracker.models import Donor, Project

_MISSING = object()


def parts(values: Iterable) -> Iterable[list]:
    """``values`` sorted, in lists short enough for an ``IN``."""
    yield from batching.parts(sorted(values))


def valid(read, *args, **kwargs):
    """``read(*args, **kwargs)``, or ``None`` when it refuses the value (the row's own check reports it)."""
    try:
        return read(*args, **kwargs)
    except Invalid:
        return None


def known(found: dict, key, load):
    """``found[key]``, loading it with ``load(key)`` (a row the batch's look-up did not foresee)."""
    value = found.get(key, _MISSING)
    if value is _MISSING:
        value = found[key] = load(key)
    return value


def read_records(statement) -> list[Record]:
    return [Record(**row._asdict()) for row in db.session.execute(statement)]


def cache_projects(rows, ctx) -> None:
    """Put the projects the rows name (``project_code``, in the importer's countries) in the scratch space, where
    :meth:`~tracker.imports.kinds.RowContext.find` finds them."""
    wanted = {values["project_code"].strip() for _, values in rows if values["project_code"].strip()}
    wanted -= {key[1] for key in ctx.cache if isinstance(key, tuple) and len(key) == 2 and key[0] == "Project"}
    for part in parts(wanted):
        stmt = select(Project) if ctx.user is None else apply_scope(select(Project), Project, ctx.user)
        found = {p.code: p for p in db.session.scalars(stmt.where(Project.code.in_(part)))}
        for code in part:
            ctx.cache[("Project", code)] = found.get(code)


def cache_donors(rows, ctx) -> None:
    """Put the donors the rows name in the scratch space, where :func:`~tracker.funding.import_rules.donor_named`
    finds them."""
    wanted = {valid(v.text, values["donor"], "donor", max_length=200) for _, values in rows} - {None}
    wanted -= {key[1] for key in ctx.cache if isinstance(key, tuple) and len(key) == 2 and key[0] == "Donor"}
    for part in parts(wanted):
        found = {d.name: d for d in db.session.scalars(select(Donor).where(Donor.name.in_(part)))}
        for name in part:
            ctx.cache[("Donor", name)] = found.get(name)


def references(rows, column: str) -> set[str]:
    return {valid(v.text, values[column], column, max_length=60) for _, values in rows} - {None}


class Record:
    """A record as a batch knows it: its columns as attributes (so the shared checks read it as they read the
    model), ``id`` ``None`` until it is written."""

    def __init__(self, **columns):
        self.id = None
        self.__dict__.update(columns)

    def __repr__(self) -> str:  # pragma: no cover (debugging)
        return f"Record({self.__dict__})"


class IdOf:
    """The id of a record the batch adds, for a column pointing at it (known once it is written)."""

    def __init__(self, record: Record):
        self.record = record


def _value(value):
    return value.record.id if isinstance(value, IdOf) else value


@dataclass
class Create:
    """A new ``model`` row of ``values``; ``record`` gets its id."""
    model: Any
    values: dict
    record: Record


@dataclass
class Update:
    """``record`` (a ``model`` row) changed from ``old`` to ``new`` (the changed columns and their values)."""
    model: Any
    record: Any
    old: dict
    new: dict


class Batch:
    """What one kind's batches know, kept in the import's scratch space from batch to batch.

    A kind says what its rows name (:meth:`look_up`, a few ``IN`` queries for a whole batch) and checks a row
    (:meth:`check`: its outcome and what it writes, the memory updated as the row is accepted, never when it is
    refused); :meth:`written` runs once the batch is saved.
    """

    #: The models a row may add, in the order they are written (a project's partner before it).
    models: tuple = ()

    def __init__(self, ctx: RowContext):
        self.ctx = ctx

    def look_up(self, rows: list[tuple[int, dict[str, str]]]) -> None:
        """Look up what ``rows`` name that is not known yet."""

    def check(self, values: dict[str, str]) -> tuple[str, list]:
        """``(outcome, [Create | Update])`` of a row, or :class:`Invalid` as row by row."""
        raise NotImplementedError

    def written(self) -> None:
        """The batch is saved (its new records have their ids)."""


def apply_batch(kind: type[Batch], rows, ctx: RowContext, one) -> list[tuple[str, list]]:
    """``Kind.apply_batch`` of a funding kind: ``[(outcome, [RowError])]`` for ``rows``."""
    key = ("_funding_batch", kind.__name__)
    batch = ctx.cache.get(key)
    if batch is None:
        batch = ctx.cache[key] = kind(ctx)
    batch.ctx = ctx
    batch.look_up(rows)
    results: list[tuple[str, list]] = []
    actions: list = []
    for row_number, values in rows:
        try:
            outcome, row_actions = batch.check(values)
        except Invalid as error:
            results.append(("", row_errors(row_number, error)))
            continue
        results.append((outcome, []))
        actions.extend(row_actions)
    if actions:
        session = db.session
        try:
            with session.begin_nested():
                write(session, actions, batch.models)
        except REFUSED:
            # What the batch remembered is no longer what the database holds: forget it, and let row by row
            # (a savepoint per row) find the row refused.
            del ctx.cache[key]
            return [one(row_number, values) for row_number, values in rows]
    batch.written()
    return results


def write(session, actions: list, models: tuple) -> None:
    """The new records (by model, in ``models`` order), then the changes, then their events in row order."""
    for model in models:
        creates = [a for a in actions if isinstance(a, Create) and a.model is model]
        if not creates:
            continue
        rows = [{column: _value(value) for column, value in a.values.items()} for a in creates]
        for action, row, new_id in zip(creates, rows, insert_rows(session, model, rows, returning=True),
                                       strict=True):
            row["id"] = action.record.id = new_id
            action.values = row
    _update(session, [a for a in actions if isinstance(a, Update)])
    events = []
    for action in actions:
        table = action.model.__tablename__
        if isinstance(action, Create):
            events.append({"action": "create", "entity": table, "entity_id": _label(action.values),
                           "changes": audit.creation_changes(action.model, action.values), "user_id": None})
        else:
            old = {column: _value(value) for column, value in action.old.items()}
            new = {column: _value(value) for column, value in action.new.items()}
            changes = _update_changes(action.model, old, new)
            if changes:
                events.append({"action": "update", "entity": table,
                               "entity_id": _label({**old, **new, "id": action.record.id}),
                               "changes": changes, "user_id": None})
    audit.insert_events(session, events)


def _update(session, updates: list[Update]) -> None:
    """The changes, in order: one executemany per run of changes to the same columns."""
    connection = session.connection()
    run: list[Update] = []
    for action in [*updates, None]:
        if run and (action is None or action.model is not run[0].model or set(action.new) != set(run[0].new)):
            table = run[0].model.__table__
            columns = sorted(run[0].new)
            statement = table.update().where(table.c.id == bindparam("id_")).values(
                {column: bindparam(f"{column}_") for column in columns})
            connection.execute(statement, [{"id_": a.record.id, **{f"{c}_": _value(a.new[c]) for c in columns}}
                                           for a in run])
            for a in run:  # an ORM object of the row, if the session holds one, is read again when next used
                held = session.identity_map.get(identity_key(a.model, a.record.id))
                if held is not None:
                    session.expire(held)
            run = []
        if action is not None:
            run.append(action)


def _label(values: dict) -> str:
    """The key people know a record by in the audit trail, as :func:`tracker.audit.entity_label` finds it."""
    for attr in ("code", "reference", "number"):
        value = values.get(attr)
        if isinstance(value, str) and value:
            return value
    return str(values["id"])


def _update_changes(model, old: dict, new: dict) -> dict:
    """The ``changes`` of the ``update`` event a flush records for these changed columns (those whose value
    differs), written as :func:`tracker.audit.creation_changes` writes values."""
    before, after = audit.creation_changes(model, old), audit.creation_changes(model, new)
    changes = {}
    for column in model.__table__.columns:
        key = column.key
        if key not in new or old.get(key) == new[key]:
            continue
        if isinstance(after.get(key, before.get(key)), str):  # "(personal)", "(secret)"
            changes[key] = after.get(key, before.get(key))
        else:
            changes[key] = [before[key][1] if key in before else None, after[key][1] if key in after else None]
    return changes


def batch_of(kind: type[Batch]):
    """The ``Kind.apply_batch`` of a kind."""
    def apply(rows, ctx, one):
        return apply_batch(kind, rows, ctx, one)
    apply.__doc__ = f"``Kind.apply_batch``: the rows in batches ({kind.__name__})."
    return apply
