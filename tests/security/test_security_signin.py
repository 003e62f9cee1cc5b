"""Sign-in protection: lockout after six failures, per-IP throttling, password rules, audit without passwords."""
from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests import factories
from tracker.auth.services import COMMON_PASSWORDS_FILE, common_passwords, password_problem
from tracker.extensions import db
from tracker.models import AuditEvent, User

EMAIL = "staff.cd@example.org"
FAILED = b"The e-mail or the password is not right."
WRONG = "not the password at all"


@pytest.fixture
def staff(app):
    with app.app_context():
        return factories.UserFactory(email=EMAIL, role="staff", countries=["CD"]).id


def attempt(client, password, email=EMAIL, **environ):
    extra = {"environ_base": environ} if environ else {}
    return client.post("/login", data={"email": email, "password": password}, **extra)


def refused(response) -> bool:
    return response.status_code == 200 and response.data.count(FAILED) == 1


def flashes(response) -> list[bytes]:
    return re.findall(rb'<p class="flash[^"]*"[^>]*>(.*?)</p>', response.data)


def actions(app) -> list[str]:
    with app.app_context():
        out = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        db.session.remove()
        return out


def user_state(app):
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == EMAIL)).one()
        state = (user.failed_logins, user.locked_until)
        db.session.remove()
        return state


# --- lockout ---------------------------------------------------------------------------------------------------------


def test_the_7th_attempt_is_refused_even_with_the_right_password_and_the_lock_lifts_after_15_minutes(
        app, staff, client, clock):
    for _ in range(6):
        assert refused(attempt(client, WRONG))
    _count, locked_until = user_state(app)
    assert locked_until == clock.now + app.config["LOGIN_LOCK_DURATION"]
    seventh = attempt(client, factories.PASSWORD)
    assert refused(seventh)
    assert client.get("/account").status_code == 302  # not signed in
    clock.advance(minutes=14, seconds=59)
    assert refused(attempt(client, factories.PASSWORD))
    clock.advance(seconds=1)
    response = attempt(client, factories.PASSWORD)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/"
    assert client.get("/account").status_code == 200
    assert user_state(app) == (0, None)


def test_a_locked_account_gets_the_same_message_as_a_wrong_password_or_an_unknown_email(app, staff, clock):
    unknown = attempt(app.test_client(), WRONG, email="nobody@example.org")
    client = app.test_client()
    for _ in range(6):
        wrong = attempt(client, WRONG)
    locked = attempt(client, factories.PASSWORD)
    assert flashes(unknown) == flashes(wrong) == flashes(locked) == [FAILED]


def test_failures_must_be_in_a_row_to_lock(app, staff, client):
    for _ in range(5):
        attempt(client, WRONG)
    assert attempt(client, factories.PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(5):
        attempt(client, WRONG)
    assert user_state(app)[1] is None
    assert attempt(client, factories.PASSWORD).status_code == 302


def test_after_the_lock_lifts_six_more_failures_lock_again(app, staff, client, clock):
    for _ in range(6):
        attempt(client, WRONG)
    clock.advance(minutes=16)
    for _ in range(6):
        attempt(client, WRONG)
    assert user_state(app)[1] == clock.now + app.config["LOGIN_LOCK_DURATION"]


def test_attempts_during_a_lock_do_not_extend_it(app, staff, client, clock):
    for _ in range(6):
        attempt(client, WRONG)
    until = user_state(app)[1]
    clock.advance(minutes=10)
    for _ in range(10):
        attempt(client, WRONG)
    assert user_state(app)[1] == until


def test_signing_in_failing_locking_and_signing_out_are_audited_without_the_password(app, staff, client, clock):
    attempt(client, factories.PASSWORD)
    client.post("/logout")
    for _ in range(6):
        attempt(client, WRONG)
    attempt(client, factories.PASSWORD)
    # ("update": the new session token that ends the sessions at sign-out, named without its value)
    assert [a for a in actions(app) if a not in ("create", "update")] == (
        ["sign_in", "sign_out"] + ["sign_in_failed"] * 6 + ["account_locked", "sign_in_failed"])
    with app.app_context():
        events = db.session.scalars(select(AuditEvent)).all()
        text = json.dumps([[e.action, e.entity, e.entity_id, e.changes] for e in events])
        locked = [e for e in events if e.action == "sign_in_failed"][-1]
        assert locked.changes == {"reason": "locked"}
        assert all(e.user_id == staff for e in events if e.action != "create")
        db.session.remove()
    assert WRONG not in text and factories.PASSWORD not in text


def test_an_admin_resetting_the_password_lifts_the_lock(app, staff, client, sign_in):
    for _ in range(6):
        attempt(client, WRONG)
    admin = sign_in(role="admin")
    page = admin.post(f"/admin/users/{staff}/reset-password")
    password = re.search(rb'<code class="initial-password">([^<]+)</code>', page.data).group(1).decode()
    assert user_state(app) == (0, None)
    assert attempt(app.test_client(), password).status_code == 302


# --- throttling per IP -----------------------------------------------------------------------------------------------


@pytest.fixture
def throttled(make_app):
    return make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="5 per minute")


