"""Sessions: who is signed in, since when, and how every session of a user ends at once.

The Flask-Login id of a session is ``<user id>.<session token>.<signed in>.<last seen>``
(times in whole seconds since the epoch). It lives in the signed session
cookie and, with "keep me signed in", in the signed remember-me cookie, which
Flask-Login writes from the same value. On every request :func:`load_user`
checks it against the user's current ``session_token`` (replacing the token
ends every session, remember-me cookies included) and against the idle
(``SESSION_IDLE_TIMEOUT``) and absolute (``SESSION_ABSOLUTE_TIMEOUT``)
limits, on the controllable clock :func:`tracker.models.base.now_utc`.
:func:`touch` moves "last seen" forward after each request.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import current_app, flash, g, session
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from tracker.extensions import db
from tracker.models import User
from tracker.models.base import now_utc

#: "Last seen" is rewritten at most this often (seconds), not on every request.
TOUCH_EVERY = 30


@dataclass(frozen=True)
class SessionId:
    user_id: int
    token: str
    signed_in: int
    last_seen: int

    def __str__(self) -> str:
        return f"{self.user_id}.{self.token}.{self.signed_in}.{self.last_seen}"

    @classmethod
    def parse(cls, value: str | None) -> SessionId | None:
        parts = (value or "").split(".")
        if len(parts) != 4 or not all(parts) or not (parts[0].isdigit() and parts[2].isdigit() and parts[3].isdigit()):
            return None
        return cls(int(parts[0]), parts[1], int(parts[2]), int(parts[3]))


def _now() -> int:
    return int(now_utc().timestamp())


def expired(sid: SessionId, now: int | None = None) -> bool:
    now = _now() if now is None else now
    config = current_app.config
    return (
        now - sid.signed_in >= config["SESSION_ABSOLUTE_TIMEOUT"].total_seconds()
        or now - sid.last_seen >= config["SESSION_IDLE_TIMEOUT"].total_seconds()
        or sid.signed_in > now + 60  # from the future: not ours
    )


def load_user(value: str) -> User | None:
    """Flask-Login's user loader, for the session and the remember-me cookie alike."""
    sid = SessionId.parse(value)
    if sid is None:
        return None
    if expired(sid):
        if not g.get("session_expired"):
            g.session_expired = True
            flash(_("Your session has ended. Please sign in again."), "info")
        return None
    user = db.session.get(User, sid.user_id)
    if user is None or not user.active or not hmac.compare_digest(user.session_token.encode(), sid.token.encode()):
        return None
    g.session_id = sid
    return user


def start(user: User, *, remember: bool = False) -> None:
    """Sign ``user`` in on a new session: nothing of the session before sign-in is kept."""
    session.clear()
    login_user(user, remember=remember)
    now = _now()
    session["_user_id"] = str(SessionId(user.id, user.session_token, now, now))
    if remember:
        session["remember"] = True


def reissue(user: User) -> None:
    """Carry the current session over to the user's new token (after they changed their password)."""
    sid = g.get("session_id")
    signed_in = sid.signed_in if sid else _now()
    session["_user_id"] = str(SessionId(user.id, user.session_token, signed_in, _now()))
    g.session_id = SessionId.parse(session["_user_id"])
    if session.get("remember"):
        session["_remember"] = "set"


def end() -> None:
    """Forget the session in this browser (the caller replaces the token to end the others)."""
    session.clear()
    logout_user()  # also deletes the remember-me cookie


def touch(response):
    """``after_request``: move "last seen" forward; the remember-me cookie follows."""
    sid = g.get("session_id")
    if g.get("session_expired") and not sid:
        session.pop("_user_id", None)
        session.pop("remember", None)
        session["_remember"] = "clear"
        return response
    if sid is None or session.get("_user_id") != str(sid):
        return response  # signed out, or re-issued during the request
    now = _now()
    if now - sid.last_seen >= TOUCH_EVERY:
        session["_user_id"] = str(SessionId(sid.user_id, sid.token, sid.signed_in, now))
        if session.get("remember"):
            session["_remember"] = "set"
    return response
