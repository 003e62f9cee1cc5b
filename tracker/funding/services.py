"""Services for donors, pledges, contributions, allocations, budget lines and projects.

Pledges and contributions freeze their USD value with the rate in force on
their date. An allocation can never exceed what the Fund has received and not
yet allocated. Each service checks every rule and flushes; the caller commits.

The rules themselves are the ``check_*`` functions, which read the database only
through the lookups they are given: the services give them queries, the batch
imports (:mod:`tracker.funding.import_batch`) what they looked up for a few hundred
rows at once, so that both refuse the same rows with the same messages.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from tracker import validation as v
from tracker.errors import Errors, Invalid
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
from tracker.rates import rate_on

#: No single pledge, contribution or allocation is larger than this (USD or local units).
SANE_MAXIMUM = Decimal("1000000000")


def _sane_amount(value, field: str, currency: str | None):
    return v.amount(value, field, currency)


def _sane_usd(usd: Decimal, field: str) -> None:
    """Refuse what is larger than any amount the Fund handles, judged in US dollars."""
    if usd > SANE_MAXIMUM:
        raise Invalid(_l("is larger than any amount the Fund handles (1,000,000,000 USD)"), field)


def taken(model, column) -> Callable[[str], bool]:
    """A lookup for the ``*_taken`` arguments of the checks: whether a ``model`` has ``column == value``."""
    return lambda value: db.session.scalar(select(model.id).where(column == value)) is not None


def _refuse_taken(is_taken: Callable[[str], bool], value: str, field: str) -> None:
    if is_taken(value):
        raise Invalid(_l("%(value)s exists already", value=value), field)


def _usd(errors: Errors, amount, currency, day, rate_of) -> tuple[Decimal | None, Decimal | None]:
    """USD value and rate of an amount whose parts were all accepted (else ``(None, None)``), kept sane."""
    if None in (amount, currency, day):
        return None, None
    found = errors.check(usd_value, amount, currency, day, rate_of=rate_of)
    if found is None:
        return None, None
    errors.check(_sane_usd, found[0], "amount")
    return found


# --- donors ----------------------------------------------------------------------------------------------------------

def check_donor(*, name: str, kind: str, country: str | None = None, name_fr: str | None = None, donor=None,
                name_taken: Callable[[str], bool]) -> tuple[str, str, str | None, str | None]:
    """``(name, kind, country, name_fr)`` of a new donor (``donor`` ``None``) or of ``donor`` changed, or
    :class:`Invalid` naming every rule broken; ``name_taken(name)`` tells whether a donor has the name. The French
    name is optional (blank: none) and need not be unique."""
    errors = Errors()
    name = errors.check(v.text, name, "name", max_length=200)
    name_fr = errors.check(v.text, name_fr, "name_fr", required=False, max_length=200)
    kind = errors.check(v.choice, kind, "kind", DONOR_KINDS)
    country = errors.check(v.country, country, "country") if country else None
    if name is not None and (donor is None or name != donor.name):
        errors.check(_refuse_taken, name_taken, name, "name")
    errors.raise_any()
    return name, kind, country, name_fr


def create_donor(*, name: str, kind: str, country: str | None = None, name_fr: str | None = None) -> Donor:
    name, kind, country, name_fr = check_donor(name=name, kind=kind, country=country, name_fr=name_fr,
                                               name_taken=taken(Donor, Donor.name))
    donor = Donor(name=name, kind=kind, country=country, name_fr=name_fr)
    db.session.add(donor)
    db.session.flush()
    return donor


def update_donor(*, donor: Donor, name: str, kind: str, country: str | None = None,
                 name_fr: str | None = None) -> Donor:
    """Change a donor; ``country`` and ``name_fr`` not given (``None``) are removed."""
    name, kind, country, name_fr = check_donor(name=name, kind=kind, country=country, name_fr=name_fr, donor=donor,
                                               name_taken=taken(Donor, Donor.name))
    donor.name, donor.kind, donor.country, donor.name_fr = name, kind, country, name_fr
    db.session.flush()
    return donor


# --- pledges and contributions ---------------------------------------------------------------------------------------

RateOf = Callable[[str, dt.date], "Decimal | None"]


@dataclass(frozen=True)
class CheckedMoney:
    """A pledge or a contribution as it is recorded: its amount as read and its USD value frozen with the rate."""
    reference: str
    amount: Decimal
    currency: str
    day: dt.date
    usd_amount: Decimal
    usd_rate: Decimal
    #: A pledge's country earmark (the project's country when only a project is named); ``None`` otherwise.
    country: str | None = None


def check_pledge(*, donor: Donor, reference: str, amount, currency: str, pledged_on, project: Project | None = None,
                 country: str | None = None, reference_taken: Callable[[str], bool],
                 rate_of: RateOf = rate_on) -> CheckedMoney:
    """Every rule of :func:`record_pledge`, in its order; ``reference_taken(reference)`` tells whether a pledge has
    it, ``rate_of(currency, day)`` gives the rate in force (:func:`tracker.rates.rate_on`)."""
    errors = Errors()
    reference = errors.check(v.text, reference, "reference", max_length=60)
    currency = errors.check(v.currency, currency)
    amount = errors.check(_sane_amount, amount, "amount", currency)
    pledged_on = errors.check(v.date, pledged_on, "pledged_on")
    country = errors.check(v.country, country, "country") if country else None
    if project is not None and country and project.country != country:
        errors.add(_l("project %(code)s is not in %(country)s", code=project.code, country=country), "country")
    if reference is not None:
        errors.check(_refuse_taken, reference_taken, reference, "reference")
    usd, rate = _usd(errors, amount, currency, pledged_on, rate_of)
    errors.raise_any()
    return CheckedMoney(reference, amount, currency, pledged_on, usd, rate,
                        country or (project.country if project else None))


def record_pledge(*, donor: Donor, reference: str, amount, currency: str, pledged_on,
                  project: Project | None = None, country: str | None = None) -> Pledge:
    """A donor's promise, optionally earmarked for a country or a project; USD frozen at ``pledged_on``."""
    checked = check_pledge(donor=donor, reference=reference, amount=amount, currency=currency, pledged_on=pledged_on,
                           project=project, country=country, reference_taken=taken(Pledge, Pledge.reference))
    pledge = Pledge(donor=donor, reference=checked.reference, amount=checked.amount, currency=checked.currency,
                    pledged_on=checked.day, project=project, country=checked.country,
                    usd_amount=checked.usd_amount, usd_rate=checked.usd_rate)
    db.session.add(pledge)
    db.session.flush()
    return pledge


