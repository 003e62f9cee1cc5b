"""Rows written in bulk, for the demo seeder and the batch imports: Core ``INSERT`` executemany (with
``RETURNING`` ids where other rows point at them) or, on PostgreSQL, ``COPY`` with ids drawn from the tables' own
sequences; and rows given as tuples (:func:`insert_tuples`), for the imports' hot path."""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from sqlalchemy import insert, text

_BATCH = 5000   # rows per INSERT executemany
_KEYS = 500     # values per IN list when ids are read back by key


def insert_rows(session, model, rows: list[dict], *, returning: bool = False) -> list[int]:
    """Insert ``rows`` (dicts with the same keys); with ``returning``, their new ids in order."""
    table = model.__table__
    ids: list[int] = []
    if not rows:
        return ids
    connection = session.connection()
    columns = list(rows[0])
    if _copies(connection, table, columns):
        return _copy(connection, table, columns, [[row[name] for name in columns] for row in rows], returning)
    for first in range(0, len(rows), _BATCH):
        part = rows[first:first + _BATCH]
        if returning:
            result = session.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), part)
            ids.extend(result.scalars().all())
        else:
            session.execute(insert(table), part)
    return ids


def insert_tuples(session, model, columns: Sequence[str], rows: list[tuple], *,
                  same: Mapping[str, object] | None = None, key: str | None = None,
                  converted: Collection[str] = ()) -> list[int]:
    """Insert ``rows``, tuples of values in the order of ``columns``, without a dict per row; ``same`` gives the
    columns whose value is the same for every row (converted once). Values are as the model's attributes take
    them: each column type converts them as on any INSERT, except in the columns named in ``converted``, whose
    values are given as :func:`converter` makes them. With ``key``, a unique column among ``columns``,
    returns the new ids in the order of the rows.

    PostgreSQL (psycopg): ``COPY``, ids drawn from the table's sequence. SQLite: one executemany on the
    driver's cursor with the values converted column by column (SQLAlchemy's executemany converts them row by
    row, and with ``RETURNING`` it sends one INSERT per row on SQLite to keep the ids in order); the ids are
    then read back by ``key``. Elsewhere, or when a column left out has a Python default (a Core INSERT fills
    it in): :func:`insert_rows`.
    """
    table = model.__table__
    if not rows:
        return []
    same = dict(same or {})
    columns = [*columns, *same]
    connection = session.connection()
    dialect = connection.dialect
    copies = _copies(connection, table, columns)
    if not _writes(connection, table, columns):
        if converted:
            raise ValueError("converted values need a bulk writer for this database (PostgreSQL or SQLite)")
        fixed = tuple(same.values())
        return insert_rows(session, model, [dict(zip(columns, row + fixed, strict=True)) for row in rows],
                           returning=key is not None)
    width = len(columns) - len(same)
    converting = [c for c in _converters(table, columns, dialect) if columns[c[0]] not in converted]
    fixed = [*same.values()]
    for index, process, none_too in converting:
        if index >= width and (none_too or fixed[index - width] is not None):
            fixed[index - width] = process(fixed[index - width])
    converting = [c for c in converting if c[0] < width]
    values = _converted(rows, converting, tuple(fixed))
    if copies:
        return _copy(connection, table, columns, values, key is not None, converted=True)
    quote = dialect.identifier_preparer.quote
    connection.exec_driver_sql(
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})", values)
    if key is None:
        return []
    where = columns.index(key)
    keys = [row[where] for row in values]
    found: dict = {}
    for first in range(0, len(keys), _KEYS):
        part = keys[first:first + _KEYS]
        found.update(connection.exec_driver_sql(
            f"SELECT {quote(key)}, id FROM {quote(table.name)} WHERE {quote(key)} IN ({', '.join('?' for _ in part)})",
            tuple(part)).all())
    return [found[value] for value in keys]


def converter(session, model, column: str) -> Callable | None:
    """The conversion :func:`insert_tuples` applies to the values of ``column`` on this session's database (the
    column type's bind processor), or ``None``; for values written with ``converted``."""
    connection = session.connection()
    if not _writes(connection, model.__table__, None):
        return None
    dialect = connection.dialect
    return model.__table__.c[column].type.dialect_impl(dialect).bind_processor(dialect)


def _writes(connection, table, columns: list[str] | None) -> bool:
    """Whether :func:`insert_tuples` writes these columns itself (else it hands them to :func:`insert_rows`)."""
    if _copies(connection, table, columns):
        return True
    dialect = connection.dialect
    return dialect.name == "sqlite" and dialect.paramstyle == "qmark" and (
        columns is None or not _defaults_missing(table, columns))


def _converted(rows: list[tuple], converting: list[tuple[int, Callable, bool]], fixed: tuple) -> list[tuple]:
    """``rows`` with their values converted for the database, and the values ``fixed`` (converted) after them."""
    if not converting:
        return [row + fixed for row in rows] if fixed else rows
    out = []
    for row in rows:
        row = list(row)
        for index, process, none_too in converting:
            if none_too or row[index] is not None:
                row[index] = process(row[index])
        out.append((*row, *fixed))
    return out


def _converters(table, columns: list[str], dialect) -> list[tuple[int, Callable, bool]]:
    """``(index, bind processor, whether it takes None too)`` of the columns whose type converts values for this
    database (the dialect's own type: SQLite stores dates as text, psycopg takes JSON wrapped): an empty value is
    sent as NULL unless the type says otherwise (``JSON`` writes ``null``), as a Core INSERT does."""
    out = []
    for index, name in enumerate(columns):
        type_ = table.c[name].type
        process = type_.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            out.append((index, process, bool(getattr(type_, "should_evaluate_none", False))))
    return out


def _defaults_missing(table, columns: list[str]) -> bool:
    """Whether a column with a Python default is left out (a Core INSERT would fill it; a bulk writer cannot)."""
    return any(c.default is not None and c.name not in columns and c.name != "id" for c in table.columns)


def _copies(connection, table, columns: list[str] | None) -> bool:
    return (connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"
            and (columns is None or not _defaults_missing(table, columns)))


def _copy(connection, table, columns: list[str], rows: Sequence[Sequence], with_ids: bool, *,
          converted: bool = False) -> list[int]:
    """PostgreSQL: ``COPY`` the rows (sequences of values in the order of ``columns``) in, many times faster than
    INSERTs at a large scale.

    Values go through each column type's bind processor for this dialect, so ``Money``, ``Encrypted``,
    ``UTCDateTime`` and ``JSON`` apply as they do on INSERT. Ids, when needed, are drawn from the table's
    own sequence first, so later inserts carry on after them.
    """
    ids: list[int] = []
    if with_ids:
        ids = sorted(connection.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": len(rows)}).scalars())
    dialect = connection.dialect
    converting = [] if converted else _converters(table, columns, dialect)
    quote = dialect.identifier_preparer.quote
    names = (["id"] if with_ids else []) + columns
    statement = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for index, row in enumerate(rows):
            if converting:
                row = list(row)
                for column, process, none_too in converting:
                    if none_too or row[column] is not None:
                        row[column] = process(row[column])
            copy.write_row((ids[index], *row) if with_ids else row)
    return ids
