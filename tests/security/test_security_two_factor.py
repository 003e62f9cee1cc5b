"""Two-step sign-in: TOTP codes once each, recovery codes, required for admins and managers."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pyotp
import pytest
from sqlalchemy import select, text

from tests import factories
from tracker.auth import two_factor
from tracker.extensions import db
from tracker.models import AuditEvent, RecoveryCode, User

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def make_user(app, **kwargs) -> int:
    with app.app_context():
        return factories.UserFactory(**kwargs).id


def enrol(app, user_id) -> str:
    """Give the user a second factor directly (the pages are tested below); returns the secret."""
    with app.app_context():
        user = db.session.get(User, user_id)
        two_factor.start_enrolment(user)
        user.totp_enabled_at = dt.datetime.now(dt.UTC)
        secret = user.totp_secret
        db.session.commit()
        db.session.remove()
        return secret


def code_at(secret, when, steps=0) -> str:
    return pyotp.TOTP(secret).at(when, counter_offset=steps)


def password_step(client, email, password=factories.PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def location(response) -> str:
    return urlsplit(response.headers["Location"]).path


def enrol_through_the_pages(client) -> tuple[str, list[str]]:
    """Start, read the key from the page, confirm with a code: returns the secret and the recovery codes."""
    assert client.post("/account/two-factor/start").status_code == 302
    page = client.get("/account/two-factor")
    assert page.status_code == 200
    key = re.search(rb'<code class="totp-key">([A-Z2-7 ]+)</code>', page.data).group(1).decode().replace(" ", "")
    qr = re.search(rb'<img class="qr" src="(data:image/svg\+xml[^"]+)"', page.data)
    assert qr, "the QR code is an inline data: image"
    assert "<svg" in unquote(qr.group(1).decode()) and "<script" not in unquote(qr.group(1).decode())
    done = client.post("/account/two-factor/confirm", data={"code": pyotp.TOTP(key).now()})
    assert done.status_code == 200
    codes = re.findall(rb"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", done.data)
    return key, [c.decode() for c in codes]


# --- required for admins and managers ------------------------------------------------------------------------------

ADMIN_PAGES = ["/admin/users/", "/admin/audit/", "/admin/audit/export.csv", "/rates/", "/", "/donors/",
               "/mothers/", "/account"]


def test_an_admin_without_a_second_factor_reaches_no_admin_page_and_with_it_does(strict_app):
    admin_id = make_user(strict_app, role="admin", email="admin@example.org")
    client = strict_app.test_client()
    assert location(password_step(client, "admin@example.org")) == "/"
    pages = ADMIN_PAGES + [f"/admin/users/{admin_id}"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 302 and location(response) == "/account/two-factor", path
    for path in (f"/admin/users/{admin_id}/disable", "/admin/users/new", "/rates/"):
        response = client.post(path)
        assert response.status_code == 302 and location(response) == "/account/two-factor", path
    assert b"Your role requires two-step sign-in" in client.get("/account/two-factor").data

    _key, codes = enrol_through_the_pages(client)
    assert len(codes) == 10 == len(set(codes))
    for path in pages:
        assert client.get(path).status_code == 200, path


def test_a_manager_without_a_second_factor_reaches_nothing_else(strict_app):
    make_user(strict_app, role="manager", email="manager@example.org", countries=["CD"])
    client = strict_app.test_client()
    password_step(client, "manager@example.org")
    for path in ("/", "/review/", "/approvals/", "/projects/", "/reports/"):
        response = client.get(path)
        assert response.status_code == 302 and location(response) == "/account/two-factor", path
    assert client.post("/logout").status_code == 302  # signing out is always open


def test_staff_and_donors_may_go_without_a_second_factor(strict_app):
    make_user(strict_app, role="staff", email="staff@example.org", countries=["CD"])
    client = strict_app.test_client()
    password_step(client, "staff@example.org")
    assert client.get("/mothers/").status_code == 200


def test_the_roles_that_must_enrol_are_a_setting(app, strict_app):
    from config import Config, TestingConfig

    assert Config.TWO_FACTOR_REQUIRED_ROLES == ("admin", "manager")
    assert TestingConfig.TWO_FACTOR_REQUIRED_ROLES == ()
    assert strict_app.config["TWO_FACTOR_REQUIRED_ROLES"] == ("admin", "manager")


def test_after_an_admin_removes_a_managers_second_factor_the_manager_must_enrol_again(strict_app):
    manager = make_user(strict_app, role="manager", email="manager@example.org", countries=["CD"])
    admin = make_user(strict_app, role="admin", email="admin@example.org")
    manager_secret = enrol(strict_app, manager)
    admin_secret = enrol(strict_app, admin)
    client = strict_app.test_client()
    password_step(client, "admin@example.org")
    client.post("/login/code", data={"code": pyotp.TOTP(admin_secret).now()})
    assert client.post(f"/admin/users/{manager}/reset-two-factor").status_code == 302
    other = strict_app.test_client()
    assert location(password_step(other, "manager@example.org")) == "/"  # no code step any more
    assert location(other.get("/review/")) == "/account/two-factor"
    assert manager_secret


# --- two steps -----------------------------------------------------------------------------------------------------


@pytest.fixture
def enrolled(app):
    user_id = make_user(app, role="staff", email="staff@example.org", countries=["CD"])
    return user_id, enrol(app, user_id)


def test_an_enrolled_user_signs_in_in_two_steps(app, enrolled, clock):
    user_id, secret = enrolled
    client = app.test_client()
    response = password_step(client, "staff@example.org")
    assert location(response) == "/login/code"
    assert location(client.get("/account")) == "/login"  # not signed in after the password alone
    wrong = client.post("/login/code", data={"code": code_at(secret, clock.now, steps=5)})
    assert wrong.status_code == 200 and b"This code is not right" in wrong.data
    response = client.post("/login/code", data={"code": code_at(secret, clock.now)})
    assert location(response) == "/"
    assert client.get("/account").status_code == 200
    with app.app_context():
        signed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in")).one()
        assert signed.changes == {"second_factor": "totp"} and signed.user_id == user_id
        failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in_failed")).one()
        assert failed.changes == {"step": "second_factor"}
        db.session.remove()


def test_a_totp_code_is_accepted_once(app, enrolled, clock):
    _user_id, secret = enrolled
    code = code_at(secret, clock.now)
    first = app.test_client()
    password_step(first, "staff@example.org")
    assert location(first.post("/login/code", data={"code": code})) == "/"
    second = app.test_client()  # someone who saw the code, within the same 30 seconds
    password_step(second, "staff@example.org")
    replay = second.post("/login/code", data={"code": code})
    assert replay.status_code == 200 and location(second.get("/account")) == "/login"
    clock.advance(seconds=30)
    assert location(second.post("/login/code", data={"code": code_at(secret, clock.now)})) == "/"


def test_a_code_one_step_off_is_accepted_and_two_steps_off_is_not(app, enrolled, clock):
    _user_id, secret = enrolled
    client = app.test_client()
    password_step(client, "staff@example.org")
    assert client.post("/login/code", data={"code": code_at(secret, clock.now, steps=2)}).status_code == 200
    assert client.post("/login/code", data={"code": code_at(secret, clock.now, steps=-2)}).status_code == 200
    assert location(client.post("/login/code", data={"code": code_at(secret, clock.now, steps=-1)})) == "/"


def test_six_wrong_codes_lock_the_account(app, enrolled, clock):
    _user_id, secret = enrolled
    client = app.test_client()
    password_step(client, "staff@example.org")
    for _ in range(5):
        assert client.post("/login/code", data={"code": "000000"}).status_code == 200
    sixth = client.post("/login/code", data={"code": "000000"})
    assert location(sixth) == "/login"
    # Now the right password and the right code are refused until the lock lifts.
    assert password_step(client, "staff@example.org").status_code == 200
    clock.advance(minutes=15)
    assert location(password_step(client, "staff@example.org")) == "/login/code"
    assert location(client.post("/login/code", data={"code": code_at(secret, clock.now)})) == "/"


def test_a_right_password_does_not_reset_the_count_of_wrong_codes(app, enrolled):
    client = app.test_client()
    for _ in range(3):
        password_step(client, "staff@example.org")
        client.post("/login/code", data={"code": "000000"})
        client.post("/login/code", data={"code": "000000"})
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == "staff@example.org")).one()
        assert user.locked_until is not None
        db.session.remove()


def test_the_code_step_expires_after_five_minutes(app, enrolled, clock):
    _user_id, secret = enrolled
    client = app.test_client()
    password_step(client, "staff@example.org")
    clock.advance(minutes=5, seconds=1)
    response = client.post("/login/code", data={"code": code_at(secret, clock.now)})
    assert location(response) == "/login"
    assert location(client.get("/account")) == "/login"


def test_the_code_step_needs_the_password_step_in_the_same_browser(app, enrolled, clock):
    _user_id, secret = enrolled
    response = app.test_client().post("/login/code", data={"code": code_at(secret, clock.now)})
    assert location(response) == "/login"


def test_a_password_change_between_the_steps_voids_the_code_step(app, enrolled, clock):
    user_id, secret = enrolled
    client = app.test_client()
    password_step(client, "staff@example.org")
    with app.app_context():
        from tracker.auth.services import end_sessions

        end_sessions(db.session.get(User, user_id))
        db.session.commit()
        db.session.remove()
    assert location(client.post("/login/code", data={"code": code_at(secret, clock.now)})) == "/login"


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "https://evil.example",
                                    "javascript:alert(1)"])
def test_next_off_this_site_is_refused_through_the_code_step(app, enrolled, clock, target):
    _user_id, secret = enrolled
    client = app.test_client()
    password_step(client, "staff@example.org", next=target)
    response = client.post("/login/code", data={"code": code_at(secret, clock.now)})
    assert response.headers["Location"] == "/"


def test_next_on_this_site_is_followed_through_the_code_step(app, enrolled, clock):
    _user_id, secret = enrolled
    client = app.test_client()
    password_step(client, "staff@example.org", next="/mothers/?status=active")
    response = client.post("/login/code", data={"code": code_at(secret, clock.now)})
    assert response.headers["Location"] == "/mothers/?status=active"


# --- recovery codes ------------------------------------------------------------------------------------------------


def test_enrolment_gives_ten_recovery_codes_each_good_once_and_stored_hashed(app):
    make_user(app, role="staff", email="staff@example.org", countries=["CD"])
    client = app.test_client()
    password_step(client, "staff@example.org")
    _key, codes = enrol_through_the_pages(client)
    assert len(codes) == 10
    with app.app_context():
        stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
        assert len(stored) == 10
        assert not [c for c in codes for h in stored if c.replace("-", "") in h or c in h]
        db.session.remove()
    client.post("/logout")
    other = app.test_client()
    password_step(other, "staff@example.org")
    used = other.post("/login/code", data={"code": codes[3].upper().replace("-", " ")}, follow_redirects=True)
    assert b"9 are left" in used.data
    other.post("/logout")
    again = app.test_client()
    password_step(again, "staff@example.org")
    assert again.post("/login/code", data={"code": codes[3]}).status_code == 200  # used already
    assert location(again.post("/login/code", data={"code": codes[4]})) == "/"


def test_new_recovery_codes_replace_the_old_ones_and_need_the_password(app, enrolled):
    user_id, _secret = enrolled
    with app.app_context():
        old = two_factor.new_recovery_codes(db.session.get(User, user_id))
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    password_step(client, "staff@example.org")
    client.post("/login/code", data={"code": old[0]})
    refused = client.post("/account/two-factor/recovery-codes", data={"codes-password": "not my password!"})
    assert refused.status_code == 302
    page = client.post("/account/two-factor/recovery-codes", data={"codes-password": factories.PASSWORD})
    new = re.findall(rb"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", page.data)
    assert len(new) == 10
    client.post("/logout")
    other = app.test_client()
    password_step(other, "staff@example.org")
    assert other.post("/login/code", data={"code": old[1]}).status_code == 200
    assert location(other.post("/login/code", data={"code": new[0].decode()})) == "/"


# --- turning it off ------------------------------------------------------------------------------------------------


def test_staff_may_turn_two_step_sign_in_off_with_their_password(app, enrolled, clock):
    user_id, secret = enrolled
    client = app.test_client()
    password_step(client, "staff@example.org")
    client.post("/login/code", data={"code": code_at(secret, clock.now)})
    assert client.post("/account/two-factor/disable", data={"disable-password": "wrong password!!"}).status_code == 302
    with app.app_context():
        assert db.session.get(User, user_id).totp_enabled_at is not None
        db.session.remove()
    client.post("/account/two-factor/disable", data={"disable-password": factories.PASSWORD})
    with app.app_context():
        user = db.session.get(User, user_id)
        assert (user.totp_secret, user.totp_enabled_at) == (None, None)
        assert db.session.scalars(select(RecoveryCode)).all() == []
        db.session.remove()


def test_admins_and_managers_may_not_turn_it_off(strict_app):
    admin = make_user(strict_app, role="admin", email="admin@example.org")
    secret = enrol(strict_app, admin)
    client = strict_app.test_client()
    password_step(client, "admin@example.org")
    client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    assert b"Turn two-step sign-in off" not in client.get("/account").data
    assert client.post("/account/two-factor/disable", data={"disable-password": factories.PASSWORD}).status_code == 403


def test_a_wrong_enrolment_code_enables_nothing(app):
    user_id = make_user(app, role="staff", email="staff@example.org", countries=["CD"])
    client = app.test_client()
    password_step(client, "staff@example.org")
    client.post("/account/two-factor/start")
    response = client.post("/account/two-factor/confirm", data={"code": "000000"})
    assert location(response) == "/account/two-factor"
    with app.app_context():
        assert db.session.get(User, user_id).totp_enabled_at is None
        db.session.remove()
    assert location(password_step(app.test_client(), "staff@example.org")) == "/"  # still one step


def test_the_secret_is_stored_encrypted(app, enrolled):
    user_id, secret = enrolled
    with app.app_context():
        raw = db.session.execute(text("SELECT totp_secret FROM users WHERE id = :id"), {"id": user_id}).scalar()
        db.session.remove()
    assert secret not in raw


def test_the_qr_code_is_drawn_without_marking_anything_safe():
    page = (TEMPLATES / "auth" / "two_factor.html").read_text()
    assert '<img class="qr" src="{{ qr }}"' in page
    for path in TEMPLATES.rglob("*"):
        if path.is_file():
            assert "|safe" not in path.read_text(encoding="utf-8").replace(" ", ""), path
