"""The all-or-nothing run of an import file.

:func:`run_import` runs every row of a file,
each in its own SAVEPOINT so that a bad row is undone alone and the rows
after it are still checked, and saves the whole file or nothing.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import DataError, IntegrityError

from tracker import audit
from tracker.database import refresh_planner_statistics
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.imports.kinds import Kind, RowContext, RowError, history_refusal, row_errors

if TYPE_CHECKING:
    from tracker.models import User

OUTCOMES = ("created", "updated", "unchanged")
#: How often (in rows) ``progress`` is called.
PROGRESS_EVERY = 100
#: Rows given at once to a kind that applies rows in batches (``Kind.apply_batch``).
BATCH_ROWS = 500


@dataclass
class ImportResult:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    committed: bool = False
    dry_run: bool = False

    @property
    def rows_with_errors(self) -> int:
        return len({e.row for e in self.errors})

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportRefused(Exception):
    """The whole import is refused before any row (see :func:`~tracker.imports.kinds.history_refusal`)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def run_import(kind: Kind, rows: Iterable[tuple[int, dict[str, str]]], *, read_errors: Iterable[RowError] = (),
               user: User | None, dry_run: bool, history: bool,
               progress: Callable[[int, int | None], Any] | None = None,
               before_commit: Callable[[ImportResult], Any] | None = None) -> ImportResult:
    """Apply every row of a file; save all of it, or nothing.

    Each row runs in its own SAVEPOINT: a row the kind refuses
    (:class:`~tracker.errors.Invalid`) or the database refuses
    (``IntegrityError``, ``DataError``) is rolled back alone and reported,
    and the next rows are still checked, so the person sees every problem of
    the file at once. The outer transaction is committed only when no row
    failed and this is not a dry run; one ``import`` audit event (counts,
    never contents) is committed with it. Any other exception is a bug: the
    transaction is rolled back and the exception propagates.

    ``rows`` yields ``(row_number, {column: text})``, as a
    :class:`~tracker.imports.reading.ParsedFile` does (its ``columns`` tell the
    kind which optional columns the file leaves out,
    :attr:`~tracker.imports.kinds.RowContext.absent_columns`); ``read_errors`` are the
    row errors found while reading (its ``errors``: too many cells, too long):
    those rows are reported and not applied. The session's current transaction
    belongs to the import: it ends committed or rolled back.

    A history import the kind refuses outright raises :class:`ImportRefused`;
    its audit event also carries the kind's figures (``Kind.history_audit``).

    ``progress(done, total)`` is called every :data:`PROGRESS_EVERY` rows;
    ``before_commit(result)`` just before the commit of a successful import,
    to add to its transaction (a job records its result with the rows).
    """
    if history:
        refused = history_refusal(kind)
        if refused:
            raise ImportRefused(refused)
    result = ImportResult(dry_run=dry_run)
    errors: list[RowError] = list(read_errors)
    skipped = {e.row for e in errors}
    total = len(rows) if hasattr(rows, "__len__") else None  # type: ignore[arg-type]
    session = db.session
    cache: dict = {}
    earlier = EarlierRows(kind)
    names = kind.column_names  # a property that builds the tuple: once, not per row
    header = getattr(rows, "columns", None)  # a ParsedFile's; rows given otherwise leave no column out
    absent = frozenset(names) - frozenset(header) if header is not None else frozenset()
    done = 0
    try:
        _begin_for_real(session)
        batch: list[tuple[int, dict[str, str]]] = []

        def one(row_number: int, values: dict[str, str]) -> tuple[str, list[RowError]]:
            ctx = RowContext(user=user, history=history, row_number=row_number, cache=cache, dry_run=dry_run,
                             absent_columns=absent)
            return _apply_one(session, kind, values, ctx)

        def count(outcome: str, row_errors: list[RowError]) -> None:
            if row_errors:
                errors.extend(row_errors)
            else:
                setattr(result, outcome, getattr(result, outcome) + 1)

        def apply_batch() -> None:
            ctx = RowContext(user=user, history=history, row_number=0, cache=cache, dry_run=dry_run,
                             absent_columns=absent)
            for outcome, row_errors in kind.apply_batch(batch, ctx, one):
                count(outcome, row_errors)
            batch.clear()

        for row_number, values in rows:
            done += 1
            full = {name: values.get(name, "") for name in names}
            repeat = earlier.check(row_number, full)
            if repeat:
                count("", [repeat])
            elif kind.apply_batch is not None:
                batch.append((row_number, full))
                if len(batch) >= BATCH_ROWS:
                    apply_batch()
            else:
                count(*one(row_number, full))
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done, total)
        if batch:
            apply_batch()
        result.total = done + len(skipped)
        if progress is not None and done % PROGRESS_EVERY:
            progress(done, total)
        errors.sort(key=lambda e: e.row)
        result.errors = errors
        if errors or dry_run:
            session.rollback()
            return result
        changes = {"file_rows": result.total, "created": result.created, "updated": result.updated,
                   "unchanged": result.unchanged, "history": history}
        if history and kind.history_audit is not None:
            changes.update(kind.history_audit(cache))
        audit.record(session, "import", entity=kind.name, changes=changes)
        result.committed = True
        if before_commit is not None:
            before_commit(result)
        session.commit()
        if result.created + result.updated >= current_app.config["IMPORT_ANALYZE_ROWS"]:
            refresh_planner_statistics(session)
        return result
    except BaseException:
        session.rollback()
        raise