def check_contribution(*, donor: Donor, reference: str, amount, currency: str, received_on, pledge=None,
                       reference_taken: Callable[[str], bool], rate_of: RateOf = rate_on) -> CheckedMoney:
    """Every rule of :func:`record_contribution`, in its order (the lookups as for :func:`check_pledge`);
    ``pledge`` needs ``id``, ``reference``, ``donor_id`` and ``pledged_on``."""
    errors = Errors()
    reference = errors.check(v.text, reference, "reference", max_length=60)
    currency = errors.check(v.currency, currency)
    amount = errors.check(_sane_amount, amount, "amount", currency)
    received_on = errors.check(v.date, received_on, "received_on")
    if pledge is not None:
        if pledge.donor_id != donor.id:
            errors.add(_l("pledge %(ref)s is not of %(donor)s", ref=pledge.reference, donor=donor.name),
                       "pledge_reference")
        if received_on is not None and received_on < pledge.pledged_on - dt.timedelta(days=366):
            errors.add(_l("is more than a year before the pledge"), "received_on")
    if reference is not None:
        errors.check(_refuse_taken, reference_taken, reference, "reference")
    usd, rate = _usd(errors, amount, currency, received_on, rate_of)
    errors.raise_any()
    return CheckedMoney(reference, amount, currency, received_on, usd, rate)


def record_contribution(*, donor: Donor, reference: str, amount, currency: str, received_on,
                        pledge: Pledge | None = None) -> Contribution:
    """Money received, optionally against one of the donor's pledges; USD frozen at ``received_on``."""
    checked = check_contribution(donor=donor, reference=reference, amount=amount, currency=currency,
                                 received_on=received_on, pledge=pledge,
                                 reference_taken=taken(Contribution, Contribution.reference))
    contribution = Contribution(donor=donor, reference=checked.reference, amount=checked.amount,
                                currency=checked.currency, received_on=checked.day, pledge=pledge,
                                usd_amount=checked.usd_amount, usd_rate=checked.usd_rate)
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


@dataclass(frozen=True)
class CheckedAllocation:
    amount_usd: Decimal
    allocated_on: dt.date
    note: str | None
    reference: str | None


