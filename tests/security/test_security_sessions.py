"""Sessions end when they should: sign-out, password change, an admin's change, idle and absolute limits.

Replaying a session's cookies (the session cookie and the remember-me cookie)
after the event gives no access. Time is moved with the ``clock`` fixture.
"""
from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest

from config import TestingConfig
from tests import factories
from tracker import create_app
from tracker.extensions import db
from tracker.models import User

EMAIL = "staff.cd@example.org"
NEW_PASSWORD = "a new and longer passphrase"


@pytest.fixture
def staff(app):
    with app.app_context():
        user = factories.UserFactory(email=EMAIL, role="staff", countries=["CD"])
        return user.id


def signed_in_client(app, email=EMAIL, password=factories.PASSWORD, remember=False):
    client = app.test_client()
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path != "/login"
    return client


def has_access(client) -> bool:
    response = client.get("/account")
    if response.status_code == 200:
        return True
    assert response.status_code == 302, response.status_code
    assert urlsplit(response.headers["Location"]).path == "/login"
    return False


def jar(client) -> list[tuple]:
    return [(c.key, c.value, c.domain, c.path) for c in client._cookies.values()]


def replay(app, cookies, only=None):
    fresh = app.test_client()
    for key, value, domain, path in cookies:
        if only is None or key == only:
            fresh.set_cookie(key, value, domain=domain, path=path)
    return fresh


def cookie_names(cookies) -> set[str]:
    return {c[0] for c in cookies}


def user_token(app, user_id) -> str:
    with app.app_context():
        token = db.session.get(User, user_id).session_token
        db.session.remove()
        return token


# --- replaying cookies ---------------------------------------------------------------------------------------------


def test_replayed_cookies_work_while_the_session_lives(app, staff):
    """Control for the tests below: a copy of the cookies does carry the session."""
    client = signed_in_client(app, remember=True)
    cookies = jar(client)
    assert {"session", "remember_token"} <= cookie_names(cookies)
    assert has_access(replay(app, cookies))
    assert has_access(replay(app, cookies, only="remember_token"))


def test_replayed_cookies_give_no_access_after_sign_out(app, staff):
    client = signed_in_client(app, remember=True)
    cookies = jar(client)
    assert client.post("/logout").status_code == 302
    assert not has_access(client)
    assert not has_access(replay(app, cookies))
    assert not has_access(replay(app, cookies, only="remember_token"))
    assert not has_access(replay(app, cookies, only="session"))


def test_sign_out_deletes_the_remember_me_cookie(app, staff):
    client = signed_in_client(app, remember=True)
    response = client.post("/logout")
    deleted = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    assert deleted and ("Expires=Thu, 01 Jan 1970" in deleted[0] or "Max-Age=0" in deleted[0])


def test_changing_the_password_ends_every_other_session(app, staff):
    laptop = signed_in_client(app, remember=True)
    phone = signed_in_client(app, remember=True)
    laptop_before = jar(laptop)
    phone_cookies = jar(phone)
    response = laptop.post("/account/password", data={"current": factories.PASSWORD, "new": NEW_PASSWORD,
                                                       "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert has_access(laptop)  # the session that changed it carries on, on the new token
    assert not has_access(phone)
    assert not has_access(replay(app, phone_cookies))
    assert not has_access(replay(app, phone_cookies, only="remember_token"))
    # The laptop's own cookies from before the change are dead too.
    assert not has_access(replay(app, laptop_before))
    assert not has_access(replay(app, laptop_before, only="remember_token"))
    # The carried-on session's new remember-me cookie works.
    assert has_access(replay(app, jar(laptop), only="remember_token"))
    # And the new password signs in; the old one does not.
    assert signed_in_client(app, password=NEW_PASSWORD)
    assert app.test_client().post("/login", data={"email": EMAIL, "password": factories.PASSWORD}).status_code == 200


@pytest.mark.parametrize("action, data", [
    ("disable", {}),
    ("access", {"role": "manager", "countries": ["CD"], "donor": ""}),
    ("access", {"role": "staff", "countries": ["CD", "CF"], "donor": ""}),
    ("reset-password", {}),
])
def test_an_admins_change_ends_every_session_of_the_user(app, staff, sign_in, action, data):
    admin = sign_in(role="admin")
    victim = signed_in_client(app, remember=True)
    cookies = jar(victim)
    response = admin.post(f"/admin/users/{staff}/{action}", data=data)
    assert response.status_code in (200, 302), response.status_code
    assert not has_access(victim)
    assert not has_access(replay(app, cookies))
    assert not has_access(replay(app, cookies, only="remember_token"))


def test_an_admin_removing_the_second_factor_ends_every_session(app, staff, sign_in):
    from tracker.auth import two_factor

    with app.app_context():
        user = db.session.get(User, staff)
        two_factor.start_enrolment(user)
        user.totp_enabled_at = dt.datetime.now(dt.UTC)
        db.session.commit()
        secret = user.totp_secret
        db.session.remove()
    import pyotp

    victim = app.test_client()
    victim.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    assert victim.post("/login/code", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert has_access(victim)
    cookies = jar(victim)
    admin = sign_in(role="admin")
    assert admin.post(f"/admin/users/{staff}/reset-two-factor").status_code == 302
    assert not has_access(replay(app, cookies))


def test_a_disabled_user_cannot_sign_in_until_enabled(app, staff, sign_in):
    admin = sign_in(role="admin")
    admin.post(f"/admin/users/{staff}/disable")
    refused = app.test_client().post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    assert refused.status_code == 200
    admin.post(f"/admin/users/{staff}/enable")
    assert has_access(signed_in_client(app))


# --- idle and absolute limits --------------------------------------------------------------------------------------


def test_a_session_idle_for_30_minutes_ends(app, staff, clock):
    client = signed_in_client(app, remember=True)
    cookies_now = jar(client)
    clock.advance(minutes=29)
    assert has_access(client)
    clock.advance(minutes=29)  # 58 minutes after sign-in, 29 after the last request
    assert has_access(client)
    clock.advance(minutes=30)
    assert not has_access(client)
    # Neither an older copy of the cookies nor the remember-me cookie alone brings it back.
    assert not has_access(replay(app, cookies_now))
    assert not has_access(replay(app, cookies_now, only="remember_token"))


def test_the_idle_session_ended_shows_a_message_on_the_sign_in_page(app, staff, clock):
    client = signed_in_client(app)
    clock.advance(minutes=31)
    response = client.get("/account", follow_redirects=True)
    assert b"Your session has ended. Please sign in again." in response.data


def test_an_active_session_ends_12_hours_after_sign_in(app, staff, clock):
    client = signed_in_client(app, remember=True)
    for _ in range(11 * 3 + 2):  # a request every 20 minutes: never idle
        clock.advance(minutes=20)
        assert has_access(client)
    cookies = jar(client)
    clock.advance(minutes=20)  # 12 hours after sign-in
    assert not has_access(client)
    assert not has_access(replay(app, cookies, only="remember_token"))
    assert has_access(signed_in_client(app))  # signing in again starts a new 12 hours


def test_the_remember_me_cookie_lasts_at_most_12_hours_and_is_httponly_and_lax(app, staff):
    client = app.test_client()
    response = client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD, "remember": "y"})
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token="))
    expires = parsedate_to_datetime(header.split("Expires=")[1].split(";")[0])
    assert expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=12, minutes=1)
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert app.config["REMEMBER_COOKIE_DURATION"] <= dt.timedelta(hours=12)


