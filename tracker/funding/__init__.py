"""Funding: donors, pledges, contributions, allocations, budgets, exchange rates and the funding engine."""
from flask import Blueprint

bp = Blueprint("funding", __name__)

from tracker.funding import import_kinds, routes_funding, routes_rates  # noqa: E402,F401
