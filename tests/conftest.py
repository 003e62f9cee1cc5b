"""Fixtures: an app per test module on a schema built once by the migrations.

The suite runs on SQLite (a file in a temporary folder) and, with
``TRACKER_TEST_DATABASE_URL=postgresql+psycopg://...``, on PostgreSQL.
Every test starts from empty tables.
"""
from __future__ import annotations

import os

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from config import TestingConfig
from tests import factories
from tracker import create_app
from tracker.extensions import db as _db

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("TRACKER_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        # Each pytest-xdist worker gets a database of its own beside the one named.
        url = _worker_database(url, worker)
    return url


def _worker_database(url: str, worker: str) -> str:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _make_app(url, **overrides):
    return create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url, **overrides)


@pytest.fixture(scope="session")
def _schema(database_url):
    app = _make_app(database_url)
    with app.app_context():
        _drop_everything()
        upgrade()
    yield
    with app.app_context():
        _drop_everything()
        _db.engine.dispose()


def _drop_everything():
    if _db.engine.dialect.name == "postgresql":
        with _db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        _db.drop_all()
        with _db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def _empty_tables():
    tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
    with _db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # The audit log refuses TRUNCATE through a trigger; the suite (run by the owner) skips triggers here.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            # TRUNCATE costs per table: empty only the tables the test wrote to.
            probe = " UNION ALL ".join(f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in tables)
            used = [row[0] for row in conn.execute(text(probe))]
            if used:
                conn.execute(text(f"TRUNCATE {', '.join(used)} RESTART IDENTITY CASCADE"))
        else:
            # Deleted rows are zeroed, not left in free pages (nor, below, in the write-ahead log): tests/test_crypto.py
            # reads the whole file for personal data, whatever tests ran on the same file before it.
            conn.execute(text("PRAGMA secure_delete=ON"))
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))
    if _db.engine.dialect.name == "sqlite":
        raw = _db.engine.raw_connection()
        try:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()


@pytest.fixture(scope="module")
def _module_app(_schema, database_url):
    """One app per test module: building an app costs more than most tests do."""
    from sqlalchemy import event

    app = _make_app(database_url)
    with app.app_context():
        if _db.engine.dialect.name == "sqlite":
            # No fsync per commit: the suite commits thousands of times; durability is not under test.
            event.listen(_db.engine, "connect", lambda conn, _record: conn.execute("PRAGMA synchronous=OFF"))
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture
def app(_module_app):
    """The module's app, for each test on empty tables and with its settings as they were built.

    A test may change ``app.config``: the settings are put back after it. A test that needs another
    app (CSRF on, rate limits, a throwaway route) builds it with ``make_app``.
    """
    app = _module_app
    settings = dict(app.config)
    endpoints = set(app.view_functions)
    yield app
    with app.app_context():
        _db.session.remove()
        _empty_tables()
        _db.engine.dispose()
    app.config.clear()
    app.config.update(settings)
    assert set(app.view_functions) == endpoints, "a test added a route to the shared app: use make_app()"


@pytest.fixture
def ctx(app):
    """An application context, for tests that call services directly."""
    with app.app_context():
        yield
        _db.session.remove()


@pytest.fixture
def db(ctx):
    return _db


@pytest.fixture
def rq(app):
    """A request context, for tests that call services directly (they format messages in the request's locale)."""
    with app.test_request_context():
        yield _db
        _db.session.remove()


@pytest.fixture
def dialect(db):
    return db.engine.dialect.name


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email, password=PASSWORD, **extra):
        return self._client.post("/login", data={"email": email, "password": password, **extra})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


def _user_client(app, **kwargs):
    with app.app_context():
        user = factories.UserFactory(**kwargs)
        email = user.email
    client = app.test_client()
    response = AuthActions(client).login(email)
    assert response.status_code == 302, "demo login failed"
    return client


@pytest.fixture
def staff_client(app):
    """Signed in as staff of CD."""
    return _user_client(app, role="staff", email="staff.cd@example.org", countries=["CD"])


@pytest.fixture
def manager_client(app):
    """Signed in as a manager of CD and CF."""
    return _user_client(app, role="manager", email="manager@example.org", countries=["CD", "CF"])


@pytest.fixture
def admin_client(app):
    return _user_client(app, role="admin", email="admin@example.org")


@pytest.fixture
def donor_client(app):
    with app.app_context():
        donor = factories.DonorFactory(name="Kingdom of Norway")
        donor_id = donor.id
    return _user_client(app, role="donor", email="donor@example.org", donor_id=donor_id)


@pytest.fixture
def make_app(app, database_url):
    """Build extra app instances on the suite's database (a throwaway route, CSRF on...).

    Depends on ``app`` so that its teardown (emptying the tables) runs after
    these apps have let go of their connections.
    """
    made = []

    def make(**overrides):
        extra = _make_app(database_url, **overrides)
        made.append(extra)
        return extra

    yield make
    for extra in made:
        with extra.app_context():
            _db.session.remove()
            _db.engine.dispose()


@pytest.fixture
def sign_in(app):
    """``sign_in(role=..., email=..., countries=...)``: a new test client signed in as a new user."""

    def sign(**user):
        return _user_client(app, **user)

    return sign


# --- time (tests/security/, tests/api/) -------------------------------------------------------------------------------


class Clock:
    """A controllable ``now_utc()``: tests move time on instead of sleeping."""

    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now

    def advance(self, **delta):
        import datetime as dt

        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    """Replace ``tracker.models.base.now_utc`` wherever the tracker's modules imported it."""
    import sys

    from tracker.models import base

    original = base.now_utc
    fake = Clock(original().replace(microsecond=0))
    for name, module in list(sys.modules.items()):
        if (name == "tracker" or name.startswith("tracker.")) and getattr(module, "now_utc", None) is original:
            monkeypatch.setattr(module, "now_utc", fake)
    return fake


# --- real-browser tests (tests/browser/) ------------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter):
    """Say when the browser tests were skipped and why, and which page they visited was the heaviest.

    Here rather than in tests/browser/conftest.py: under pytest-xdist the controller, which writes the
    summary, does not load that file; the workers' reports (and their user_properties) reach it.
    """
    from tests.browser.env import skip_reason

    # Every report (setup, call, teardown: a passed teardown is filed under ""), of the browser tests only.
    reports = [r for group in terminalreporter.stats.values() for r in group
               if getattr(r, "nodeid", "").startswith("tests/browser/")]
    if not reports:
        return
    reason = skip_reason()
    if reason and any(getattr(r, "skipped", False) for r in reports):
        terminalreporter.write_line(f"browser tests skipped: {reason}", yellow=True, bold=True)
    weights = []
    for r in reports:
        for key, value in getattr(r, "user_properties", []):
            if key == "heaviest_page":
                path, size = value.rsplit(" ", 1)
                weights.append((int(size), path, r.nodeid.rsplit("::", 1)[-1]))
    if weights:
        size, path, test = max(weights)
        terminalreporter.write_line(
            f"browser tests: heaviest page {path} weighs {size / 1024:.1f} KB with its assets ({test}; limit 300 KB)")
