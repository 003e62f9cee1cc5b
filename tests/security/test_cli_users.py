"""``flask users create``: every rule checked, a clear message and nothing written on bad input."""
import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from tests import factories
from tracker.models import AuditEvent, User, UserCountry

GOOD_PASSWORD = "a long enough passphrase"


def create(runner, *args, password=GOOD_PASSWORD):
    return runner.invoke(args=["users", "create", *args, "--password-stdin"], input=password + "\n")


def counts(db):
    return (
        db.session.scalar(select(func.count()).select_from(User)),
        db.session.scalar(select(func.count()).select_from(UserCountry)),
        db.session.scalar(select(func.count()).select_from(AuditEvent)),
    )


def test_creates_a_staff_user_of_a_country(db, runner):
    result = create(runner, "New.Staff@Example.org", "--role", "staff", "--country", "cd", "--name", "Grace N.")

    assert result.exit_code == 0, result.output
    assert "Created staff new.staff@example.org for CD" in result.output
    user = db.session.scalars(select(User)).one()
    assert (user.email, user.role, user.countries, user.name, user.active) == (
        "new.staff@example.org", "staff", ["CD"], "Grace N.", True)
    assert user.password_hash.startswith("scrypt:")
    assert GOOD_PASSWORD not in user.password_hash
    assert check_password_hash(user.password_hash, GOOD_PASSWORD)
    assert not check_password_hash(user.password_hash, GOOD_PASSWORD + " ")


def test_creates_a_manager_of_several_countries_and_a_donor_user(db, runner):
    factories.DonorFactory(name="Kingdom of Norway")
    assert create(runner, "m@example.org", "--role", "manager", "--country", "CD", "--country", "CF").exit_code == 0
    assert create(runner, "d@example.org", "--role", "donor", "--donor", "Kingdom of Norway").exit_code == 0
    users = {u.email: u for u in db.session.scalars(select(User))}
    assert users["m@example.org"].countries == ["CD", "CF"]
    assert users["d@example.org"].donor.name == "Kingdom of Norway"
    assert users["d@example.org"].countries == []


def test_creation_is_audited_without_the_password(db, runner):
    assert create(runner, "new@example.org", "--role", "admin").exit_code == 0
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "users")).one()
    assert event.action == "create"
    assert event.ip == "cli"
    assert event.changes["password_hash"] == "(secret)"
    assert event.changes["session_token"] == "(secret)"
    assert event.changes["email"] == [None, "new@example.org"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["x@example.org", "--role", "boss"], "unknown role 'boss'"),
        (["x@example.org", "--role", "staff", "--country", "XX"], "unknown country XX"),
        (["x@example.org", "--role", "staff", "--country", "CD", "--country", "ZZ"], "unknown country ZZ"),
        (["x@example.org", "--role", "staff"], "a staff needs at least one country"),
        (["x@example.org", "--role", "manager"], "a manager needs at least one country"),
        (["x@example.org", "--role", "admin", "--country", "CD"], "a admin takes no country"),
        (["x@example.org", "--role", "donor"], "a donor user needs --donor NAME"),
        (["x@example.org", "--role", "donor", "--donor", "Atlantis"], "no donor named 'Atlantis'"),
        (["x@example.org", "--role", "staff", "--country", "CD", "--donor", "Kingdom of Norway"],
         "only donor users are linked to a donor"),
        (["not-an-address", "--role", "admin"], "is not an e-mail address"),
        (["x@example.org", "--role", "admin", "--locale", "de"], "unknown language 'de'"),
    ],
)
def test_bad_input_fails_clearly_and_writes_nothing(db, runner, args, message):
    factories.DonorFactory(name="Kingdom of Norway")
    before = counts(db)

    result = create(runner, *args)

    assert result.exit_code == 1
    assert message in result.output
    assert result.output.startswith("Error: ")
    assert "Traceback" not in result.output
    db.session.expire_all()
    assert counts(db) == before


@pytest.mark.parametrize("length", [0, 1, 11])
def test_short_password_is_refused(db, runner, length):
    before = counts(db)
    result = create(runner, "x@example.org", "--role", "admin", password="p" * length)
    assert result.exit_code == 1
    assert "Error: The password must have at least 12 characters." in result.output
    db.session.expire_all()
    assert counts(db) == before


def test_password_of_257_characters_is_refused(db, runner):
    before = counts(db)
    result = create(runner, "x@example.org", "--role", "admin", password="p" * 257)
    assert result.exit_code == 1
    assert "Error: The password must have at most 256 characters." in result.output
    db.session.expire_all()
    assert counts(db) == before


@pytest.mark.parametrize("existing", ["taken@example.org", "Taken@Example.org"])
def test_duplicate_email_is_refused(db, runner, existing):
    factories.UserFactory(email="taken@example.org", role="admin")
    before = counts(db)
    result = create(runner, existing, "--role", "staff", "--country", "CD")
    assert result.exit_code == 1
    assert "a user with e-mail taken@example.org exists already" in result.output
    db.session.expire_all()
    assert counts(db) == before


@pytest.mark.parametrize("length", [12, 64, 100])
def test_long_passwords_are_accepted(db, runner, length):
    # Spaces and non-ASCII letters are part of the password, kept as typed.
    password = ("é " + "x" * length)[:length]
    result = create(runner, f"p{length}@example.org", "--role", "admin", password=password)
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User)).one()
    assert check_password_hash(user.password_hash, password)
