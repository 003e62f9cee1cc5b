"""The managers' underfunding review."""
from tracker.dashboard import routes  # noqa: F401 (attaches the views to bp)
from tracker.dashboard.blueprint import bp

__all__ = ["bp"]
