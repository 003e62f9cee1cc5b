"""The registry's spreadsheet imports (DESIGN section 7): beneficiaries, children,
enrolments, claims, income projects and income reports.

Rows name people only by their codes; a row that refers to a record outside the
importing user's countries is refused as unknown. References are keys: a file
imported twice adds nothing the second time.

Each kind applies its rows row by row here (``apply_row``, also the fallback of a
batch the database refuses) and in batches of 500 (``apply_batch``:
:mod:`~tracker.registry.import_batch`, :mod:`~tracker.registry.import_batch_records`),
both with the rules of :mod:`~tracker.registry.import_rules`.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from tracker.extensions import db
from tracker.imports.kinds import Column, Kind, RowContext, register
from tracker.models import Beneficiary, Child, Enrolment, IncomeProject, IncomeReport, PaternityClaim
from tracker.registry import claims as claim_service
from tracker.registry import import_batch, import_batch_records, income, people
from tracker.registry.import_rules import (
    CONSENT_COLUMNS,
    STEP_COLUMNS,
    beneficiary_row,
    child_row,
    claim_row,
    columns_named,
    enrolment_row,
    income_project_row,
    income_report_row,
)

PERMISSION = "records.import"


# --- beneficiaries ---------------------------------------------------------------------------------------------------

def _beneficiary_by_code(code: str) -> Beneficiary | None:
    return db.session.scalars(select(Beneficiary).where(Beneficiary.code == code)).one_or_none()


def _beneficiary_by_name(project_id: int, name_hash: str, year: int) -> Beneficiary | None:
    return db.session.scalars(select(Beneficiary).where(
        Beneficiary.project_id == project_id, Beneficiary.name_hash == name_hash, Beneficiary.year_of_birth == year,
    ).order_by(Beneficiary.id)).first()


def apply_beneficiary(values: dict[str, str], ctx: RowContext) -> str:
    existing, changes = beneficiary_row(values, ctx, by_code=_beneficiary_by_code, by_name=_beneficiary_by_name)
    if existing is not None:
        if not changes:
            return "unchanged"
        people.update_beneficiary(beneficiary=existing, year_of_birth=existing.year_of_birth, **changes)
        return "updated"
    with columns_named(CONSENT_COLUMNS):
        people.register_beneficiary(**changes)
    return "created"


register(Kind(
    name="beneficiaries",
    label=_l("Mothers"),
    permission=PERMISSION,
    apply_row=apply_beneficiary,
    apply_batch=import_batch.apply_beneficiaries,
    columns=(
        Column("code", required=False, help=_l("Her code if she has one already (CD-M-00042); empty for a new code.")),
        Column("project_code", help=_l("The project she is enrolled in, such as TF-CD-2025-01.")),
        Column("full_name", help=_l("Stored encrypted.")),
        Column("phone", required=False, help=_l("Stored encrypted. For a mother already registered, a new value "
                                                "corrects hers; an empty cell keeps it.")),
        Column("village", required=False, help=_l("Stored encrypted. For a mother already registered, a new value "
                                                  "corrects hers; an empty cell keeps it.")),
        Column("year_of_birth", help=_l("Four digits.")),
        Column("enrolled_on", help=_l("YYYY-MM-DD.")),
        Column("consent_services", help=_l("yes or no (or the date consent was given).")),
        Column("consent_reporting", help=_l("yes or no: may she be counted in reports to donors?")),
    ),
    example_rows=({"code": "", "project_code": "TF-CD-2025-01", "full_name": "Example Name",
                   "phone": "+243 810 000 000", "village": "Example village", "year_of_birth": "1996",
                   "enrolled_on": "2025-02-03", "consent_services": "yes", "consent_reporting": "no"},),
))


# --- children --------------------------------------------------------------------------------------------------------

def _child_by_code(code: str) -> Child | None:
    return db.session.scalars(select(Child).where(Child.code == code)).one_or_none()


def _children_of(mother: Beneficiary) -> list[Child]:
    return db.session.scalars(select(Child).where(Child.mother_id == mother.id)).all()


def apply_child(values: dict[str, str], ctx: RowContext) -> str:
    new = child_row(values, ctx, by_code=_child_by_code, children_of=_children_of)
    if new is None:
        return "unchanged"
    people.add_child(**new)
    return "created"


register(Kind(
    name="children",
    label=_l("Children"),
    permission=PERMISSION,
    apply_row=apply_child,
    apply_batch=import_batch.apply_children,
    columns=(
        Column("code", required=False, help=_l("The child's code if known (CD-C-00042-1); empty for a new code.")),
        Column("mother_code", help=_l("The mother's code, such as CD-M-00042.")),
        Column("first_name", help=_l("Stored encrypted.")),
        Column("year_of_birth", help=_l("Four digits.")),
        Column("sex", help=_l("F or M.")),
    ),
    example_rows=({"code": "", "mother_code": "CD-M-00042", "first_name": "Example", "year_of_birth": "2017",
                   "sex": "F"},),
))


# --- enrolments ------------------------------------------------------------------------------------------------------

def _enrolment_of(child_id: int, academic_year: str) -> Enrolment | None:
    return db.session.scalars(select(Enrolment).where(
        Enrolment.child_id == child_id, Enrolment.academic_year == academic_year)).one_or_none()


def apply_enrolment(values: dict[str, str], ctx: RowContext) -> str:
    existing, changes = enrolment_row(values, ctx, existing_of=_enrolment_of)
    if existing is None:
        people.enrol_child(**changes)
        return "created"
    if not changes:
        return "unchanged"
    people.update_enrolment(enrolment=existing, **changes)
    return "updated"


register(Kind(
    name="enrolments",
    label=_l("School enrolments"),
    permission=PERMISSION,
    apply_row=apply_enrolment,
    apply_batch=import_batch.apply_enrolments,
    columns=(
        Column("child_code", help=_l("Such as CD-C-00042-1.")),
        Column("school"),
        Column("academic_year", help=_l("Such as 2025-2026.")),
        Column("grade"),
        Column("fee_per_term", help=_l("Digits and one dot, in the currency of the next column.")),
        Column("currency", help=_l("ISO code: CDF, XAF, SSP, HTG, LRD, USD...")),
        Column("terms", help=_l("Number of terms in the year, usually 3.")),
    ),
    example_rows=({"child_code": "CD-C-00042-1", "school": "EP Mapendo", "academic_year": "2025-2026",
                   "grade": "P3", "fee_per_term": "45000", "currency": "CDF", "terms": "3"},),
))


# --- paternity claims ------------------------------------------------------------------------------------------------

def _claim_of(child: Child) -> PaternityClaim | None:
    return db.session.scalars(select(PaternityClaim).where(PaternityClaim.child_id == child.id)).one_or_none()


def _steps_of(claim: PaternityClaim) -> list[tuple]:
    return [(s.step, s.occurred_on) for s in claim_service.current_steps(claim)]


def apply_claim(values: dict[str, str], ctx: RowContext) -> str:
    child, claim, opened, steps = claim_row(values, ctx, claim_of=_claim_of, steps_of=_steps_of)
    user_id = ctx.user.id if ctx.user else None
    outcome = "unchanged"
    if claim is None:
        with columns_named({"received_on": opened["column"]}):
            claim = claim_service.open_claim(child=child, member_state=opened["member_state"],
                                             personnel_category=opened["personnel_category"],
                                             received_on=opened["received_on"], user_id=user_id)
        outcome = "created"
    for step, on, column in steps:
        with columns_named({"occurred_on": column, **STEP_COLUMNS}):
            claim_service.record_step(claim=claim, step=step, occurred_on=on, user_id=user_id)
        outcome = "created" if outcome == "created" else "updated"
    return outcome


register(Kind(
    name="claims",
    label=_l("Paternity claims"),
    permission=PERMISSION,
    apply_row=apply_claim,
    apply_batch=import_batch_records.apply_claims,
    columns=(
        Column("child_code", help=_l("Such as CD-C-00042-1.")),
        Column("member_state", help=_l("ISO code of the Member State of the personnel, such as UY.")),
        Column("personnel_category", help=_l("military, police or civilian.")),
        Column("status", help=_l("The current step, such as dna_sample_collected.")),
        Column("received_on", required=False, help=_l("YYYY-MM-DD; needed.")),
        Column("notified_on", required=False, help=_l("YYYY-MM-DD, when notified to the Member State.")),
        Column("dna_sample_on", required=False),
        Column("dna_result_on", required=False),
        Column("outcome_on", required=False,
               help=_l("Date of the outcome; for a status after paternity established, the date of that status.")),
    ),
    example_rows=({"child_code": "CD-C-00042-1", "member_state": "UY", "personnel_category": "military",
                   "status": "dna_sample_collected", "received_on": "2024-03-04", "notified_on": "2024-04-10",
                   "dna_sample_on": "2024-09-02", "dna_result_on": "", "outcome_on": ""},),
))


# --- income projects and reports -------------------------------------------------------------------------------------

def _income_project_of(reference: str) -> IncomeProject | None:
    return db.session.scalars(select(IncomeProject).where(IncomeProject.reference == reference)).one_or_none()


def apply_income_project(values: dict[str, str], ctx: RowContext) -> str:
    existing, changes = income_project_row(values, ctx, existing_of=_income_project_of)
    if existing is None:
        income.start_income_project(**changes)
        return "created"
    if not changes:
        return "unchanged"
    income.update_income_project(income_project=existing, **changes)
    return "updated"


register(Kind(
    name="income_projects",
    label=_l("Income activities"),
    permission=PERMISSION,
    apply_row=apply_income_project,
    apply_batch=import_batch_records.apply_income_projects,
    columns=(
        Column("reference", help=_l("Your reference for the activity, unique, such as IGA-CD-00042-1.")),
        Column("mother_code"),
        Column("activity", help=_l("Such as tailoring, small trade, soap-making, livestock, farming.")),
        Column("started_on", help=_l("YYYY-MM-DD.")),
        Column("planned_grant", help=_l("Digits and one dot.")),
        Column("currency"),
        Column("status", help=_l("planned, active, struggling, closed_successful or closed_failed.")),
    ),
    example_rows=({"reference": "IGA-CD-00042-1", "mother_code": "CD-M-00042", "activity": "tailoring",
                   "started_on": "2025-03-01", "planned_grant": "350000", "currency": "CDF", "status": "active"},),
))


def _income_report_of(income_project_id: int, month) -> IncomeReport | None:
    return db.session.scalars(select(IncomeReport).where(
        IncomeReport.income_project_id == income_project_id, IncomeReport.month == month)).one_or_none()


def apply_income_report(values: dict[str, str], ctx: RowContext) -> str:
    existing, changes = income_report_row(values, ctx, existing_of=_income_report_of)
    if existing is None:
        income.report_income(**changes)
        return "created"
    if not changes:
        return "unchanged"
    income.correct_income_report(income_report=existing, **changes)
    return "updated"


register(Kind(
    name="income_reports",
    label=_l("Monthly income reports"),
    permission=PERMISSION,
    apply_row=apply_income_report,
    apply_batch=import_batch_records.apply_income_reports,
    columns=(
        Column("income_project_reference"),
        Column("month", help=_l("YYYY-MM.")),
        Column("revenue", help=_l("Digits and one dot; 0 for none.")),
        Column("costs", help=_l("Digits and one dot; 0 for none.")),
        Column("currency"),
    ),
    example_rows=({"income_project_reference": "IGA-CD-00042-1", "month": "2025-04", "revenue": "180000",
                   "costs": "95000", "currency": "CDF"},),
))
