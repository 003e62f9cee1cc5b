"""The registry's imports in batches (``Kind.apply_batch``): the rules of :mod:`~tracker.registry.import_kinds`
row by row, in Python, with what the rows name looked up a batch at a time and the new records and their audit
events written in bulk (:func:`tracker.imports.batching.run_batch`). Here mothers, children and enrolments;
claims and income in :mod:`~tracker.registry.import_batch_records`.

For each kind, per batch of 500 rows: one ``IN`` query per kind of code not met yet in the file (projects,
mothers, children, activities, inside the importer's countries, as :meth:`RowContext.find` finds them one by
one), and one or two for the records those name (mothers by code and by name, children, enrolments, claims and
their steps, activities, reports), kept for the batches after. Each row is checked against what was looked up
and what the rows before it made, by the same functions as row by row (:mod:`~tracker.registry.import_rules` and
the services' ``check_*``), so that it gets the same outcome and the same problems. New records go in at
the end of the batch with their ``create`` events (``COPY`` on PostgreSQL). Codes are handed out in memory in
row order, as row by row hands them out, under the same locks: the country's counter for mothers, the mother's
row for her children, each taken before the first number and held until the import commits.

A correction of a record found (a mother's phone or village, an enrolment, an activity, a month's figures) is
rare and has rules of its own that read the database (payments already asked for, the mother's children...): it
is made row by row through its service, after the batch's records so far are written
(:meth:`~tracker.imports.batching.Writes.correct`).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tracker.crypto import keyring
from tracker.extensions import db
from tracker.imports.batching import Record, Writes, found, look_up, parts, run_batch, values_of
from tracker.imports.kinds import RowContext
from tracker.models import (
    Beneficiary,
    Child,
    Enrolment,
    Project,
)
from tracker.models.base import now_utc
from tracker.registry import people
from tracker.registry.codes import child_code, lock_counter, mother_code, store_counter
from tracker.registry.import_rules import (
    CONSENT_COLUMNS,
    beneficiary_row,
    child_row,
    columns_named,
    enrolment_row,
)


def _new_keys(rows, column: str, done) -> list[str]:
    return sorted({values[column].strip().upper() for _, values in rows if values[column].strip()} - set(done))


# --- mothers ---------------------------------------------------------------------------------------------------------

class _Mothers:
    """The mothers the file names, by code (in any country) and by project, name and year of birth: one
    :class:`Record` per mother, however found."""

    def __init__(self):
        self.by_id: dict[int, Record] = {}
        self.by_code: dict[str, Record | None] = {}
        self.by_name: dict[tuple[int, str, int], Record] = {}
        self.hashes: set[str] = set()
        #: Country -> the last number handed out; the country's counter is locked (:func:`lock_counter`).
        self.counters: dict[str, int] = {}
        self.changed: set[str] = set()

    def record(self, row) -> Record:
        return self.by_id.setdefault(row.id, Record.of(row))

    def named(self, project_id: int, name_hash: str, year: int) -> Record | None:
        return self.by_name.get((project_id, name_hash, year))

    def counter(self, country: str) -> int:
        if country not in self.counters:
            self.counters[country] = lock_counter(db.session, country, "M")
        return self.counters[country]

    def store(self) -> None:
        for country in sorted(self.changed):
            store_counter(db.session, country, "M", self.counters[country])
        self.changed.clear()


_MOTHER = (Beneficiary.id, Beneficiary.code, Beneficiary.project_id, Beneficiary.name_hash,
           Beneficiary.year_of_birth, Beneficiary.phone, Beneficiary.village)


def _look_up_mothers(rows, ctx: RowContext, known: _Mothers) -> None:
    session = db.session
    look_up(ctx, Project, "code", values_of(rows, "project_code"))
    for part in parts(_new_keys(rows, "code", known.by_code)):
        stored = {m.code: known.record(m) for m in session.execute(select(*_MOTHER).where(Beneficiary.code.in_(part)))}
        for code in part:
            known.by_code[code] = stored.get(code)
    # Every row's name, also with a code: a mother a code row registers is found by name further on.
    hashes = sorted({keyring().name_hash(values["full_name"]) for _, values in rows} - known.hashes)
    for part in parts(hashes):
        for mother in session.execute(select(*_MOTHER).where(Beneficiary.name_hash.in_(part))
                                      .order_by(Beneficiary.id)):
            known.by_name.setdefault((mother.project_id, mother.name_hash, mother.year_of_birth), known.record(mother))
        known.hashes.update(part)


def _apply_mother(values: dict[str, str], ctx: RowContext, known: _Mothers, writes: Writes) -> str:
    existing, changes = beneficiary_row(values, ctx, by_code=known.by_code.get, by_name=known.named)
    if existing is not None:
        if not changes:
            return "unchanged"
        writes.correct(Beneficiary, existing, lambda mother: people.update_beneficiary(
            beneficiary=mother, year_of_birth=mother.year_of_birth, **changes))
        return "updated"
    code, project = changes.pop("code"), changes["project"]
    with columns_named(CONSENT_COLUMNS):
        columns = people.check_beneficiary(**changes)
    country, last = project.country, known.counter(project.country)
    # register_beneficiary refuses a code that exists already: beneficiary_row found none.
    if code:
        number = people.mother_code_number(country, code)
        known.counters[country] = max(last, number)
    else:
        number = known.counters[country] = last + 1
        code = mother_code(country, number)
    if known.counters[country] != last:
        known.changed.add(country)
    mother = writes.insert(Beneficiary, {"code": code, "country": country, "number": number, **columns,
                                         "created_at": now_utc()})
    known.by_code[code] = mother
    known.by_name.setdefault((project.id, columns["name_hash"], columns["year_of_birth"]), mother)
    return "created"


def apply_beneficiaries(rows, ctx: RowContext, one):
    """``Kind.apply_batch`` of the ``beneficiaries`` import."""
    return run_batch(rows, ctx, one, key="_batch_mothers", known=_Mothers, look_up=_look_up_mothers,
                     apply=_apply_mother, models=(Beneficiary,), then=_Mothers.store)


# --- children --------------------------------------------------------------------------------------------------------

class _Children:
    """The children the file names by code (in any country), the children of the mothers it names, and the mothers
    given new children, with their last child's number (``children_seq``), their rows locked."""

    def __init__(self):
        self.by_code: dict[str, Record | None] = {}
        self.of_mother: dict[int, list[Record]] = {}
        self.mothers: dict[int, Record] = {}

    def lock(self, mothers: dict[int, str]) -> None:
        """Lock the rows of ``mothers`` (id -> code) not locked yet, as ``take_child_number`` locks one."""
        ids = sorted(set(mothers) - set(self.mothers))
        for part in parts(ids):
            for mother_id, seq in db.session.execute(
                    select(Beneficiary.id, Beneficiary.children_seq).where(Beneficiary.id.in_(part))
                    .order_by(Beneficiary.id).with_for_update()):
                self.mothers[mother_id] = Record({"id": mother_id, "code": mothers[mother_id],
                                                  "children_seq": seq or 0})

    def mother(self, mother: Beneficiary) -> Record:
        if mother.id not in self.mothers:
            self.lock({mother.id: mother.code})
        return self.mothers[mother.id]


