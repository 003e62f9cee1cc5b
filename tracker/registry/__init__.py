"""Registry: mothers, children, enrolments, paternity claims and income projects."""
from tracker.registry import import_kinds, routes_children, routes_claims, routes_income, routes_mothers  # noqa: F401 (attaches the views to bp)
from tracker.registry.blueprint import bp

__all__ = ["bp"]
