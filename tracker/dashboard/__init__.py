"""The managers' underfunding review."""
from tracker.dashboard import routes, routes_plan  # noqa: F401 (attaches the views to bp)
from tracker.dashboard.blueprint import bp

__all__ = ["bp"]
