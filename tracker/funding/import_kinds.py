"""Spreadsheet imports of funding data (DESIGN section 7)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from tracker import validation as v
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.funding.rates import add_rate
from tracker.imports.kinds import Column, Kind, RowContext, register
from tracker.models import ExchangeRate
from tracker.money import MoneyError, parse_rate


def apply_exchange_rate(values: dict[str, str], ctx: RowContext) -> str:
    currency = v.currency(values["currency"])
    valid_from = v.date(values["valid_from"], "valid_from", not_future=False)
    existing = db.session.scalar(select(ExchangeRate.usd_per_unit).where(
        ExchangeRate.currency == currency, ExchangeRate.valid_from == valid_from))
    if existing is not None:
        try:
            rate = parse_rate(values["usd_per_unit"])
        except MoneyError as error:
            raise Invalid(str(error), "usd_per_unit") from None
        if rate != existing:
            raise Invalid(_l("a different rate for %(code)s from %(date)s exists already (%(rate)s)",
                             code=currency, date=valid_from.isoformat(), rate=existing), "usd_per_unit")
        return "unchanged"
    add_rate(currency=currency, valid_from=valid_from, usd_per_unit=values["usd_per_unit"])
    return "created"


register(Kind(
    name="exchange_rates",
    label=_l("Exchange rates"),
    permission="admin.rates",
    apply_row=apply_exchange_rate,
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
# Every row goes through tracker.funding.services; projects are found through
# the importer's countries; donors, pledges and contributions are the Fund's.
# Keys make a second import of the same file add nothing.

from tracker.auth.scope import in_scope, scoped_select  # noqa: E402
from tracker.funding import services  # noqa: E402
from tracker.models import DONOR_KINDS, PROJECT_STATUSES, Allocation, Contribution, Donor, Pledge, Project  # noqa: E402

FUNDING = "funding.manage"


def _given(values: dict[str, str], column: str) -> str | None:
    return (values.get(column) or "").strip() or None


def _amount_as_read(column: str, currency: str | None = None):
    return lambda text: v.amount(text, column, currency)


def _date_as_read(column: str):
    return lambda text: v.date(text, column, not_future=False)


def _same_as_recorded(what: str, pairs) -> None:
    """Refuse a row whose key exists with other data: ``pairs`` are (column, recorded, given)."""
    for column, recorded, given in pairs:
        if recorded != given:
            raise Invalid(_l("differs from the recorded %(what)s", what=what), column)


def _donor_named(ctx: RowContext, value: str) -> Donor:
    name = v.text(value, "donor", max_length=200)
    key = ("Donor", name)
    if key not in ctx.cache:
        ctx.cache[key] = db.session.scalars(select(Donor).where(Donor.name == name)).one_or_none()
    if ctx.cache[key] is None:
        raise Invalid(_l("%(value)s is not a known donor", value=name[:60]), "donor")
    return ctx.cache[key]


def apply_project(values: dict[str, str], ctx: RowContext) -> str:
    code = v.text(values["code"], "code", max_length=32)
    country = v.country(values["country"])
    if ctx.user is not None and not in_scope(country, ctx.user):
        raise Invalid(_l("%(value)s is not one of your countries", value=country), "country")
    stmt = select(Project) if ctx.user is None else scoped_select(Project, ctx.user)
    existing = db.session.scalars(stmt.where(Project.code == code)).one_or_none()
    fields = {name: values[name] for name in ("title", "partner", "start_date", "end_date", "status")}
    if existing is None:
        services.save_project(code=code, country=country, **fields)
        return "created"
    given = (v.text(values["title"], "title", max_length=300), country,
             v.text(values["partner"], "partner", max_length=200),
             v.date(values["start_date"], "start_date", not_future=False),
             v.date(values["end_date"], "end_date", not_future=False),
             v.choice(values["status"], "status", PROJECT_STATUSES))
    if given == (existing.title, existing.country, existing.partner.name, existing.start_date, existing.end_date,
                 existing.status):
        return "unchanged"
    services.save_project(project=existing, code=code, country=country, description=existing.description, **fields)
    return "updated"


register(Kind(
    name="projects",
    label=_l("Projects"),
    permission=FUNDING,
    apply_row=apply_project,
    columns=(
        Column("code", help=_l("The project's code, such as TF-CD-2025-01; a known code updates the project.")),
        Column("title"),
        Column("country", help=_l("ISO 3166 code, such as CD; one of your countries.")),
        Column("partner", help=_l("The implementing partner's name; a new name adds the partner.")),
        Column("start_date", help=_l("YYYY-MM-DD.")),
        Column("end_date", help=_l("YYYY-MM-DD, on or after the start date.")),
        Column("status", help=_l("pipeline, active or closed.")),
    ),
    example_rows=({"code": "TF-CD-2025-01", "title": "Assistance to survivors in Ituri", "country": "CD",
                   "partner": "Example NGO", "start_date": "2025-01-01", "end_date": "2026-12-31",
                   "status": "active"},),
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
    columns=(
        Column("project_code", help=_l("Such as TF-CD-2025-01.")),
        Column("year", help=_l("A calendar year within the project's dates.")),
        Column("category", help=_l("school_fees, iga, medical, psychosocial, legal, material, outreach or admin.")),
        Column("amount_usd", help=_l("The need in US dollars; a known project, year and category is updated.")),
    ),
    example_rows=({"project_code": "TF-CD-2025-01", "year": "2025", "category": "school_fees",
                   "amount_usd": "24000.00"},),
))


def apply_donor(values: dict[str, str], ctx: RowContext) -> str:
    name = v.text(values["name"], "name", max_length=200)
    existing = db.session.scalars(select(Donor).where(Donor.name == name)).one_or_none()
    if existing is None:
        services.create_donor(name=name, kind=values["kind"], country=_given(values, "country"))
        return "created"
    kind = v.choice(values["kind"], "kind", DONOR_KINDS)
    country = v.country(values["country"]) if _given(values, "country") else None
    if (existing.kind, existing.country) == (kind, country):
        return "unchanged"
    services.update_donor(donor=existing, name=name, kind=kind, country=country)
    return "updated"


register(Kind(
    name="donors",
    label=_l("Donors"),
    permission=FUNDING,
    apply_row=apply_donor,
    columns=(
        Column("name", help=_l("The donor's name, as used in the pledges and contributions files.")),
        Column("kind", help=_l("member_state, intergovernmental, ngo, private or withheld_payments.")),
        Column("country", required=False, help=_l("ISO 3166 code of a Member State, such as NO.")),
    ),
    example_rows=({"name": "Kingdom of Norway", "kind": "member_state", "country": "NO"},),
))


def apply_pledge(values: dict[str, str], ctx: RowContext) -> str:
    reference = v.text(values["reference"], "reference", max_length=60)
    donor = _donor_named(ctx, values["donor"])
    project = ctx.find(Project, "project_code", "code", values["project_code"]) \
        if _given(values, "project_code") else None
    existing = db.session.scalars(select(Pledge).where(Pledge.reference == reference)).one_or_none()
    if existing is None:
        services.record_pledge(donor=donor, reference=reference, amount=values["amount"],
                               currency=values["currency"], pledged_on=values["pledged_on"], project=project,
                               country=_given(values, "country"))
        return "created"
    currency = v.currency(values["currency"])
    country = v.country(values["country"]) if _given(values, "country") else None
    _same_as_recorded(reference, (
        ("donor", existing.donor_id, donor.id),
        ("currency", existing.currency, currency),
        ("amount", existing.amount, v.amount(values["amount"], "amount", currency)),
        ("pledged_on", existing.pledged_on, v.date(values["pledged_on"], "pledged_on")),
        ("project_code", existing.project_id, project.id if project else None),
        ("country", existing.country, country or (project.country if project else None)),
    ))
    return "unchanged"


register(Kind(
    name="pledges",
    label=_l("Pledges"),
    permission=FUNDING,
    apply_row=apply_pledge,
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


def apply_contribution(values: dict[str, str], ctx: RowContext) -> str:
    reference = v.text(values["reference"], "reference", max_length=60)
    donor = _donor_named(ctx, values["donor"])
    pledge = None
    if _given(values, "pledge_reference"):
        pledge_ref = v.text(values["pledge_reference"], "pledge_reference", max_length=60)
        pledge = db.session.scalars(select(Pledge).where(Pledge.reference == pledge_ref)).one_or_none()
        if pledge is None:
            raise Invalid(_l("%(value)s is not a known pledge", value=pledge_ref), "pledge_reference")
    existing = db.session.scalars(select(Contribution).where(Contribution.reference == reference)).one_or_none()
    if existing is None:
        services.record_contribution(donor=donor, reference=reference, amount=values["amount"],
                                     currency=values["currency"], received_on=values["received_on"], pledge=pledge)
        return "created"
    currency = v.currency(values["currency"])
    _same_as_recorded(reference, (
        ("donor", existing.donor_id, donor.id),
        ("currency", existing.currency, currency),
        ("amount", existing.amount, v.amount(values["amount"], "amount", currency)),
        ("received_on", existing.received_on, v.date(values["received_on"], "received_on")),
        ("pledge_reference", existing.pledge_id, pledge.id if pledge else None),
    ))
    return "unchanged"


register(Kind(
    name="contributions",
    label=_l("Contributions"),
    permission=FUNDING,
    apply_row=apply_contribution,
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
    project = ctx.find(Project, "project_code", "code", values["project_code"])
    amount = v.amount(values["amount_usd"], "amount_usd", "USD")
    allocated_on = v.date(values["allocated_on"], "allocated_on")
    reference = v.text(values["reference"], "reference", required=False, max_length=60)
    # Allocations that earlier rows of this file created or found.
    taken = ctx.cache.setdefault((Allocation, "taken"), set())
    if reference:
        named = db.session.scalars(select(Allocation).where(Allocation.reference == reference)).one_or_none()
        if named is not None:
            _same_as_recorded(reference, (
                ("project_code", named.project_id, project.id),
                ("amount_usd", named.amount_usd, amount),
                ("allocated_on", named.allocated_on, allocated_on),
            ))
            taken.add(named.id)
            return "unchanged"
    # Few allocations share a project, an amount and a day: the ones taken are left out here, not in SQL.
    same = db.session.scalars(select(Allocation).where(
        Allocation.project_id == project.id, Allocation.amount_usd == amount, Allocation.allocated_on == allocated_on,
        *([Allocation.reference.is_(None)] if reference else []),
    ).order_by(Allocation.reference.is_not(None), Allocation.id)).all()
    match = next((a for a in same if a.id not in taken), None)
    if match is not None:
        taken.add(match.id)
        if reference:
            services.name_allocation(allocation=match, reference=reference)
            return "updated"
        return "unchanged"
    allocation = services.allocate(project=project, amount_usd=amount, allocated_on=allocated_on, reference=reference,
                                   user_id=ctx.user.id if ctx.user else None)
    taken.add(allocation.id)
    return "created"


register(Kind(
    name="allocations",
    label=_l("Allocations"),
    permission=FUNDING,
    apply_row=apply_allocation,
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
