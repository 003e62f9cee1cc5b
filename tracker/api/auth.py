"""Bearer-token authentication of the API, run by :func:`tracker.auth.permissions.enforce`.

The API never reads the session cookie: a request is the token's user's, or
nobody's (401). The token's user then needs the permission the route declares,
exactly as on the web (403 otherwise), and the country scope applied to every
query is the user's (tracker/auth/scope.py).
"""
from __future__ import annotations

from flask import current_app, g, request
from flask_limiter.util import get_remote_address

from tracker import audit
from tracker.api.problems import problem
from tracker.auth.tokens import find_token, mark_used
from tracker.extensions import db

CHALLENGE = 'Bearer realm="tracker API"'


def _unauthorized(detail: str, error: str = "invalid_token"):
    header = CHALLENGE if error == "" else f'{CHALLENGE}, error="{error}"'
    return problem(401, detail, headers={"WWW-Authenticate": header})


def authenticate(needed: str):
    """Authenticate the request by its bearer token and check ``needed``; a response refuses it."""
    header = request.headers.get("Authorization", "")
    if not header:
        return _unauthorized("send your API token in the Authorization header: 'Authorization: Bearer <token>' "
                             "(a session cookie does not sign in to the API)", "")
    scheme, _sep, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return _unauthorized("the Authorization header must be 'Bearer <token>'", "invalid_request")
    record, why = find_token(token)
    if why:
        return _unauthorized(f"{why}; make a new one on your account page")
    user = record.user
    # The token's user is the current user of this request (never written to the session), so that
    # the scope and audit helpers that read current_user see them.
    g._login_user = user
    g.api_token = record
    g.audit_actor = (user.id, request.remote_addr)
    if not user.can(needed):
        db.session.rollback()
        return problem(403, f"a {user.role}'s token may not read {request.path}")
    mark_used(record)
    audit.record(db.session, "api_request", entity="api", entity_id=request.url_rule.rule[:60],
                 changes={"token": record.prefix, "endpoint": request.endpoint})
    db.session.commit()
    return None


def rate_limit_key() -> str:
    """Each token has its own allowance (keyed by its hash, never the token); the public document by address."""
    record = g.get("api_token")
    return f"token:{record.token_hash}" if record is not None else f"ip:{get_remote_address()}"


def rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]
