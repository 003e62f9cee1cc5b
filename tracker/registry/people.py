"""Services for mothers, children and school enrolments.

Each takes keyword arguments, checks every rule, changes the session and
flushes; the caller (a route, an import, a command) commits once. Refused
input raises :class:`tracker.errors.Invalid` naming the field.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from tracker import validation as v
from tracker.crypto import keyring
from tracker.errors import Errors, Invalid
from tracker.extensions import db
from tracker.models import EXIT_REASONS, SEXES, Beneficiary, Child, CodeSequence, Disbursement, Enrolment, Project
from tracker.registry.codes import child_code, mother_code, next_number, take_child_number

#: A mother is at least this old when her child is born.
MIN_MOTHER_AGE = 10
CONSENT_SCOPES = ("services", "reporting")


def _personal_fields(full_name, phone, village, errors: Errors) -> dict:
    return {
        "full_name": errors.check(v.text, full_name, "full_name", max_length=200),
        "phone": errors.check(v.text, phone, "phone", required=False, max_length=40),
        "village": errors.check(v.text, village, "village", required=False, max_length=120),
    }


def mother_code_number(country: str, code: str) -> int:
    """The number of a mother's code given in a spreadsheet (``CD-M-00042``: 42); refuses a code that is not one
    of ``country``'s."""
    match = re.fullmatch(r"([A-Z]{2})-M-(\d{5})", code)
    if not match or match.group(1) != country:
        raise Invalid(_l("%(code)s is not a mother's code of %(country)s such as %(example)s",
                         code=code[:30], country=country, example=mother_code(country, 42)), "code")
    number = int(match.group(2))
    if number == 0:
        raise Invalid(_l("%(code)s is not a valid code", code=code), "code")
    return number


def _claim_code(session, country: str, code: str) -> int:
    """Accept a code from a spreadsheet (``CD-M-00042``) and keep the counter above it."""
    number = mother_code_number(country, code)
    counter = session.get(CodeSequence, (country, "M"), with_for_update=True)
    if counter is None:
        session.add(CodeSequence(country=country, kind="M", last_value=number))
    elif counter.last_value < number:
        counter.last_value = number
    return number


def check_beneficiary(*, project: Project, full_name: str, year_of_birth, enrolled_on, phone: str | None = None,
                      village: str | None = None, consent_services_on: dt.date | None = None,
                      consent_reporting_on: dt.date | None = None) -> dict:
    """Every rule of a new mother but her code (:func:`register_beneficiary`), in its order; her columns but
    ``code``, ``country`` and ``number``. Both ways of importing mothers call it (row by row through
    :func:`register_beneficiary`, and in batches). Every problem is reported at once."""
    errors = Errors()
    fields = _personal_fields(full_name, phone, village, errors)
    year = errors.check(v.year_of_birth, year_of_birth)
    enrolled = errors.check(v.date, enrolled_on, "enrolled_on")
    if year is not None and enrolled is not None and enrolled.year - year < MIN_MOTHER_AGE:
        errors.add(_l("she would be under %(n)d years old at enrolment", n=MIN_MOTHER_AGE), "year_of_birth")
    for field, value in (("consent_services_on", consent_services_on), ("consent_reporting_on", consent_reporting_on)):
        if value is not None:
            errors.check(v.date, value, field)
    if project.status == "closed":
        errors.add(_l("project %(code)s is closed", code=project.code), "project_code")
    errors.raise_any()
    return dict(project_id=project.id, name_hash=keyring().name_hash(fields["full_name"]), year_of_birth=year,
                enrolled_on=enrolled, status="active", consent_services_on=consent_services_on,
                consent_reporting_on=consent_reporting_on, children_seq=0, **fields)


