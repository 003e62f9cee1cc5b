"""Exchange rates, donors, projects and budget lines imported in batches (:mod:`tracker.funding.import_batch`
says how a batch runs; pledges, contributions and allocations are :mod:`tracker.funding.import_batch_money`):
per kind, what a batch looks up at once, how a row is checked against that memory with the rules of row by row,
and what an accepted row adds to it for the rows after it.

Per batch: exchange rates, one query for the rates of the days its rows name; donors, one for their names;
projects, one for their codes in the importer's countries, one for the codes anywhere (a new code must be
unused), one for the partners named and, for the projects found, one for their budget-line years and one for
whether mothers are registered in them; budget lines, one for the projects (cached for the import) and one for
their lines.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from tracker import validation as v
from tracker.auth.scope import apply_scope
from tracker.extensions import db
from tracker.funding import services
from tracker.funding.import_batch import (
    Batch,
    Create,
    IdOf,
    Record,
    Update,
    cache_projects,
    known,
    parts,
    read_records,
    valid,
)
from tracker.funding.import_rules import (
    PROJECT_FIELDS,
    donor_name_fr,
    given,
    project_title_fr,
    resolve_donor_row,
    resolve_project_row,
    resolve_rate_row,
)
from tracker.funding.rates import check_rate
from tracker.models import Beneficiary, BudgetLine, Donor, ExchangeRate, Partner, Project
from tracker.models.base import now_utc

_RATE_UNIT = Decimal("0.00000001")  # a rate as the database gives it back (Money(8))


# --- exchange rates --------------------------------------------------------------------------------------------------

class Rates(Batch):
    models = (ExchangeRate,)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.recorded: dict[tuple[str, dt.date], Decimal | None] = {}

    def look_up(self, rows) -> None:
        wanted = set()
        for _, values in rows:
            currency = valid(v.currency, values["currency"])
            day = valid(v.date, values["valid_from"], "valid_from", not_future=False)
            if currency and day and (currency, day) not in self.recorded:
                wanted.add((currency, day))
        currencies = sorted({currency for currency, _ in wanted})
        found = {}
        for part in parts({day for _, day in wanted}):
            for currency, day, rate in db.session.execute(
                    select(ExchangeRate.currency, ExchangeRate.valid_from, ExchangeRate.usd_per_unit)
                    .where(ExchangeRate.currency.in_(currencies), ExchangeRate.valid_from.in_(part))):
                found[(currency, day)] = rate
        for pair in wanted:
            self.recorded[pair] = found.get(pair)

    def rate(self, currency: str, day: dt.date) -> Decimal | None:
        return known(self.recorded, (currency, day), lambda pair: db.session.scalar(
            select(ExchangeRate.usd_per_unit).where(ExchangeRate.currency == pair[0],
                                                    ExchangeRate.valid_from == pair[1])))

    def check(self, values):
        if resolve_rate_row(values, recorded_of=self.rate) is None:
            return "unchanged", []
        currency, valid_from, rate = check_rate(currency=values["currency"], valid_from=values["valid_from"],
                                                usd_per_unit=values["usd_per_unit"],
                                                exists=lambda c, d: self.rate(c, d) is not None)
        self.recorded[(currency, valid_from)] = rate.quantize(_RATE_UNIT)
        return "created", [Create(ExchangeRate, {"currency": currency, "valid_from": valid_from,
                                                 "usd_per_unit": rate, "created_at": now_utc()}, Record())]


# --- donors ----------------------------------------------------------------------------------------------------------

class Donors(Batch):
    models = (Donor,)
    _COLUMNS = (Donor.id, Donor.name, Donor.kind, Donor.country, Donor.name_fr)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.donors: dict[str, Record | None] = {}

    def look_up(self, rows) -> None:
        wanted = {valid(v.text, values["name"], "name", max_length=200) for _, values in rows} - {None}
        wanted -= set(self.donors)
        for part in parts(wanted):
            found = {r.name: r for r in read_records(select(*self._COLUMNS).where(Donor.name.in_(part)))}
            for name in part:
                self.donors[name] = found.get(name)

    def donor(self, name: str) -> Record | None:
        return known(self.donors, name, lambda n: next(iter(read_records(
            select(*self._COLUMNS).where(Donor.name == n))), None))

    def check(self, values):
        resolved = resolve_donor_row(values, self.ctx, existing_of=self.donor)
        if resolved is None:
            return "unchanged", []
        name, existing = resolved
        name, kind, country, name_fr = services.check_donor(
            name=name, kind=values["kind"], country=given(values, "country"),
            name_fr=donor_name_fr(values, self.ctx, existing), donor=existing,
            name_taken=lambda n: self.donor(n) is not None)
        fields = {"name": name, "kind": kind, "country": country, "name_fr": name_fr}
        if existing is None:
            record = self.donors[name] = Record(**fields)
            return "created", [Create(Donor, fields | {"created_at": now_utc()}, record)]
        old = {column: getattr(existing, column) for column in fields}
        existing.__dict__.update(fields)
        return "updated", [Update(Donor, existing, old, fields)]


# --- projects --------------------------------------------------------------------------------------------------------

class Projects(Batch):
    models = (Partner, Project)
    _COLUMNS = (Project.id, Project.code, Project.title, Project.title_fr, Project.description, Project.country,
                Project.partner_id, Project.start_date, Project.end_date, Project.status)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.projects: dict[str, Record | None] = {}   # by code, in the importer's countries
        self.codes: dict[str, bool] = {}                # whether any project has the code
        self.partners: dict[str, Record | None] = {}    # by name
        self.mothers: dict[int, bool] = {}              # project id -> whether mothers are registered in it
        self.years: dict[int, list[int]] = {}           # project id -> its budget lines' years

    def look_up(self, rows) -> None:
        codes = {valid(v.text, values["code"], "code", max_length=32) for _, values in rows} - {None}
        names = {valid(v.text, values["partner"], "partner", max_length=200) for _, values in rows} - {None}
        found = self._projects(codes - set(self.projects))
        names |= {p.partner_name for p in found}
        self._partners(names - set(self.partners))
        for project in found:
            project.partner = self.partners[project.__dict__.pop("partner_name")]
        for part in parts(({code for code in codes} | {code.upper() for code in codes}) - set(self.codes)):
            taken = set(db.session.scalars(select(Project.code).where(Project.code.in_(part))))
            self.codes.update((code, code in taken) for code in part)
        ids = [p.id for p in found]
        for part in parts(ids):
            with_mothers = set(db.session.scalars(select(Beneficiary.project_id).distinct()
                                                  .where(Beneficiary.project_id.in_(part))))
            self.mothers.update((project_id, project_id in with_mothers) for project_id in part)
            self.years.update((project_id, []) for project_id in part)
            for project_id, year in db.session.execute(select(BudgetLine.project_id, BudgetLine.year)
                                                       .where(BudgetLine.project_id.in_(part))):
                self.years[project_id].append(year)

    def _projects(self, codes) -> list[Record]:
        found = []
        for part in parts(codes):
            stmt = select(*self._COLUMNS, Partner.name.label("partner_name")).join(Project.partner) \
                .where(Project.code.in_(part))
            if self.ctx.user is not None:
                stmt = apply_scope(stmt, Project, self.ctx.user)
            records = {r.code: r for r in read_records(stmt)}
            for code in part:
                self.projects[code] = records.get(code)
            found.extend(records.values())
        return found

    def _partners(self, names) -> None:
        for part in parts(names):
            records = {r.name: r for r in read_records(select(Partner.id, Partner.name, Partner.kind)
                                                       .where(Partner.name.in_(part)))}
            for name in part:
                self.partners[name] = records.get(name)

    def project(self, code: str) -> Record | None:
        if code not in self.projects:
            found = self._projects([code])
            for project in found:
                project.partner = self.partner(project.__dict__.pop("partner_name"))
        return self.projects[code]

    def partner(self, name: str) -> Record | None:
        if name not in self.partners:
            self._partners([name])
        return self.partners[name]

    def code_taken(self, code: str) -> bool:
        return known(self.codes, code, lambda c: db.session.scalar(
            select(Project.id).where(Project.code == c)) is not None)

    def has_mothers(self, project_id: int) -> bool:
        return known(self.mothers, project_id, lambda i: db.session.scalar(
            select(Beneficiary.id).where(Beneficiary.project_id == i).limit(1)) is not None)

    def lines_outside(self, project_id: int, first_year: int, last_year: int) -> int:
        if project_id not in self.years:
            self.years[project_id] = list(db.session.scalars(select(BudgetLine.year)
                                                             .where(BudgetLine.project_id == project_id)))
        return sum(1 for year in self.years[project_id] if year < first_year or year > last_year)

    def check(self, values):
        resolved = resolve_project_row(values, self.ctx, existing_of=self.project)
        if resolved is None:
            return "unchanged", []
        code, country, existing = resolved
        checked = services.check_project(
            code=code, country=country, **{name: values[name] for name in PROJECT_FIELDS},
            title_fr=project_title_fr(values, self.ctx, existing),
            description=existing.description if existing is not None else None, project=existing,
            code_taken=self.code_taken, has_mothers=self.has_mothers,
            lines_outside=self.lines_outside)
        actions = []
        partner = self.partner(checked.partner)
        if partner is None:  # as services.partner_named adds it
            partner = self.partners[checked.partner] = Record(name=checked.partner, kind="ngo")
            actions.append(Create(Partner, {"name": partner.name, "kind": partner.kind}, partner))
        fields = {"title": checked.title, "title_fr": checked.title_fr, "description": checked.description,
                  "country": checked.country, "start_date": checked.start_date, "end_date": checked.end_date,
                  "status": checked.status}
        if existing is None:
            record = Record(code=checked.code, partner=partner, **fields)
            self.projects[checked.code] = record
            self.codes[checked.code] = True
            actions.append(Create(Project, {"code": checked.code, **fields, "partner_id": IdOf(partner),
                                            "created_at": now_utc()}, record))
            return "created", actions
        old = {name: getattr(existing, name) for name in fields} | {"partner_id": IdOf(existing.partner)}
        existing.__dict__.update(fields)
        existing.partner = partner
        actions.append(Update(Project, existing, old, fields | {"partner_id": IdOf(partner)}))
        return "updated", actions


# --- budget lines ----------------------------------------------------------------------------------------------------

class BudgetLines(Batch):
    models = (BudgetLine,)

    def __init__(self, ctx):
        super().__init__(ctx)
        self.lines: dict[tuple[int, int, str], Record] = {}
        self.loaded: set[int] = set()

    def look_up(self, rows) -> None:
        cache_projects(rows, self.ctx)
        projects = [self.ctx.cache.get(("Project", values["project_code"].strip())) for _, values in rows]
        self._load({p.id for p in projects if p is not None} - self.loaded)

    def _load(self, project_ids) -> None:
        for part in parts(project_ids):
            for line in read_records(select(BudgetLine.id, BudgetLine.project_id, BudgetLine.year,
                                            BudgetLine.category, BudgetLine.amount_usd)
                                     .where(BudgetLine.project_id.in_(part))):
                self.lines[(line.project_id, line.year, line.category)] = line
            self.loaded.update(part)

    def check(self, values):
        project = self.ctx.find(Project, "project_code", "code", values["project_code"])
        year, category, amount = services.check_budget_line(project=project, year=values["year"],
                                                            category=values["category"],
                                                            amount_usd=values["amount_usd"])
        if project.id not in self.loaded:
            self._load([project.id])
        line = self.lines.get((project.id, year, category))
        outcome = services.budget_line_outcome(line, amount)
        if outcome == "created":
            record = self.lines[(project.id, year, category)] = Record(
                project_id=project.id, year=year, category=category, amount_usd=amount)
            return outcome, [Create(BudgetLine, {"project_id": project.id, "year": year, "category": category,
                                                 "amount_usd": amount}, record)]
        if outcome == "updated":
            old, line.amount_usd = line.amount_usd, amount
            return outcome, [Update(BudgetLine, line, {"amount_usd": old}, {"amount_usd": amount})]
        return outcome, []
