"""The Alembic migrations are the schema: the models must agree with them, and every step reverses."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import make_url

from config import TestingConfig
from tracker import create_app
from tracker.extensions import db as _db


def schema_diff(connection, metadata) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


def test_models_and_migrations_agree(db):
    with db.engine.connect() as connection:
        diff = schema_diff(connection, db.metadata)
    assert diff == []


def test_the_comparison_sees_a_column_the_migrations_lack(db):
    """Control for the test above: a model change with no revision is reported."""
    changed = sa.MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["projects"].append_column(sa.Column("donor_visible", sa.Boolean(), nullable=True))
    with db.engine.connect() as connection:
        diff = schema_diff(connection, changed)
    assert [(d[0], d[2], d[3].name) for d in diff if d[0] == "add_column"] == [
        ("add_column", "projects", "donor_visible")
    ]


def test_the_comparison_sees_a_changed_column_type(db):
    """Control: ``compare_type`` is on, so a Money column turned into text is reported."""
    changed = sa.MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        table.to_metadata(changed)
    rates = changed.tables["exchange_rates"]
    rates.c.usd_per_unit.type = sa.String(20)
    with db.engine.connect() as connection:
        diff = schema_diff(connection, changed)
    flat = [d[0] if isinstance(d, tuple) else d[0][0] for d in diff]
    assert "modify_type" in flat


@pytest.fixture
def scratch_app(tmp_path, database_url):
    """An app on a database of its own, so that walking the revisions leaves the suite's schema alone: a SQLite
    file, or on PostgreSQL a database beside the suite's, made for the test and dropped after it."""
    postgres = make_url(database_url).get_backend_name() == "postgresql"
    url = _scratch_postgres(database_url, create=True) if postgres else f"sqlite:///{tmp_path / 'migrations.db'}"
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()
    if postgres:
        _scratch_postgres(database_url, create=False)


def _scratch_postgres(database_url: str, *, create: bool) -> str:
    base = make_url(database_url)
    name = f"{base.database}_migrations"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        if create:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _revisions(app):
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    return list(reversed(list(script.walk_revisions())))  # base first


def _current(connection):
    return MigrationContext.configure(connection).get_current_revision()


def _tables(connection):
    return set(sa.inspect(connection).get_table_names()) - {"alembic_version"}


def test_every_revision_downgrades_and_upgrades_again(scratch_app):
    revisions = _revisions(scratch_app)
    assert revisions, "no revision found"
    upgrade()
    with _db.engine.connect() as connection:
        assert _current(connection) == revisions[-1].revision
        tables_at_head = _tables(connection)
    assert tables_at_head == set(_db.metadata.tables)

    for revision in reversed(revisions):
        below = revision.down_revision or "base"
        downgrade(revision=below)
        with _db.engine.connect() as connection:
            assert _current(connection) == (None if below == "base" else below)
        upgrade(revision=revision.revision)
        with _db.engine.connect() as connection:
            assert _current(connection) == revision.revision
        downgrade(revision=below)

    with _db.engine.connect() as connection:
        assert _current(connection) is None
        assert _tables(connection) == set()

    upgrade()
    with _db.engine.connect() as connection:
        assert _current(connection) == revisions[-1].revision
        assert schema_diff(connection, _db.metadata) == []


def test_revisions_form_one_line(scratch_app):
    script = ScriptDirectory.from_config(scratch_app.extensions["migrate"].migrate.get_config())
    assert len(script.get_heads()) == 1
    assert len(script.get_bases()) == 1


def _columns(connection, table: str) -> dict[str, tuple[int | None, bool]]:
    return {c["name"]: (getattr(c["type"], "length", None), c["nullable"])
            for c in sa.inspect(connection).get_columns(table)}


def test_french_names_come_and_go_with_revision_0008_and_the_rows_stay(scratch_app):
    """0008 adds ``projects.title_fr`` and ``donors.name_fr``, optional, as long as the English ones; undone, it
    drops them and keeps every row, also of the tables that point at projects and donors."""
    upgrade(revision="0007")
    with _db.engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO partners (id, name, kind) VALUES (1, 'NGO CD', 'ngo')"))
        connection.execute(sa.text(
            "INSERT INTO projects (id, code, title, country, partner_id, start_date, end_date, status, created_at) "
            "VALUES (1, 'TF-CD-2025-01', 'Assistance in Ituri', 'CD', 1, '2025-01-01', '2026-12-31', 'active', "
            "'2025-01-01 09:00:00')"))
        connection.execute(sa.text("INSERT INTO budget_lines (id, project_id, year, category, amount_usd) "
                                   "VALUES (1, 1, 2025, 'school_fees', 1000)"))
        connection.execute(sa.text("INSERT INTO donors (id, name, kind, country, created_at) "
                                   "VALUES (1, 'Norway', 'member_state', 'NO', '2025-01-01 09:00:00')"))
        connection.execute(sa.text(
            "INSERT INTO pledges (id, reference, donor_id, amount, currency, pledged_on, project_id, usd_amount, "
            "usd_rate, created_at) VALUES (1, 'PL-NO-1', 1, 1000, 'USD', '2025-02-01', 1, 1000, 1, "
            "'2025-02-01 09:00:00')"))

    upgrade(revision="0008")
    with _db.engine.begin() as connection:
        assert _columns(connection, "projects")["title_fr"] == (300, True)
        assert _columns(connection, "donors")["name_fr"] == (200, True)
        assert connection.execute(sa.text("SELECT title_fr FROM projects")).scalar_one() is None
        connection.execute(sa.text("UPDATE projects SET title_fr = 'Assistance en Ituri'"))
        connection.execute(sa.text("UPDATE donors SET name_fr = 'Norvège'"))

    downgrade(revision="0007")
    with _db.engine.connect() as connection:
        assert "title_fr" not in _columns(connection, "projects")
        assert "name_fr" not in _columns(connection, "donors")
        assert connection.execute(sa.text("SELECT code, title FROM projects")).all() == [
            ("TF-CD-2025-01", "Assistance in Ituri")]
        assert connection.execute(sa.text("SELECT name FROM donors")).all() == [("Norway",)]
        assert connection.execute(sa.text(
            "SELECT (SELECT count(*) FROM budget_lines) + (SELECT count(*) FROM pledges)")).scalar_one() == 2

    upgrade()
    with _db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT title_fr FROM projects")).scalar_one() is None
        assert schema_diff(connection, _db.metadata) == []
