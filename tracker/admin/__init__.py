"""Administration: users, their roles, countries and second factor; the audit log."""
from flask import Blueprint

bp = Blueprint("admin", __name__)

from tracker.admin import routes_audit, routes_users  # noqa: E402,F401
