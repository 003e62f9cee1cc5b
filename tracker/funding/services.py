"""Services for donors, pledges, contributions, allocations, budget lines and projects.

Pledges and contributions freeze their USD value with the rate in force on
their date. An allocation can never exceed what the Fund has received and not
yet allocated. Each service checks every rule and flushes; the caller commits.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from tracker import validation as v
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.formatting import format_money
from tracker.funding.rates import usd_value
from tracker.models import (
    CATEGORIES,
    DONOR_KINDS,
    PARTNER_KINDS,
    PROJECT_STATUSES,
    Allocation,
    BudgetLine,
    Contribution,
    Donor,
    Partner,
    Pledge,
    Project,
)

#: No single pledge, contribution or allocation is larger than this (USD or local units).
SANE_MAXIMUM = Decimal("1000000000")


def _sane_amount(value, field: str, currency: str | None):
    return v.amount(value, field, currency)


def _sane_usd(usd: Decimal, field: str) -> None:
    """Refuse what is larger than any amount the Fund handles, judged in US dollars."""
    if usd > SANE_MAXIMUM:
        raise Invalid(_l("is larger than any amount the Fund handles (1,000,000,000 USD)"), field)


def _unique(model, column, value, field):
    if db.session.scalar(select(model.id).where(column == value)) is not None:
        raise Invalid(_l("%(value)s exists already", value=value), field)


# --- donors ----------------------------------------------------------------------------------------------------------

def create_donor(*, name: str, kind: str, country: str | None = None) -> Donor:
    name = v.text(name, "name", max_length=200)
    kind = v.choice(kind, "kind", DONOR_KINDS)
    country = v.country(country, "country") if country else None
    _unique(Donor, Donor.name, name, "name")
    donor = Donor(name=name, kind=kind, country=country)
    db.session.add(donor)
    db.session.flush()
    return donor


def update_donor(*, donor: Donor, name: str, kind: str, country: str | None = None) -> Donor:
    name = v.text(name, "name", max_length=200)
    kind = v.choice(kind, "kind", DONOR_KINDS)
    country = v.country(country, "country") if country else None
    if name != donor.name:
        _unique(Donor, Donor.name, name, "name")
    donor.name, donor.kind, donor.country = name, kind, country
    db.session.flush()
    return donor


# --- pledges and contributions ---------------------------------------------------------------------------------------

def record_pledge(*, donor: Donor, reference: str, amount, currency: str, pledged_on,
                  project: Project | None = None, country: str | None = None) -> Pledge:
    """A donor's promise, optionally earmarked for a country or a project; USD frozen at ``pledged_on``."""
    reference = v.text(reference, "reference", max_length=60)
    currency = v.currency(currency)
    amount = _sane_amount(amount, "amount", currency)
    pledged_on = v.date(pledged_on, "pledged_on")
    country = v.country(country, "country") if country else None
    if project is not None and country and project.country != country:
        raise Invalid(_l("project %(code)s is not in %(country)s", code=project.code, country=country), "country")
    _unique(Pledge, Pledge.reference, reference, "reference")
    usd, rate = usd_value(amount, currency, pledged_on)
    _sane_usd(usd, "amount")
    pledge = Pledge(donor=donor, reference=reference, amount=amount, currency=currency, pledged_on=pledged_on,
                    project=project, country=country or (project.country if project else None),
                    usd_amount=usd, usd_rate=rate)
    db.session.add(pledge)
    db.session.flush()
    return pledge


def record_contribution(*, donor: Donor, reference: str, amount, currency: str, received_on,
                        pledge: Pledge | None = None) -> Contribution:
    """Money received, optionally against one of the donor's pledges; USD frozen at ``received_on``."""
    reference = v.text(reference, "reference", max_length=60)
    currency = v.currency(currency)
    amount = _sane_amount(amount, "amount", currency)
    received_on = v.date(received_on, "received_on")
    if pledge is not None:
        if pledge.donor_id != donor.id:
            raise Invalid(_l("pledge %(ref)s is not of %(donor)s", ref=pledge.reference, donor=donor.name),
                          "pledge_reference")
        if received_on < pledge.pledged_on - dt.timedelta(days=366):
            raise Invalid(_l("is more than a year before the pledge"), "received_on")
    _unique(Contribution, Contribution.reference, reference, "reference")
    usd, rate = usd_value(amount, currency, received_on)
    _sane_usd(usd, "amount")
    contribution = Contribution(donor=donor, reference=reference, amount=amount, currency=currency,
                                received_on=received_on, pledge=pledge, usd_amount=usd, usd_rate=rate)
    db.session.add(contribution)
    db.session.flush()
    return contribution


# --- allocations -----------------------------------------------------------------------------------------------------

def unallocated_on(day: dt.date) -> Decimal:
    """What the Fund has received up to ``day`` and not allocated (allocations of any date count)."""
    from tracker.models import Contribution as C

    received = db.session.scalar(select(func.sum(C.usd_amount)).where(C.received_on <= day)) or Decimal("0.00")
    allocated = db.session.scalar(select(func.sum(Allocation.amount_usd))) or Decimal("0.00")
    return received - allocated


