"""The funding charts of the managers' review and the donor PDF, from the engine's figures.

The geometry is :mod:`tracker.charts`'s; these choose what is drawn: need, allocations and payments per project and
per category, contributions per month. The PDF draws them at :data:`~tracker.charts.PRINT` size (the default), the
review page at :data:`~tracker.charts.SCREEN` size.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from flask_babel import format_date, ngettext
from flask_babel import gettext as _

from tracker.charts import BLUE, ORANGE, PRINT, SKY, Chart, Column, Frame, Group, Row, Series, Sizes, bar_rows, columns
from tracker.countries import country_name
from tracker.formatting import date, format_money, locale_code, number
from tracker.funding.engine import FundingPicture, MonthAmount, ProjectFigures
from tracker.models import CATEGORIES
from tracker.vocab import label

#: The row of the category chart for allocations to projects that have no need in the period.
NOT_TIED = "not_tied"


def _usd(value: Decimal) -> str:
    return format_money(value, "USD", whole=True)


def _exact(value: Decimal) -> str:
    return format_money(value, "USD")


def _unit() -> str:
    return _("US dollars")


def chart_source(as_of: dt.date) -> str:
    """The line at the foot of every funding chart: where its figures come from, and when."""
    return _("Source: the Fund's records, figures as of %(date)s.", date=date(as_of, "d MMMM y"))


def _series() -> tuple[Series, Series, Series]:
    return (Series(_("Need"), *SKY), Series(_("Allocated"), *BLUE), Series(_("Paid in the period"), *ORANGE))


def projects_chart(projects: list[ProjectFigures], titles: dict[int, str], source: str, *,
                   sizes: Sizes = PRINT) -> Chart:
    """Need, allocations and payments of the period for each project, under its country's name (countries in the
    order their first project comes in ``projects``, projects in the order given); each labelled with its title
    from ``titles`` (clipped to fit) and its code. Projects with nothing in the period are counted in a note."""
    shown = [p for p in projects if p.need or p.allocated or p.disbursed]
    countries: dict[str, list[Row]] = {}
    for p in shown:
        title = titles.get(p.id) or p.code
        countries.setdefault(p.country, []).append(
            Row(title, (p.need, p.allocated, p.disbursed), aside=p.code if title != p.code else ""))
    groups = [Group(country_name(code, locale_code()) if code else "", rows) for code, rows in countries.items()]
    hidden = len(projects) - len(shown)
    notes = [ngettext("%(num)s project with no need, allocation or payment in the period is not shown.",
                      "%(num)s projects with no need, allocation or payment in the period are not shown.",
                      hidden)] if hidden else []
    frame = Frame(
        title=_("Need, allocations and payments by project"),
        description=_("For each project, grouped by country: the need of the period, the US dollars allocated to it "
                      "in the period, and the US dollars paid out in the period."),
        unit=_unit(), source=source, notes=notes,
        empty=_("No project has a need, an allocation or a payment in the period."),
    )
    return bar_rows(frame, groups, _series(), _usd, number, _exact, sizes)


def share_by_need(total: Decimal, needs: dict[str, Decimal]) -> dict[str, Decimal]:
    """``total`` shared across the keys of ``needs`` in proportion to their need, in exact cents that add up to it.

    Largest remainder: each share is first rounded down to the cent; the cents left over go one each to the
    shares that lost most in that rounding; between equal remainders, to the category that comes first in
    :data:`~tracker.models.CATEGORIES`. ``needs`` must hold some need above 0.
    """
    cents = int(total * 100)
    weights = {key: int(need * 100) for key, need in needs.items() if need > 0}
    whole = sum(weights.values())
    shares = {key: cents * weight // whole for key, weight in weights.items()}
    left = cents - sum(shares.values())
    order = sorted(weights, key=lambda key: (-(cents * weights[key] % whole), _category_rank(key)))
    for key in order[:left]:
        shares[key] += 1
    return {key: Decimal(share).scaleb(-2) for key, share in shares.items()}


def _category_rank(key: str) -> int:
    return CATEGORIES.index(key) if key in CATEGORIES else len(CATEGORIES)


def allocations_by_category(projects: Iterable[ProjectFigures]) -> dict[str, Decimal]:
    """The projects' allocations of the period shared across categories by need (:func:`share_by_need`, per
    project); a project with allocations but no need puts them under :data:`NOT_TIED`."""
    out: dict[str, Decimal] = {}
    for p in projects:
        if p.allocated <= 0:
            continue
        needs = {c: need for c, (need, _paid) in p.by_category.items() if need > 0}
        shares = share_by_need(p.allocated, needs) if needs else {NOT_TIED: p.allocated}
        for key, share in shares.items():
            out[key] = out.get(key, Decimal("0.00")) + share
    return out


def category_chart(picture: FundingPicture, source: str, *, sizes: Sizes = PRINT) -> Chart:
    """Need, allocations and payments of the period for each category.

    Allocations are made to projects, not to categories, so each project's allocations of the period are shared
    across its categories in proportion to the categories' need, in exact cents, by the largest-remainder method
    (:func:`share_by_need`): a project's shares add up to its allocations exactly, and the chart's allocations to
    the scope's. A project with allocations and no need puts them in a row "Not tied to a category". The chart
    says so in its series' name, in its description and in a note. Categories with nothing are left out.
    """
    allocated = allocations_by_category(picture.projects)
    zero = Decimal("0.00")
    rows = []
    for c in CATEGORIES:
        need, paid = picture.by_category.get(c, (zero, zero))
        values = (need, allocated.get(c, zero), paid)
        if any(values):
            rows.append(Row(str(label(c)), values))
    if allocated.get(NOT_TIED):
        rows.append(Row(_("Not tied to a category"), (zero, allocated[NOT_TIED], zero)))
    need, _allocated, paid = _series()
    frame = Frame(
        title=_("Need, allocations and payments by category"),
        description=_("For each category: the need of the period; the US dollars allocated in the period, shared "
                      "across each project's categories in proportion to their need, since allocations are made to "
                      "projects; and the US dollars paid out in the period. Allocations to a project with no need "
                      "are not tied to a category."),
        unit=_unit(), source=source,
        notes=[_("Allocations are made to projects: each project's allocation is shared across its categories in "
                 "proportion to their need.")],
        empty=_("No category has a need, an allocation or a payment in the period."),
    )
    series = (need, Series(_("Allocated (shared by need)"), *BLUE), paid)
    return bar_rows(frame, [Group("", rows)], series, _usd, number, _exact, sizes)


def months_chart(months: list[MonthAmount], source: str, *, sizes: Sizes = PRINT) -> Chart:
    """US dollars received from donors in each month, every column labelled; the year under each January and
    under the first month."""
    points = [
        Column((format_date(m.month, "LLL"), format_date(m.month, "LLLLL")), m.amount,
               under=str(m.month.year) if i == 0 or m.month.month == 1 else "")
        for i, m in enumerate(months)
    ]
    frame = Frame(
        title=_("Contributions received by month"),
        description=_("US dollars received from donors in each month of the period."),
        unit=_unit(), source=source, across=_("Month received"),
        empty=_("No month in the period."),
    )
    return columns(frame, points, Series(_("Contributions received"), *BLUE), _usd, number, _exact, sizes)