def test_the_sign_in_form_is_throttled_per_address(throttled, staff):
    client = throttled.test_client()
    for n in range(5):
        assert attempt(client, WRONG, email=f"someone{n}@example.org").status_code == 200
    response = attempt(client, factories.PASSWORD)
    assert response.status_code == 429
    assert b"Too many sign-in attempts" in response.data
    assert "no-store" in response.headers["Cache-Control"]
    assert client.get("/login").status_code == 200  # the form itself is still shown
    # Another address is not held back by this one.
    other = throttled.test_client()
    assert attempt(other, factories.PASSWORD, REMOTE_ADDR="192.0.2.7").status_code == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_limit(throttled, staff):
    client = throttled.test_client()
    for n in range(5):
        client.post("/login", data={"email": EMAIL, "password": WRONG},
                    headers={"X-Forwarded-For": f"198.51.100.{n}"})
    assert client.post("/login", data={"email": EMAIL, "password": WRONG},
                       headers={"X-Forwarded-For": "198.51.100.99"}).status_code == 429


def test_behind_a_trusted_proxy_the_limit_is_per_client_address(make_app, staff):
    proxied = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="5 per minute", TRUSTED_PROXIES=1)
    client = proxied.test_client()
    for _ in range(5):
        client.post("/login", data={"email": EMAIL, "password": WRONG}, headers={"X-Forwarded-For": "198.51.100.1"})
    assert client.post("/login", data={"email": EMAIL, "password": WRONG},
                       headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 429
    other = client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD},
                        headers={"X-Forwarded-For": "198.51.100.2"})
    assert other.status_code == 302
    with proxied.app_context():
        ips = set(db.session.scalars(select(AuditEvent.ip).where(AuditEvent.action.like("sign_in%"))))
        db.session.remove()
    assert ips == {"198.51.100.1", "198.51.100.2"}


def test_the_code_step_shares_the_sign_in_limit(throttled, staff):
    client = throttled.test_client()
    for _ in range(5):
        client.post("/login/code", data={"code": "123456"})
    assert attempt(client, factories.PASSWORD).status_code == 429


def test_throttling_is_off_in_the_suite_and_on_by_default(app):
    from config import Config, TestingConfig

    assert Config.RATELIMIT_ENABLED is True and TestingConfig.RATELIMIT_ENABLED is False
    client = app.test_client()
    for _ in range(21):  # one more than the default limit of 20 a minute
        assert client.post("/login", data={"email": "x@example.org", "password": WRONG}).status_code == 200


def test_a_redis_storage_is_used_when_configured(make_app):
    limited = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    storage = limited.extensions["tracker.limiter"].storage
    assert type(storage).__name__ == "RedisStorage"


