"""Funding: donors, pledges, contributions, allocations, budgets, exchange rates and the funding engine."""
from flask import Blueprint

bp = Blueprint("funding", __name__)

from tracker.funding import (  # noqa: E402,F401
    import_kinds,
    routes_donors,
    routes_pledges,
    routes_projects,
    routes_rates,
)
