"""Who may use which route.

Every view declares one permission with :func:`permission`; the app checks it
in one place (:func:`enforce`) before any view runs, and a view without a
declaration is refused. Permissions are plain names granted to roles here.
"""
from __future__ import annotations

from flask import abort, current_app, request
from flask_login import current_user

from tracker.extensions import login_manager

#: Anyone, signed in or not (sign-in page, report verification, static files).
PUBLIC = "public"
#: Any signed-in user.
SIGNED_IN = "signed_in"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "staff": frozenset({
        "records.view", "records.edit", "personal.show", "records.import", "records.export",
        "disbursements.enter",
    }),
    "manager": frozenset({
        "records.view", "records.edit", "personal.show", "records.import", "records.export",
        "disbursements.enter", "disbursements.approve", "funding.view", "funding.manage",
        "reports.issue", "reports.read",
    }),
    "admin": frozenset({
        "records.view", "records.export", "funding.view", "funding.manage", "reports.read",
        "admin.users", "admin.rates", "admin.audit", "records.import_history",
    }),
    "donor": frozenset({"reports.read"}),
}

ALL_PERMISSIONS = frozenset().union(*ROLE_PERMISSIONS.values()) | {PUBLIC, SIGNED_IN}


def role_has(role: str, name: str) -> bool:
    if name in (PUBLIC, SIGNED_IN):
        return True
    return name in ROLE_PERMISSIONS.get(role, ())


def permission(name: str):
    """Declare the permission a view needs. Put it under ``@bp.route``."""
    if name not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {name!r}")

    def decorate(view):
        view.permission = name
        return view

    return decorate


def declared_permission(endpoint: str) -> str | None:
    if endpoint == "static":
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "permission", None)


def enforce():
    """``before_request``: refuse anything the signed-in user may not use.

    Donors get 404 rather than 403 for what they may not use, so that they
    learn nothing of the records behind a URL. Blueprints that authenticate
    by bearer token (``app.extensions["tracker.bearer_auth"]``: blueprint name
    -> function of the permission that answers a refusal or ``None``) check the
    same permission names against the token's user instead of the session's.
    """
    if request.endpoint is None:
        return None  # no such route: Flask answers 404 (or 405) itself
    needed = declared_permission(request.endpoint)
    if needed is None:
        current_app.logger.error("route %s declares no permission; refused", request.endpoint)
        abort(403)
    if needed == PUBLIC:
        return None
    bearer = current_app.extensions.get("tracker.bearer_auth", {}).get(request.blueprint)
    if bearer is not None:
        # The API (tracker/api): the bearer token's user, never the session's, must hold ``needed``.
        return bearer(needed)
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.can(needed):
        abort(404 if current_user.role == "donor" else 403)
    return None
