"""Registry: mothers, children, enrolments, paternity claims and income projects."""
from flask import Blueprint

bp = Blueprint("registry", __name__)

from tracker.registry import (  # noqa: E402,F401
    import_kinds,
    routes_children,
    routes_claims,
    routes_income,
    routes_mothers,
)