_CHILD = (Child.id, Child.code, Child.mother_id, Child.first_name, Child.year_of_birth, Child.sex)


def _look_up_children(rows, ctx: RowContext, known: _Children) -> None:
    session = db.session
    look_up(ctx, Beneficiary, "code", values_of(rows, "mother_code"))
    for part in parts(_new_keys(rows, "code", known.by_code)):
        stored = {c.code: Record.of(c) for c in session.execute(select(*_CHILD).where(Child.code.in_(part)))}
        for code in part:
            known.by_code[code] = stored.get(code)
    mothers = [found(ctx, Beneficiary, values["mother_code"]) for _, values in rows]
    for part in parts(sorted({m.id for m in mothers if m is not None} - set(known.of_mother))):
        for mother_id in part:
            known.of_mother[mother_id] = []
        for child in session.execute(select(*_CHILD).where(Child.mother_id.in_(part)).order_by(Child.id)):
            known.of_mother[child.mother_id].append(Record.of(child))
    # The mothers likely to be given a child, locked at once (a row with a code new in the file, or a child
    # unlike hers); any other is locked when her child is numbered.
    likely = {}
    for mother, (_, values) in zip(mothers, rows, strict=True):
        if mother is None or mother.id in known.mothers:
            continue
        code = values["code"].strip().upper()
        if code:
            if known.by_code.get(code) is None:
                likely[mother.id] = mother.code
        elif not any(c.first_name == values["first_name"].strip() and c.sex == values["sex"].strip().upper()
                     and str(c.year_of_birth) == values["year_of_birth"].strip() for c in known.of_mother[mother.id]):
            likely[mother.id] = mother.code
    known.lock(likely)


