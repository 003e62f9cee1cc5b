"""The claims dashboard's chart: open claims by step at each month's end (tracker/charts.py draws it)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import format_date
from flask_babel import gettext as _

from tracker.charts import (
    BLACK,
    BLUE,
    GREEN,
    ORANGE,
    PURPLE,
    SCREEN,
    SKY,
    YELLOW,
    Chart,
    Frame,
    Series,
    Sizes,
    Stack,
    stacked_columns,
)
from tracker.formatting import date, number
from tracker.registry.claim_figures import OPEN_STEPS
from tracker.vocab import label

#: One Okabe–Ito colour per open step, in path order; neighbours in a stack stand apart.
STEP_COLOURS = dict(zip(OPEN_STEPS, (SKY, ORANGE, BLUE, YELLOW, GREEN, PURPLE, BLACK), strict=True))


def open_by_step_chart(months: list[tuple[dt.date, dict[str, int]]], to: dt.date, *,
                       sizes: Sizes = SCREEN) -> Chart:
    """A column per month end of :func:`~tracker.registry.claim_figures.open_by_step_over_time`, stacked by the
    step the open claims were at (received at the bottom), its total above it; the year under each January, and
    under the first month unless a January follows it at once (two years side by side would run into each
    other)."""
    series = [Series(label(step), *STEP_COLOURS[step]) for step in OPEN_STEPS]
    points = [
        Stack((format_date(day, "LLL"), format_date(day, "LLLLL")),
              [Decimal(counts[step]) for step in OPEN_STEPS],
              under=str(day.year) if day.month == 1 or (i == 0 and day.month != 12) else "")
        for i, (day, counts) in enumerate(months)
    ]
    empty = not any(any(counts.values()) for _day, counts in months)
    frame = Frame(
        title=_("Open claims by step, at each month's end"),
        description=_("For each of the last twelve months, the paternity claims open on its last day, stacked by "
                      "the step each claim was at; the last column is as of %(date)s.", date=date(to, "d MMMM y")),
        unit=_("Claims"),
        source=_("Source: the Fund's records, figures as of %(date)s.", date=date(to, "d MMMM y")),
        notes=[_("The last column is the month so far, as of %(date)s.", date=date(to, "d MMMM y"))],
        across=_("Month end"),
        empty=_("No claim was open at any of these month ends."),
    )
    return stacked_columns(frame, [] if empty else points, series, number, number, number, sizes)
