"""Everything a donor report shows, assembled as plain data before any template runs (DESIGN section 4).

Figures come only from the funding engine. Counts of people come from
aggregate queries over beneficiaries who consented to be counted in reports
(:mod:`tracker.reports.results`) and go through small-cell suppression before
anything else sees them. No name, code, date of birth or other field of one
person ever enters this data. Names of countries, donors and projects are in
the report's language.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, or_, select

from tracker.countries import country_name
from tracker.extensions import db
from tracker.formatting import format_dollars, number, percent
from tracker.funding.charts import category_chart, chart_source, months_chart, projects_chart
from tracker.funding.engine import (
    ZERO,
    Figures,
    FundingPicture,
    ProjectFigures,
    contributions_by_month,
    funding_picture,
    parse_scope,
)
from tracker.funding.waterfall import Waterfall, waterfall
from tracker.models import Contribution, Disbursement, Donor, Partner, Pledge, Project
from tracker.registry.claim_figures import OPEN_STEPS, OUTCOMES, TRANSITIONS, transition_key
from tracker.registry.claim_public import UnprotectableError, public_summary
from tracker.reports.results import ResultTable, result_tables
from tracker.reports.suppression import UnprotectableTableError, suppress
from tracker.vocab import label

#: Longest text taken from the database into a report (titles, names of partners and donors).
MAX_TEXT = 300


def clip(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


@dataclass(frozen=True)
class ProjectRow:
    code: str
    title: str
    partner: str
    figures: ProjectFigures


@dataclass(frozen=True)
class ReachLine:
    label: str
    #: The count as published (``"58"``, ``"<10"``, ``"x"``).
    value: str


@dataclass
class CountryPage:
    code: str
    name: str
    figures: Figures
    #: Projects with something in the period, one row each; the others in a short table of their own.
    active: list[ProjectRow]
    inactive: list[ProjectRow]
    reach: list[ReachLine] = field(default_factory=list)
    #: The published count of its children at risk of missing next term (``None``: not publishable).
    children_at_risk: str | None = None


@dataclass(frozen=True)
class Ask:
    """The report's first page: what the gap means for children, and what is still to find."""

    #: The sentence tying the gap to children, then the one saying how the gap comes down.
    sentence: str
    cover: str
    #: Four headline figures, rounded to the dollar: (label, amount, note).
    headline: list[tuple[str, Decimal, str]]


@dataclass(frozen=True)
class DonorLine:
    name: str
    kind: str
    received: Decimal


@dataclass(frozen=True)
class PledgeLine:
    reference: str
    pledged_on: dt.date
    amount: Decimal
    currency: str
    usd: Decimal
    received: Decimal
    received_usd: Decimal
    #: Still owed as of ``to``, in the pledge's currency and in USD at its rate.
    remaining: Decimal
    outstanding: Decimal
    earmark: str


@dataclass(frozen=True)
class ContributionLine:
    reference: str
    received_on: dt.date
    amount: Decimal
    currency: str
    usd: Decimal
    pledge: str


@dataclass
class Addressee:
    name: str
    pledges: list[PledgeLine]
    contributions: list[ContributionLine]
    #: Received from the donor in the period (USD), and what its pledges still owe as of ``to``.
    received: Decimal
    outstanding: Decimal
    #: What the projects their earmarked money went to paid in the period, by category (USD).
    earmarked_spending: list[tuple[str, Decimal]]


@dataclass(frozen=True)
class ClaimsSection:
    """The Fund's public paternity claims figures (every country, whatever the report's scope), as of ``to``.

    Counts are as published (``"216"``, ``"<10"``, ``"x"``); nothing in it is about one claim.
    """

    to: dt.date
    stalled_days: int
    #: "216 claims received; 150 open, of which 42 stalled: no step for more than 90 days."
    sentence: str
    #: Open claims by current step: (step label, open, of which stalled), in path order.
    by_step: list[tuple[str, str, str]]
    #: All open claims, and all stalled ones.
    open: str
    stalled: str
    #: Claims that reached each outcome: (label, count).
    outcomes: list[tuple[str, str]]
    #: Median days of each transition: (from label, to label, "34.0" or ``None`` where it rests on too few claims).
    medians: list[tuple[str, str, str | None]]


