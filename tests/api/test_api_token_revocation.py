"""API tokens end with the credentials they were made under (issue 14, point 4).

A password change, an admin's password reset, a second-factor reset and
disabling the user revoke every live token of the user; enabling the user again
brings none back; each revoked token is audited.
"""
from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from sqlalchemy import select

from tests import factories
from tracker.auth import two_factor
from tracker.auth.tokens import create_token
from tracker.extensions import db
from tracker.models import ApiToken, AuditEvent, User

EMAIL = "script.owner@example.org"
NEW_PASSWORD = "a brand new and long passphrase"


@pytest.fixture
def owner(app):
    """A staff user of CD with a second factor, a 365-day token, a second live token and an expired one."""
    with app.app_context():
        factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        user = factories.UserFactory(email=EMAIL, role="staff", countries=["CD"])
        two_factor.start_enrolment(user)
        user.totp_enabled_at = dt.datetime.now(dt.UTC)
        main = create_token(user=user, name="nightly export", days=365)
        spare = create_token(user=user, name="spare", days=30)
        expired = create_token(user=user, name="old", days=30)
        db.session.get(ApiToken, expired.id).expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        other = factories.UserFactory(email="someone.else@example.org", role="staff", countries=["CD"])
        bystander = create_token(user=other, name="theirs", days=365)
        db.session.commit()
        out = {"id": user.id, "token": main.token, "token_id": main.id, "spare_id": spare.id,
               "expired_id": expired.id, "bystander": bystander.token, "secret": user.totp_secret}
        db.session.remove()
        return out


def reads(client, token) -> int:
    return client.get("/api/v1/disbursements", headers={"Authorization": f"Bearer {token}"}).status_code


def change_own_password(app, owner, sign_in):
    me = app.test_client()
    me.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    response = me.post("/login/code", data={"code": pyotp.TOTP(owner["secret"]).now()})
    assert response.status_code == 302
    response = me.post("/account/password", data={"current": factories.PASSWORD, "new": NEW_PASSWORD,
                                                   "confirm": NEW_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def admin_action(path):
    def act(app, owner, sign_in):
        admin = sign_in(role="admin", email="the.admin@example.org")
        assert admin.post(f"/admin/users/{owner['id']}/{path}").status_code in (200, 302)
    return act


ACTIONS = {
    "password_changed": change_own_password,
    "password_reset": admin_action("reset-password"),
    "two_factor_reset": admin_action("reset-two-factor"),
    "user_disabled": admin_action("disable"),
}


@pytest.mark.parametrize("reason", list(ACTIONS))
def test_the_action_revokes_every_live_token_of_the_user_and_audits_each(app, client, owner, sign_in, reason):
    assert reads(client, owner["token"]) == 200
    ACTIONS[reason](app, owner, sign_in)
    assert reads(client, owner["token"]) == 401
    assert reads(client, owner["bystander"]) == 200  # another user's token is untouched
    with app.app_context():
        tokens = {t.id: t for t in db.session.scalars(select(ApiToken).where(ApiToken.user_id == owner["id"]))}
        assert tokens[owner["token_id"]].revoked_at is not None
        assert tokens[owner["spare_id"]].revoked_at is not None
        assert tokens[owner["expired_id"]].revoked_at is None  # expired already: nothing to revoke
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "api_token_revoked")
                                    .order_by(AuditEvent.entity_id)).all()
        actor = owner["id"] if reason == "password_changed" else db.session.scalar(
            select(User.id).where(User.email == "the.admin@example.org"))
        assert [(e.entity, e.entity_id, e.user_id, e.changes) for e in events] == [
            ("api_tokens", str(token_id), actor,
             {"prefix": tokens[token_id].prefix, "owner": owner["id"], "reason": reason})
            for token_id in sorted((owner["token_id"], owner["spare_id"]))
        ]
        db.session.remove()


def test_a_revoked_token_stays_revoked_when_the_user_is_enabled_again(app, client, owner, sign_in):
    admin = sign_in(role="admin", email="the.admin@example.org")
    assert reads(client, owner["token"]) == 200
    admin.post(f"/admin/users/{owner['id']}/disable")
    assert reads(client, owner["token"]) == 401
    admin.post(f"/admin/users/{owner['id']}/enable")
    response = client.get("/api/v1/disbursements", headers={"Authorization": f"Bearer {owner['token']}"})
    assert response.status_code == 401
    assert "revoked" in response.get_json(force=True)["detail"]
    # Disabling again finds nothing left to revoke: no second event for the same token.
    admin.post(f"/admin/users/{owner['id']}/disable")
    with app.app_context():
        revoked = db.session.scalars(select(AuditEvent.entity_id)
                                     .where(AuditEvent.action == "api_token_revoked")).all()
        db.session.remove()
    assert sorted(revoked) == sorted([str(owner["token_id"]), str(owner["spare_id"])])


def test_a_token_made_after_the_password_change_works(app, client, owner, sign_in):
    change_own_password(app, owner, sign_in)
    with app.app_context():
        fresh = create_token(user=db.session.get(User, owner["id"]), name="new one", days=365)
        db.session.commit()
        db.session.remove()
    assert reads(client, owner["token"]) == 401
    assert reads(client, fresh.token) == 200


def test_a_wrong_current_password_revokes_nothing(app, client, owner):
    me = app.test_client()
    me.post("/login", data={"email": EMAIL, "password": factories.PASSWORD})
    me.post("/login/code", data={"code": pyotp.TOTP(owner["secret"]).now()})
    response = me.post("/account/password", data={"current": "not the password at all", "new": NEW_PASSWORD,
                                                   "confirm": NEW_PASSWORD})
    assert response.status_code == 200
    assert reads(client, owner["token"]) == 200
