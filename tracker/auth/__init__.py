from tracker.auth import routes  # noqa: F401 (attaches the views to bp)
from tracker.auth.blueprint import bp

__all__ = ["bp"]
