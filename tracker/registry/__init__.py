"""Registry: mothers, children, enrolments, paternity claims and income projects."""
from tracker.registry import (  # noqa: F401 (attaches the views to bp)
    import_kinds,
    routes_children,
    routes_claims,
    routes_claims_dashboard,
    routes_income,
    routes_mothers,
)
from tracker.registry.blueprint import bp

__all__ = ["bp"]
