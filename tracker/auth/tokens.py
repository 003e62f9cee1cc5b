"""Personal API tokens: made and revoked by their owner, stored only as their SHA-256.

A token is ``tft_`` and 43 URL-safe characters (256 random bits). Its owner
sees it once, on the page that answers the form that made it; the database
keeps its SHA-256 and its first characters (the prefix) so the owner can tell
tokens apart. A token acts with its user's role and countries, as they are at
each request. A password change or reset, a second-factor reset and disabling
the user revoke all of the user's tokens (:func:`revoke_all_tokens`).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from tracker import audit
from tracker.extensions import db
from tracker.models import User
from tracker.models.base import now_utc
from tracker.models.security import ApiToken

TOKEN_MARK = "tft_"
PREFIX_LENGTH = 12
#: The lifetimes a user can choose, in days.
LIFETIMES = (30, 90, 365)
#: "Last used" is written at most this often, not on every request.
TOUCH_EVERY = dt.timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewToken:
    """The one time the token itself exists outside its holder's hands."""

    id: int
    name: str
    token: str
    prefix: str
    expires_at: dt.datetime


def create_token(*, user: User, name: str, days: int) -> NewToken:
    """Make a token for ``user``; returns it in clear, once. The caller commits."""
    if days not in LIFETIMES:
        raise ValueError(f"a token lives {', '.join(map(str, LIFETIMES))} days")
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("a token needs a name of 1 to 100 characters")
    token = TOKEN_MARK + secrets.token_urlsafe(32)
    now = now_utc()
    record = ApiToken(user_id=user.id, name=name, prefix=token[:PREFIX_LENGTH], token_hash=token_hash(token),
                      created_at=now, expires_at=now + dt.timedelta(days=days))
    db.session.add(record)
    db.session.flush()
    audit.record(db.session, "api_token_created", entity="api_tokens", entity_id=record.id,
                 changes={"prefix": record.prefix, "name": name, "days": days}, user_id=user.id)
    return NewToken(record.id, name, token, record.prefix, record.expires_at)


def revoke_token(*, user: User, token_id: int) -> ApiToken | None:
    """Revoke one of ``user``'s own tokens; ``None`` when they have no such live token. The caller commits."""
    record = db.session.scalars(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id,
                                                       ApiToken.revoked_at.is_(None))).one_or_none()
    if record is None:
        return None
    record.revoked_at = now_utc()
    audit.record(db.session, "api_token_revoked", entity="api_tokens", entity_id=record.id,
                 changes={"prefix": record.prefix}, user_id=user.id)
    return record


#: Why :func:`revoke_all_tokens` revoked a user's tokens (the ``reason`` of each audit event).
REVOKE_REASONS = ("password_changed", "password_reset", "two_factor_reset", "user_disabled")


def revoke_all_tokens(*, user: User, reason: str) -> int:
    """Revoke every live token of ``user`` because who may use the account changed; returns how many.

    Called on a password change or reset, a second-factor reset and when the
    user is disabled: whoever held the old password, phone or account may
    have made a token, and a token outlives sessions. A revoked token stays
    revoked (enabling the user again brings none back). Expired tokens are left
    as they are: they can never work again anyway.

    One ``api_token_revoked`` event per token, as when its owner revokes it, so
    that a token's whole life (made, used, revoked) reads under its id and
    prefix, with the reason; a user holds a handful of tokens at most. The
    events are the acting user's (the admin, or the user changing their own
    password). One guarded UPDATE: a token revoked meanwhile by its owner is not
    revoked (nor audited) twice. The caller commits.
    """
    if reason not in REVOKE_REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    now = now_utc()
    revoked = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None),
               or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > now))
        .values(revoked_at=now)
        .returning(ApiToken.id, ApiToken.prefix)
        .execution_options(synchronize_session=False)
    ).all()
    for token_id, prefix in sorted(revoked):
        audit.record(db.session, "api_token_revoked", entity="api_tokens", entity_id=token_id,
                     changes={"prefix": prefix, "owner": user.id, "reason": reason})
    if revoked:
        # Token objects already in the session would otherwise still look live.
        for record in db.session.identity_map.values():
            if isinstance(record, ApiToken) and record.user_id == user.id:
                db.session.expire(record, ["revoked_at"])
    return len(revoked)


def user_tokens(user: User) -> list[ApiToken]:
    """The user's tokens, live ones first, newest first."""
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())
    ))


def token_state(record: ApiToken, now: dt.datetime | None = None) -> str:
    now = now or now_utc()
    if record.revoked_at is not None:
        return "revoked"
    if record.expires_at is not None and record.expires_at <= now:
        return "expired"
    return "active"


def find_token(token: str) -> tuple[ApiToken | None, str]:
    """The token's record and why it cannot be used (``""`` when it can)."""
    if not token.startswith(TOKEN_MARK) or len(token) > 200:
        return None, "the token is malformed"
    digest = token_hash(token)
    record = db.session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).one_or_none()
    if record is None or not hmac.compare_digest(record.token_hash, digest):
        return None, "the token is unknown"
    state = token_state(record)
    if state != "active":
        return record, f"the token is {state}"
    if not record.user.active:
        return record, "the token's user is disabled"
    return record, ""


def mark_used(record: ApiToken) -> None:
    """Write "last used" (through a plain UPDATE: it is bookkeeping, not an audited change)."""
    now = now_utc()
    if record.last_used_at is None or now - record.last_used_at >= TOUCH_EVERY:
        db.session.execute(update(ApiToken).where(ApiToken.id == record.id).values(last_used_at=now)
                           .execution_options(synchronize_session=False))
        set_committed_value(record, "last_used_at", now)
