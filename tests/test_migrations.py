"""The Alembic migrations are the schema: the models must agree with them, and every step reverses."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

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
def scratch_app(tmp_path):
    """An app on its own SQLite file, so that walking the revisions leaves the suite's schema alone."""
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'migrations.db'}")
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()


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
