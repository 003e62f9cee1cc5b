"""Database upkeep the application does itself."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g
from sqlalchemy import text


def refresh_planner_statistics(session) -> bool:
    """After a bulk load, give PostgreSQL's planner fresh statistics (``ANALYZE``); commits. False elsewhere.

    Until autovacuum gets to it, a table that has just grown from nothing (or
    was emptied and filled again) is planned for a handful of rows, and the
    funding engine's joins then take seconds instead of milliseconds.
    """
    if session.get_bind().dialect.name != "postgresql":
        return False
    session.execute(text("ANALYZE"))
    session.commit()
    return True


def writes_on_get(view):
    """Mark a GET view that writes (an audit event, a token's last use): on SQLite it begins as a writer.

    A read transaction that writes later cannot wait for SQLite's one write
    lock: it is refused at once when someone wrote since it began. One begun
    as a writer waits its turn (``tracker/__init__.py``, ``_sqlite_begin``).
    Put it right under ``@bp.route`` so that the function registered carries it.
    """
    view.writes_on_get = True
    return view


@contextmanager
def as_writer() -> Iterator[None]:
    """Outside a request or a command (a job's worker thread), transactions begun inside begin as writers.

    For work that writes from its first statement to its commit, as an import does: on SQLite it waits its
    turn for the write lock as it begins, rather than being refused the lock when it first writes.
    """
    before = g.get("begin_as_writer", False)
    g.begin_as_writer = True
    try:
        yield
    finally:
        g.begin_as_writer = before
