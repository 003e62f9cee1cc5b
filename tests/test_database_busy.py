"""A database busy with other people's writes: a clear "try again" (503), never a 500; how SQLite transactions begin.

SQLite (the embedded default) runs with a write-ahead log, waits up to
``SQLITE_BUSY_TIMEOUT`` for the write lock, and begins the transactions of
requests that write (and of commands) as writers (``BEGIN IMMEDIATE``), so
that they wait for their turn instead of failing half-way. What still cannot
wait long enough, there or on PostgreSQL (lock timeouts, deadlocks,
serialization failures), is answered 503 with ``Retry-After``: a page in the
user's language, or problem+json under /api/v1. Nothing of the request is saved.
"""
from __future__ import annotations

import contextlib
import json
import logging
import sqlite3

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tests import factories
from tracker.auth.permissions import PUBLIC, permission
from tracker.errors import database_busy_kind
from tracker.extensions import db as _db
from tracker.models import AuditEvent, User

EMAIL = "staff.cd@example.org"
BUSY_TEXT = "Other people were saving changes at the same moment."


class FakeDriverError(Exception):
    """What a driver raises: psycopg's errors carry ``sqlstate``, sqlite3's ``sqlite_errorname``."""

    def __init__(self, message, *, sqlstate=None, sqlite_errorname=None):
        super().__init__(message)
        self.sqlstate = sqlstate
        self.sqlite_errorname = sqlite_errorname


def operational(message, **codes) -> OperationalError:
    return OperationalError("UPDATE users SET failed_logins=?", {}, FakeDriverError(message, **codes))


# --- which errors mean "busy" ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("error, kind", [
    (operational("database is locked", sqlite_errorname="SQLITE_BUSY"), "SQLITE_BUSY"),
    (operational("database is locked", sqlite_errorname="SQLITE_BUSY_SNAPSHOT"), "SQLITE_BUSY_SNAPSHOT"),
    (operational("database is locked"), "database is locked"),  # a driver without error names
    (operational("database table is locked: users"), "database table is locked"),
    (operational("could not serialize access", sqlstate="40001"), "serialization failure"),
    (operational("deadlock detected", sqlstate="40P01"), "deadlock"),
    (operational("canceling statement due to lock timeout", sqlstate="55P03"), "lock not available"),
])
def test_locks_deadlocks_and_serialization_failures_are_busy(error, kind):
    assert database_busy_kind(error) == kind


@pytest.mark.parametrize("error", [
    operational("no such table: users", sqlite_errorname="SQLITE_ERROR"),
    operational("disk I/O error", sqlite_errorname="SQLITE_IOERR"),
    operational("connection refused", sqlstate="08006"),
    operational("canceling statement due to statement timeout", sqlstate="57014"),
    operational(""),
])
def test_other_database_errors_are_not_busy(error):
    assert database_busy_kind(error) is None


# --- the answers -----------------------------------------------------------------------------------------------------


@pytest.fixture
def served_errors(make_app):
    """The app as in production (errors answered, not raised to the test), with routes that raise."""
    app = make_app(TESTING=False)

    @permission(PUBLIC)
    def busy():
        raise operational("database is locked", sqlite_errorname="SQLITE_BUSY")

    @permission(PUBLIC)
    def broken():
        raise operational("no such table: users", sqlite_errorname="SQLITE_ERROR")

    app.add_url_rule("/_test/busy", "test_busy", busy, methods=["GET", "POST"])
    app.add_url_rule("/_test/broken", "test_broken", broken)
    return app


def test_a_busy_database_is_a_503_page_saying_to_try_again(served_errors):
    response = served_errors.test_client().post("/_test/busy")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Busy: please try again" in page and BUSY_TEXT in page
    assert "no-store" in response.headers["Cache-Control"]


def test_another_database_error_is_still_a_500(served_errors):
    response = served_errors.test_client().get("/_test/broken")
    assert response.status_code == 500
    assert "Something went wrong" in response.get_data(as_text=True)


def test_a_busy_database_under_the_api_is_a_problem(served_errors):
    with served_errors.test_request_context("/api/v1/disbursements"):
        response = served_errors.make_response(served_errors.handle_user_exception(
            operational("deadlock detected", sqlstate="40P01")))
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "2"
    body = json.loads(response.get_data(as_text=True))
    assert body["type"] == "/api/v1/problems/busy" and body["status"] == 503
    assert "try again" in body["detail"]