@dataclass
class ReportData:
    lang: str
    scope: str
    scope_label: str
    picture: FundingPicture
    ask: Ask
    countries: list[CountryPage]
    results: list[ResultTable]
    donors: list[DonorLine]
    addressee: Addressee | None
    min_cell: int
    charts: dict = field(default_factory=dict)
    waterfall: Waterfall | None = None
    number: str | None = None
    verify_url: str | None = None
    #: The published count of the scope's children at risk of missing next term (``None``: not publishable).
    children_at_risk: str | None = None
    #: The Fund's public claims figures (``None``: no suppression could protect them, so not published).
    claims: ClaimsSection | None = None

    @property
    def merged(self) -> bool:
        """True when some table of results had its categories or rows merged."""
        return any(t.merged for t in self.results)

    @property
    def received_in_period(self) -> Decimal:
        return sum((d.received for d in self.donors), ZERO)


def build_report(*, scope: str, date_from: dt.date | None, date_to: dt.date | None, lang: str,
                 donor: Donor | None = None, number: str | None = None, verify_url: str | None = None) -> ReportData:
    """Assemble a report's data (call inside ``force_locale(lang)`` so labels are in its language)."""
    picture = funding_picture(scope=scope, date_from=date_from, date_to=date_to, with_children=False)
    kind, value = parse_scope(scope)
    min_cell = current_app.config["REPORT_MIN_CELL"]
    texts = _project_texts([p.id for p in picture.projects], lang)
    rows = {p.id: ProjectRow(p.code, clip(texts[p.id][0]), clip(texts[p.id][1]), p) for p in picture.projects}

    by_project = kind != "fund"
    country_codes = sorted({p.country for p in picture.projects}, key=lambda c: country_name(c, lang))
    if by_project:
        row_keys, row_labels = [p.id for p in picture.projects], [p.code for p in picture.projects]
        all_rows = str(_l("All projects"))
    else:
        row_keys, row_labels = country_codes, [country_name(c, lang) for c in country_codes]
        all_rows = str(_l("All countries"))
    results = result_tables(
        row_keys=row_keys, row_labels=row_labels, by_project=by_project, project_ids=[p.id for p in picture.projects],
        date_from=picture.date_from, date_to=picture.date_to, academic_year=picture.academic_year,
        all_rows=all_rows, min_cell=min_cell)

    countries = []
    for code in country_codes:
        members = [p for p in picture.projects if p.country == code]
        figures = Figures()
        for p in members:
            figures.add(p)
        countries.append(CountryPage(
            code, country_name(code, lang), figures,
            active=[rows[p.id] for p in members if not _inactive(p)],
            inactive=[rows[p.id] for p in members if _inactive(p)],
            reach=_reach(results, None if by_project else row_keys.index(code), min_cell)))

    children = _children_at_risk(countries, min_cell)

    data = ReportData(
        lang=lang, scope=picture.scope, scope_label=scope_label(kind, value, lang), picture=picture,
        ask=_ask(picture, children, min_cell), countries=countries, results=results, donors=_donors(picture, lang),
        addressee=_addressee(donor, picture, lang) if donor else None, min_cell=min_cell, number=number,
        verify_url=verify_url, waterfall=waterfall(picture, from_need=True), children_at_risk=children,
        claims=claims_section(picture.as_of, picture.date_to),
    )
    months = contributions_by_month(picture.date_from, picture.date_to)
    data.charts = {
        "projects": projects_chart(picture.projects, {i: row.title for i, row in rows.items()},
                                   chart_source(picture.as_of)),
        "categories": category_chart(picture, chart_source(picture.as_of)),
        "months": months_chart(months, chart_source(picture.as_of)),
    }
    return data


def scope_label(kind: str, value: str | None, lang: str) -> str:
    if kind == "fund":
        return str(_l("The whole Fund"))
    if kind == "country":
        return country_name(value, lang)
    return str(_l("Project %(code)s", code=value))


def _inactive(p: ProjectFigures) -> bool:
    """Nothing in the period: no need, no allocation, no payment made or approved, no fee due."""
    return not (p.need or p.allocated or p.disbursed or p.committed or p.school_fee_forward_need
                or p.children_at_risk)


def _project_texts(ids, lang: str) -> dict[int, tuple[str, str]]:
    """Each project's title in ``lang`` and its partner's name."""
    if not ids:
        return {}
    rows = db.session.execute(
        select(Project.id, Project.title, Project.title_fr, Partner.name).join(Project.partner)
        .where(Project.id.in_(ids))
    )
    return {i: (Project(title=title, title_fr=title_fr).title_in(lang), partner)
            for i, title, title_fr, partner in rows}


