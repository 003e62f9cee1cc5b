from tracker.main import routes  # noqa: F401 (attaches the views to bp)
from tracker.main.blueprint import bp

__all__ = ["bp"]
