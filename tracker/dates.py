"""Calendar arithmetic shared by the registry, the funding engine and the demo."""
from __future__ import annotations

import calendar
import datetime as dt

from flask import current_app

from tracker.models.base import today

__all__ = ["academic_year_of", "add_months", "current_academic_year"]


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole months (back when negative), on the same day of the month or, when that
    month is shorter, on its last day: 31 January + 1 month is 28 (or 29) February."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def academic_year_of(day: dt.date, start_month: int | None = None) -> str:
    """The academic year holding ``day``: ``2025-2026`` from September 2025 to August 2026 (with the
    configured ``ACADEMIC_YEAR_START_MONTH`` of 9)."""
    start_month = start_month or current_app.config["ACADEMIC_YEAR_START_MONTH"]
    first = day.year if day.month >= start_month else day.year - 1
    return f"{first}-{first + 1}"


def current_academic_year() -> str:
    return academic_year_of(today())