def register_beneficiary(*, project: Project, full_name: str, year_of_birth, enrolled_on,
                         phone: str | None = None, village: str | None = None,
                         consent_services_on: dt.date | None = None, consent_reporting_on: dt.date | None = None,
                         code: str | None = None) -> Beneficiary:
    """Register a mother in a project and give her a code (``CD-M-00042``) never used before."""
    columns = check_beneficiary(project=project, full_name=full_name, year_of_birth=year_of_birth,
                                enrolled_on=enrolled_on, phone=phone, village=village,
                                consent_services_on=consent_services_on, consent_reporting_on=consent_reporting_on)
    session = db.session
    if code:
        code = code.strip().upper()
        if session.scalar(select(Beneficiary.id).where(Beneficiary.code == code)) is not None:
            raise Invalid(_l("%(code)s exists already", code=code), "code")
        number = _claim_code(session, project.country, code)
    else:
        number = next_number(session, project.country, "M")
        code = mother_code(project.country, number)
    mother = Beneficiary(code=code, country=project.country, number=number, project=project, **columns)
    session.add(mother)
    session.flush()
    return mother


def update_beneficiary(*, beneficiary: Beneficiary, year_of_birth, full_name: str | None = None, phone=None,
                       village=None, project: Project | None = None) -> Beneficiary:
    """Correct a mother's details; she may move to another project of the same country.

    Personal fields left ``None`` keep their value (the edit form never shows
    them, so that editing does not reveal them); ``""`` clears phone or village.
    """
    errors = Errors()
    fields = _personal_fields(
        beneficiary.full_name if full_name is None else full_name,
        beneficiary.phone if phone is None else phone,
        beneficiary.village if village is None else village,
        errors,
    )
    year = errors.check(v.year_of_birth, year_of_birth)
    if year is not None and beneficiary.enrolled_on.year - year < MIN_MOTHER_AGE:
        errors.add(_l("she would be under %(n)d years old at enrolment", n=MIN_MOTHER_AGE), "year_of_birth")
    youngest_child_year = db.session.scalar(
        select(func.min(Child.year_of_birth)).where(Child.mother_id == beneficiary.id))
    if year is not None and youngest_child_year is not None and youngest_child_year - year < MIN_MOTHER_AGE:
        errors.add(_l("is too late for her children's years of birth"), "year_of_birth")
    moving = project is not None and project.id != beneficiary.project_id
    if moving and project.country != beneficiary.country:
        errors.add(_l("a mother can only move to a project of the same country"), "project_code")
    errors.raise_any()
    if moving:
        beneficiary.project = project
    for key, value in fields.items():
        if getattr(beneficiary, key) != value:
            setattr(beneficiary, key, value)
    new_hash = keyring().name_hash(fields["full_name"])
    if beneficiary.name_hash != new_hash:
        beneficiary.name_hash = new_hash
    if beneficiary.year_of_birth != year:
        beneficiary.year_of_birth = year
    db.session.flush()
    return beneficiary


def exit_beneficiary(*, beneficiary: Beneficiary, reason: str, on) -> Beneficiary:
    """Record that a mother left the programme, and why."""
    reason = v.choice(reason, "reason", EXIT_REASONS)
    on = v.date(on, "exited_on")
    if beneficiary.status == "exited":
        raise Invalid(_l("she has exited already"), "reason")
    if on < beneficiary.enrolled_on:
        raise Invalid(_l("is before she was enrolled"), "exited_on")
    beneficiary.status = "exited"
    beneficiary.exit_reason = reason
    beneficiary.exited_on = on
    db.session.flush()
    return beneficiary


def readmit_beneficiary(*, beneficiary: Beneficiary) -> Beneficiary:
    if beneficiary.status != "exited":
        raise Invalid(_l("she is active already"), "")
    beneficiary.status = "active"
    beneficiary.exit_reason = None
    beneficiary.exited_on = None
    db.session.flush()
    return beneficiary


