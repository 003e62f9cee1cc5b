"""Sign-in and sign-out: one generic failure message, audited, safe ``next``, CSRF, dead cookies."""
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests import factories
from tracker.auth.routes import safe_next
from tracker.extensions import db
from tracker.models import AuditEvent, User

EMAIL = "staff.cd@example.org"
FAILED = b"The e-mail or the password is not right."


@pytest.fixture
def user(app):
    with app.app_context():
        factories.UserFactory(email=EMAIL, role="staff", countries=["CD"])


def events(app, action=None):
    with app.app_context():
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        rows = [(e.action, e.entity, e.entity_id, e.user_id, e.changes, e.ip) for e in db.session.scalars(stmt)]
        db.session.remove()
        return rows


def user_row(app, email=EMAIL):
    with app.app_context():
        found = db.session.scalars(select(User).where(User.email == email)).one()
        row = {"id": found.id, "session_token": found.session_token, "failed_logins": found.failed_logins,
               "last_login_at": found.last_login_at}
        db.session.remove()
        return row


def signed_in(client) -> bool:
    response = client.get("/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    return False


# --- signing in ------------------------------------------------------------------------------


def test_right_password_signs_in_and_goes_home(user, client, auth):
    response = auth.login(EMAIL)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/"
    assert signed_in(client)


def test_email_is_matched_whatever_its_case(user, client, auth):
    assert auth.login("  Staff.CD@Example.ORG ").status_code == 302
    assert signed_in(client)


def test_successful_sign_in_is_audited(app, user, auth):
    auth.login(EMAIL)
    me = user_row(app)
    assert events(app, "sign_in") == [("sign_in", "users", str(me["id"]), me["id"], None, "127.0.0.1")]
    assert me["last_login_at"] is not None


def test_wrong_password_is_refused_with_the_generic_message(app, user, client, auth):
    response = auth.login(EMAIL, password="not the password at all")
    assert response.status_code == 200
    assert response.data.count(FAILED) == 1
    assert not signed_in(client)
    me = user_row(app)
    assert me["failed_logins"] == 1
    assert events(app, "sign_in_failed") == [("sign_in_failed", "users", str(me["id"]), me["id"], None, "127.0.0.1")]
    assert events(app, "sign_in") == []


def test_unknown_email_gets_the_same_message_as_a_wrong_password(app, user, client, auth):
    wrong_password = auth.login(EMAIL, password="not the password at all")
    unknown = auth.login("nobody@example.org", password="not the password at all")
    assert unknown.status_code == 200
    assert unknown.data.count(FAILED) == 1

    def flashes(response):
        return re.findall(rb'<p class="flash[^"]*"[^>]*>(.*?)</p>', response.data)

    assert flashes(unknown) == flashes(wrong_password) == [FAILED]
    failed = events(app, "sign_in_failed")
    assert len(failed) == 2
    assert failed[1][:4] == ("sign_in_failed", "users", None, None)


def test_inactive_user_cannot_sign_in(app, client, auth):
    with app.app_context():
        factories.UserFactory(email="gone@example.org", active=False)
    response = auth.login("gone@example.org")
    assert response.status_code == 200
    assert response.data.count(FAILED) == 1
    assert not signed_in(client)
    assert len(events(app, "sign_in_failed")) == 1
    assert events(app, "sign_in") == []


def test_deactivated_user_loses_an_open_session(app, user, client, auth):
    auth.login(EMAIL)
    assert signed_in(client)
    with app.app_context():
        found = db.session.scalars(select(User).where(User.email == EMAIL)).one()
        found.active = False
        db.session.commit()
        db.session.remove()
    assert not signed_in(client)


def test_signed_in_user_visiting_login_goes_home(user, client, auth):
    auth.login(EMAIL)
    response = client.get("/login")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/"


def test_empty_form_is_refused_without_touching_anyone(app, user, client):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 200
    assert not signed_in(client)
    assert [e[0] for e in events(app)] == ["create"]  # the user's own creation, nothing since


# --- next ----------------------------------------------------------------------------------


def test_next_path_on_this_site_is_followed(user, auth):
    response = auth.login(EMAIL, next="/projects/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/projects/"


def test_next_from_the_redirect_to_sign_in_is_carried_through_the_form(user, client):
    to_login = client.get("/projects/?status=active")
    assert to_login.status_code == 302
    form = client.get(to_login.headers["Location"])
    assert b'value="/projects/?status=active"' in form.data
    response = client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD,
                                           "next": "/projects/?status=active"})
    assert response.headers["Location"] == "/projects/?status=active"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "http://localhost.evil.example/",
        "javascript:alert(1)",
        "/\t/evil.example",
        "/\n/evil.example",
        " //evil.example",
        "evil.example",
        "///evil.example",
    ],
)
def test_next_off_this_site_is_refused(user, auth, target):
    response = auth.login(EMAIL, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_safe_next_keeps_query_and_refuses_schemes():
    assert safe_next("/projects/?country=CD") == "/projects/?country=CD"
    assert safe_next("/") == "/"
    assert safe_next(None) is None
    assert safe_next("") is None
    assert safe_next("/%2F%2Fevil.example") == "/%2F%2Fevil.example"  # a path here, not a host


# --- signing out ------------------------------------------------------------------------------


def test_sign_out_is_audited_and_ends_the_session(app, user, client, auth):
    auth.login(EMAIL)
    token_before = user_row(app)["session_token"]
    response = auth.logout()
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert not signed_in(client)
    me = user_row(app)
    assert me["session_token"] != token_before
    assert events(app, "sign_out") == [("sign_out", "users", str(me["id"]), me["id"], None, "127.0.0.1")]


def _cookie_jar(client):
    return [(c.key, c.value, c.domain, c.path) for c in client._cookies.values()]


def _replay(app, jar):
    fresh = app.test_client()
    for key, value, domain, path in jar:
        fresh.set_cookie(key, value, domain=domain, path=path)
    return fresh


def test_replaying_the_cookie_works_while_signed_in(app, user, client, auth):
    """Control for the test below: the replay itself carries the session."""
    auth.login(EMAIL)
    assert signed_in(_replay(app, _cookie_jar(client)))


def test_old_session_cookie_gives_no_access_after_sign_out(app, user, client, auth):
    auth.login(EMAIL)
    jar = _cookie_jar(client)
    assert any(key == "session" for key, *_ in jar)
    auth.logout()
    replayed = _replay(app, jar)
    assert not signed_in(replayed)
    assert replayed.get("/projects/").status_code == 302


def test_remember_me_cookie_dies_with_sign_out(app, user, client, auth):
    auth.login(EMAIL, remember="y")
    jar = _cookie_jar(client)
    assert any(key == "remember_token" for key, *_ in jar)
    auth.logout()
    remember_only = [c for c in jar if c[0] == "remember_token"]
    assert not signed_in(_replay(app, remember_only))
    assert not signed_in(_replay(app, jar))


def test_sign_out_ends_the_other_sessions_of_the_user(app, user, auth):
    laptop = app.test_client()
    phone = app.test_client()
    for device in (laptop, phone):
        device.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    assert signed_in(laptop) and signed_in(phone)
    phone.post("/logout")
    assert not signed_in(laptop)


# --- CSRF ------------------------------------------------------------------------------------


def _csrf_token(client, path="/login") -> str:
    page = client.get(path)
    match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page.data) or re.search(
        rb'name="csrf_token" value="([^"]+)"', page.data
    )
    assert match, "no CSRF token on the page"
    return match.group(1).decode()


def test_sign_in_without_csrf_token_is_refused(make_app, user):
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    response = client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    assert response.status_code == 400
    assert not signed_in(client)


def test_sign_in_with_csrf_token_is_accepted(make_app, user):
    """Control for the test above: the 400 is the missing token, not the form."""
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    token = _csrf_token(client)
    response = client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert signed_in(client)


def test_sign_out_without_csrf_token_is_refused(make_app, user):
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    client.post("/login", data={"email": EMAIL, "password": factories.PASSWORD, "csrf_token": _csrf_token(client)})
    assert client.post("/logout").status_code == 400
    assert signed_in(client)
    # The sign-out button of the page carries its token and works.
    assert client.post("/logout", data={"csrf_token": _csrf_token(client, "/")}).status_code == 302
    assert not signed_in(client)