def allocate(*, project: Project, amount_usd, allocated_on, note: str | None = None, reference: str | None = None,
             user_id=None) -> Allocation:
    """Assign USD to a project; refused beyond what has been received and not yet allocated.

    ``reference``, optional, is the partner's or the Fund's own reference of
    the allocation; when given it must be unused, as it names one allocation.
    """
    amount = _sane_amount(amount_usd, "amount_usd", "USD")
    _sane_usd(amount, "amount_usd")
    allocated_on = v.date(allocated_on, "allocated_on")
    note = v.text(note, "note", required=False, max_length=500)
    reference = v.text(reference, "reference", required=False, max_length=60)
    if project.status == "closed":
        raise Invalid(_l("project %(code)s is closed", code=project.code), "project_code")
    # Lock out a second allocation racing this one on PostgreSQL (for the money and the reference);
    # SQLite serialises writers anyway.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(7_301_001)))
    if reference:
        _unique(Allocation, Allocation.reference, reference, "reference")
    available = unallocated_on(allocated_on)
    if amount > available:
        raise Invalid(_l("only %(available)s received is not yet allocated",
                         available=format_money(max(available, Decimal("0.00")), "USD")), "amount_usd")
    allocation = Allocation(project=project, amount_usd=amount, allocated_on=allocated_on, note=note,
                            reference=reference, created_by_id=user_id)
    db.session.add(allocation)
    db.session.flush()
    return allocation


def name_allocation(*, allocation: Allocation, reference: str) -> Allocation:
    """Give an allocation recorded without a reference its reference; one it has is never replaced."""
    reference = v.text(reference, "reference", max_length=60)
    if allocation.reference is not None:
        raise Invalid(_l("the allocation has the reference %(ref)s already", ref=allocation.reference), "reference")
    _unique(Allocation, Allocation.reference, reference, "reference")
    allocation.reference = reference
    db.session.flush()
    return allocation


# --- budget lines and projects ---------------------------------------------------------------------------------------

def set_budget_line(*, project: Project, year, category: str, amount_usd) -> tuple[BudgetLine, str]:
    """Create or change the approved need of a project for a category and year; returns (line, outcome)."""
    year = v.integer(year, "year", minimum=2000, maximum=2100)
    category = v.choice(category, "category", CATEGORIES)
    amount = _sane_amount(amount_usd, "amount_usd", "USD")
    _sane_usd(amount, "amount_usd")
    if not project.start_date.year <= year <= project.end_date.year:
        raise Invalid(_l("%(year)d is outside the project's dates (%(start)d–%(end)d)", year=year,
                         start=project.start_date.year, end=project.end_date.year), "year")
    line = db.session.scalars(select(BudgetLine).where(
        BudgetLine.project_id == project.id, BudgetLine.year == year, BudgetLine.category == category)).one_or_none()
    if line is None:
        line = BudgetLine(project=project, year=year, category=category, amount_usd=amount)
        db.session.add(line)
        outcome = "created"
    elif line.amount_usd == amount:
        outcome = "unchanged"
    else:
        line.amount_usd = amount
        outcome = "updated"
    db.session.flush()
    return line, outcome


def partner_named(name: str, kind: str = "ngo") -> Partner:
    name = v.text(name, "partner", max_length=200)
    partner = db.session.scalars(select(Partner).where(Partner.name == name)).one_or_none()
    if partner is None:
        partner = Partner(name=name, kind=v.choice(kind, "partner_kind", PARTNER_KINDS))
        db.session.add(partner)
        db.session.flush()
    return partner


def save_project(*, code: str, title: str, country: str, partner: str, start_date, end_date, status: str,
                 description: str | None = None, project: Project | None = None) -> Project:
    """Create a project (or change one); dates in order; the code never changes."""
    title = v.text(title, "title", max_length=300)
    country = v.country(country, "country")
    start = v.date(start_date, "start_date", not_future=False)
    end = v.date(end_date, "end_date", not_future=False)
    status = v.choice(status, "status", PROJECT_STATUSES)
    description = v.text(description, "description", required=False, max_length=4000)
    if end < start:
        raise Invalid(_l("is before the start date"), "end_date")
    partner_row = partner_named(partner)  # before the project joins the session (autoflush)
    if project is None:
        code = (v.text(code, "code", max_length=32) or "").upper()
        if not all(c.isascii() and (c.isalnum() or c == "-") for c in code):
            raise Invalid(_l("use capital letters, digits and dashes, such as TF-CD-2025-01"), "code")
        _unique(Project, Project.code, code, "code")
        project = Project(code=code, partner=partner_row)
        db.session.add(project)
    elif country != project.country and project.id is not None:
        from tracker.models import Beneficiary

        if db.session.scalar(select(Beneficiary.id).where(Beneficiary.project_id == project.id).limit(1)):
            raise Invalid(_l("mothers are registered in this project; its country cannot change"), "country")
    outside = db.session.scalar(select(func.count(BudgetLine.id)).where(
        BudgetLine.project_id == project.id, (BudgetLine.year < start.year) | (BudgetLine.year > end.year))) \
        if project.id else 0
    if outside:
        raise Invalid(_l("%(n)d budget lines fall outside these dates", n=outside), "end_date")
    project.title, project.country, project.start_date, project.end_date = title, country, start, end
    project.status, project.description = status, description
    project.partner = partner_row
    db.session.flush()
    return project