def _children_at_risk(countries: list[CountryPage], min_cell: int) -> str | None:
    """Publish the children at risk per country and in all (a count of people: suppressed like the results).

    Sets each page's ``children_at_risk`` and returns the scope's total as it may be printed.
    """
    try:
        table = suppress([[c.figures.children_at_risk] for c in countries], min_cell=min_cell)
    except UnprotectableTableError:
        return None
    for page, cell in zip(countries, table.row_totals, strict=True):
        page.children_at_risk = cell.display(min_cell)
    return table.grand_total.display(min_cell)


def _children_text(shown: str | None, min_cell: int) -> str:
    """The children at risk in a sentence: "131 children", "fewer than 10 children", or just "the children"."""
    if shown and shown.isdigit():
        return ngettext("%(num)s child", "%(num)s children", int(shown))
    if shown and shown.startswith("<"):
        return _("fewer than %(m)s children", m=min_cell)
    return _("the children at risk")


def _ask(picture: FundingPicture, children: str | None, min_cell: int) -> Ask:
    """The sentence of the first page, the one under the waterfall, and the four headline figures."""
    t = picture.totals
    cost, gap, still = t.at_risk_cost, t.gap, t.uncovered_gap
    period = (_("of %(year)s", year=picture.date_to.year) if picture.date_from.year == picture.date_to.year
              else _("of the period"))
    if t.children_at_risk and gap > cost:
        sentence = _("%(cost)s keeps %(children)s in school next term; %(more)s more closes the gap %(period)s.",
                     cost=format_dollars(cost), children=_children_text(children, min_cell),
                     more=format_dollars(gap - cost), period=period)
    elif t.children_at_risk:
        sentence = _("%(cost)s keeps %(children)s in school next term.",
                     cost=format_dollars(cost), children=_children_text(children, min_cell))
    elif gap:
        sentence = _("Next term's school fees are covered for every child the projects support; %(gap)s closes "
                     "the gap %(period)s.", gap=format_dollars(gap), period=period)
    else:
        sentence = _("The projects' need %(period)s is met by allocations, and next term's school fees are "
                     "covered for every child they support.", period=period)
    covered = gap - still
    if not gap:
        cover = ""
    elif still and covered:
        cover = _("If the pledges still owed are paid, %(covered)s of the gap is covered by money in hand and "
                  "pledges; %(still)s is still to find from new pledges.",
                  covered=format_dollars(covered), still=format_dollars(still))
    elif still:
        cover = _("No money in hand or pledge still owed covers this gap: all %(still)s is still to find from "
                  "new pledges.", still=format_dollars(still))
    else:
        cover = _("Money in hand and pledges still owed would cover the whole gap, if the pledges are paid: "
                  "nothing is still to find from new pledges.")
    headline = [
        (_("Need in %(year)s", year=picture.date_to.year) if picture.date_from.year == picture.date_to.year
         else _("Need in the period"), t.need, ""),
        (_("Allocated"), t.allocated, _("%(share)s of the need", share=percent(t.coverage)) if t.need else ""),
        (_("Gap"), gap, _("Need not met by allocations")),
        (_("Still to find"), still, _("After money in hand and pledges owed")),
    ]
    return Ask(sentence, cover, headline)


def claims_section(today: dt.date, report_to: dt.date) -> ClaimsSection | None:
    """The Fund's public claims figures as of the last month end not later than the report's period end nor
    the previous month's end (:func:`~tracker.registry.claim_public.public_to`), in the report's language."""
    try:
        summary = public_summary(today, report_to)
    except UnprotectableError:
        return None

    def shown(field: tuple) -> str:
        value = summary.shown("total", field)
        return number(value) if isinstance(value, int) else value

    def in_words(field: tuple) -> tuple[int, str]:
        """A count for a sentence, and the number its grammar follows: 150, "fewer than 10", "10 or more"."""
        value = summary.shown("total", field)
        if isinstance(value, int):
            return value, number(value)
        if value.startswith("<"):
            return summary.min_cell, _("fewer than %(m)s", m=summary.min_cell)
        return summary.min_cell, _("%(m)s or more", m=summary.min_cell)

    (received, received_text), (open_, open_text), (stalled, stalled_text) = (
        in_words((None, key)) for key in ("received", "open", "stalled"))
    if summary.totals.received == 0:
        sentence = _("No claim had been received.")
    else:
        sentence = _("%(received)s; %(open)s, %(stalled)s: no step for more than %(days)s days.",
                     received=ngettext("%(n)s claim received", "%(n)s claims received", received, n=received_text),
                     open=ngettext("%(n)s open", "%(n)s open", open_, n=open_text),
                     stalled=ngettext("of which %(n)s stalled", "of which %(n)s stalled", stalled, n=stalled_text),
                     days=summary.stalled_days)
    medians = []
    for start, end in TRANSITIONS:
        median = summary.median(summary.totals, transition_key((start, end)))
        medians.append((label(start), label(end), None if median is None else number(median, 1)))
    return ClaimsSection(
        to=summary.to, stalled_days=summary.stalled_days, sentence=sentence,
        by_step=[(label(s), shown(("open_by_step", s)), shown(("stalled_by_step", s))) for s in OPEN_STEPS],
        open=shown((None, "open")), stalled=shown((None, "stalled")),
        outcomes=[(label(o), shown(("outcomes", o))) for o in OUTCOMES], medians=medians)


