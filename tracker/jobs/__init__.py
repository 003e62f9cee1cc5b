"""Long work as jobs (DESIGN section 5): report rendering now; one API whether RQ or a thread runs them."""
from tracker.jobs import routes  # noqa: F401 (attaches the views to bp)
from tracker.jobs.blueprint import bp

__all__ = ["bp"]
