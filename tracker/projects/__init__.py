from tracker.projects import routes  # noqa: F401 (attaches the views to bp)
from tracker.projects.blueprint import bp

__all__ = ["bp"]
