"""Kinds of import files: what describes one, the registry of kinds, and the problems an import reports
(one row's :class:`RowError`, the whole file's :class:`FileProblem`).

A *kind* (``beneficiaries``, ``disbursements``...) names its columns and
gives one function, ``apply_row``, that turns one spreadsheet row into a
change through the services (:func:`tracker.imports.running.run_import`
runs it for every row of a file).

A kind may also refuse a row that repeats an earlier row of the same file
(``refuse_repeats``) instead of taking it for the same record, and a row
that reuses the key of an earlier row with other data (``key_column``).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from tracker.auth.scope import scoped_select
from tracker.errors import Invalid
from tracker.extensions import db

if TYPE_CHECKING:
    from tracker.models import User

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_COLUMN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class Column:
    name: str
    required: bool = True
    #: Shown on the upload page and in the downloaded template (lazy_gettext).
    help: str = ""


@dataclass
class RowContext:
    #: Who imports (``None`` on the command line unless ``--as`` names a user).
    user: User | None
    history: bool
    #: The row as the person sees it in the spreadsheet: the header is row 1.
    row_number: int
    #: Scratch space shared by every row of one import (lookups kinds repeat).
    cache: dict = field(default_factory=dict)
    #: A dry run: everything is rolled back at the end, so a kind may leave out what can refuse no row (its
    #: audit events); the rows themselves are still written, for the database to check them.
    dry_run: bool = False
    #: The kind's optional columns the file's header leaves out. Most kinds read them as blank; one may keep
    #: what is recorded instead, so that a file made before the column existed erases nothing.
    absent_columns: frozenset[str] = frozenset()

    def find(self, model, column: str, attr: str, value: str):
        """A record by its code or reference inside the importer's countries (cached per file); ``column``
        names the spreadsheet column in the message when there is none."""
        value = (value or "").strip()
        if not value:
            raise Invalid(_l("is required"), column)
        key = (model.__name__, value)
        if key not in self.cache:
            stmt = select(model) if self.user is None else scoped_select(model, self.user)
            self.cache[key] = db.session.scalars(stmt.where(getattr(model, attr) == value)).one_or_none()
        found = self.cache[key]
        if found is None:
            raise Invalid(_l("%(value)s is not known in your countries", value=value[:60]), column)
        return found


@dataclass(frozen=True)
class Kind:
    #: The KIND of ``flask import KIND FILE``; also used in URLs.
    name: str
    label: str
    columns: tuple[Column, ...]
    #: Needed to import this kind (checked by the upload pages and ``--as``).
    permission: str
    #: ``apply_row(values, ctx) -> "created" | "updated" | "unchanged"``: makes
    #: the change through services (flush, never commit) or raises
    #: :class:`tracker.errors.Invalid` keyed by column.
    apply_row: Callable[[dict[str, str], RowContext], str]
    #: When set, the kind can load history (``--history``) for users with it.
    history_permission: str | None = None
    #: ``history_refusal() -> message | None``: why history cannot be loaded at all now (a setting missing);
    #: checked before any row (:func:`history_refusal`).
    history_refusal: Callable[[], str | None] | None = None
    #: ``history_audit(cache) -> dict``: figures of a history import (its totals) for its ``import`` audit
    #: event, from the scratch space its rows shared.
    history_audit: Callable[[dict], dict] | None = None
    example_rows: tuple[dict[str, str], ...] = ()
    #: Refuse a row equal to an earlier row of the same file (``row 3: same as row 2``) rather than take it
    #: for the same record: for kinds where two equal rows may be two real records, or a row pasted twice.
    refuse_repeats: bool = False
    #: The column whose value names the record (``reference``): a row giving the value of an earlier row
    #: of the same file with other data is refused on the first column that differs. Empty values name nothing.
    key_column: str | None = None
    #: How rows are compared for the two checks above: ``{column: read(text)}``, so that ``1250.5`` and
    #: ``1250.50`` are one amount. A reader raising :class:`~tracker.errors.Invalid` leaves the text as typed
    #: (the row's own check reports the problem); columns without a reader compare as typed, spaces around
    #: them aside.
    compare_as: Mapping[str, Callable[[str], Any]] = field(default_factory=dict)
    #: ``apply_batch(rows, ctx, one) -> [(outcome, [RowError])]``, optional: applies a few hundred rows
    #: ``[(row_number, values)]`` at once, with the rules and results of ``apply_row`` row by row (lookups in a
    #: few queries, inserts in bulk); ``one(row_number, values)`` applies a row alone in a savepoint, for the
    #: rows of a batch the database refused. Kinds without it run row by row.
    apply_batch: Callable[[list[tuple[int, dict[str, str]]], RowContext,
                           Callable[[int, dict[str, str]], tuple[str, list[RowError]]]],
                          list[tuple[str, list[RowError]]]] | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def supports_history(self) -> bool:
        return self.history_permission is not None


@dataclass(frozen=True)
class RowError:
    row: int
    #: The column the problem is in, or ``""`` for the whole row.
    column: str
    message: str

    def __str__(self) -> str:
        if self.column:
            return f"row {self.row}: {self.column}: {self.message}"
        return f"row {self.row}: {self.message}"


def row_errors(row_number: int, error: Invalid) -> list[RowError]:
    """The row errors of a refused row, one per problem (else one for the whole row)."""
    return ([RowError(row_number, column, message) for column, messages in error.messages.items()
             for message in messages]
            or [RowError(row_number, "", _("the row was refused"))])


class FileProblem(ValueError):
    """The file as a whole cannot be imported; ``message`` says why and what to do."""

    def __init__(self, message: str):
        self.message = str(message)
        super().__init__(self.message)


def history_refusal(kind: Kind) -> str | None:
    """Why ``kind`` cannot be loaded as history now, or ``None``: the command and the upload pages say it
    before reading any row, and :func:`~tracker.imports.running.run_import` refuses such an import
    (:class:`~tracker.imports.running.ImportRefused`)."""
    return kind.history_refusal() if kind.history_refusal is not None else None


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Make ``kind`` known to the command and the upload pages; returns it."""
    if not _NAME.match(kind.name):
        raise ValueError(f"kind name {kind.name!r}: lower-case letters, digits, '_' and '-' only")
    names = kind.column_names
    if not names or len(set(names)) != len(names):
        raise ValueError(f"kind {kind.name!r}: columns must be given, each once")
    bad = [n for n in names if not _COLUMN.match(n)]
    if bad:
        raise ValueError(f"kind {kind.name!r}: column names must be lower-case identifiers: {bad}")
    for example in kind.example_rows:
        unknown = set(example) - set(names)
        if unknown:
            raise ValueError(f"kind {kind.name!r}: example row names unknown columns {sorted(unknown)}")
    compared = set(kind.compare_as) | ({kind.key_column} if kind.key_column else set())
    if not compared <= set(names):
        raise ValueError(f"kind {kind.name!r}: key_column or compare_as name unknown columns "
                         f"{sorted(compared - set(names))}")
    existing = KINDS.get(kind.name)
    if existing is not None and existing is not kind:
        raise ValueError(f"an import kind named {kind.name!r} is registered already")
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> Kind | None:
    return KINDS.get(name)
