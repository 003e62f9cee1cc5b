"""Rows written in bulk, for the demo seeder and the batch imports: Core ``INSERT`` executemany (with
``RETURNING`` ids where other rows point at them) or, on PostgreSQL, ``COPY`` with ids drawn from the tables' own
sequences."""
from __future__ import annotations

from sqlalchemy import insert, text

_BATCH = 5000   # rows per INSERT executemany


def insert_rows(session, model, rows: list[dict], *, returning: bool = False) -> list[int]:
    """Insert ``rows`` (dicts with the same keys); with ``returning``, their new ids in order."""
    table = model.__table__
    ids: list[int] = []
    if not rows:
        return ids
    connection = session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        columns = list(rows[0])
        if not any(c.default is not None and c.name not in columns and c.name != "id" for c in table.columns):
            return _copy(connection, table, columns, rows, returning)
    for first in range(0, len(rows), _BATCH):
        part = rows[first:first + _BATCH]
        if returning:
            result = session.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), part)
            ids.extend(result.scalars().all())
        else:
            session.execute(insert(table), part)
    return ids


def _copy(connection, table, columns: list[str], rows: list[dict], with_ids: bool) -> list[int]:
    """PostgreSQL: ``COPY`` the rows in (many times faster than INSERTs at a large scale).

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
    processors = [(name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in columns]
    quote = dialect.identifier_preparer.quote
    names = (["id"] if with_ids else []) + columns
    statement = f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for index, row in enumerate(rows):
            values = [row[name] if process is None or row[name] is None else process(row[name])
                      for name, process in processors]
            copy.write_row([ids[index], *values] if with_ids else values)
    return ids
