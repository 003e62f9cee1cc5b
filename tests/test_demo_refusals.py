"""``flask seed-demo`` never puts its publicly known sign-ins where they do harm (issue 14, point 3).

It refuses, with status 1 and whatever the flags, outside development and
testing, and on a database holding people (users, mothers) that the demo did
not load itself. ``make run`` calls it on every start: on a fresh database it
seeds, on the demo's own it says so and seeds nothing.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from config import ProductionConfig
from tests import factories
from tracker import create_app, crypto
from tracker.auth import services as auth_services
from tracker.demo import DEMO_USERS, DemoRefused, holds_demo, seed_demo
from tracker.extensions import db
from tracker.models import AuditEvent, Beneficiary, Project, User


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch):
    monkeypatch.setattr(auth_services, "generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1000"))


def counts() -> dict:
    return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Beneficiary, Project, AuditEvent)}


@pytest.mark.parametrize("flags", [[], ["--force"], ["--force", "--seed", "2"]])
def test_production_never_gets_demo_data_even_empty_and_forced(monkeypatch, tmp_path, flags):
    url = f"sqlite:///{tmp_path / 'production.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    production = create_app(ProductionConfig, SECRET_KEY="k" * 64, TRACKER_DATA_KEY=crypto.generate_key(),
                            SQLALCHEMY_DATABASE_URI=url)
    with production.app_context():
        db.create_all()
        result = production.test_cli_runner().invoke(args=["seed-demo", *flags])
        assert result.exit_code == 1, result.output
        assert "TRACKER_ENV=development or testing, not production" in result.output
        assert "Nothing seeded" in result.output
        assert DEMO_USERS[0]["password"] not in result.output
        assert counts() == {"users": 0, "beneficiaries": 0, "projects": 0, "audit_events": 0}
        with pytest.raises(DemoRefused):
            seed_demo(seed=1, scale=1)
        assert db.session.scalar(select(func.count(User.id))) == 0
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("flags", [[], ["--force"]])
def test_a_database_with_users_the_demo_did_not_load_is_refused(app, runner, db, flags):
    factories.UserFactory(role="admin", email="real.admin@un.org")
    db.session.commit()
    before = counts()
    result = runner.invoke(args=["seed-demo", *flags])
    assert result.exit_code == 1, result.output
    assert "the database holds people the demo did not load (1 user, 0 mothers)" in result.output
    assert counts() == before


def test_a_database_with_mothers_the_demo_did_not_load_is_refused(app, runner, db):
    factories.BeneficiaryFactory(number=1)
    db.session.commit()
    result = runner.invoke(args=["seed-demo", "--force"])
    assert result.exit_code == 1, result.output
    assert "0 users, 1 mother)" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_a_database_with_data_but_no_people_is_left_alone_unless_forced(app, runner, db):
    factories.ProjectFactory(code="TF-CD-2020-01", country="CD")
    db.session.commit()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "nothing seeded" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0
    forced = runner.invoke(args=["seed-demo", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "Demo data loaded" in forced.output and holds_demo()


def test_make_run_seeds_a_fresh_database_then_finds_the_demo_its_own(app, runner, db):
    """What ``make run`` does on each start: seed once, then leave the demo's database as it is."""
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and "Demo data loaded" in first.output
    assert holds_demo()
    # A developer adds a user of their own to the demo database: it is still the demo's.
    factories.UserFactory(role="staff", email="dev.tester@example.org", countries=["CD"])
    db.session.commit()
    before = counts()
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0, again.output
    assert "holds the demo data already; nothing seeded" in again.output
    assert DEMO_USERS[0]["email"] in again.output  # the sign-ins are printed again
    assert counts() == before


def test_the_demo_database_takes_more_demo_data_when_forced(app, runner, db):
    seed_demo(seed=1, scale=1)
    mothers = db.session.scalar(select(func.count(Beneficiary.id)))
    result = runner.invoke(args=["seed-demo", "--force", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Beneficiary.id))) > mothers
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "seed_demo")) == 2