@contextlib.contextmanager
def users_row_held(app, database_url, user_id):
    """Another connection holds what signing in needs: the users row (PostgreSQL) or the write lock (SQLite)."""
    if database_url.startswith("sqlite"):
        other = sqlite3.connect(make_url(database_url).database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
    else:
        with app.app_context():
            connection = _db.engine.connect()
            transaction = connection.begin()
            connection.execute(text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": user_id})
            try:
                yield
            finally:
                transaction.rollback()
                connection.close()


@pytest.fixture
def impatient(make_app, database_url):
    """The app waiting a fifth of a second for a lock (SQLite's busy timeout, PostgreSQL's lock_timeout)."""
    app = make_app(TESTING=False, SQLITE_BUSY_TIMEOUT=0.2)
    if not database_url.startswith("sqlite"):
        with app.app_context():
            event.listen(_db.engine, "connect",
                         lambda connection, _record: connection.execute("SET lock_timeout = '200ms'"))
    return app


def test_a_sign_in_that_cannot_get_its_lock_in_time_is_told_to_try_again_and_saves_nothing(
        app, impatient, database_url):
    with app.app_context():
        user_id = factories.UserFactory(email=EMAIL, role="staff", countries=["CD"]).id
    client = impatient.test_client()
    with users_row_held(app, database_url, user_id):
        response = client.post("/login", data={"email": EMAIL, "password": "not the password at all"},
                               headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert BUSY_TEXT in response.get_data(as_text=True)
    with app.app_context():
        assert _db.session.scalar(select(User.failed_logins).where(User.id == user_id)) in (0, None)
        assert _db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("sign_in%"))).all() == []
        _db.session.remove()
    # Once the lock is free the same attempt goes through and counts.
    again = client.post("/login", data={"email": EMAIL, "password": "not the password at all"})
    assert again.status_code == 200 and b"The e-mail or the password is not right." in again.data
    with app.app_context():
        assert _db.session.scalar(select(User.failed_logins).where(User.id == user_id)) == 1
        _db.session.remove()


# --- SQLite: the write-ahead log, the busy timeout, and how transactions begin ----------------------------------------


@pytest.fixture
def sqlite_app(make_app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's journal and transaction modes")
    return make_app()


@pytest.fixture
def begins(sqlite_app):
    """The BEGIN statements the app sends, in order."""
    seen: list[str] = []
    with sqlite_app.app_context():
        engine = _db.engine

    def record(_conn, _cursor, statement, *_args):
        if statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_sqlite_runs_with_a_write_ahead_log_and_the_configured_busy_timeout(sqlite_app):
    with sqlite_app.app_context():
        assert _db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        # 15 s unless the environment's SQLITE_BUSY_TIMEOUT says otherwise.
        timeout_ms = _db.session.execute(text("PRAGMA busy_timeout")).scalar()
        assert timeout_ms == sqlite_app.config["SQLITE_BUSY_TIMEOUT"] * 1000
        _db.session.remove()


def test_requests_that_write_begin_as_writers_and_reading_ones_as_readers(sqlite_app, begins):
    with sqlite_app.app_context():
        factories.UserFactory(email=EMAIL, role="staff", countries=["CD"])
    client = sqlite_app.test_client()
    begins.clear()
    client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    assert begins and set(begins) == {"BEGIN IMMEDIATE"}
    begins.clear()
    assert client.get("/").status_code == 200
    assert begins and set(begins) == {"BEGIN"}


def test_a_get_view_marked_as_writing_begins_as_a_writer(sqlite_app, begins):
    @permission(PUBLIC)
    def audited_view():
        _db.session.scalar(select(User.id))
        return "seen"

    audited_view.writes_on_get = True
    sqlite_app.add_url_rule("/_test/audited", "test_audited", audited_view)
    begins.clear()
    assert sqlite_app.test_client().get("/_test/audited").status_code == 200
    assert begins == ["BEGIN IMMEDIATE"]


@pytest.mark.parametrize("log_level", [logging.WARNING, logging.DEBUG])
def test_opening_a_mothers_page_is_audited_and_so_begins_as_a_writer(sqlite_app, begins, log_level, monkeypatch):
    # At DEBUG a line per request names the user (tracker/security.py): it must not reload them after the commit.
    monkeypatch.setattr(sqlite_app.logger, "level", log_level)
    sqlite_app.logger.manager._clear_cache()
    with sqlite_app.app_context():
        factories.UserFactory(email=EMAIL, role="staff", countries=["CD"])
        code = factories.BeneficiaryFactory(project=factories.ProjectFactory(country="CD")).code
        _db.session.commit()
    client = sqlite_app.test_client()
    client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    begins.clear()
    assert client.get(f"/mothers/{code}").status_code == 200
    assert begins == ["BEGIN IMMEDIATE"]
    begins.clear()
    assert client.get("/mothers/").status_code == 200   # a list writes nothing
    assert set(begins) == {"BEGIN"}


def test_every_get_view_that_writes_an_audit_event_is_marked_as_writing(sqlite_app):
    """A GET view that writes without the mark would be refused at once by SQLite under concurrent writes.

    Views that take POST too write on the POST (a writer anyway): only GET-only views are read here.
    """
    import inspect

    unmarked = []
    for rule in sqlite_app.url_map.iter_rules():
        if "GET" not in rule.methods or "POST" in rule.methods:
            continue
        view = sqlite_app.view_functions[rule.endpoint]
        blueprint = sqlite_app.blueprints.get(rule.endpoint.rpartition(".")[0])
        if getattr(view, "writes_on_get", False) or getattr(blueprint, "writes_on_get", False):
            continue
        source = inspect.getsource(inspect.unwrap(view))
        if "audit.record(" in source or "_export(" in source:
            unmarked.append(rule.rule)
    assert unmarked == []
    assert sqlite_app.blueprints["api"].writes_on_get   # every API request is audited


def test_commands_begin_as_writers(sqlite_app, begins):
    import click
    from flask.cli import with_appcontext

    @sqlite_app.cli.command("test-count-users")
    @with_appcontext
    def count_users():
        click.echo(_db.session.scalar(select(User.id).limit(1)))
        _db.session.remove()

    begins.clear()
    result = sqlite_app.test_cli_runner().invoke(args=["test-count-users"])
    assert result.exit_code == 0, result.output
    assert begins == ["BEGIN IMMEDIATE"]


def test_flask_shell_begins_as_a_reader(sqlite_app):
    """A transaction left open at the shell's prompt must not hold the write lock while someone types."""
    import click

    from tracker import _begins_as_writer

    with sqlite_app.app_context():
        with click.Context(click.Command("shell")):
            assert _begins_as_writer() is False
        with click.Context(click.Command("seed-demo")):
            assert _begins_as_writer() is True
