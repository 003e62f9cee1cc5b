"""The registry's spreadsheet imports (DESIGN section 7): beneficiaries, children,
enrolments, claims, income projects and income reports.

Rows name people only by their codes; a row that refers to a record outside the
importing user's countries is refused as unknown. References are keys: a file
imported twice adds nothing the second time.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from tracker import validation as v
from tracker.crypto import keyring
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.imports.kinds import Column, Kind, RowContext, register
from tracker.models import (
    CLAIM_STEPS,
    INCOME_PROJECT_STATUSES,
    Beneficiary,
    Child,
    Enrolment,
    IncomeProject,
    IncomeReport,
    PaternityClaim,
    Project,
)
from tracker.registry import claims as claim_service
from tracker.registry import income, people

PERMISSION = "records.import"


def _remap(error: Invalid, mapping: dict[str, str]) -> Invalid:
    return Invalid({mapping.get(k, k): m for k, m in error.errors.items()})


# --- beneficiaries ---------------------------------------------------------------------------------------------------

def apply_beneficiary(values: dict[str, str], ctx: RowContext) -> str:
    project = ctx.find(Project, "project_code", "code", values["project_code"])
    name = v.text(values["full_name"], "full_name", max_length=200)
    year = v.year_of_birth(values["year_of_birth"])
    enrolled = v.date(values["enrolled_on"], "enrolled_on")
    code = values.get("code", "").strip().upper() or None
    if code:
        existing = db.session.scalars(select(Beneficiary).where(Beneficiary.code == code)).one_or_none()
    else:
        existing = db.session.scalars(select(Beneficiary).where(
            Beneficiary.project_id == project.id, Beneficiary.name_hash == keyring().name_hash(name),
            Beneficiary.year_of_birth == year,
        )).first()
    if existing is not None:
        same = (existing.project_id == project.id and existing.name_hash == keyring().name_hash(name)
                and existing.year_of_birth == year)
        if not same:
            raise Invalid(_l("%(code)s exists already with other details", code=existing.code if code else ""),
                          "code" if code else "full_name")
        # A phone or village in the file corrects hers; an empty cell keeps what is stored.
        corrections = {key: values[key].strip() for key in ("phone", "village")
                       if (values.get(key) or "").strip() and values[key].strip() != (getattr(existing, key) or "")}
        if not corrections:
            return "unchanged"
        people.update_beneficiary(beneficiary=existing, year_of_birth=existing.year_of_birth, **corrections)
        return "updated"
    try:
        people.register_beneficiary(
            project=project, full_name=name, year_of_birth=year, enrolled_on=enrolled,
            phone=values.get("phone"), village=values.get("village"), code=code,
            consent_services_on=v.boolean_or_date(values["consent_services"], "consent_services", enrolled),
            consent_reporting_on=v.boolean_or_date(values["consent_reporting"], "consent_reporting", enrolled),
        )
    except Invalid as error:
        raise _remap(error, {"consent_services_on": "consent_services",
                             "consent_reporting_on": "consent_reporting"}) from error
    return "created"


register(Kind(
    name="beneficiaries",
    label=_l("Mothers"),
    permission=PERMISSION,
    apply_row=apply_beneficiary,
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

def apply_child(values: dict[str, str], ctx: RowContext) -> str:
    mother = ctx.find(Beneficiary, "mother_code", "code", values["mother_code"])
    name = v.text(values["first_name"], "first_name", max_length=100)
    year = v.year_of_birth(values["year_of_birth"])
    sex = v.choice((values["sex"] or "").strip().upper(), "sex", ("F", "M"))
    code = values.get("code", "").strip().upper() or None
    if code:
        existing = db.session.scalars(select(Child).where(Child.code == code)).one_or_none()
        if existing is not None:
            if existing.mother_id != mother.id or existing.first_name != name or existing.year_of_birth != year:
                raise Invalid(_l("%(code)s exists already with other details", code=code), "code")
            return "unchanged"
    else:
        siblings = db.session.scalars(select(Child).where(Child.mother_id == mother.id)).all()
        if any(c.first_name == name and c.year_of_birth == year and c.sex == sex for c in siblings):
            return "unchanged"
    people.add_child(mother=mother, first_name=name, year_of_birth=year, sex=sex, code=code)
    return "created"


register(Kind(
    name="children",
    label=_l("Children"),
    permission=PERMISSION,
    apply_row=apply_child,
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

def apply_enrolment(values: dict[str, str], ctx: RowContext) -> str:
    child = ctx.find(Child, "child_code", "code", values["child_code"])
    year = v.academic_year(values["academic_year"])
    existing = db.session.scalars(
        select(Enrolment).where(Enrolment.child_id == child.id, Enrolment.academic_year == year)
    ).one_or_none()
    if existing is None:
        people.enrol_child(child=child, school=values["school"], academic_year=year, grade=values["grade"],
                           fee_per_term=values["fee_per_term"], currency=values["currency"], terms=values["terms"])
        return "created"
    currency = v.currency(values["currency"])
    fee = v.amount(values["fee_per_term"], "fee_per_term", currency)
    terms = v.integer(values["terms"], "terms", minimum=1, maximum=4)
    school = v.text(values["school"], "school")
    grade = v.text(values["grade"], "grade", max_length=40)
    if (existing.school, existing.grade, existing.fee_per_term, existing.currency, existing.terms) == (
            school, grade, fee, currency, terms):
        return "unchanged"
    people.update_enrolment(enrolment=existing, school=school, grade=grade, fee_per_term=fee, currency=currency,
                            terms=terms)
    return "updated"


register(Kind(
    name="enrolments",
    label=_l("School enrolments"),
    permission=PERMISSION,
    apply_row=apply_enrolment,
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

_DATED = (("received", "received_on"), ("notified_to_member_state", "notified_on"),
          ("dna_sample_collected", "dna_sample_on"), ("dna_result_received", "dna_result_on"))
_OUTCOMES = ("paternity_established", "not_established", "withdrawn")
_AFTER = ("legally_recognised", "support_ordered", "support_paid")


def claim_path(values: dict[str, str]) -> list[tuple[str, object, str]]:
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


def apply_claim(values: dict[str, str], ctx: RowContext) -> str:
    child = ctx.find(Child, "child_code", "code", values["child_code"])
    path = claim_path(values)
    user_id = ctx.user.id if ctx.user else None
    claim = db.session.scalars(select(PaternityClaim).where(PaternityClaim.child_id == child.id)).one_or_none()
    if claim is None:
        step, on, column = path[0]
        try:
            claim = claim_service.open_claim(child=child, member_state=values["member_state"],
                                             personnel_category=values["personnel_category"], received_on=on,
                                             user_id=user_id)
        except Invalid as error:
            raise _remap(error, {"received_on": column}) from error
        recorded = [("received", on)]
        outcome = "created"
    else:
        if claim.member_state != (values["member_state"] or "").strip().upper() or \
                claim.personnel_category != (values["personnel_category"] or "").strip():
            raise Invalid(_l("differs from the recorded claim of %(code)s", code=child.code), "member_state")
        recorded = [(s.step, s.occurred_on) for s in claim_service.current_steps(claim)]
        outcome = "unchanged"
    wanted = [(step, on) for step, on, _column in path]
    if wanted[:len(recorded)] != recorded:
        raise Invalid(_l("differs from the steps recorded for %(code)s; correct them on the claim's page",
                         code=child.code), "status")
    for step, on, column in path[len(recorded):]:
        try:
            claim_service.record_step(claim=claim, step=step, occurred_on=on, user_id=user_id)
        except Invalid as error:
            raise _remap(error, {"occurred_on": column, "step": "status"}) from error
        outcome = "created" if outcome == "created" else "updated"
    return outcome


register(Kind(
    name="claims",
    label=_l("Paternity claims"),
    permission=PERMISSION,
    apply_row=apply_claim,
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

def apply_income_project(values: dict[str, str], ctx: RowContext) -> str:
    reference = v.text(values["reference"], "reference", max_length=60)
    mother = ctx.find(Beneficiary, "mother_code", "code", values["mother_code"])
    existing = db.session.scalars(select(IncomeProject).where(IncomeProject.reference == reference)).one_or_none()
    if existing is None:
        income.start_income_project(beneficiary=mother, reference=reference, activity=values["activity"],
                                    started_on=values["started_on"], planned_grant=values["planned_grant"],
                                    currency=values["currency"], status=values["status"])
        return "created"
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
        return "unchanged"
    income.update_income_project(income_project=existing, activity=activity, planned_grant=grant, status=status)
    return "updated"


register(Kind(
    name="income_projects",
    label=_l("Income activities"),
    permission=PERMISSION,
    apply_row=apply_income_project,
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


def apply_income_report(values: dict[str, str], ctx: RowContext) -> str:
    project = ctx.find(IncomeProject, "income_project_reference", "reference",
                      values["income_project_reference"])
    month = v.month(values["month"], "month")
    existing = db.session.scalars(select(IncomeReport).where(
        IncomeReport.income_project_id == project.id, IncomeReport.month == month)).one_or_none()
    if existing is None:
        income.report_income(income_project=project, month=month, revenue=values["revenue"], costs=values["costs"],
                             currency=values["currency"])
        return "created"
    currency = v.currency(values["currency"])
    revenue = v.amount(values["revenue"], "revenue", currency, allow_zero=True)
    costs = v.amount(values["costs"], "costs", currency, allow_zero=True)
    if currency != existing.currency:
        raise Invalid(_l("reports of %(ref)s are in %(code)s", ref=project.reference, code=existing.currency),
                      "currency")
    if (existing.revenue, existing.costs) == (revenue, costs):
        return "unchanged"
    existing.revenue, existing.costs = revenue, costs
    return "updated"


register(Kind(
    name="income_reports",
    label=_l("Monthly income reports"),
    permission=PERMISSION,
    apply_row=apply_income_report,
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
