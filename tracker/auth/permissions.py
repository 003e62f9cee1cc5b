"""Who may use which route.

Every view declares one permission with :func:`permission`; the app checks it
in one place (:func:`enforce`) before any view runs, and a view without a
declaration is refused. Permissions are plain names granted to roles by
``ROLE_PERMISSIONS`` in :mod:`tracker.models.users`, beside ``User.can``.
"""
from __future__ import annotations

from flask import abort, current_app, request
from flask_login import current_user

from tracker.extensions import login_manager
from tracker.models.users import ALL_PERMISSIONS, PUBLIC, SIGNED_IN

#: PUBLIC and SIGNED_IN are named here too: the views declare them beside their other permissions.
__all__ = ["PUBLIC", "SIGNED_IN", "declared_permission", "enforce", "permission"]


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
