"""Disbursements: entry (one, a whole term, a spreadsheet), approval and payment."""
from tracker.disbursements import import_kind, routes_approvals, routes_correct, routes_entry, routes_list  # noqa: F401 (attaches the views to bp)
from tracker.disbursements.blueprint import bp

__all__ = ["bp"]