def _reach(results: list[ResultTable], row: int | None, min_cell: int) -> list[ReachLine]:
    """A country's counts from the results tables: its row's totals (``row``), or the grand totals.

    The figures are the very cells the results publish, so the two can never
    disagree and a hidden count stays hidden; a table whose rows were added
    together has nothing per country.
    """
    lines = []
    for t in results:
        if t.table is None or not t.in_reach or (row is not None and not t.by_row):
            continue
        cell = t.table.grand_total if row is None else t.table.row_totals[row]
        lines.append(ReachLine(t.title, cell.display(min_cell)))
    return lines


def _donors(picture: FundingPicture, lang: str) -> list[DonorLine]:
    """What each donor gave in the period (USD), under the name the Fund publishes in ``lang``."""
    rows = db.session.execute(
        select(Donor.name, Donor.name_fr, Donor.kind, func.sum(Contribution.usd_amount))
        .join(Contribution, Contribution.donor_id == Donor.id)
        .where(Contribution.received_on.between(picture.date_from, picture.date_to))
        .group_by(Donor.id, Donor.name, Donor.name_fr, Donor.kind)
    ).all()
    lines = [DonorLine(clip(Donor(name=name, name_fr=name_fr).name_in(lang)), kind, received or ZERO)
             for name, name_fr, kind, received in rows]
    return sorted(lines, key=lambda d: (-d.received, d.name))


def _addressee(donor: Donor, picture: FundingPicture, lang: str) -> Addressee:
    """The addressed donor's pledges and contributions of the period in full, with what it still owes."""
    start, to = picture.date_from, picture.date_to
    contributions = db.session.execute(
        select(Contribution.reference, Contribution.received_on, Contribution.amount, Contribution.currency,
               Contribution.usd_amount, Pledge.reference, Contribution.pledge_id)
        .outerjoin(Pledge, Contribution.pledge_id == Pledge.id)
        .where(Contribution.donor_id == donor.id, Contribution.received_on.between(start, to))
        .order_by(Contribution.received_on, Contribution.reference)
    ).all()
    paid_into = {pledge_id for *_rest, pledge_id in contributions if pledge_id}
    lines, project_codes, countries = [], set(), set()
    for p in (p for p in picture.pledges if p.donor_id == donor.id):
        if not (start <= p.pledged_on or p.remaining > 0 or p.id in paid_into):
            continue  # settled before the period and untouched in it
        if p.project_code:
            earmark = p.project_code
            project_codes.add(p.project_code)
        elif p.country:
            earmark = country_name(p.country, lang)
            countries.add(p.country)
        else:
            earmark = str(_l("Not earmarked"))
        lines.append(PledgeLine(clip(p.reference), p.pledged_on, p.amount, p.currency, p.usd_amount, p.received,
                                p.received_usd, p.remaining, p.outstanding, earmark))
    spending: list[tuple[str, Decimal]] = []
    if project_codes or countries:
        conditions = []
        if project_codes:
            conditions.append(Project.code.in_(project_codes))
        if countries:
            conditions.append(Project.country.in_(countries))
        spending = [(label(c), amount) for c, amount in db.session.execute(
            select(Disbursement.category, func.sum(Disbursement.usd_amount))
            .join(Project, Disbursement.project_id == Project.id)
            .where(or_(*conditions), Disbursement.status == "paid", Disbursement.paid_on.between(start, to))
            .group_by(Disbursement.category).order_by(Disbursement.category)
        )]
    return Addressee(
        name=clip(donor.name_in(lang)), pledges=lines,
        contributions=[ContributionLine(clip(ref), on, amount, currency, usd, clip(pledge) if pledge else "")
                       for ref, on, amount, currency, usd, pledge, _id in contributions],
        received=sum((row[4] for row in contributions), ZERO),
        outstanding=sum((p.outstanding for p in picture.pledges if p.donor_id == donor.id), ZERO),
        earmarked_spending=spending)
