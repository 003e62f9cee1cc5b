"""Administration: users, their roles, countries and second factor; the audit log."""
from tracker.admin import routes_audit, routes_users  # noqa: F401 (attaches the views to bp)
from tracker.admin.blueprint import bp

__all__ = ["bp"]
