"""The claims, income projects and income reports imports in batches give what row by row gives
(``Kind.apply_batch`` beside ``apply_row``): the same records, the same audit events, the same errors in the same
order; a batch the database refuses is applied again row by row, which names the row; a file imported twice in
batches adds nothing the second time, whatever its kind.

As in test_registry_import_batch_people.py, each file mixes good and bad rows; expected figures are worked out
by hand in the comments.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.registry.batch_helpers import both, kinds_of, run
from tests.registry.test_registry_import_batch_people import (
    CHILDREN,
    ENROLMENTS,
    MOTHERS,
    STAFF,
    _good,
    _rows,
    _staff,
    _staff_user,
    children_world,
    enrolments_world,
    mothers_world,
)
from tests.registry.test_registry_imports import (
    BENEFICIARY_COLUMNS,
    CD,
    CF,
    CHILD_COLUMNS,
    CLAIM_COLUMNS,
    ENROLMENT_COLUMNS,
    INCOME_COLUMNS,
    NEXT_YEAR,
    REPORT_COLUMNS,
)
from tracker.extensions import db as _db
from tracker.models import (
    AuditEvent,
    Beneficiary,
    Child,
    ClaimStep,
    IncomeProject,
    IncomeReport,
    PaternityClaim,
)
from tracker.models.base import today
from tracker.registry import import_batch_records

M42, M43 = "CD-M-00042", "CD-M-00043"
C1, C2, C3, C4, C5 = (f"CD-C-00042-{n}" for n in range(1, 6))
TODAY = today()


# --- paternity claims ------------------------------------------------------------------------------------------------

def claims_world():
    """CD-M-00042 (born 1990) and her children CD-C-00042-1 to -4 (born 2016) and -5 (born 2020); -3 has a claim
    (UY, military) received on 10 January 2024 and notified on 1 February; CF-C-00007-1 in CF. A staff member of
    CD."""
    with factories.one_commit():
        _staff()
        mother = factories.BeneficiaryFactory(project=factories.ProjectFactory(code=CD, country="CD"), number=42,
                                              name="Furaha Mwamini", year_of_birth=1990)
        children = [factories.ChildFactory(mother=mother, number=n, first_name=f"Child {n}",
                                           year_of_birth=2020 if n == 5 else 2016) for n in range(1, 6)]
        factories.PaternityClaimFactory(
            child=children[2], member_state="UY", personnel_category="military", status="notified_to_member_state",
            status_on=dt.date(2024, 2, 1),
            steps=[ClaimStep(step="received", occurred_on=dt.date(2024, 1, 10)),
                   ClaimStep(step="notified_to_member_state", occurred_on=dt.date(2024, 2, 1))])
        cf_mother = factories.BeneficiaryFactory(project=factories.ProjectFactory(code=CF, country="CF"), number=7,
                                                 name="Grace Ndoye")
        factories.ChildFactory(mother=cf_mother, number=1, first_name="Esther")


WITHDRAWN = [C4, "UY", "civilian", "withdrawn", "2024-06-01", "", "", "", "2024-07-01"]
CLAIMS = [
    ([C1, "UY", "military", "dna_sample_collected", "2024-03-04", "2024-04-10", "2024-09-02", "", ""], ""),  # new
    (["CD-C-09999-1", "UY", "military", "received", "2025-03-01", "", "", "", ""],
     "child_code: CD-C-09999-1 is not known in your countries"),
    ([C2, "za", "police", "support_ordered", "2023-01-10", "2023-02-01", "2023-05-01", "2023-08-01", "2024-01-15"],
     ""),  # new, six steps
    (["CF-C-00007-1", "UY", "military", "received", "2025-03-01", "", "", "", ""],
     "child_code: CF-C-00007-1 is not known in your countries"),
    ([C3, "UY", "military", "notified_to_member_state", "2024-01-10", "2024-02-01", "", "", ""], ""),  # as recorded
    ([C3, "ZA", "military", "notified_to_member_state", "2024-01-10", "2024-02-01", "", "", ""],
     "member_state: differs from the recorded claim of CD-C-00042-3"),
    ([C3, "UY", "military", "received", "2024-01-10", "", "", "", ""],
     "status: differs from the steps recorded for CD-C-00042-3; correct them on the claim's page"),
    ([C3, "UY", "military", "dna_sample_collected", "2024-01-10", "2024-02-01", "2024-01-20", "", ""],
     "dna_sample_on: is before the previous step (2024-02-01)"),
    ([C3, "UY", "military", "dna_result_received", "2024-01-10", "2024-02-01", "", "2024-06-01", ""], ""),  # on
    ([C4, "UY", "military", "approved", "2025-03-01", "", "", "", ""],
     "status: approved is not one of: received, notified_to_member_state, dna_sample_collected, dna_result_received, "
     "paternity_established, not_established, withdrawn, legally_recognised, support_ordered, support_paid"),
    ([C4, "ZZ", "military", "received", "2025-03-01", "", "", "", ""],
     "member_state: ZZ is not an ISO 3166 country code such as UY"),
    ([C4, "UY", "army", "received", "2025-03-01", "", "", "", ""],
     "personnel_category: army is not one of: military, police, civilian"),
    ([C4, "UY", "military", "received", "1 March 2025", "", "", "", ""],
     "received_on: 1 March 2025 is not a date in the form YYYY-MM-DD"),
    ([C4, "UY", "military", "received", "", "", "", "", ""], "received_on: is required"),
    ([C4, "UY", "military", "received", "2025-03-01", "", "2025-04-01", "", ""],
     "dna_sample_on: is given but the status is received"),
    ([C4, "UY", "military", "dna_result_received", "2025-03-01", "", "", "2025-04-01", "2025-05-01"],
     "outcome_on: is given but the status is dna_result_received"),
    ([C4, "UY", "military", "paternity_established", "2025-03-01", "", "", "", ""], "outcome_on: is required"),
    ([C4, "UY", "military", "notified_to_member_state", "2025-03-01", "2025-02-01", "", "", ""],
     "notified_on: is before the previous step (2025-03-01)"),
    ([C5, "UY", "military", "received", "2019-05-01", "", "", "", ""], "received_on: is before the child was born"),
    ([C4, "UY", "military", "received", f"{NEXT_YEAR}-01-01", "", "", "", ""], "received_on: is in the future"),
    ([C1, "UY", "military", "dna_result_received", "2024-03-04", "2024-04-10", "2024-09-02", "2024-12-01", ""],
     ""),  # row 2's claim moves on
    (WITHDRAWN, ""),  # new
    (WITHDRAWN, ""),  # the same again
    ([C5, "UY", "military", "withdrawn", "2021-06-01", "", "", "", "2021-05-01"],
     "outcome_on: is before the previous step (2021-06-01)"),
]


def test_claims_in_batches_refuse_what_rows_refuse_with_the_same_messages(rq):
    rows, errors = _rows(CLAIMS)
    runs = both(claims_world, "claims", CLAIM_COLUMNS, rows, (PaternityClaim, ClaimStep), user_email=STAFF)
    assert runs[0].outcome == runs[1].outcome == (errors, 3, 2, 2, False)
    assert runs[0].events == runs[1].events == []


def test_claims_in_batches_make_the_steps_and_events_rows_make(rq):
    runs = both(claims_world, "claims", CLAIM_COLUMNS, _good(CLAIMS), (PaternityClaim, ClaimStep), user_email=STAFF)
    row_by_row, in_batches = runs
    assert in_batches.outcome == row_by_row.outcome == ([], 3, 2, 2, True)
    assert in_batches.records == row_by_row.records
    assert in_batches.events == row_by_row.events
    claims = in_batches.records["paternity_claims"]
    assert [(c["id"], c["member_state"], c["personnel_category"], c["status"], c["status_on"]) for c in claims] == [
        (1, "UY", "military", "dna_result_received", dt.date(2024, 6, 1)),      # CD-C-00042-3, moved on
        (2, "UY", "military", "dna_result_received", dt.date(2024, 12, 1)),     # CD-C-00042-1
        (3, "ZA", "police", "support_ordered", dt.date(2024, 1, 15)),           # CD-C-00042-2
        (4, "UY", "civilian", "withdrawn", dt.date(2024, 7, 1))]                # CD-C-00042-4
    staff_id = _staff_user().id
    steps = in_batches.records["claim_steps"]
    assert [(s["claim_id"], s["step"]) for s in steps[2:]] == [
        (2, "received"), (2, "notified_to_member_state"), (2, "dna_sample_collected"),
        (3, "received"), (3, "notified_to_member_state"), (3, "dna_sample_collected"), (3, "dna_result_received"),
        (3, "paternity_established"), (3, "support_ordered"), (1, "dna_result_received"), (2, "dna_result_received"),
        (4, "received"), (4, "withdrawn")]
    assert {s["recorded_by_id"] for s in steps[2:]} == {staff_id}
    # A new claim: the claim and its received step; each further step, then the claim's status moved on.
    moved = ("update", "paternity_claims")
    assert kinds_of(in_batches.events) == [
        ("create", "paternity_claims", "2"), ("create", "claim_steps", "3"), ("create", "claim_steps", "4"),
        (*moved, "2"), ("create", "claim_steps", "5"), (*moved, "2"),
        ("create", "paternity_claims", "3"), ("create", "claim_steps", "6"),
        ("create", "claim_steps", "7"), (*moved, "3"), ("create", "claim_steps", "8"), (*moved, "3"),
        ("create", "claim_steps", "9"), (*moved, "3"), ("create", "claim_steps", "10"), (*moved, "3"),
        ("create", "claim_steps", "11"), (*moved, "3"),
        ("create", "claim_steps", "12"), (*moved, "1"),
        ("create", "claim_steps", "13"), (*moved, "2"),
        ("create", "paternity_claims", "4"), ("create", "claim_steps", "14"), ("create", "claim_steps", "15"),
        (*moved, "4"), ("import", "claims", None)]
    changes = {(e[3], i): e[5] for i, e in enumerate(in_batches.events) if e[1] == "update"}
    assert changes[("2", 3)] == {"status": ["received", "notified_to_member_state"],
                                 "status_on": ["2024-03-04", "2024-04-10"]}
    assert changes[("3", 17)] == {"status": ["paternity_established", "support_ordered"]}  # the same day
    assert changes[("1", 19)] == {"status": ["notified_to_member_state", "dna_result_received"],
                                  "status_on": ["2024-02-01", "2024-06-01"]}
    assert in_batches.events[0][5]["status"] == [None, "received"]  # created at its first step


def test_a_claim_opened_between_the_look_up_and_the_write_is_named_on_its_rows(rq, monkeypatch):
    """Someone opens CD-C-00042-4's claim for ZA after the batch looked the claims up: rows 7 and 8 (that claim
    for UY) are refused as row by row refuses them."""
    claims_world()
    real = import_batch_records._look_up_claims

    def then_someone_else(rows, ctx, known):
        real(rows, ctx, known)
        child_id = _db.session.scalar(select(Child.id).where(Child.code == C4))
        _db.session.add(PaternityClaim(child_id=child_id, member_state="ZA", personnel_category="civilian",
                                       status="received", status_on=dt.date(2024, 6, 1),
                                       steps=[ClaimStep(step="received", occurred_on=dt.date(2024, 6, 1))]))
        _db.session.flush()

    monkeypatch.setattr(import_batch_records, "_look_up_claims", then_someone_else)
    result = run("claims", _good(CLAIMS), CLAIM_COLUMNS, batch=True, user=_staff_user(),
                 may_fall_back=True)
    assert [str(e) for e in result.errors] == ["row 7: member_state: differs from the recorded claim of CD-C-00042-4",
                                               "row 8: member_state: differs from the recorded claim of CD-C-00042-4"]
    assert result.committed is False


# --- income projects -------------------------------------------------------------------------------------------------

def income_projects_world():
    """CD-M-00042 and CD-M-00043; IGA-CD-00043-1 is the second one's (tailoring, from 1 March 2025, 350000 CDF,
    active); CF-M-00007 in CF. A staff member of CD."""
    with factories.one_commit():
        _staff()
        cd = factories.ProjectFactory(code=CD, country="CD")
        factories.BeneficiaryFactory(project=cd, number=42, name="Furaha Mwamini")
        other = factories.BeneficiaryFactory(project=cd, number=43, name="Amani Kahindo")
        factories.IncomeProjectFactory(beneficiary=other, reference="IGA-CD-00043-1", activity="tailoring",
                                       started_on=dt.date(2025, 3, 1), planned_grant=Decimal("350000.00"),
                                       currency="CDF", status="active")
        factories.BeneficiaryFactory(project=factories.ProjectFactory(code=CF, country="CF"), number=7,
                                     name="Grace Ndoye")


SMALL_TRADE = ["IGA-CD-00042-2", M42, "small trade", "2025-06-15", "120.50", "usd", "planned"]
INCOME_PROJECTS = [
    (["IGA-CD-00042-1", M42, "tailoring", "2025-03-01", "350000", "CDF", "active"], ""),  # new
    (["IGA-CD-00043-1", M42, "farming", "2025-03-01", "1000", "CDF", "active"],
     "reference: IGA-CD-00043-1 belongs to another mother"),
    (SMALL_TRADE, ""),  # new
    (["IGA-X-1", "CD-M-09999", "farming", "2025-03-01", "1000", "CDF", "active"],
     "mother_code: CD-M-09999 is not known in your countries"),
    (["IGA-X-1", "CF-M-00007", "farming", "2025-03-01", "1000", "CDF", "active"],
     "mother_code: CF-M-00007 is not known in your countries"),
    (["", M42, "farming", "2025-03-01", "1000", "CDF", "active"], "reference: is required"),
    (["IGA-CD-00043-1", M43, "tailoring", "2025-03-01", "350000", "CDF", "active"], ""),  # as recorded
    (["IGA-X-2", M42, "farming", "2025-02-30", "1000", "CDF", "active"],
     "started_on: 2025-02-30 is not a date in the form YYYY-MM-DD"),
    (["IGA-X-3", M42, "farming", "2025-03-01", "abc", "CDF", "active"],
     "planned_grant: 'abc' is not a plain amount like 1250.50 (digits and one dot only: no spaces, no commas)"),
    (["IGA-X-4", M42, "farming", "2025-03-01", "1000", "CDF", "finished"],
     "status: finished is not one of: planned, active, struggling, closed_successful, closed_failed"),
    (["IGA-X-5", M42, "", "2025-03-01", "1000", "CDF", "active"], "activity: is required"),
    (["IGA-X-6", M42, "farming", "2025-03-01", "1000", "ZZZ", "active"],
     "currency: ZZZ is not an ISO 4217 currency code such as USD"),
    (["IGA-CD-00043-1", M43, "tailoring", "2025-03-01", "350000", "CDF", "struggling"], ""),  # corrected
    (["IGA-CD-00043-1", M43, "tailoring", "2025-03-01", "350", "USD", "active"],
     "started_on: differs from the recorded IGA-CD-00043-1"),
    (["IGA-CD-00043-1", M43, "tailoring", "2025-04-01", "350000", "CDF", "active"],
     "started_on: differs from the recorded IGA-CD-00043-1"),
    (["IGA-CD-00043-1", M43, "tailoring", "2025-03-01", "12.345", "CDF", "active"],
     "planned_grant: CDF amounts have at most 2 decimal places"),
    (["IGA-CD-00042-1", M42, "tailoring", "2025-03-01", "350000", "CDF", "closed_successful"], ""),  # row 2's, closed
    (["IGA-CD-00042-1", M43, "tailoring", "2025-03-01", "350000", "CDF", "active"],
     "reference: IGA-CD-00042-1 belongs to another mother"),
    (SMALL_TRADE, ""),  # the same again
    (["IGA-CD-00042-3", M42, "farming", "2025-01-01", "1000", "CDF", "closed_failed"], ""),  # new, closed today
    (["I" * 61, M42, "farming", "2025-03-01", "1000", "CDF", "active"],
     "reference: is too long (at most 60 characters)"),
]


def test_income_projects_in_batches_refuse_what_rows_refuse_with_the_same_messages(rq):
    rows, errors = _rows(INCOME_PROJECTS)
    runs = both(income_projects_world, "income_projects", INCOME_COLUMNS, rows, (IncomeProject,), user_email=STAFF)
    assert runs[0].outcome == runs[1].outcome == (errors, 3, 2, 2, False)
    assert runs[0].events == runs[1].events == []


def test_income_projects_in_batches_make_the_records_and_events_rows_make(rq):
    runs = both(income_projects_world, "income_projects", INCOME_COLUMNS, _good(INCOME_PROJECTS), (IncomeProject,),
                user_email=STAFF)
    row_by_row, in_batches = runs
    assert in_batches.outcome == row_by_row.outcome == ([], 3, 2, 2, True)
    assert in_batches.records == row_by_row.records
    assert in_batches.events == row_by_row.events
    assert [(p["reference"], p["activity"], p["planned_grant"], p["currency"], p["status"], p["closed_on"])
            for p in in_batches.records["income_projects"]] == [
        ("IGA-CD-00043-1", "tailoring", Decimal("350000.00"), "CDF", "struggling", None),
        ("IGA-CD-00042-1", "tailoring", Decimal("350000.00"), "CDF", "closed_successful", TODAY),
        ("IGA-CD-00042-2", "small trade", Decimal("120.50"), "USD", "planned", None),
        ("IGA-CD-00042-3", "farming", Decimal("1000.00"), "CDF", "closed_failed", TODAY)]
    assert [(k, e, i, changes) for (_id, k, e, i, _u, changes) in in_batches.events if k == "update"] == [
        ("update", "income_projects", "IGA-CD-00043-1", {"status": ["active", "struggling"]}),
        ("update", "income_projects", "IGA-CD-00042-1",
         {"status": ["active", "closed_successful"], "closed_on": [None, TODAY.isoformat()]})]
    assert kinds_of(in_batches.events) == [
        ("create", "income_projects", "IGA-CD-00042-1"), ("create", "income_projects", "IGA-CD-00042-2"),
        ("update", "income_projects", "IGA-CD-00043-1"), ("update", "income_projects", "IGA-CD-00042-1"),
        ("create", "income_projects", "IGA-CD-00042-3"), ("import", "income_projects", None)]


def test_a_reference_taken_between_the_look_up_and_the_write_is_named_on_its_row(rq, monkeypatch):
    """Someone records IGA-CD-00042-3 for CD-M-00043 after the batch looked the references up: row 8 is named."""
    income_projects_world()
    real = import_batch_records._look_up_income_projects

    def then_someone_else(rows, ctx, known):
        real(rows, ctx, known)
        mother_id = _db.session.scalar(select(Beneficiary.id).where(Beneficiary.code == M43))
        _db.session.add(IncomeProject(reference="IGA-CD-00042-3", beneficiary_id=mother_id, activity="bakery",
                                      started_on=dt.date(2025, 5, 1), planned_grant=Decimal("1000.00"),
                                      currency="CDF", status="planned"))
        _db.session.flush()

    monkeypatch.setattr(import_batch_records, "_look_up_income_projects", then_someone_else)
    result = run("income_projects", _good(INCOME_PROJECTS), INCOME_COLUMNS, batch=True, user=_staff_user(),
                 may_fall_back=True)
    assert [str(e) for e in result.errors] == ["row 8: reference: IGA-CD-00042-3 belongs to another mother"]
    assert result.committed is False


# --- income reports --------------------------------------------------------------------------------------------------

IGA1, IGA2 = "IGA-CD-00042-1", "IGA-CD-00042-2"


def income_reports_world():
    """CD-M-00042's activities IGA-CD-00042-1 (CDF, from 1 March 2025, March reported: 100000 and 50000) and
    IGA-CD-00042-2 (USD, from 10 January 2025); IGA-CF-00007-1 in CF. A staff member of CD."""
    with factories.one_commit():
        _staff()
        mother = factories.BeneficiaryFactory(project=factories.ProjectFactory(code=CD, country="CD"), number=42,
                                              name="Furaha Mwamini")
        first = factories.IncomeProjectFactory(beneficiary=mother, reference=IGA1, currency="CDF",
                                               started_on=dt.date(2025, 3, 1))
        factories.IncomeProjectFactory(beneficiary=mother, reference=IGA2, currency="USD",
                                       planned_grant=Decimal("300.00"), started_on=dt.date(2025, 1, 10))
        factories.IncomeReportFactory(income_project=first, month=dt.date(2025, 3, 1), revenue=Decimal("100000.00"),
                                      costs=Decimal("50000.00"))
        cf_mother = factories.BeneficiaryFactory(project=factories.ProjectFactory(code=CF, country="CF"), number=7,
                                                 name="Grace Ndoye")
        factories.IncomeProjectFactory(beneficiary=cf_mother, reference="IGA-CF-00007-1", currency="XAF",
                                       planned_grant=Decimal("60000"))


def _next_month() -> str:
    return f"{TODAY.year + 1}-01" if TODAY.month == 12 else f"{TODAY.year}-{TODAY.month + 1:02d}"


INCOME_REPORTS = [
    ([IGA1, "2025-04", "180000", "95000", "CDF"], ""),  # new
    (["IGA-NOPE", "2025-04", "1", "0", "CDF"], "income_project_reference: IGA-NOPE is not known in your countries"),
    ([IGA1, "2025-05", "150000.50", "160000", "cdf"], ""),  # new
    (["IGA-CF-00007-1", "2025-04", "1", "0", "XAF"],
     "income_project_reference: IGA-CF-00007-1 is not known in your countries"),
    (["", "2025-04", "1", "0", "CDF"], "income_project_reference: is required"),
    ([IGA1, "2025-03", "100000", "50000", "CDF"], ""),  # as recorded
    ([IGA1, "2025-13", "1", "0", "CDF"], "month: 2025-13 is not a month in the form YYYY-MM"),
    ([IGA1, _next_month(), "1", "0", "CDF"], "month: is in the future"),
    ([IGA1, "2025-03", "110000", "50000", "CDF"], ""),  # corrected
    ([IGA1, "2025-06", "1", "0", "USD"], "currency: reports of IGA-CD-00042-1 are in CDF"),
    ([IGA1, "2025-07", "-5", "0", "CDF"], "revenue: the amount must be greater than zero"),
    ([IGA1, "2025-07", "5", "1,000", "CDF"],
     "costs: '1,000' is not a plain amount like 1250.50 (digits and one dot only: no spaces, no commas)"),
    ([IGA1, "2025-02", "1", "0", "CDF"], "month: is before the activity started"),
    ([IGA1, "2025-04", "185000", "95000", "CDF"], ""),  # row 2's, corrected
    ([IGA1, "2025-04", "185000", "95000", ""], "currency: '' is not an ISO 4217 currency code such as USD"),
    ([IGA1, "2025-05", "1", "0", "USD"], "currency: reports of IGA-CD-00042-1 are in CDF"),
    ([IGA2, "2025-01", "0", "0", ""], ""),  # new, in the activity's currency
    ([IGA2, "2025-01", "0", "0", "USD"], ""),  # the same again
    ([IGA1, "April 2025", "1", "0", "CDF"], "month: April 2025 is not a month in the form YYYY-MM"),
]


def test_income_reports_in_batches_refuse_what_rows_refuse_with_the_same_messages(rq):
    rows, errors = _rows(INCOME_REPORTS)
    runs = both(income_reports_world, "income_reports", REPORT_COLUMNS, rows, (IncomeReport,), user_email=STAFF)
    assert runs[0].outcome == runs[1].outcome == (errors, 3, 2, 2, False)
    assert runs[0].events == runs[1].events == []


def test_income_reports_in_batches_make_the_records_and_events_rows_make(rq):
    runs = both(income_reports_world, "income_reports", REPORT_COLUMNS, _good(INCOME_REPORTS), (IncomeReport,),
                user_email=STAFF)
    row_by_row, in_batches = runs
    assert in_batches.outcome == row_by_row.outcome == ([], 3, 2, 2, True)
    assert in_batches.records == row_by_row.records
    assert in_batches.events == row_by_row.events
    assert [(r["id"], r["month"], r["revenue"], r["costs"], r["currency"])
            for r in in_batches.records["income_reports"]] == [
        (1, dt.date(2025, 3, 1), Decimal("110000.00"), Decimal("50000.00"), "CDF"),
        (2, dt.date(2025, 4, 1), Decimal("185000.00"), Decimal("95000.00"), "CDF"),
        (3, dt.date(2025, 5, 1), Decimal("150000.50"), Decimal("160000.00"), "CDF"),
        (4, dt.date(2025, 1, 1), Decimal("0.00"), Decimal("0.00"), "USD")]
    assert [(k, e, i, changes) for (_id, k, e, i, _u, changes) in in_batches.events if k == "update"] == [
        ("update", "income_reports", "1", {"revenue": ["100000.00", "110000.00"]}),
        ("update", "income_reports", "2", {"revenue": ["180000.00", "185000.00"]})]
    assert kinds_of(in_batches.events) == [
        ("create", "income_reports", "2"), ("create", "income_reports", "3"), ("update", "income_reports", "1"),
        ("update", "income_reports", "2"), ("create", "income_reports", "4"), ("import", "income_reports", None)]


def test_a_month_reported_between_the_look_up_and_the_write_is_named_on_its_row(rq, monkeypatch):
    """Someone reports January for IGA-CD-00042-2 after the batch looked the reports up: row 7 (that month with no
    currency) is then a correction, and a correction needs the currency, as row by row says."""
    income_reports_world()
    real = import_batch_records._look_up_income_reports

    def then_someone_else(rows, ctx, known):
        real(rows, ctx, known)
        activity_id = _db.session.scalar(select(IncomeProject.id).where(IncomeProject.reference == IGA2))
        _db.session.add(IncomeReport(income_project_id=activity_id, month=dt.date(2025, 1, 1), revenue=Decimal(0),
                                     costs=Decimal(0), currency="USD"))
        _db.session.flush()

    monkeypatch.setattr(import_batch_records, "_look_up_income_reports", then_someone_else)
    result = run("income_reports", _good(INCOME_REPORTS), REPORT_COLUMNS, batch=True, user=_staff_user(),
                 may_fall_back=True)
    assert [str(e) for e in result.errors] == ["row 7: currency: '' is not an ISO 4217 currency code such as USD"]
    assert result.committed is False


# --- every kind ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, world, header, mixed, superseded", [
    ("beneficiaries", mothers_world, BENEFICIARY_COLUMNS, MOTHERS, ()),
    ("children", children_world, CHILD_COLUMNS, CHILDREN, ()),
    ("enrolments", enrolments_world, ENROLMENT_COLUMNS, ENROLMENTS, (1, 3)),         # P2, 30000: corrected
    ("claims", claims_world, CLAIM_COLUMNS, CLAIMS, (0, 2)),                        # moved on further down
    ("income_projects", income_projects_world, INCOME_COLUMNS, INCOME_PROJECTS, (0, 2)),  # corrected
    # 180000 and 100000 corrected; a month reported already needs its currency, even row by row.
    ("income_reports", income_reports_world, REPORT_COLUMNS, INCOME_REPORTS, (0, 2, 5)),
])
def test_a_file_imported_twice_in_batches_adds_nothing_the_second_time(rq, kind, world, header, mixed, superseded):
    """The good rows of each file, but those a later row of the file corrects (the file would then undo and redo
    the correction each time, in batches as row by row)."""
    world()
    rows = [row for index, row in enumerate(_good(mixed)) if index not in superseded]
    first = run(kind, rows, header, batch=True, user=_staff_user())
    assert (first.ok, first.committed) == (True, True)
    events = _db.session.scalar(select(func.count(AuditEvent.id)))
    again = run(kind, rows, header, batch=True, user=_staff_user())
    assert (again.ok, again.created, again.updated, again.unchanged, again.committed) == (True, 0, 0, len(rows), True)
    assert _db.session.scalar(select(func.count(AuditEvent.id))) == events + 1  # its "import" event alone


def test_the_mixed_files_hold_good_and_bad_rows():
    """The files above are what they claim to be (a guard for the tests, not for the code)."""
    for mixed in (MOTHERS, CHILDREN, ENROLMENTS, CLAIMS, INCOME_PROJECTS, INCOME_REPORTS):
        rows, errors = _rows(mixed)
        assert 0 < len(errors) < len(rows)