class EarlierRows:
    """The rows of one file seen so far, to refuse a repeated row or a reused key (``Kind.refuse_repeats``,
    ``Kind.key_column``).

    A repeated row is refused rather than skipped because equal rows are
    ambiguous: a row pasted twice, or two real records the file cannot tell
    apart (two equal allocations on one day need different references).
    Only the first row with given values or a given key is remembered, so
    every later one names it. Rows are remembered whether or not they were
    applied: a row repeating a refused row is refused with it.
    """

    def __init__(self, kind: Kind):
        self.kind = kind
        self.active = kind.refuse_repeats or kind.key_column is not None
        self.rows: dict[tuple, int] = {}
        self.keys: dict[Any, tuple[int, dict[str, Any]]] = {}

    def check(self, row_number: int, values: dict[str, str]) -> RowError | None:
        if not self.active:
            return None
        read = self._read(values)
        if self.kind.refuse_repeats:
            whole = tuple(read[name] for name in self.kind.column_names)
            first = self.rows.setdefault(whole, row_number)
            if first != row_number:
                return RowError(row_number, "", _("same as row %(row)d", row=first))
        key_column = self.kind.key_column
        if key_column is not None and read[key_column] not in ("", None):
            first, first_read = self.keys.setdefault(read[key_column], (row_number, read))
            if first != row_number:
                column = next((name for name in self.kind.column_names if read[name] != first_read[name]), "")
                if column:
                    return RowError(row_number, column, _("differs from row %(row)d, which has the same %(key)s",
                                                          row=first, key=key_column))
        return None

    def _read(self, values: dict[str, str]) -> dict[str, Any]:
        read = {}
        for name in self.kind.column_names:
            text = (values.get(name) or "").strip()
            reader = self.kind.compare_as.get(name)
            if text and reader is not None:
                try:
                    read[name] = reader(text)
                    continue
                except Invalid:
                    pass
            read[name] = text
        return read


def _apply_one(session, kind: Kind, values: dict[str, str], ctx: RowContext) -> tuple[str, list[RowError]]:
    savepoint = session.begin_nested()
    try:
        outcome = kind.apply_row(values, ctx)
        session.flush()
    except Invalid as error:
        savepoint.rollback()
        return "", row_errors(ctx.row_number, error)
    except (IntegrityError, DataError) as error:
        savepoint.rollback()
        column, message = database_problem(error, kind)
        return "", [RowError(ctx.row_number, column, message)]
    # Anything else is a bug: it propagates and run_import rolls everything back.
    if outcome not in OUTCOMES:
        savepoint.rollback()
        raise ValueError(f"import kind {kind.name!r} returned {outcome!r}; expected one of {OUTCOMES}")
    savepoint.commit()
    return outcome, []


def _begin_for_real(session) -> None:
    """Make SQLite really open the outer transaction before the first SAVEPOINT.

    The pysqlite driver sends ``BEGIN`` only before an INSERT, UPDATE or
    DELETE; a SAVEPOINT sent outside a transaction opens one itself, and its
    RELEASE then *commits* the row at once, so a later rollback would undo
    nothing. PostgreSQL is in a transaction from the first statement.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if not getattr(raw, "in_transaction", True):
        connection.exec_driver_sql("BEGIN")


_SQLITE_CONSTRAINT = re.compile(r"^(UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed(?:: (.*))?$")
_PG_KEY = re.compile(r"^Key \(([^)]*)\)=")


def database_problem(error: IntegrityError | DataError, kind: Kind) -> tuple[str, str]:
    """A message (and a column when one can be named) for a row the database refused.

    The database's own text is never shown: it can hold the row's values.
    Only constraint and column names, which are part of the schema, are read.
    """
    orig = error.orig
    text = str(orig).splitlines()[0] if orig is not None else ""
    what, columns = "", []
    diag = getattr(orig, "diag", None)
    if diag is not None:  # psycopg
        sqlstate = getattr(orig, "sqlstate", "") or ""
        what = {"23505": "UNIQUE", "23502": "NOT NULL", "23514": "CHECK", "23503": "FOREIGN KEY"}.get(sqlstate, "")
        if diag.column_name:
            columns = [diag.column_name]
        else:
            match = _PG_KEY.match(diag.message_detail or "")
            if match:
                columns = [c.strip().strip('"') for c in match.group(1).split(",")]
            elif diag.constraint_name:
                columns = [diag.constraint_name]
        if sqlstate == "22001":
            what = "TOO LONG"
    else:  # sqlite
        match = _SQLITE_CONSTRAINT.match(text)
        if match:
            what = match.group(1)
            columns = [c.strip().rsplit(".", 1)[-1] for c in (match.group(2) or "").split(",") if c.strip()]
    column = _known_column(columns, kind)
    if isinstance(error, DataError):
        message = _("the value is too long or not valid for the database") if what != "TOO LONG" \
            else _("a value is too long for the database")
    elif what == "UNIQUE":
        message = _("a record with the same value exists already (perhaps earlier in this file)")
    elif what == "NOT NULL":
        message = _("a value the record needs is missing")
    elif what == "CHECK":
        message = _("a value is not allowed by the database rules")
    elif what == "FOREIGN KEY":
        message = _("the record refers to something that does not exist")
    else:
        message = _("the database refused this row")
    return column, message


def _known_column(candidates: list[str], kind: Kind) -> str:
    """The kind's column named by the database, when exactly one can be told."""
    names = kind.column_names
    found = []
    for candidate in candidates:
        candidate = candidate.lower()
        for name in names:
            # a column ``name``, or a check constraint ``ck_partners_kind_known`` on it
            if candidate == name or re.search(rf"(^|_){re.escape(name)}(_|$)", candidate):
                if name not in found:
                    found.append(name)
    return found[0] if len(found) == 1 else ""