def check_allocation(*, project: Project, amount_usd, allocated_on, note: str | None = None,
                     reference: str | None = None, reference_taken: Callable[[str], bool],
                     available_on: Callable[[dt.date], Decimal]) -> CheckedAllocation:
    """Every rule of :func:`allocate`, in its order: ``reference_taken(reference)`` tells whether an allocation
    has it, ``available_on(day)`` what the Fund has received up to ``day`` and not allocated
    (:func:`unallocated_on`)."""
    errors = Errors()
    amount = errors.check(_sane_amount, amount_usd, "amount_usd", "USD")
    if amount is not None:
        errors.check(_sane_usd, amount, "amount_usd")
        amount = None if errors.has("amount_usd") else amount
    allocated_on = errors.check(v.date, allocated_on, "allocated_on")
    note = errors.check(v.text, note, "note", required=False, max_length=500)
    reference = errors.check(v.text, reference, "reference", required=False, max_length=60)
    if project.status == "closed":
        errors.add(_l("project %(code)s is closed", code=project.code), "project_code")
    if reference:
        errors.check(_refuse_taken, reference_taken, reference, "reference")
    if amount is not None and allocated_on is not None:
        available = available_on(allocated_on)
        if amount > available:
            errors.add(_l("only %(available)s received is not yet allocated",
                          available=format_money(max(available, Decimal("0.00")), "USD")), "amount_usd")
    errors.raise_any()
    return CheckedAllocation(amount, allocated_on, note, reference)