def test_memory_storage_is_the_default(make_app):
    from config import Config

    assert Config.RATELIMIT_STORAGE_URI in ("memory://",) or Config.RATELIMIT_STORAGE_URI.startswith("redis")
    limited = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    assert type(limited.extensions["tracker.limiter"].storage).__name__ == "MemoryStorage"


# --- passwords -------------------------------------------------------------------------------------------------------


def test_the_common_password_list_ships_10000_distinct_passwords():
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(set(lines)) == 10_000
    assert lines[:3] == ["123456", "password", "12345678"]
    assert len(common_passwords()) == 10_000


@pytest.mark.parametrize("password", [
    "x" * 12,
    "correct horse battery staple",
    "Ça va très bien, merci beaucoup",
    "émoji 🙂 et espaces  ",
    "p" * 64,
    "a long passphrase " * 8,  # 144 characters
    "z" * 256,
])
def test_passwords_of_12_to_256_characters_are_accepted(password):
    assert password_problem(password) is None


@pytest.mark.parametrize("password", ["", "short", "x" * 11, "z" * 257])
def test_passwords_too_short_or_too_long_are_refused(password):
    assert password_problem(password)


@pytest.mark.parametrize("password", ["1qaz2wsx3edc", "QWERTY123456", "leavemealone", "LeaveMeAlone"])
def test_common_passwords_are_refused_whatever_their_case(password):
    assert "most common" in password_problem(password)


def test_every_common_password_of_12_characters_or_more_is_refused():
    long_ones = [p for p in common_passwords() if len(p) >= 12]
    assert long_ones and all(password_problem(p) for p in long_ones)


def test_the_password_form_refuses_a_short_or_common_password_and_accepts_a_long_one(app, staff, client):
    attempt(client, factories.PASSWORD)
    for bad in ("too short", "1qaz2wsx3edc"):
        page = client.post("/account/password", data={"current": factories.PASSWORD, "new": bad, "confirm": bad})
        assert page.status_code == 200 and b'class="error"' in page.data
    long_one = "the night train to Bukavu leaves at seven and is always late " * 1  # 62+ characters
    assert client.post("/account/password", data={"current": factories.PASSWORD, "new": long_one,
                                                   "confirm": long_one}).status_code == 302
    client.post("/logout")
    assert attempt(client, long_one).status_code == 302


def test_a_wrong_current_password_changes_nothing_and_counts_towards_the_lock(app, staff, client):
    attempt(client, factories.PASSWORD)
    page = client.post("/account/password", data={"current": WRONG, "new": "another good passphrase",
                                                  "confirm": "another good passphrase"})
    assert b"This is not your current password." in page.data
    assert user_state(app)[0] == 1
    client.post("/logout")
    assert attempt(client, factories.PASSWORD).status_code == 302


def test_six_wrong_current_passwords_in_a_session_lock_the_account_and_end_the_session(app, staff, client):
    attempt(client, factories.PASSWORD)
    for _ in range(6):
        response = client.post("/account/password", data={"current": WRONG, "new": "another good passphrase",
                                                          "confirm": "another good passphrase"})
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    assert client.get("/account").status_code == 302
    assert b"your account is locked" in client.get("/login").data
    assert refused(attempt(client, factories.PASSWORD))


# --- a password set by an admin must be replaced --------------------------------------------------------------------


def test_a_user_with_a_password_from_an_admin_reaches_nothing_before_choosing_their_own(make_app, sign_in):
    own = make_app(PASSWORD_MUST_BE_OWN=True)
    with own.app_context():
        factories.UserFactory(email=EMAIL, role="staff", countries=["CD"])  # password_changed_at: never
    client = own.test_client()
    assert attempt(client, factories.PASSWORD).status_code == 302
    for path in ("/", "/mothers/", "/account"):
        response = client.get(path)
        assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/account/password"
    assert b"set by an administrator" in client.get("/account/password").data
    new = "my very own passphrase"
    assert client.post("/account/password", data={"current": factories.PASSWORD, "new": new,
                                                  "confirm": new}).status_code == 302
    assert client.get("/mothers/").status_code == 200
