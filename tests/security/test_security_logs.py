"""No personal data, password, token or code in any log line or URL, on the main journeys over demo data.

The journeys run with every logger at DEBUG (``caplog``); the demo data gives
realistic names, phones and villages to look for.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import unquote

import pyotp
import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from config import ProductionConfig, TestingConfig
from tests import factories
from tracker.auth import services as auth_services
from tracker.demo import DEMO_USERS, seed_demo
from tracker.extensions import db
from tracker.models import ApiToken, Beneficiary, Child, User


@pytest.fixture
def demo(app, monkeypatch):
    """Demo data (scale 1); its personal data and secrets, to look for afterwards."""
    monkeypatch.setattr(auth_services, "generate_password_hash",
                        lambda password: generate_password_hash(password, method="pbkdf2:sha256:1000"))
    with app.app_context():
        seed_demo(seed=3, scale=1, progress=lambda message: None)
        mothers = db.session.scalars(select(Beneficiary).order_by(Beneficiary.id).limit(400)).all()
        personal = {m.full_name for m in mothers} | {m.phone for m in mothers if m.phone} | {
            m.village for m in mothers if m.village and len(m.village) > 4}
        personal |= {c.first_name for c in db.session.scalars(select(Child).limit(400)) if len(c.first_name) > 4}
        cd = next(m for m in mothers if m.country == "CD" and m.status == "active")
        out = {"personal": personal, "mother": cd.code, "mother_name": cd.full_name,
               "child": cd.children[0].code if cd.children else None}
        db.session.remove()
        return out


def _secrets(app) -> set[str]:
    with app.app_context():
        users = db.session.scalars(select(User)).all()
        found = {u.session_token for u in users} | {u.totp_secret for u in users if u.totp_secret}
        found |= {t.token_hash for t in db.session.scalars(select(ApiToken))}
        db.session.remove()
    return found | {u["password"] for u in DEMO_USERS} | {factories.PASSWORD}


def test_the_main_journeys_log_no_personal_data_token_or_password(app, demo, caplog):
    caplog.set_level(logging.DEBUG)
    urls, shown_once = [], set()

    def visit(client, method, url, **kwargs):
        response = client.open(url, method=method, **kwargs)
        response.get_data()
        response.close()
        urls.append(url)
        if "Location" in response.headers:
            urls.append(response.headers["Location"])
        return response

    staff_email = next(u["email"] for u in DEMO_USERS if u["role"] == "staff")
    staff_password = next(u["password"] for u in DEMO_USERS if u["role"] == "staff")
    staff = app.test_client()
    visit(staff, "POST", "/login", data={"email": staff_email, "password": "wrong password, typed fast"})
    visit(staff, "POST", "/login", data={"email": staff_email, "password": staff_password, "remember": "y"})
    for url in ("/", "/mothers/", f"/mothers/{demo['mother']}", "/mothers/export.csv", "/claims/", "/income/",
                "/disbursements/", "/projects/", "/account", "/mothers/NO-SUCH-CODE"):
        visit(staff, "GET", url)
    assert visit(staff, "GET", "/mothers/").status_code == 200
    visit(staff, "POST", "/mothers/find", data={"q": demo["mother_name"]})
    shown = visit(staff, "POST", f"/mothers/{demo['mother']}/personal")
    assert demo["mother_name"].encode() in shown.data  # the journey does handle the data looked for
    if demo["child"]:
        visit(staff, "POST", f"/children/{demo['child']}/personal")
    visit(staff, "POST", "/mothers/export-personal", data={"confirm": "y", "reason": "home visits", "fmt": "csv"})
    # Two-step sign-in: enrol, sign out, sign in with a code, then with a recovery code.
    visit(staff, "POST", "/account/two-factor/start")
    page = visit(staff, "GET", "/account/two-factor")
    key = re.search(rb'<code class="totp-key">([A-Z2-7 ]+)</code>', page.data).group(1).decode().replace(" ", "")
    codes_page = visit(staff, "POST", "/account/two-factor/confirm", data={"code": pyotp.TOTP(key).now()})
    codes = [c.decode() for c in re.findall(rb"<li><code>([a-z0-9-]{11})</code></li>", codes_page.data)]
    assert len(codes) == 10
    shown_once |= set(codes) | {key}
    visit(staff, "POST", "/logout")
    again = app.test_client()
    visit(again, "POST", "/login", data={"email": staff_email, "password": staff_password})
    visit(again, "POST", "/login/code", data={"code": "000000"})
    assert visit(again, "POST", "/login/code", data={"code": codes[0]}).status_code == 302
    new_password = "a brand new staff passphrase"
    visit(again, "POST", "/account/password", data={"current": staff_password, "new": new_password,
                                                     "confirm": new_password})
    shown_once.add(new_password)
    assert any(r.getMessage().startswith("user ") and "signed in" in r.getMessage() for r in caplog.records)

    manager = app.test_client()
    visit(manager, "POST", "/login", data={"email": "manager@example.org",
                                           "password": next(u["password"] for u in DEMO_USERS
                                                            if u["role"] == "manager")})
    for url in ("/review/", "/approvals/", "/approvals/to-pay", "/donors/", "/reports/",
                "/review/export/children.csv"):
        visit(manager, "GET", url)

    admin = app.test_client()
    visit(admin, "POST", "/login", data={"email": "admin@example.org",
                                         "password": next(u["password"] for u in DEMO_USERS if u["role"] == "admin")})
    created = visit(admin, "POST", "/admin/users/new", data={"email": "new@example.org", "name": "New Person",
                                                             "role": "staff", "countries": ["CD"], "donor": "",
                                                             "locale": "en"})
    shown_once.add(re.search(rb'<code class="initial-password">([^<]+)</code>', created.data).group(1).decode())
    for url in ("/admin/users/", "/admin/audit/", "/admin/audit/export.csv", "/rates/"):
        visit(admin, "GET", url)

    # Something to look for in each kind of output, and the outputs themselves.
    needles = {n for n in demo["personal"] | _secrets(app) | shown_once if n and len(n) >= 5}
    assert demo["mother_name"] in needles and key in needles
    logged = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    logged += caplog.text
    assert caplog.records, "the journeys logged nothing at all: the capture is not working"
    leaks = sorted(n for n in needles if n in logged)
    assert leaks == [], f"found in the log: {leaks[:5]}"
    addresses = "\n".join(unquote(u) for u in urls)
    leaks = sorted(n for n in needles if n in addresses)
    assert leaks == [], f"found in a URL: {leaks[:5]}"


def test_the_capture_would_see_a_leak(app, caplog):
    """Control for the test above: a line with a name in it is caught."""
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        logging.getLogger("tracker").debug("careless line about %s", "Amani Mapendo")
    assert "Amani Mapendo" in caplog.text


def test_database_statements_and_their_parameters_are_never_logged():
    # SQLAlchemy would log every parameter (tokens included) at INFO; the tracker never asks it to.
    assert not getattr(ProductionConfig, "SQLALCHEMY_ECHO", False)
    assert not getattr(TestingConfig, "SQLALCHEMY_ECHO", False)
    assert logging.getLogger("sqlalchemy").getEffectiveLevel() >= logging.WARNING


def test_a_database_error_is_logged_without_its_parameters(make_app, caplog):
    """A 500 is logged with its traceback; the failed statement's values (a token here) are not in it."""
    from tracker.auth.permissions import PUBLIC, permission

    quiet = make_app(PROPAGATE_EXCEPTIONS=False)
    with quiet.app_context():
        factories.UserFactory(email="twice@example.org")
        db.session.remove()

    @quiet.route("/throwaway-duplicate")
    @permission(PUBLIC)
    def duplicate():
        db.session.add(User(email="twice@example.org", name="Twice", password_hash="x" * 20, role="staff",
                            session_token="TOKEN-THAT-MUST-NOT-BE-LOGGED"))
        db.session.commit()
        return "unreachable"

    caplog.set_level(logging.DEBUG)
    response = quiet.test_client().get("/throwaway-duplicate")
    assert response.status_code == 500
    assert "IntegrityError" in caplog.text and "Traceback" in caplog.text  # the error is logged...
    assert "test_security_logs.py" in caplog.text  # ...with the code that raised it...
    assert "TOKEN-THAT-MUST-NOT-BE-LOGGED" not in caplog.text  # ...without the values
    assert "twice@example.org" not in caplog.text  # (PostgreSQL names a duplicate key's value)
    assert b"TOKEN-THAT" not in response.data and b"IntegrityError" not in response.data
