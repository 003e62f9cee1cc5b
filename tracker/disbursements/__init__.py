"""Disbursements: entry (one, a whole term, a spreadsheet), approval and payment."""
from flask import Blueprint

bp = Blueprint("disbursements", __name__)

from tracker.disbursements import import_kind, routes_approvals, routes_entry, routes_list  # noqa: E402,F401