def test_the_session_cookie_is_httponly_and_lax(app, staff):
    response = app.test_client().post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in header and "SameSite=Lax" in header


def test_production_cookies_are_secure_host_only_httponly_and_lax(monkeypatch, tmp_path):
    from config import ProductionConfig
    from tracker import crypto

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    production = create_app(ProductionConfig, SECRET_KEY="k" * 64, TRACKER_DATA_KEY=crypto.generate_key(),
                            SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.db'}")
    with production.app_context():
        db.create_all()
        factories.UserFactory(email=EMAIL, role="staff", countries=["CD"], password_changed_at=dt.datetime.now(
            dt.UTC))
        db.session.remove()
    client = production.test_client()
    response = client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD, "remember": "y",
                                           "csrf_token": _token(client)}, base_url="https://localhost",
                           headers={"Referer": "https://localhost/login"})
    assert response.status_code == 302
    cookies = {h.split("=")[0]: h for h in response.headers.getlist("Set-Cookie")}
    assert {"__Host-session", "__Host-remember_token"} <= set(cookies)
    for header in (cookies["__Host-session"], cookies["__Host-remember_token"]):
        assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
        assert "Domain=" not in header
    with production.app_context():
        db.session.remove()
        db.engine.dispose()


def _token(client) -> str:
    import re

    page = client.get("/login", base_url="https://localhost")
    return re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page.data).group(1).decode()


# --- a new session at sign-in --------------------------------------------------------------------------------------


def test_signing_in_starts_a_new_session(app, staff):
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by someone who had this browser before"
    before = client.get_cookie("session").value
    client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session
    assert client.get_cookie("session").value != before


def test_each_sign_in_gets_its_own_session_id(app, staff, clock):
    first = signed_in_client(app)
    clock.advance(seconds=5)
    second = signed_in_client(app)
    with first.session_transaction() as a, second.session_transaction() as b:
        assert a["_user_id"] != b["_user_id"]


def test_a_session_id_from_an_older_version_or_forged_fields_is_refused(app, staff):
    client = signed_in_client(app)
    with client.session_transaction() as session:
        user_id, token, signed_in, _last = session["_user_id"].split(".")
        session["_user_id"] = f"{user_id}.{token}"  # the format before session times
    assert not has_access(client)
    other = signed_in_client(app)
    with other.session_transaction() as session:
        user_id, token, signed_in, last = session["_user_id"].split(".")
        forged = token[:-1] + ("y" if token.endswith("x") else "x")
        session["_user_id"] = f"{user_id}.{forged}.{signed_in}.{last}"
    assert not has_access(other)


def test_the_token_in_the_session_is_the_users_current_one(app, staff):
    client = signed_in_client(app)
    with client.session_transaction() as session:
        assert session["_user_id"].split(".")[1] == user_token(app, staff)


def test_a_new_session_token_is_made_for_each_user(app):
    with app.app_context():
        a = factories.UserFactory()
        b = factories.UserFactory()
        assert a.session_token != b.session_token and len(a.session_token) >= 32
        db.session.remove()


def test_the_tests_run_with_the_real_limits():
    assert TestingConfig.SESSION_IDLE_TIMEOUT == dt.timedelta(minutes=30)
    assert TestingConfig.SESSION_ABSOLUTE_TIMEOUT == dt.timedelta(hours=12)
