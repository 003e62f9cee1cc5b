"""Everything a donor report shows, assembled as plain data before any template runs.

Figures come only from the funding engine. Counts of people come from
aggregate queries over beneficiaries who consented to be counted in reports,
grouped by country (or by project for a country or project report), and go
through small-cell suppression before anything else sees them. No name, code,
date of birth or other field of one person ever enters this data.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from tracker.countries import country_name
from tracker.extensions import db
from tracker.formatting import locale_code
from tracker.funding.charts import category_chart, chart_source, months_chart, projects_chart
from tracker.funding.engine import (
    Figures,
    FundingPicture,
    ProjectFigures,
    contributions_by_month,
    funding_picture,
    parse_scope,
)
from tracker.funding.waterfall import Waterfall, waterfall
from tracker.models import (
    Beneficiary,
    Child,
    Contribution,
    Disbursement,
    Donor,
    Enrolment,
    IncomeProject,
    Partner,
    PaternityClaim,
    Project,
)
from tracker.reports.suppression import SuppressedTable, UnprotectableTableError, suppress
from tracker.vocab import label

#: Longest text taken from the database into a report (titles, names of partners and donors).
MAX_TEXT = 300

#: Claim steps grouped for donors: where claims stand, not each step.
CLAIM_GROUPS = {
    "received": "in_progress", "notified_to_member_state": "in_progress", "dna_sample_collected": "in_progress",
    "dna_result_received": "in_progress", "paternity_established": "established",
    "legally_recognised": "established", "support_ordered": "established", "support_paid": "support_paid",
    "not_established": "not_established", "withdrawn": "withdrawn",
}
CLAIM_COLUMNS = ("in_progress", "established", "support_paid", "not_established", "withdrawn")
IGA_COLUMNS = ("planned", "active", "struggling", "closed_successful", "closed_failed")


def clip(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


@dataclass(frozen=True)
class ReachTable:
    title: str
    note: str
    row_labels: list[str]
    column_labels: list[str]
    #: ``None`` when no suppression can protect it: the table is then not published.
    table: SuppressedTable | None


@dataclass(frozen=True)
class DonorLine:
    name: str
    kind: str
    pledged: Decimal
    received: Decimal
    outstanding: Decimal


@dataclass(frozen=True)
class EarmarkLine:
    reference: str
    pledged_on: dt.date
    amount: Decimal
    currency: str
    usd: Decimal
    received_usd: Decimal
    earmark: str
    #: Received against the pledge and still owed, in the pledge's currency; still owed in USD at its rate.
    received: Decimal = Decimal("0.00")
    remaining: Decimal = Decimal("0.00")
    outstanding: Decimal = Decimal("0.00")


@dataclass
class Addressee:
    name: str
    pledges: list[EarmarkLine]
    received: Decimal
    #: What the projects their earmarked money went to paid in the period, by category (USD).
    earmarked_spending: list[tuple[str, Decimal]]


@dataclass
class ProjectPage:
    figures: ProjectFigures
    title: str
    partner: str
    country_name: str


@dataclass
class CountryPage:
    code: str
    name: str
    figures: Figures
    projects: list[ProjectFigures]


@dataclass
class ReportData:
    lang: str
    scope: str
    scope_label: str
    picture: FundingPicture
    countries: list[CountryPage]
    projects: list[ProjectPage]
    reach: list[ReachTable]
    donors: list[DonorLine]
    addressee: Addressee | None
    min_cell: int
    charts: dict = field(default_factory=dict)
    waterfall: Waterfall | None = None
    number: str | None = None
    verify_url: str | None = None


def build_report(*, scope: str, date_from: dt.date | None, date_to: dt.date | None, lang: str,
                 donor: Donor | None = None, number: str | None = None, verify_url: str | None = None) -> ReportData:
    """Assemble a report's data (call inside ``force_locale(lang)`` so labels are in its language)."""
    picture = funding_picture(scope=scope, date_from=date_from, date_to=date_to, with_children=False)
    kind, value = parse_scope(scope)
    titles = _project_texts([p.id for p in picture.projects])
    projects = [ProjectPage(p, clip(titles[p.id][0]), clip(titles[p.id][1]), country_name(p.country, lang))
                for p in picture.projects]
    countries = []
    for code in sorted({p.country for p in picture.projects}):
        members = [p for p in picture.projects if p.country == code]
        figures = Figures()
        for p in members:
            figures.add(p)
        countries.append(CountryPage(code, country_name(code, lang), figures, members))
    min_cell = current_app.config["REPORT_MIN_CELL"]
    by_project = kind != "fund"
    rows = [p for p in picture.projects] if by_project else countries
    row_keys = [p.id for p in rows] if by_project else [c.code for c in rows]
    row_labels = [p.code for p in rows] if by_project else [c.name for c in rows]
    reach = _reach(row_keys, row_labels, by_project, [p.id for p in picture.projects], picture.academic_year,
                   min_cell)
    months = contributions_by_month(picture.date_from, picture.date_to)
    data = ReportData(
        lang=lang, scope=picture.scope, scope_label=scope_label(kind, value, lang), picture=picture,
        countries=countries, projects=projects, reach=reach, donors=_donors(picture),
        addressee=_addressee(donor, picture) if donor else None, min_cell=min_cell, number=number,
        verify_url=verify_url, waterfall=waterfall(picture, from_need=True),
    )
    data.charts = {
        "projects": projects_chart(picture.projects, {p.id: p.title for p in picture.projects},
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


def _project_texts(ids) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = db.session.execute(
        select(Project.id, Project.title, Partner.name).join(Project.partner).where(Project.id.in_(ids))
    )
    return {i: (title, partner) for i, title, partner in rows}


def _consenting():
    return and_(Beneficiary.consent_reporting_on.is_not(None), Beneficiary.consent_reporting_withdrawn_on.is_(None))


def _reach(row_keys, row_labels, by_project: bool, project_ids, academic_year: str, min_cell: int) -> list[ReachTable]:
    """The four counts donors see, each suppressed as one table with its totals."""
    key = Beneficiary.project_id if by_project else Project.country

    def grid(rows, columns):
        counts = {(k, c): 0 for k in row_keys for c in columns}
        for k, c, n in rows:
            if (k, c) in counts:
                counts[(k, c)] += n
        return [[counts[(k, c)] for c in columns] for k in row_keys]

    def table(title, note, columns, column_labels, rows):
        try:
            protected = suppress(grid(rows, columns), min_cell=min_cell) if row_keys else None
        except UnprotectableTableError:
            protected = None
        return ReachTable(str(title), str(note), row_labels, [str(x) for x in column_labels], protected)

    base = (select().select_from(Beneficiary).join(Project, Beneficiary.project_id == Project.id)
            .where(Beneficiary.project_id.in_(project_ids), _consenting()))
    women = db.session.execute(
        base.add_columns(key, Beneficiary.status, func.count(Beneficiary.id)).group_by(key, Beneficiary.status)
    ).all()
    children = db.session.execute(
        base.join(Child, Child.mother_id == Beneficiary.id).join(Enrolment, Enrolment.child_id == Child.id)
        .where(Enrolment.academic_year == academic_year)
        .add_columns(key, Child.sex, func.count(func.distinct(Child.id))).group_by(key, Child.sex)
    ).all()
    iga = db.session.execute(
        base.join(IncomeProject, IncomeProject.beneficiary_id == Beneficiary.id)
        .add_columns(key, IncomeProject.status, func.count(IncomeProject.id)).group_by(key, IncomeProject.status)
    ).all()
    claims = db.session.execute(
        base.join(Child, Child.mother_id == Beneficiary.id).join(PaternityClaim, PaternityClaim.child_id == Child.id)
        .add_columns(key, PaternityClaim.status, func.count(PaternityClaim.id)).group_by(key, PaternityClaim.status)
    ).all()
    claims = [(k, CLAIM_GROUPS[s], n) for k, s, n in claims]
    return [
        table(_l("Women assisted"), _l("Women who agreed to be counted, active or having left the programme."),
              ("active", "exited"), (_l("In the programme"), _l("Left the programme")), women),
        table(_l("Children in school, %(year)s", year=academic_year),
              _l("Children enrolled in school this academic year with the Fund's support."),
              ("F", "M"), (_l("Girls"), _l("Boys")), children),
        table(_l("Income-generating activities"), _l("Activities started by the women, by where they stand."),
              IGA_COLUMNS, [label(c) for c in IGA_COLUMNS], iga),
        table(_l("Paternity claims"), _l("Claims of the children's paternity against UN personnel, by outcome."),
              CLAIM_COLUMNS, (_l("In progress"), _l("Paternity established"), _l("Support paid"),
                              _l("Not established"), _l("Withdrawn")), claims),
    ]


def _donors(picture: FundingPicture) -> list[DonorLine]:
    """Pledged, received and still owed per donor, as of ``to`` (owed: the engine's pledge positions)."""
    received = dict(db.session.execute(
        select(Contribution.donor_id, func.sum(Contribution.usd_amount))
        .where(Contribution.received_on <= picture.date_to).group_by(Contribution.donor_id)
    ).all())
    zero = Decimal("0.00")
    pledged: dict[int, Decimal] = {}
    outstanding: dict[int, Decimal] = {}
    for position in picture.pledges:  # every pledge made up to `to`
        pledged[position.donor_id] = pledged.get(position.donor_id, zero) + position.usd_amount
        outstanding[position.donor_id] = outstanding.get(position.donor_id, zero) + position.outstanding
    donors = db.session.execute(select(Donor.id, Donor.name, Donor.kind).order_by(Donor.name)).all()
    return [DonorLine(clip(name), kind, pledged.get(i) or zero, received.get(i) or zero, outstanding.get(i, zero))
            for i, name, kind in donors if pledged.get(i) or received.get(i)]


def _addressee(donor: Donor, picture: FundingPicture) -> Addressee:
    to = picture.date_to
    received = db.session.scalar(select(func.sum(Contribution.usd_amount)).where(
        Contribution.donor_id == donor.id, Contribution.received_on <= to)) or Decimal("0.00")
    lines, project_codes, countries = [], set(), set()
    for p in (p for p in picture.pledges if p.donor_id == donor.id):
        if p.project_code:
            earmark = p.project_code
            project_codes.add(p.project_code)
        elif p.country:
            earmark = country_name(p.country, locale_code())
            countries.add(p.country)
        else:
            earmark = str(_l("Not earmarked"))
        lines.append(EarmarkLine(clip(p.reference), p.pledged_on, p.amount, p.currency, p.usd_amount, p.received_usd,
                                 earmark, p.received, p.remaining, p.outstanding))
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
            .where(or_(*conditions), Disbursement.status == "paid",
                   Disbursement.paid_on.between(picture.date_from, picture.date_to))
            .group_by(Disbursement.category).order_by(Disbursement.category)
        )]
    return Addressee(clip(donor.name), lines, received, spending)