def lock_allocations() -> None:
    """Lock out a second allocation racing this one on PostgreSQL (for the money and the reference), until the
    transaction ends; SQLite serialises writers anyway."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(func.pg_advisory_xact_lock(7_301_001)))


def allocate(*, project: Project, amount_usd, allocated_on, note: str | None = None, reference: str | None = None,
             user_id=None, plan_id: int | None = None) -> Allocation:
    """Assign USD to a project; refused beyond what has been received and not yet allocated.

    ``reference``, optional, is the partner's or the Fund's own reference of
    the allocation; when given it must be unused, as it names one allocation.
    ``plan_id`` names the allocation plan it comes from (:mod:`tracker.funding.plans`).
    """
    lock_allocations()
    checked = check_allocation(project=project, amount_usd=amount_usd, allocated_on=allocated_on, note=note,
                               reference=reference, reference_taken=taken(Allocation, Allocation.reference),
                               available_on=unallocated_on)
    allocation = Allocation(project=project, amount_usd=checked.amount_usd, allocated_on=checked.allocated_on,
                            note=checked.note, reference=checked.reference, created_by_id=user_id, plan_id=plan_id)
    db.session.add(allocation)
    db.session.flush()
    return allocation


def check_allocation_name(*, allocation, reference: str, reference_taken: Callable[[str], bool]) -> str:
    """The rules of :func:`name_allocation`: the reference it may be given (``reference_taken`` as above)."""
    reference = v.text(reference, "reference", max_length=60)
    if allocation.reference is not None:
        raise Invalid(_l("the allocation has the reference %(ref)s already", ref=allocation.reference), "reference")
    _refuse_taken(reference_taken, reference, "reference")
    return reference


def name_allocation(*, allocation: Allocation, reference: str) -> Allocation:
    """Give an allocation recorded without a reference its reference; one it has is never replaced."""
    allocation.reference = check_allocation_name(allocation=allocation, reference=reference,
                                                 reference_taken=taken(Allocation, Allocation.reference))
    db.session.flush()
    return allocation


# --- budget lines and projects ---------------------------------------------------------------------------------------

def check_budget_line(*, project: Project, year, category: str, amount_usd) -> tuple[int, str, Decimal]:
    """``(year, category, amount)`` of a budget line of ``project``, or :class:`Invalid` naming every rule
    broken."""
    errors = Errors()
    year = errors.check(v.integer, year, "year", minimum=2000, maximum=2100)
    category = errors.check(v.choice, category, "category", CATEGORIES)
    amount = errors.check(_sane_amount, amount_usd, "amount_usd", "USD")
    if amount is not None:
        errors.check(_sane_usd, amount, "amount_usd")
    if year is not None and not project.start_date.year <= year <= project.end_date.year:
        errors.add(_l("%(year)d is outside the project's dates (%(start)d–%(end)d)", year=year,
                      start=project.start_date.year, end=project.end_date.year), "year")
    errors.raise_any()
    return year, category, amount


def budget_line_outcome(line, amount: Decimal) -> str:
    """What setting a line (``None``: none yet) to ``amount`` does."""
    if line is None:
        return "created"
    return "unchanged" if line.amount_usd == amount else "updated"


def set_budget_line(*, project: Project, year, category: str, amount_usd) -> tuple[BudgetLine, str]:
    """Create or change the approved need of a project for a category and year; returns (line, outcome)."""
    year, category, amount = check_budget_line(project=project, year=year, category=category, amount_usd=amount_usd)
    line = db.session.scalars(select(BudgetLine).where(
        BudgetLine.project_id == project.id, BudgetLine.year == year, BudgetLine.category == category)).one_or_none()
    outcome = budget_line_outcome(line, amount)
    if line is None:
        line = BudgetLine(project=project, year=year, category=category, amount_usd=amount)
        db.session.add(line)
    elif outcome == "updated":
        line.amount_usd = amount
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


@dataclass(frozen=True)
class CheckedProject:
    #: A new project's code in capitals; a project's own code when it changes.
    code: str
    title: str
    country: str
    #: The implementing partner's name (:func:`partner_named` finds or adds it).
    partner: str
    start_date: dt.date
    end_date: dt.date
    status: str
    description: str | None
    title_fr: str | None


def has_mothers(project_id: int) -> bool:
    from tracker.models import Beneficiary

    return db.session.scalar(select(Beneficiary.id).where(Beneficiary.project_id == project_id).limit(1)) is not None


def lines_outside(project_id: int, first_year: int, last_year: int) -> int:
    return db.session.scalar(select(func.count(BudgetLine.id)).where(
        BudgetLine.project_id == project_id, (BudgetLine.year < first_year) | (BudgetLine.year > last_year)))


def project_lookups() -> dict:
    """The database's answers to :func:`check_project`'s questions, for the screens and :func:`save_project`."""
    return {"code_taken": taken(Project, Project.code), "has_mothers": has_mothers, "lines_outside": lines_outside}


def check_project(*, code: str, title: str, country: str, partner: str, start_date, end_date, status: str,
                  description: str | None = None, title_fr: str | None = None, project=None,
                  code_taken: Callable[[str], bool], has_mothers: Callable[[int], bool],
                  lines_outside: Callable[[int, int, int], int]) -> CheckedProject:
    """Every rule of :func:`save_project`, in its order. ``project`` (``id``, ``code``, ``country``) is the one
    changed, ``None`` for a new one; ``code_taken(code)`` tells whether any project has the code,
    ``has_mothers(project_id)`` whether mothers are registered in it and ``lines_outside(project_id, first_year,
    last_year)`` how many of its budget lines fall outside those years. The French title is optional (blank:
    none)."""
    errors = Errors()
    title = errors.check(v.text, title, "title", max_length=300)
    title_fr = errors.check(v.text, title_fr, "title_fr", required=False, max_length=300)
    country = errors.check(v.country, country, "country")
    start = errors.check(v.date, start_date, "start_date", not_future=False)
    end = errors.check(v.date, end_date, "end_date", not_future=False)
    status = errors.check(v.choice, status, "status", PROJECT_STATUSES)
    description = errors.check(v.text, description, "description", required=False, max_length=4000)
    dated = start is not None and end is not None
    if dated and end < start:
        errors.add(_l("is before the start date"), "end_date")
    partner = errors.check(v.text, partner, "partner", max_length=200)
    if project is None:
        code = (errors.check(v.text, code, "code", max_length=32) or "").upper()
        if not all(c.isascii() and (c.isalnum() or c == "-") for c in code):
            errors.add(_l("use capital letters, digits and dashes, such as TF-CD-2025-01"), "code")
        elif code:
            errors.check(_refuse_taken, code_taken, code, "code")
    else:
        code = project.code
        if (country is not None and country != project.country and project.id is not None
                and has_mothers(project.id)):
            errors.add(_l("mothers are registered in this project; its country cannot change"), "country")
    outside = lines_outside(project.id, start.year, end.year) if dated and project is not None and project.id else 0
    if outside:
        errors.add(_l("%(n)d budget lines fall outside these dates", n=outside), "end_date")
    errors.raise_any()
    return CheckedProject(code, title, country, partner, start, end, status, description, title_fr)


def save_project(*, code: str, title: str, country: str, partner: str, start_date, end_date, status: str,
                 description: str | None = None, title_fr: str | None = None,
                 project: Project | None = None) -> Project:
    """Create a project (or change one); dates in order; the code never changes. ``description`` and
    ``title_fr`` not given (``None``) are removed."""
    checked = check_project(code=code, title=title, country=country, partner=partner, start_date=start_date,
                            end_date=end_date, status=status, description=description, title_fr=title_fr,
                            project=project, **project_lookups())
    partner_row = partner_named(checked.partner)  # before the project joins the session (autoflush)
    if project is None:
        project = Project(code=checked.code, partner=partner_row)
        db.session.add(project)
    project.title, project.title_fr, project.country = checked.title, checked.title_fr, checked.country
    project.start_date, project.end_date = checked.start_date, checked.end_date
    project.status, project.description = checked.status, checked.description
    project.partner = partner_row
    db.session.flush()
    return project
