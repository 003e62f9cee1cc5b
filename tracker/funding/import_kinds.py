"""Spreadsheet imports of funding data (DESIGN section 7).

Each kind has two paths with the same rules and results: ``apply_row``, here, one row at a time through the
services (a savepoint per row), and ``apply_batch``, a few hundred rows at a time
(:mod:`~tracker.funding.import_batch`). What both decide about a row is in :mod:`~tracker.funding.import_rules`
and in the services' ``check_*`` functions, which both call.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from tracker import validation as v
from tracker.extensions import db
from tracker.funding.import_batch import batch_of
from tracker.funding.import_batch_kinds import BudgetLines, Donors, Projects, Rates
from tracker.funding.import_batch_money import Allocations, Contributions, Pledges
from tracker.funding.import_rules import (
    PROJECT_FIELDS,
    donor_name_fr,
    given,
    project_title_fr,
    resolve_allocation_row,
    resolve_contribution_row,
    resolve_donor_row,
    resolve_pledge_row,
    resolve_project_row,
    resolve_rate_row,
)
from tracker.funding.rates import add_rate
from tracker.imports.kinds import Column, Kind, RowContext, register
from tracker.models import ExchangeRate


def _rate_recorded(currency: str, valid_from) -> Decimal | None:
    return db.session.scalar(select(ExchangeRate.usd_per_unit).where(
        ExchangeRate.currency == currency, ExchangeRate.valid_from == valid_from))


def apply_exchange_rate(values: dict[str, str], ctx: RowContext) -> str:
    if resolve_rate_row(values, recorded_of=_rate_recorded) is None:
        return "unchanged"
    add_rate(currency=values["currency"], valid_from=values["valid_from"], usd_per_unit=values["usd_per_unit"])
    return "created"


register(Kind(
    name="exchange_rates",
    label=_l("Exchange rates"),
    permission="admin.rates",
    apply_row=apply_exchange_rate,
    apply_batch=batch_of(Rates),
    columns=(
        Column("currency", help=_l("ISO 4217 code, such as CDF.")),
        Column("valid_from", help=_l("YYYY-MM-DD: the rate is in force from this day until the next one.")),
        Column("usd_per_unit",
               help=_l("US dollars for one unit of the currency, such as 0.00035 (8 decimals at most).")),
    ),
    example_rows=({"currency": "CDF", "valid_from": "2025-09-01", "usd_per_unit": "0.00035"},),
))


# --- the Fund's money: projects, budget lines, donors, pledges, contributions, allocations ---------------------------
#
# Row by row, every row goes through tracker.funding.services (in batches, through
# their check_* functions); projects are found through the importer's countries;
# donors, pledges and contributions are the Fund's. Keys make a second import of
# the same file add nothing.

from tracker.auth.scope import scoped_select  # noqa: E402
from tracker.funding import services  # noqa: E402
from tracker.models import Allocation, Contribution, Donor, Pledge, Project  # noqa: E402

FUNDING = "funding.manage"


def _amount_as_read(column: str, currency: str | None = None):
    return lambda text: v.amount(text, column, currency)


def _date_as_read(column: str):
    return lambda text: v.date(text, column, not_future=False)


def apply_project(values: dict[str, str], ctx: RowContext) -> str:
    def existing_of(code: str) -> Project | None:
        stmt = select(Project) if ctx.user is None else scoped_select(Project, ctx.user)
        return db.session.scalars(stmt.where(Project.code == code)).one_or_none()

    resolved = resolve_project_row(values, ctx, existing_of=existing_of)
    if resolved is None:
        return "unchanged"
    code, country, existing = resolved
    fields = {name: values[name] for name in PROJECT_FIELDS} | {"title_fr": project_title_fr(values, ctx, existing)}
    if existing is None:
        services.save_project(code=code, country=country, **fields)
        return "created"
    services.save_project(project=existing, code=code, country=country, description=existing.description, **fields)
    return "updated"


register(Kind(
    name="projects",
    label=_l("Projects"),
    permission=FUNDING,
    apply_row=apply_project,
    apply_batch=batch_of(Projects),
    columns=(
        Column("code", help=_l("The project's code, such as TF-CD-2025-01; a known code updates the project.")),
        Column("title"),
        Column("country", help=_l("ISO 3166 code, such as CD; one of your countries.")),
        Column("partner", help=_l("The implementing partner's name; a new name adds the partner.")),
        Column("start_date", help=_l("YYYY-MM-DD.")),
        Column("end_date", help=_l("YYYY-MM-DD, on or after the start date.")),
        Column("status", help=_l("pipeline, active or closed.")),
        Column("title_fr", required=False,
               help=_l("The title in French, for reports issued in French; may be blank. A file without this "
                       "column leaves the recorded one as it is.")),
    ),
    example_rows=({"code": "TF-CD-2025-01", "title": "Assistance to survivors in Ituri", "country": "CD",
                   "partner": "Example NGO", "start_date": "2025-01-01", "end_date": "2026-12-31",
                   "status": "active", "title_fr": "Assistance aux victimes en Ituri"},),
))


def apply_budget_line(values: dict[str, str], ctx: RowContext) -> str:
    project = ctx.find(Project, "project_code", "code", values["project_code"])
    _line, outcome = services.set_budget_line(project=project, year=values["year"], category=values["category"],
                                              amount_usd=values["amount_usd"])
    return outcome


register(Kind(
    name="budget_lines",
    label=_l("Budget lines"),
    permission=FUNDING,
    apply_row=apply_budget_line,
    apply_batch=batch_of(BudgetLines),
    columns=(
        Column("project_code", help=_l("Such as TF-CD-2025-01.")),
        Column("year", help=_l("A calendar year within the project's dates.")),
        Column("category", help=_l("school_fees, iga, medical, psychosocial, legal, material, outreach or admin.")),
        Column("amount_usd", help=_l("The need in US dollars; a known project, year and category is updated.")),
    ),
    example_rows=({"project_code": "TF-CD-2025-01", "year": "2025", "category": "school_fees",
                   "amount_usd": "24000.00"},),
))


def _donor_of(name: str) -> Donor | None:
    return db.session.scalars(select(Donor).where(Donor.name == name)).one_or_none()


def apply_donor(values: dict[str, str], ctx: RowContext) -> str:
    resolved = resolve_donor_row(values, ctx, existing_of=_donor_of)
    if resolved is None:
        return "unchanged"
    name, existing = resolved
    name_fr = donor_name_fr(values, ctx, existing)
    if existing is None:
        services.create_donor(name=name, kind=values["kind"], country=given(values, "country"), name_fr=name_fr)
        return "created"
    services.update_donor(donor=existing, name=name, kind=values["kind"], country=given(values, "country"),
                          name_fr=name_fr)
    return "updated"


register(Kind(
    name="donors",
    label=_l("Donors"),
    permission=FUNDING,
    apply_row=apply_donor,
    apply_batch=batch_of(Donors),
    columns=(
        Column("name", help=_l("The donor's name, as used in the pledges and contributions files.")),
        Column("kind", help=_l("member_state, intergovernmental, ngo, private or withheld_payments.")),
        Column("country", required=False, help=_l("ISO 3166 code of a Member State, such as NO.")),
        Column("name_fr", required=False,
               help=_l("The name in French, for reports issued in French, such as Royaume de Norvège; may be "
                       "blank. A file without this column leaves the recorded one as it is.")),
    ),
    example_rows=({"name": "Kingdom of Norway", "kind": "member_state", "country": "NO",
                   "name_fr": "Royaume de Norvège"},),
))


def _pledge_of(reference: str) -> Pledge | None:
    return db.session.scalars(select(Pledge).where(Pledge.reference == reference)).one_or_none()


def apply_pledge(values: dict[str, str], ctx: RowContext) -> str:
    row = resolve_pledge_row(values, ctx, existing_of=_pledge_of)
    if not row.new:
        return "unchanged"
    services.record_pledge(donor=row.donor, reference=row.reference, amount=values["amount"],
                           currency=values["currency"], pledged_on=values["pledged_on"], project=row.project,
                           country=given(values, "country"))
    return "created"


register(Kind(
    name="pledges",
    label=_l("Pledges"),
    permission=FUNDING,
    apply_row=apply_pledge,
    apply_batch=batch_of(Pledges),
    columns=(
        Column("reference", help=_l("Your reference for the pledge, unique, such as PL-2025-NO-01.")),
        Column("donor", help=_l("The donor's name, as recorded.")),
        Column("amount", help=_l("Digits and one dot, in the currency of the next column.")),
        Column("currency", help=_l("ISO 4217 code, such as NOK; a rate must be in force on the pledge's date.")),
        Column("pledged_on", help=_l("YYYY-MM-DD.")),
        Column("project_code", required=False, help=_l("Earmark for a project, such as TF-CD-2025-01.")),
        Column("country", required=False, help=_l("Earmark for a country, such as CD.")),
    ),
    example_rows=({"reference": "PL-2025-NO-01", "donor": "Kingdom of Norway", "amount": "5000000",
                   "currency": "NOK", "pledged_on": "2025-03-15", "project_code": "", "country": "CD"},),
    # A pledge row pasted twice is refused rather than taken for the pledge of the first row, and a reference
    # given twice with other data is named as such (not as "differs from the recorded" pledge).
    refuse_repeats=True,
    key_column="reference",
    # The currency decides the decimals allowed; to tell equal rows, any amount with at most two will do.
    compare_as={"amount": _amount_as_read("amount"), "currency": v.currency,
                "pledged_on": _date_as_read("pledged_on"), "country": v.country},
))


def _contribution_of(reference: str) -> Contribution | None:
    return db.session.scalars(select(Contribution).where(Contribution.reference == reference)).one_or_none()


def apply_contribution(values: dict[str, str], ctx: RowContext) -> str:
    row = resolve_contribution_row(values, ctx, pledge_of=_pledge_of, existing_of=_contribution_of)
    if not row.new:
        return "unchanged"
    services.record_contribution(donor=row.donor, reference=row.reference, amount=values["amount"],
                                 currency=values["currency"], received_on=values["received_on"], pledge=row.pledge)
    return "created"


register(Kind(
    name="contributions",
    label=_l("Contributions"),
    permission=FUNDING,
    apply_row=apply_contribution,
    apply_batch=batch_of(Contributions),
    columns=(
        Column("reference", help=_l("Your reference for the money received, unique, such as CT-2025-NO-01.")),
        Column("donor", help=_l("The donor's name, as recorded.")),
        Column("amount", help=_l("Digits and one dot, in the currency of the next column.")),
        Column("currency", help=_l("ISO 4217 code; a rate must be in force on the day received.")),
        Column("received_on", help=_l("YYYY-MM-DD.")),
        Column("pledge_reference", required=False, help=_l("The donor's pledge this money pays, if any.")),
    ),
    example_rows=({"reference": "CT-2025-NO-01", "donor": "Kingdom of Norway", "amount": "2500000",
                   "currency": "NOK", "received_on": "2025-06-30", "pledge_reference": "PL-2025-NO-01"},),
))


def _allocation_named(reference: str) -> Allocation | None:
    return db.session.scalars(select(Allocation).where(Allocation.reference == reference)).one_or_none()


def _same_allocations(project_id: int, amount, day, unreferenced: bool) -> list[Allocation]:
    return db.session.scalars(select(Allocation).where(
        Allocation.project_id == project_id, Allocation.amount_usd == amount, Allocation.allocated_on == day,
        *([Allocation.reference.is_(None)] if unreferenced else []),
    ).order_by(Allocation.reference.is_not(None), Allocation.id)).all()


def apply_allocation(values: dict[str, str], ctx: RowContext) -> str:
    """One allocation per row; which stored allocation a row already is, so that it adds nothing:

    - A row with a ``reference`` is the allocation with that reference:
      unchanged when project, amount and date agree, refused when they
      differ. When no allocation has the reference yet, one without a
      reference of the same project, amount and date (entered on the screen,
      or imported before references existed) is taken to be it and is given
      the reference ("updated"): adding references to a file imported before
      then allocates none of its rows twice.
    - A row without ``reference`` is, as it always was, an allocation of the
      same project, amount and date (one without a reference first).
    - A stored allocation answers for one row of a file only: another row
      with the same project, amount and date is another allocation. Equal
      rows cannot be told apart and are refused (``refuse_repeats``); two
      equal allocations on one day need two references.
    """
    # Allocations that earlier rows of this file created or found.
    taken = ctx.cache.setdefault((Allocation, "taken"), set())
    row = resolve_allocation_row(values, ctx, named_of=_allocation_named, same_of=_same_allocations,
                                 taken=lambda allocation: allocation.id in taken)
    if row.match is not None:
        taken.add(row.match.id)
        if row.outcome == "updated":
            services.name_allocation(allocation=row.match, reference=row.reference)
        return row.outcome
    allocation = services.allocate(project=row.project, amount_usd=row.amount, allocated_on=row.day,
                                   reference=row.reference, user_id=ctx.user.id if ctx.user else None)
    taken.add(allocation.id)
    return "created"


register(Kind(
    name="allocations",
    label=_l("Allocations"),
    permission=FUNDING,
    apply_row=apply_allocation,
    apply_batch=batch_of(Allocations),
    columns=(
        Column("project_code", help=_l("Such as TF-CD-2025-01.")),
        Column("amount_usd", help=_l("US dollars, at most what the Fund has received and not yet allocated.")),
        Column("allocated_on", help=_l("YYYY-MM-DD.")),
        Column("reference", required=False,
               help=_l("Your reference for the allocation, unique, such as AL-2025-CD-01: give one to record two "
                       "equal allocations (same project, amount and day) in one file, as a row repeated without "
                       "a different reference is refused.")),
    ),
    example_rows=({"project_code": "TF-CD-2025-01", "amount_usd": "50000.00", "allocated_on": "2025-07-01",
                   "reference": "AL-2025-CD-01"},),
    refuse_repeats=True,
    key_column="reference",
    compare_as={"amount_usd": _amount_as_read("amount_usd", "USD"), "allocated_on": _date_as_read("allocated_on")},
))