def give_consent(*, beneficiary: Beneficiary, scope: str, on) -> Beneficiary:
    """Record consent (to services, or to being counted in what donors see) given on a date."""
    scope = v.choice(scope, "scope", CONSENT_SCOPES)
    on = v.date(on, "given_on")
    setattr(beneficiary, f"consent_{scope}_on", on)
    setattr(beneficiary, f"consent_{scope}_withdrawn_on", None)
    db.session.flush()
    return beneficiary


def withdraw_consent(*, beneficiary: Beneficiary, scope: str, on) -> Beneficiary:
    scope = v.choice(scope, "scope", CONSENT_SCOPES)
    on = v.date(on, "withdrawn_on")
    given = getattr(beneficiary, f"consent_{scope}_on")
    if given is None or getattr(beneficiary, f"consent_{scope}_withdrawn_on") is not None:
        raise Invalid(_l("there is no consent to withdraw"), "scope")
    if on < given:
        raise Invalid(_l("is before the consent was given"), "withdrawn_on")
    setattr(beneficiary, f"consent_{scope}_withdrawn_on", on)
    db.session.flush()
    return beneficiary


def _check_child_year(mother: Beneficiary, year: int | None, errors: Errors) -> None:
    if year is not None and year < mother.year_of_birth + MIN_MOTHER_AGE:
        errors.add(_l("is too early: the mother was born in %(year)d", year=mother.year_of_birth), "year_of_birth")


def check_child(*, mother: Beneficiary, first_name: str, year_of_birth, sex: str) -> dict:
    """Every rule of a new child but her code (:func:`add_child`), in its order: her first name, year of birth
    and sex, checked (every problem at once). Both ways of importing children call it."""
    errors = Errors()
    name = errors.check(v.text, first_name, "first_name", max_length=100)
    year = errors.check(v.year_of_birth, year_of_birth)
    sex = errors.check(v.choice, (sex or "").strip().upper(), "sex", SEXES)
    _check_child_year(mother, year, errors)
    errors.raise_any()
    return {"first_name": name, "year_of_birth": year, "sex": sex}


def child_code_number(mother: Beneficiary, code: str, *, taken: Callable[[str], bool]) -> int:
    """The number of a child's code given in a spreadsheet (``CD-C-00042-3``: 3), which must be one of ``mother``'s
    and not ``taken(code)`` already."""
    match = re.fullmatch(r"([A-Z]{2})-C-(\d{5})-(\d{1,3})", code)
    if not match or code.rsplit("-", 1)[0] != child_code(mother, 0).rsplit("-", 1)[0]:
        raise Invalid(_l("%(code)s is not a code of a child of %(mother)s (such as %(example)s)",
                         code=code[:30], mother=mother.code, example=child_code(mother, 1)), "code")
    if taken(code):
        raise Invalid(_l("%(code)s exists already", code=code), "code")
    number = int(match.group(3))
    if number == 0:
        raise Invalid(_l("%(code)s is not a valid code", code=code), "code")
    return number


def add_child(*, mother: Beneficiary, first_name: str, year_of_birth, sex: str, code: str | None = None) -> Child:
    """Add a child to a mother; the code is hers plus a number never used before (``CD-C-00042-1``)."""
    fields = check_child(mother=mother, first_name=first_name, year_of_birth=year_of_birth, sex=sex)
    session = db.session
    if code:
        code = code.strip().upper()
        number = child_code_number(mother, code, taken=lambda c: session.scalar(
            select(Child.id).where(Child.code == c)) is not None)
        if number > (mother.children_seq or 0):
            mother.children_seq = number
    else:
        number = take_child_number(session, mother)
        code = child_code(mother, number)
    child = Child(code=code, mother=mother, number=number, **fields)
    session.add(child)
    session.flush()
    return child


