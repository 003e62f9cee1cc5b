"""Each sign-in attempt is counted before its password or code is checked (tracker/auth/services.py).

``take_attempt`` checks the lock and counts the attempt in one UPDATE and
commits it; only then is the password (or second-factor code) checked, and a
right one gives its attempt back. While ``LOGIN_MAX_FAILURES`` attempts are
counted (being checked at this moment, or failed) the next is refused
unchecked, as a locked account's are. The concurrent version of these rules
is tests/test_concurrency_served.py; here each rule one request at a time.
"""
from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy import select, text, update

from tests import factories
from tracker.auth import services, two_factor
from tracker.extensions import db as _db
from tracker.models import AuditEvent, User

EMAIL = "staff.cd@example.org"
WRONG = "not the password at all"
FAILED = b"The e-mail or the password is not right."


@pytest.fixture
def user_id(app) -> int:
    with app.app_context():
        return factories.UserFactory(email=EMAIL, role="staff", countries=["CD"]).id


@pytest.fixture
def checks(app, monkeypatch):
    """Each check of a user's own password hash: the failure count the database held at that moment."""
    seen: list[int] = []
    real = services.check_password_hash

    def check(pwhash, password):
        if pwhash != services._DUMMY_HASH:
            # Another connection: what other attempts would see while this password is being checked.
            with _db.engine.connect() as connection:
                seen.append(connection.execute(text("SELECT failed_logins FROM users WHERE email = :e"),
                                               {"e": EMAIL}).scalar())
        return real(pwhash, password)

    monkeypatch.setattr(services, "check_password_hash", check)
    return seen


def login(client, password):
    return client.post("/login", data={"email": EMAIL, "password": password})


def state(app, user_id):
    with app.app_context():
        row = _db.session.execute(select(User.failed_logins, User.locked_until).where(User.id == user_id)).one()
        _db.session.remove()
        return tuple(row)


def sign_in_events(app) -> list[tuple[str, dict | None]]:
    with app.app_context():
        rows = _db.session.execute(select(AuditEvent.action, AuditEvent.changes)
                                   .where(AuditEvent.action.in_(("sign_in", "sign_in_failed", "account_locked")))
                                   .order_by(AuditEvent.id)).all()
        _db.session.remove()
        return [tuple(r) for r in rows]


def set_failures(app, user_id, count):
    with app.app_context():
        _db.session.execute(update(User).where(User.id == user_id).values(failed_logins=count))
        _db.session.commit()
        _db.session.remove()


def test_an_attempt_is_counted_and_committed_before_its_password_is_checked(app, user_id, client, checks):
    login(client, WRONG)
    login(client, WRONG)
    assert checks == [1, 2]  # other connections saw each attempt counted while its password was hashed
    assert state(app, user_id) == (2, None)


def test_a_right_password_gives_its_attempt_back(app, user_id, client, checks):
    login(client, WRONG)
    assert login(client, factories.PASSWORD).status_code == 302
    assert checks == [1, 2]
    assert state(app, user_id) == (0, None)


def test_while_every_attempt_is_taken_the_next_is_refused_unchecked_even_with_the_right_password(
        app, user_id, client, checks):
    # Six attempts counted and not yet locked: six passwords are being checked at this moment.
    set_failures(app, user_id, 6)
    response = login(client, factories.PASSWORD)
    assert response.status_code == 200 and response.data.count(FAILED) == 1
    assert checks == []
    assert state(app, user_id) == (6, None)  # not counted again; the sixth attempt's failure will lock
    assert sign_in_events(app) == [("sign_in_failed", {"reason": "locked"})]


def test_the_sixth_counted_failure_locks_and_a_lifted_lock_counts_from_one_again(app, user_id, client, clock, checks):
    for _ in range(6):
        login(client, WRONG)
    assert checks == [1, 2, 3, 4, 5, 6]
    assert state(app, user_id) == (0, clock.now + dt.timedelta(minutes=15))
    login(client, WRONG)  # locked: refused unchecked
    assert checks == [1, 2, 3, 4, 5, 6]
    clock.advance(minutes=15)
    login(client, WRONG)
    assert checks == [1, 2, 3, 4, 5, 6, 1]


# --- the second factor ------------------------------------------------------------------------------------------------


@pytest.fixture
def enrolled(app, user_id) -> str:
    """The user has a second factor; returns its secret."""
    with app.app_context():
        user = _db.session.get(User, user_id)
        two_factor.start_enrolment(user)
        user.totp_enabled_at = dt.datetime.now(dt.UTC)
        secret = user.totp_secret
        _db.session.commit()
        _db.session.remove()
        return secret


def test_a_right_password_leaves_the_count_of_wrong_codes_as_it_was(app, user_id, enrolled, client):
    client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    client.post("/login/code", data={"code": "000000"})
    client.post("/login/code", data={"code": "000001"})
    assert state(app, user_id)[0] == 2
    assert client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD}).status_code == 302
    assert state(app, user_id)[0] == 2


def test_while_every_attempt_is_taken_a_code_is_refused_unchecked(app, user_id, enrolled, client, monkeypatch):
    assert client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD}).status_code == 302
    set_failures(app, user_id, 6)
    checked = []
    monkeypatch.setattr(two_factor, "verify_second_factor", lambda *args: checked.append(args) or "totp")
    response = client.post("/login/code", data={"code": pyotp.TOTP(enrolled).now()})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert checked == []
    assert client.get("/account").status_code == 302  # not signed in
    assert sign_in_events(app)[-1] == ("sign_in_failed", {"reason": "locked"})


def test_a_right_code_signs_in_and_clears_the_count(app, user_id, enrolled, client):
    client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    client.post("/login/code", data={"code": "000000"})
    assert state(app, user_id)[0] == 1
    response = client.post("/login/code", data={"code": pyotp.TOTP(enrolled).now()})
    assert response.status_code == 302 and client.get("/account").status_code == 200
    assert state(app, user_id) == (0, None)
