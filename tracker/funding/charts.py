"""The funding charts of the managers' review and the donor PDF, from the engine's figures.

The geometry is :mod:`tracker.charts`'s; these choose what is drawn: need beside allocations per project, need
beside spending per category, contributions per month.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from tracker.charts import Chart, bar_rows, columns
from tracker.formatting import format_money
from tracker.funding.engine import FundingPicture, MonthAmount, ProjectFigures
from tracker.vocab import label


def _usd(value: Decimal) -> str:
    return format_money(value, "USD")


def need_vs_allocated(projects: list[ProjectFigures]) -> Chart:
    return bar_rows(
        str(_l("Need and allocations by project")),
        str(_l("For each project, the need of the period beside the US dollars allocated to it.")),
        [(p.code, [p.need, p.allocated]) for p in projects],
        [(str(_l("Need")), "s1"), (str(_l("Allocated")), "s2")], _usd,
    )


def category_chart(picture: FundingPicture) -> Chart:
    rows = [(label(c), [need, spent]) for c, (need, spent) in picture.by_category.items() if need or spent]
    return bar_rows(
        str(_l("Need and spending by category")),
        str(_l("For each category, the need of the period beside what was paid; "
               "the difference is what is not yet met.")),
        rows, [(str(_l("Need")), "s1"), (str(_l("Paid")), "s2")], _usd, label_width=230,
    )


def months_chart(months: list[MonthAmount]) -> Chart:
    return columns(
        str(_l("Contributions received by month")),
        str(_l("US dollars received from donors in each month of the period.")),
        [(format_date(m.month, "MMM yy"), m.amount) for m in months], _usd, css="s2",
    )
