"""Donor funding-gap reports: preview, issue, archive, download and public verification."""
from tracker.reports import routes  # noqa: F401 (attaches the views to bp)
from tracker.reports.blueprint import bp

__all__ = ["bp"]