def _apply_child(values: dict[str, str], ctx: RowContext, known: _Children, writes: Writes) -> str:
    new = child_row(values, ctx, by_code=known.by_code.get, children_of=lambda m: known.of_mother[m.id])
    if new is None:
        return "unchanged"
    mother, code = new.pop("mother"), new.pop("code")
    columns = people.check_child(mother=mother, **new)
    locked = known.mother(mother)
    last = locked.children_seq
    if code:
        number = people.child_code_number(mother, code, taken=lambda c: known.by_code.get(c) is not None)
        seq = max(last, number)
    else:
        number = seq = last + 1
        code = child_code(mother, number)
    child = writes.insert(Child, {"code": code, "mother_id": mother.id, "number": number, **columns,
                                  "created_at": now_utc()})
    if seq != last:
        writes.update(Beneficiary, locked, {"children_seq": seq})
    known.by_code[code] = child
    known.of_mother[mother.id].append(child)
    return "created"


def apply_children(rows, ctx: RowContext, one):
    """``Kind.apply_batch`` of the ``children`` import."""
    return run_batch(rows, ctx, one, key="_batch_children", known=_Children, look_up=_look_up_children,
                     apply=_apply_child, models=(Child,))


# --- enrolments ------------------------------------------------------------------------------------------------------

class _Enrolments:
    def __init__(self):
        self.by_year: dict[tuple[int, str], Any] = {}
        self.children: set[int] = set()


def _look_up_enrolments(rows, ctx: RowContext, known: _Enrolments) -> None:
    look_up(ctx, Child, "code", values_of(rows, "child_code"))
    ids = sorted({c.id for c in (found(ctx, Child, values["child_code"]) for _, values in rows) if c is not None}
                 - known.children)
    for part in parts(ids):
        for enrolment in db.session.execute(select(
                Enrolment.id, Enrolment.child_id, Enrolment.academic_year, Enrolment.school, Enrolment.grade,
                Enrolment.fee_per_term, Enrolment.currency, Enrolment.terms).where(Enrolment.child_id.in_(part))):
            known.by_year[(enrolment.child_id, enrolment.academic_year)] = Record.of(enrolment)
        known.children.update(part)


def _apply_enrolment(values: dict[str, str], ctx: RowContext, known: _Enrolments, writes: Writes) -> str:
    existing, changes = enrolment_row(values, ctx, existing_of=lambda child_id, year: known.by_year.get(
        (child_id, year)))
    if existing is None:
        columns = people.check_enrolment(**changes)
        # enrol_child refuses a second enrolment for the year: enrolment_row found none.
        known.by_year[(changes["child"].id, columns["academic_year"])] = writes.insert(
            Enrolment, {"child_id": changes["child"].id, **columns, "created_at": now_utc()})
        return "created"
    if not changes:
        return "unchanged"
    writes.correct(Enrolment, existing, lambda enrolment: people.update_enrolment(enrolment=enrolment, **changes))
    return "updated"


def apply_enrolments(rows, ctx: RowContext, one):
    """``Kind.apply_batch`` of the ``enrolments`` import."""
    return run_batch(rows, ctx, one, key="_batch_enrolments", known=_Enrolments, look_up=_look_up_enrolments,
                     apply=_apply_enrolment, models=(Enrolment,))
