"""Data of the underfunding review: the engine's picture, sorted and charted, as plain data."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from tracker.charts import SCREEN, Chart
from tracker.funding.charts import category_chart, chart_source, months_chart, projects_chart
from tracker.funding.engine import (
    FundingPicture,
    MonthAmount,
    ProjectFigures,
    contributions_by_month,
    funding_picture,
)
from tracker.funding.pledges import PledgePosition
from tracker.funding.waterfall import Waterfall, waterfall

#: Sort keys of the project table; the first is the default (worst first: largest gap).
SORTS = {
    "gap": (lambda p: -p.gap, _l("Largest gap first")),
    "coverage": (lambda p: (p.coverage is None, p.coverage or 0), _l("Lowest coverage first")),
    "runway": (lambda p: (p.runway_months is None, p.runway_months or 0, -p.overcommitted),
               _l("Shortest runway first")),
    "at_risk": (lambda p: -p.children_at_risk, _l("Most children at risk first")),
    "balance": (lambda p: p.balance, _l("Smallest balance first")),
    "code": (lambda p: p.code, _l("By code")),
}


@dataclass
class Review:
    picture: FundingPicture
    projects: list[ProjectFigures]
    #: Pledges still owing something as of ``to``, oldest first.
    pledges: list[PledgePosition]
    months: list[MonthAmount]
    waterfall: Waterfall
    chart_projects: Chart
    chart_categories: Chart
    chart_months: Chart


def build_review(*, scope: str, date_from: dt.date | None, date_to: dt.date | None, countries, sort: str) -> Review:
    picture = funding_picture(scope=scope, date_from=date_from, date_to=date_to, countries=countries)
    key = SORTS.get(sort, SORTS["gap"])[0]
    projects = sorted(picture.projects, key=key)
    months = contributions_by_month(picture.date_from, picture.date_to)
    source = chart_source(picture.as_of)
    return Review(
        picture=picture,
        projects=projects,
        pledges=picture.outstanding,
        months=months,
        waterfall=waterfall(picture),
        chart_projects=projects_chart(projects, {p.id: p.title for p in projects}, source, sizes=SCREEN),
        chart_categories=category_chart(picture, source, sizes=SCREEN),
        chart_months=months_chart(months, source, sizes=SCREEN),
    )
