"""What both ways of importing the registry share (row by row in :mod:`~tracker.registry.import_kinds`, in batches
in :mod:`~tracker.registry.import_batch`): for each kind, the record a row names and what the row asks of it, with
every check in the same order, so that both report the same problems of a row: all of them at once (a record the
row names that is unknown does not hide the problems of its other columns).

Each ``*_row`` function is given how to find the record a row names (``by_code``, ``existing_of``...): a query
row by row, what the batch looked up at once in batches. It returns the record found (or ``None``) and what to
do: the corrections of a record found (empty: the row is unchanged), or the arguments of the service that creates
one. Creating and correcting stay with the services (:mod:`~tracker.registry.people`,
:mod:`~tracker.registry.claims`, :mod:`~tracker.registry.income`), whose ``check_*`` functions hold the rules of a
new record for both paths.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from flask_babel import lazy_gettext as _l

from tracker import validation as v
from tracker.countries import is_country
from tracker.crypto import keyring
from tracker.errors import Errors, Invalid
from tracker.imports.kinds import RowContext
from tracker.models import (
    CLAIM_STEPS,
    INCOME_PROJECT_STATUSES,
    PERSONNEL_CATEGORIES,
    Beneficiary,
    Child,
    IncomeProject,
    Project,
)
from tracker.models.base import today
from tracker.registry import claims as claim_service
from tracker.registry import income as income_service

#: Row by row, the consent columns reach the service as dates under other names.
CONSENT_COLUMNS = {"consent_services_on": "consent_services", "consent_reporting_on": "consent_reporting"}


@contextlib.contextmanager
def columns_named(mapping: dict[str, str]):
    """Report a service's refusal under the file's column names (``mapping``: the service's field -> column)."""
    try:
        yield
    except Invalid as error:
        raise Invalid({mapping.get(k, k): m for k, m in error.messages.items()}) from error


# --- beneficiaries ---------------------------------------------------------------------------------------------------

def beneficiary_row(values: dict[str, str], ctx: RowContext, *, by_code: Callable[[str], Any],
                    by_name: Callable[[int, str, int], Any]) -> tuple[Any, dict]:
    """A mother registered already and the corrections of her phone and village the row brings (empty: none), or
    ``None`` and the arguments of :func:`~tracker.registry.people.register_beneficiary` for a new one.

    ``by_code(code)`` finds a mother by her code in any country; ``by_name(project_id, name_hash, year)`` the first
    registered in the project with that name and year of birth.
    """
    errors = Errors()
    project = errors.check(ctx.find, Project, "project_code", "code", values["project_code"])
    name = errors.check(v.text, values["full_name"], "full_name", max_length=200)
    year = errors.check(v.year_of_birth, values["year_of_birth"])
    enrolled = errors.check(v.date, values["enrolled_on"], "enrolled_on")
    if errors:  # the consent columns of a refused row are checked too, to report every problem at once
        for column in ("consent_services", "consent_reporting"):
            errors.check(v.boolean_or_date, values[column], column, enrolled or today())
        errors.raise_any()
    code = values.get("code", "").strip().upper() or None
    name_hash = keyring().name_hash(name)
    existing = by_code(code) if code else by_name(project.id, name_hash, year)
    if existing is not None:
        same = (existing.project_id == project.id and existing.name_hash == name_hash
                and existing.year_of_birth == year)
        if not same:
            raise Invalid(_l("%(code)s exists already with other details", code=existing.code if code else ""),
                          "code" if code else "full_name")
        # A phone or village in the file corrects hers; an empty cell keeps what is stored.
        corrections = {key: values[key].strip() for key in ("phone", "village")
                       if (values.get(key) or "").strip() and values[key].strip() != (getattr(existing, key) or "")}
        return existing, corrections
    return None, dict(
        project=project, full_name=name, year_of_birth=year, enrolled_on=enrolled, phone=values.get("phone"),
        village=values.get("village"), code=code,
        consent_services_on=v.boolean_or_date(values["consent_services"], "consent_services", enrolled),
        consent_reporting_on=v.boolean_or_date(values["consent_reporting"], "consent_reporting", enrolled),
    )


# --- children --------------------------------------------------------------------------------------------------------

def child_row(values: dict[str, str], ctx: RowContext, *, by_code: Callable[[str], Any],
              children_of: Callable[[Beneficiary], Iterable[Any]]) -> dict | None:
    """The arguments of :func:`~tracker.registry.people.add_child` for a new child, or ``None`` when she is
    registered already: by her code (``by_code``, in any country), else as a child of the mother with the same
    first name, year of birth and sex (``children_of(mother)``)."""
    errors = Errors()
    mother = errors.check(ctx.find, Beneficiary, "mother_code", "code", values["mother_code"])
    name = errors.check(v.text, values["first_name"], "first_name", max_length=100)
    year = errors.check(v.year_of_birth, values["year_of_birth"])
    sex = errors.check(v.choice, (values["sex"] or "").strip().upper(), "sex", ("F", "M"))
    errors.raise_any()
    code = values.get("code", "").strip().upper() or None
    if code:
        existing = by_code(code)
        if existing is not None:
            if existing.mother_id != mother.id or existing.first_name != name or existing.year_of_birth != year:
                raise Invalid(_l("%(code)s exists already with other details", code=code), "code")
            return None
    elif any(c.first_name == name and c.year_of_birth == year and c.sex == sex for c in children_of(mother)):
        return None
    return dict(mother=mother, first_name=name, year_of_birth=year, sex=sex, code=code)


# --- enrolments ------------------------------------------------------------------------------------------------------

def enrolment_row(values: dict[str, str], ctx: RowContext, *,
                  existing_of: Callable[[int, str], Any]) -> tuple[Any, dict]:
    """The child's enrolment for the year and its corrections (empty: unchanged), or ``None`` and the arguments of
    :func:`~tracker.registry.people.enrol_child`. ``existing_of(child_id, academic_year)`` finds an enrolment."""
    errors = Errors()
    child = errors.check(ctx.find, Child, "child_code", "code", values["child_code"])
    year = errors.check(v.academic_year, values["academic_year"])
    existing = existing_of(child.id, year) if child is not None and year is not None else None
    if existing is None and not errors:
        return None, dict(child=child, school=values["school"], academic_year=year, grade=values["grade"],
                          fee_per_term=values["fee_per_term"], currency=values["currency"], terms=values["terms"])
    currency = errors.check(v.currency, values["currency"])
    fee = errors.check(v.amount, values["fee_per_term"], "fee_per_term", currency)
    terms = errors.check(v.integer, values["terms"], "terms", minimum=1, maximum=4)
    school = errors.check(v.text, values["school"], "school")
    grade = errors.check(v.text, values["grade"], "grade", max_length=40)
    errors.raise_any()
    if (existing.school, existing.grade, existing.fee_per_term, existing.currency, existing.terms) == (
            school, grade, fee, currency, terms):
        return existing, {}
    return existing, dict(school=school, grade=grade, fee_per_term=fee, currency=currency, terms=terms)


# --- paternity claims ------------------------------------------------------------------------------------------------

_DATED = (("received", "received_on"), ("notified_to_member_state", "notified_on"),
          ("dna_sample_collected", "dna_sample_on"), ("dna_result_received", "dna_result_on"))
_OUTCOMES = ("paternity_established", "not_established", "withdrawn")
_AFTER = ("legally_recognised", "support_ordered", "support_paid")
#: Row by row, a step's refusal names the service's fields.
STEP_COLUMNS = {"step": "status"}


def claim_path(values: dict[str, str]) -> list[tuple[str, dt.date, str]]:
    """The steps a claims row describes, as (step, date, column), in order.

    Dated columns give the steps up to the DNA result; ``outcome_on`` dates the
    outcome, and for a status after paternity_established also that status.
    """
    status = v.choice(values["status"], "status", CLAIM_STEPS)
    path = []
    status_rank = claim_service.RANK[status]
    for step, column in _DATED:
        on = v.date(values.get(column, ""), column, required=(step == "received" or step == status))
        if on is None:
            continue
        if claim_service.RANK[step] > status_rank:
            raise Invalid(_l("is given but the status is %(status)s", status=status), column)
        path.append((step, on, column))
    outcome_on = v.date(values.get("outcome_on", ""), "outcome_on",
                        required=status in _OUTCOMES or status in _AFTER)
    if status in _OUTCOMES:
        path.append((status, outcome_on, "outcome_on"))
    elif status in _AFTER:
        path.append(("paternity_established", outcome_on, "outcome_on"))
        path.append((status, outcome_on, "outcome_on"))
    elif outcome_on is not None:
        raise Invalid(_l("is given but the status is %(status)s", status=status), "outcome_on")
    return path


def claim_row(values: dict[str, str], ctx: RowContext, *, claim_of: Callable[[Child], Any],
              steps_of: Callable[[Any], list[tuple[str, dt.date]]]):
    """``(child, claim, opened, steps)``: the child's claim (``claim_of(child)``, else ``None``), the checked
    opening of a new one (:func:`~tracker.registry.claims.check_claim`: Member State, category, date received and
    its column; ``None`` for a claim found), and the steps the row adds after those recorded
    (``steps_of(claim)``, ``(step, date)`` in path order), as ``(step, date, column)``, each checked
    (:func:`~tracker.registry.claims.check_step`). Nothing to add and no new claim: the row is unchanged.
    """
    errors = Errors()
    child = errors.check(ctx.find, Child, "child_code", "code", values["child_code"])
    path = errors.check(claim_path, values)
    if child is None:
        if not is_country((values["member_state"] or "").strip().upper()):
            errors.add(_l("%(value)s is not an ISO 3166 country code such as UY",
                          value=(values["member_state"] or "").strip().upper()[:10] or "''"), "member_state")
        errors.check(v.choice, values["personnel_category"], "personnel_category", PERSONNEL_CATEGORIES)
    errors.raise_any()
    claim = claim_of(child)
    opened = None
    if claim is None:
        _step, on, column = path[0]
        with columns_named({"received_on": column}):
            opened = claim_service.check_claim(child=child, member_state=values["member_state"],
                                               personnel_category=values["personnel_category"], received_on=on)
        opened["column"] = column
        recorded = [("received", opened["received_on"])]
    else:
        if claim.member_state != (values["member_state"] or "").strip().upper() or \
                claim.personnel_category != (values["personnel_category"] or "").strip():
            raise Invalid(_l("differs from the recorded claim of %(code)s", code=child.code), "member_state")
        recorded = steps_of(claim)
    wanted = [(step, on) for step, on, _column in path]
    if wanted[:len(recorded)] != recorded:
        raise Invalid(_l("differs from the steps recorded for %(code)s; correct them on the claim's page",
                         code=child.code), "status")
    last, steps = (recorded[-1] if recorded else None), []
    for step, on, column in path[len(recorded):]:
        with columns_named({"occurred_on": column, **STEP_COLUMNS}):
            last = claim_service.check_step(last=last, step=step, occurred_on=on)
        steps.append((step, on, column))
    return child, claim, opened, steps


# --- income projects and reports -------------------------------------------------------------------------------------

def income_project_row(values: dict[str, str], ctx: RowContext, *,
                       existing_of: Callable[[str], Any]) -> tuple[Any, dict]:
    """The activity of the reference (``existing_of``, in any country) and its corrections (empty: unchanged), or
    ``None`` and the arguments of :func:`~tracker.registry.income.start_income_project`."""
    errors = Errors()
    reference = errors.check(v.text, values["reference"], "reference", max_length=60)
    mother = errors.check(ctx.find, Beneficiary, "mother_code", "code", values["mother_code"])
    if errors:
        errors.check(income_service.check_income_project, activity=values["activity"],
                     started_on=values["started_on"], planned_grant=values["planned_grant"],
                     currency=values["currency"], status=values["status"])
        errors.raise_any()
    existing = existing_of(reference)
    if existing is None:
        return None, dict(beneficiary=mother, reference=reference, activity=values["activity"],
                          started_on=values["started_on"], planned_grant=values["planned_grant"],
                          currency=values["currency"], status=values["status"])
    if existing.beneficiary_id != mother.id:
        raise Invalid(_l("%(ref)s belongs to another mother", ref=reference), "reference")
    currency = v.currency(values["currency"])
    if (currency != existing.currency
            or v.date(values["started_on"], "started_on", not_future=False) != existing.started_on):
        raise Invalid(_l("differs from the recorded %(ref)s", ref=reference), "started_on")
    activity = v.text(values["activity"], "activity", max_length=120)
    grant = v.amount(values["planned_grant"], "planned_grant", currency)
    status = v.choice(values["status"], "status", INCOME_PROJECT_STATUSES)
    if (existing.activity, existing.planned_grant, existing.status) == (activity, grant, status):
        return existing, {}
    return existing, dict(activity=activity, planned_grant=grant, status=status)


def income_report_row(values: dict[str, str], ctx: RowContext, *,
                      existing_of: Callable[[int, dt.date], Any]) -> tuple[Any, dict]:
    """The activity's report of the month (``existing_of(income_project_id, month)``) and its corrections (empty:
    unchanged), or ``None`` and the arguments of :func:`~tracker.registry.income.report_income`."""
    errors = Errors()
    project = errors.check(ctx.find, IncomeProject, "income_project_reference", "reference",
                           values["income_project_reference"])
    month = errors.check(v.month, values["month"], "month")
    if errors:
        currency = errors.check(v.currency, values["currency"])
        errors.check(v.amount, values["revenue"], "revenue", currency, allow_zero=True)
        errors.check(v.amount, values["costs"], "costs", currency, allow_zero=True)
        errors.raise_any()
    existing = existing_of(project.id, month)
    if existing is None:
        return None, dict(income_project=project, month=month, revenue=values["revenue"], costs=values["costs"],
                          currency=values["currency"])
    currency = v.currency(values["currency"])
    revenue = v.amount(values["revenue"], "revenue", currency, allow_zero=True)
    costs = v.amount(values["costs"], "costs", currency, allow_zero=True)
    if currency != existing.currency:
        raise Invalid(_l("reports of %(ref)s are in %(code)s", ref=project.reference, code=existing.currency),
                      "currency")
    if (existing.revenue, existing.costs) == (revenue, costs):
        return existing, {}
    return existing, {"revenue": revenue, "costs": costs}
