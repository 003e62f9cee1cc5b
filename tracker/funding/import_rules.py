"""What both ways of importing the Fund's money share (row by row in :mod:`~tracker.funding.import_kinds`, in
batches in :mod:`~tracker.funding.import_batch`): what a row names and whether it is a record imported already,
with the same checks in the same order, so that both report the same problems of a row (all of them at once).

Each ``resolve_*`` function reads the database only through the lookups it is given (the ``*_of`` arguments):
row by row they are queries, in batches what a batch looked up at once and what its earlier rows added. The
records they are given may be ORM objects or anything with the same attributes. The rules of a new or changed
record are the services' ``check_*`` functions (:mod:`tracker.funding.services`, :func:`~tracker.funding.rates.
check_rate`).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from tracker import validation as v
from tracker.auth.scope import in_scope
from tracker.errors import Errors, Invalid
from tracker.extensions import db
from tracker.imports.kinds import RowContext
from tracker.models import DONOR_KINDS, PROJECT_STATUSES, Donor, Project
from tracker.money import MoneyError, parse_rate


def given(values: dict[str, str], column: str) -> str | None:
    return (values.get(column) or "").strip() or None


def kept_or_given(values: dict[str, str], ctx: RowContext, column: str, recorded: str | None) -> str | None:
    """The text of an optional column that a file made before it existed leaves out (a donor's ``name_fr``, a
    project's ``title_fr``): what is recorded (``None`` for a new record) when the header lacks the column, so
    that importing such a file again erases nothing; else the cell as typed, a blank one meaning none."""
    return recorded if column in ctx.absent_columns else values[column]


def same_as_recorded(what: str, pairs) -> None:
    """Refuse a row whose key exists with other data: ``pairs`` are (column, recorded, given)."""
    for column, recorded, given_ in pairs:
        if recorded != given_:
            raise Invalid(_l("differs from the recorded %(what)s", what=what), column)


def donor_named(ctx: RowContext, value: str) -> Donor:
    """The donor a row names, from the import's scratch space (a batch fills it for its rows at once)."""
    name = v.text(value, "donor", max_length=200)
    key = ("Donor", name)
    if key not in ctx.cache:
        ctx.cache[key] = db.session.scalars(select(Donor).where(Donor.name == name)).one_or_none()
    if ctx.cache[key] is None:
        raise Invalid(_l("%(value)s is not a known donor", value=name[:60]), "donor")
    return ctx.cache[key]


# --- exchange rates --------------------------------------------------------------------------------------------------

def resolve_rate_row(values: dict[str, str], *,
                     recorded_of: Callable[[str, dt.date], Decimal | None]) -> tuple[str, dt.date] | None:
    """``(currency, valid_from)`` of a row that adds a rate (:func:`~tracker.funding.rates.check_rate` has its
    rules), ``None`` when the same rate is recorded for that day; ``recorded_of`` gives the recorded rate."""
    errors = Errors()
    currency = errors.check(v.currency, values["currency"])
    valid_from = errors.check(v.date, values["valid_from"], "valid_from", not_future=False)
    if errors:
        try:
            parse_rate(values["usd_per_unit"])
        except MoneyError as error:
            errors.add(str(error), "usd_per_unit")
        errors.raise_any()
    existing = recorded_of(currency, valid_from)
    if existing is None:
        return currency, valid_from
    try:
        rate = parse_rate(values["usd_per_unit"])
    except MoneyError as error:
        raise Invalid(str(error), "usd_per_unit") from None
    if rate != existing:
        raise Invalid(_l("a different rate for %(code)s from %(date)s exists already (%(rate)s)",
                         code=currency, date=valid_from.isoformat(), rate=existing), "usd_per_unit")
    return None


# --- projects --------------------------------------------------------------------------------------------------------

PROJECT_FIELDS = ("title", "partner", "start_date", "end_date", "status")


def project_as_recorded(project) -> tuple:
    return (project.title, project.title_fr, project.country, project.partner.name, project.start_date,
            project.end_date, project.status)


def project_title_fr(values: dict[str, str], ctx: RowContext, project) -> str | None:
    """The ``title_fr`` a projects row gives ``project`` (``None``: a new one), as :func:`kept_or_given` reads it."""
    return kept_or_given(values, ctx, "title_fr", project.title_fr if project is not None else None)


def resolve_project_row(values: dict[str, str], ctx: RowContext, *,
                        existing_of: Callable[[str], Any]) -> tuple[str, str, Any] | None:
    """``(code, country, project)`` of a row that adds a project (``project`` ``None``) or changes one; ``None``
    when the project is recorded as the row has it. ``existing_of(code)`` is the project with that code in the
    importer's countries (its ``partner.name`` is read)."""
    code = v.text(values["code"], "code", max_length=32)
    country = v.country(values["country"])
    if ctx.user is not None and not in_scope(country, ctx.user):
        raise Invalid(_l("%(value)s is not one of your countries", value=country), "country")
    existing = existing_of(code)
    if existing is None:
        return code, country, None
    errors = Errors()
    given_ = (errors.check(v.text, values["title"], "title", max_length=300),
              errors.check(v.text, project_title_fr(values, ctx, existing), "title_fr", required=False,
                           max_length=300), country,
              errors.check(v.text, values["partner"], "partner", max_length=200),
              errors.check(v.date, values["start_date"], "start_date", not_future=False),
              errors.check(v.date, values["end_date"], "end_date", not_future=False),
              errors.check(v.choice, values["status"], "status", PROJECT_STATUSES))
    errors.raise_any()
    if given_ == project_as_recorded(existing):
        return None
    return code, country, existing


# --- donors ----------------------------------------------------------------------------------------------------------

def donor_name_fr(values: dict[str, str], ctx: RowContext, donor) -> str | None:
    """The ``name_fr`` a donors row gives ``donor`` (``None``: a new one), as :func:`kept_or_given` reads it."""
    return kept_or_given(values, ctx, "name_fr", donor.name_fr if donor is not None else None)


def resolve_donor_row(values: dict[str, str], ctx: RowContext, *,
                      existing_of: Callable[[str], Any]) -> tuple[str, Any] | None:
    """``(name, donor)`` of a row that adds a donor (``donor`` ``None``; :func:`~tracker.funding.services.
    check_donor` has its rules) or changes one; ``None`` when the donor is recorded as the row has it."""
    name = v.text(values["name"], "name", max_length=200)
    existing = existing_of(name)
    if existing is None:
        return name, None
    errors = Errors()
    name_fr = errors.check(v.text, donor_name_fr(values, ctx, existing), "name_fr", required=False, max_length=200)
    kind = errors.check(v.choice, values["kind"], "kind", DONOR_KINDS)
    country = errors.check(v.country, values["country"]) if given(values, "country") else None
    errors.raise_any()
    if (existing.kind, existing.country, existing.name_fr) == (kind, country, name_fr):
        return None
    return name, existing


# --- pledges and contributions ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MoneyRow:
    """What a pledges or contributions row names; ``new`` when its reference is not recorded yet."""
    reference: str
    donor: Any
    new: bool
    project: Any = None
    pledge: Any = None


def resolve_pledge_row(values: dict[str, str], ctx: RowContext, *, existing_of: Callable[[str], Any]) -> MoneyRow:
    """The donor and project a pledges row names, and whether its reference is new; a recorded pledge with other
    data is refused. ``existing_of(reference)`` is the recorded pledge."""
    errors = Errors()
    reference = errors.check(v.text, values["reference"], "reference", max_length=60)
    donor = errors.check(donor_named, ctx, values["donor"])
    project = errors.check(ctx.find, Project, "project_code", "code", values["project_code"]) \
        if given(values, "project_code") else None
    if errors:
        _money_values(errors, values, "pledged_on")
        if given(values, "country"):
            errors.check(v.country, values["country"])
        errors.raise_any()
    existing = existing_of(reference)
    if existing is None:
        return MoneyRow(reference, donor, True, project=project)
    currency = v.currency(values["currency"])
    country = v.country(values["country"]) if given(values, "country") else None
    same_as_recorded(reference, (
        ("donor", existing.donor_id, donor.id),
        ("currency", existing.currency, currency),
        ("amount", existing.amount, v.amount(values["amount"], "amount", currency)),
        ("pledged_on", existing.pledged_on, v.date(values["pledged_on"], "pledged_on")),
        ("project_code", existing.project_id, project.id if project else None),
        ("country", existing.country, country or (project.country if project else None)),
    ))
    return MoneyRow(reference, donor, False, project=project)


def resolve_contribution_row(values: dict[str, str], ctx: RowContext, *, pledge_of: Callable[[str], Any],
                             existing_of: Callable[[str], Any]) -> MoneyRow:
    """The donor and pledge a contributions row names, and whether its reference is new; a recorded contribution
    with other data is refused. ``pledge_of`` and ``existing_of`` give the pledge and the contribution recorded
    with a reference."""
    errors = Errors()
    reference = errors.check(v.text, values["reference"], "reference", max_length=60)
    donor = errors.check(donor_named, ctx, values["donor"])
    pledge = None
    if given(values, "pledge_reference"):
        pledge_ref = errors.check(v.text, values["pledge_reference"], "pledge_reference", max_length=60)
        pledge = pledge_of(pledge_ref) if pledge_ref is not None else None
        if pledge is None and pledge_ref is not None:
            errors.add(_l("%(value)s is not a known pledge", value=pledge_ref), "pledge_reference")
    if errors:
        _money_values(errors, values, "received_on")
        errors.raise_any()
    existing = existing_of(reference)
    if existing is None:
        return MoneyRow(reference, donor, True, pledge=pledge)
    currency = v.currency(values["currency"])
    same_as_recorded(reference, (
        ("donor", existing.donor_id, donor.id),
        ("currency", existing.currency, currency),
        ("amount", existing.amount, v.amount(values["amount"], "amount", currency)),
        ("received_on", existing.received_on, v.date(values["received_on"], "received_on")),
        ("pledge_reference", existing.pledge_id, pledge.id if pledge else None),
    ))
    return MoneyRow(reference, donor, False, pledge=pledge)


def _money_values(errors: Errors, values: dict[str, str], day_column: str) -> None:
    """The currency, amount and date of a pledges or contributions row that names something unknown, checked into
    ``errors``: the row reports all its problems at once."""
    currency = errors.check(v.currency, values["currency"])
    errors.check(v.amount, values["amount"], "amount", currency)
    errors.check(v.date, values[day_column], day_column)


# --- allocations -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AllocationRow:
    """What an allocations row is: ``outcome`` ``unchanged`` (``match`` is it), ``updated`` (``match`` is given
    the row's reference) or ``created`` (a new allocation of ``amount`` on ``day``)."""
    outcome: str
    project: Any
    amount: Decimal
    day: dt.date
    reference: str | None
    match: Any = None


def resolve_allocation_row(values: dict[str, str], ctx: RowContext, *, named_of: Callable[[str], Any],
                           same_of: Callable[[int, Decimal, dt.date, bool], list],
                           taken: Callable[[Any], bool]) -> AllocationRow:
    """Which stored allocation a row already is (see :func:`~tracker.funding.import_kinds.apply_allocation`).

    ``named_of(reference)`` is the allocation with that reference; ``same_of(project_id, amount, day,
    unreferenced)`` the allocations of that project, amount and day (only those without a reference when
    ``unreferenced``), those without a reference first, then in the order they were recorded;
    ``taken(allocation)`` whether an earlier row of the file created or found it.
    """
    errors = Errors()
    project = errors.check(ctx.find, Project, "project_code", "code", values["project_code"])
    amount = errors.check(v.amount, values["amount_usd"], "amount_usd", "USD")
    allocated_on = errors.check(v.date, values["allocated_on"], "allocated_on")
    reference = errors.check(v.text, values["reference"], "reference", required=False, max_length=60)
    errors.raise_any()
    if reference:
        named = named_of(reference)
        if named is not None:
            same_as_recorded(reference, (
                ("project_code", named.project_id, project.id),
                ("amount_usd", named.amount_usd, amount),
                ("allocated_on", named.allocated_on, allocated_on),
            ))
            return AllocationRow("unchanged", project, amount, allocated_on, reference, named)
    # Few allocations share a project, an amount and a day: the ones taken are left out here, not in SQL.
    match = next((a for a in same_of(project.id, amount, allocated_on, bool(reference)) if not taken(a)), None)
    if match is not None:
        return AllocationRow("updated" if reference else "unchanged", project, amount, allocated_on, reference, match)
    return AllocationRow("created", project, amount, allocated_on, reference)