def update_child(*, child: Child, year_of_birth, sex: str, first_name: str | None = None) -> Child:
    """Correct a child's details; a ``None`` first name keeps the current one."""
    errors = Errors()
    name = errors.check(v.text, child.first_name if first_name is None else first_name, "first_name",
                        max_length=100)
    year = errors.check(v.year_of_birth, year_of_birth)
    sex = errors.check(v.choice, (sex or "").strip().upper(), "sex", SEXES)
    _check_child_year(child.mother, year, errors)
    errors.raise_any()
    if child.first_name != name:
        child.first_name = name
    child.year_of_birth = year
    child.sex = sex
    db.session.flush()
    return child


def _enrolment_fields(school, academic_year, grade, fee_per_term, currency, terms, errors: Errors) -> dict:
    currency = errors.check(v.currency, currency)
    return {
        "school": errors.check(v.text, school, "school", max_length=200),
        "academic_year": errors.check(v.academic_year, academic_year),
        "grade": errors.check(v.text, grade, "grade", max_length=40),
        "currency": currency,
        "fee_per_term": errors.check(v.amount, fee_per_term, "fee_per_term", currency),
        "terms": errors.check(v.integer, terms, "terms", minimum=1, maximum=4),
    }


def check_enrolment(*, child: Child, school: str, academic_year: str, grade: str, fee_per_term, currency: str,
                    terms=3) -> dict:
    """Every rule of a new enrolment but "one per child and year" (:func:`enrol_child`), in its order; its
    columns but the child. Both ways of importing enrolments call it. Every problem is reported at once."""
    errors = Errors()
    fields = _enrolment_fields(school, academic_year, grade, fee_per_term, currency, terms, errors)
    if fields["academic_year"] is not None and int(fields["academic_year"][:4]) < child.year_of_birth + 2:
        errors.add(_l("the child was born in %(year)d", year=child.year_of_birth), "academic_year")
    errors.raise_any()
    return fields


def enrol_child(*, child: Child, school: str, academic_year: str, grade: str, fee_per_term, currency: str,
                terms=3) -> Enrolment:
    """Enrol a child at a school for an academic year (one enrolment per child and year)."""
    fields = check_enrolment(child=child, school=school, academic_year=academic_year, grade=grade,
                             fee_per_term=fee_per_term, currency=currency, terms=terms)
    exists = db.session.scalar(
        select(Enrolment.id).where(Enrolment.child_id == child.id, Enrolment.academic_year == fields["academic_year"])
    )
    if exists is not None:
        raise Invalid(_l("%(child)s is already enrolled for %(year)s", child=child.code, year=fields["academic_year"]),
                      "academic_year")
    enrolment = Enrolment(child=child, **fields)
    db.session.add(enrolment)
    db.session.flush()
    return enrolment


def update_enrolment(*, enrolment: Enrolment, school: str, grade: str, fee_per_term, currency: str, terms) -> Enrolment:
    """Correct an enrolment; terms already asked for cannot be removed, nor the currency changed under them."""
    errors = Errors()
    fields = _enrolment_fields(school, enrolment.academic_year, grade, fee_per_term, currency, terms, errors)
    highest_term, asked = db.session.execute(
        select(func.max(Disbursement.term), func.count(Disbursement.id)).where(
            Disbursement.enrolment_id == enrolment.id, Disbursement.status.notin_(("rejected", "voided"))
        )
    ).one()
    if highest_term is not None and fields["terms"] is not None and fields["terms"] < highest_term:
        errors.add(_l("term %(n)d has a payment already", n=highest_term), "terms")
    if asked and fields["currency"] is not None and fields["currency"] != enrolment.currency:
        errors.add(_l("payments in %(code)s exist already", code=enrolment.currency), "currency")
    errors.raise_any()
    for key, value in fields.items():
        if key != "academic_year" and getattr(enrolment, key) != value:
            setattr(enrolment, key, value)
    db.session.flush()
    return enrolment


def find_mothers_by_name(name: str, stmt):
    """Narrow a scoped select of mothers to those with exactly this name (any case, accents, spaces)."""
    return stmt.where(Beneficiary.name_hash == keyring().name_hash(name))


