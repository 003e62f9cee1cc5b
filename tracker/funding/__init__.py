"""Funding: donors, pledges, contributions, allocations, budgets, exchange rates and the funding engine."""
from tracker.funding import import_kinds, routes_donors, routes_pledges, routes_projects, routes_rates  # noqa: F401 (attaches the views to bp)
from tracker.funding.blueprint import bp

__all__ = ["bp"]
