"""Fixtures of the security tests: the second factor required, and the records every route sweep names.

``world`` and ``clients`` serve the access matrix (test_access_matrix.py) and the headers sweep
(test_security_headers.py); ``records`` the permission sweeps (test_permissions.py,
test_reports_donor_access.py).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests import factories
from tracker.extensions import db
from tracker.models import (
    AllocationPlan,
    AllocationPlanLine,
    ClaimStep,
    IncomeProject,
    IssuedReport,
    Job,
    PaternityClaim,
    Project,
)
from tracker.models.base import now_utc


@pytest.fixture
def strict_app(make_app):
    """The app with the second factor required of admins and managers, as outside the tests.

    CSRF stays off (as in the rest of the suite) so that tests can post forms plainly.
    """
    return make_app(TWO_FACTOR_REQUIRED_ROLES=("admin", "manager"))


# --- the access matrix's records, and a client per role ---------------------------------------------------------------


def _country_records(country: str, number: int) -> dict:
    """A project of ``country`` with a mother, her child, an enrolment, a claim with a step, an income
    project and a disbursement."""
    project = factories.ProjectFactory(code=f"TF-{country}-2025-01", country=country)
    mother = factories.BeneficiaryFactory(project=project, number=number)
    child = factories.ChildFactory(mother=mother)
    enrolment = factories.EnrolmentFactory(child=child)
    claim = factories.PaternityClaimFactory(child=child)
    income = factories.IncomeProjectFactory(beneficiary=mother, reference=f"IGA-{country}-0001")
    disbursement = factories.DisbursementFactory(beneficiary=mother, reference=f"D-{country}-2025-0001")
    return {"project": project.code, "mother": mother.code, "child": child.code, "enrolment": enrolment.id,
            "claim": claim.id, "step": claim.steps[0].id, "income": income.reference,
            "disbursement": disbursement.reference}


def _report(number: str, donor, issuer_id: int, scope: str) -> str:
    pdf = f"%PDF-1.7 stand-in {number}".encode()
    db.session.add(IssuedReport(number=number, scope=scope, period_from=dt.date(2025, 1, 1),
                                period_to=dt.date(2025, 12, 31), as_of=dt.date(2026, 1, 15), lang="en",
                                donor=donor, issued_by_id=issuer_id, status="issued", pdf=pdf,
                                sha256=hashlib.sha256(pdf).hexdigest(), pages=1, size=len(pdf)))
    db.session.commit()
    return number


def _job(country: str, issuer_id: int, subject: str) -> int:
    """A failed rendering job of ``country`` (failed: its page shows it rather than leading to the report)."""
    job = Job(kind="render_report", state="failed", params="{}", subject=subject, country=country,
              started_by_id=issuer_id, progress_done=1, progress_total=3, attempts=1, error="RuntimeError")
    db.session.add(job)
    db.session.commit()
    return job.id


def _plan(number: str, project_code: str, maker_id: int) -> int:
    """A pending allocation plan of 10.00 to one project, waiting for a second manager."""
    project = db.session.scalars(select(Project).where(Project.code == project_code)).one()
    plan = AllocationPlan(number=number, scope=f"country:{project.country}", share="need",
                          amount_usd=Decimal("10.00"), total_usd=Decimal("10.00"), status="pending",
                          created_by_id=maker_id, created_at=now_utc())
    db.session.add(plan)
    db.session.flush()
    db.session.add(AllocationPlanLine(plan_id=plan.id, project_id=project.id, amount_usd=Decimal("10.00"),
                                      children_covered=0))
    db.session.commit()
    return plan.id


@pytest.fixture
def world(app):
    """Records in CD (the users' country) and in LR (nobody's but the admin's), two donors and their reports."""
    with app.app_context():
        inside = _country_records("CD", 1)
        outside = _country_records("LR", 2)
        ours = factories.DonorFactory(name="Kingdom of Norway")
        theirs = factories.DonorFactory(name="Republic of Elsewhere")
        target = factories.UserFactory(role="staff", email="target@example.org", countries=["CD"])
        inside["report"] = _report("TF-2025-0001", ours, target.id, "country:CD")
        outside["report"] = _report("TF-2025-0002", theirs, target.id, "country:LR")
        inside["job"] = _job("CD", target.id, inside["report"])
        outside["job"] = _job("LR", target.id, outside["report"])
        maker = factories.UserFactory(role="manager", email="maker@example.org", countries=["CD", "LR"])
        inside["plan"] = _plan("PLAN-2026-0001", inside["project"], maker.id)
        outside["plan"] = _plan("PLAN-2026-0002", outside["project"], maker.id)
        for side in (inside, outside):
            side["donor"] = ours.id
            side["user"] = target.id
        world = {"inside": inside, "outside": outside, "donor_id": ours.id}
        db.session.remove()
        return world


@pytest.fixture
def clients(app, world, sign_in):
    return {
        "anonymous": app.test_client(),
        "donor": sign_in(role="donor", email="donor@example.org", donor_id=world["donor_id"]),
        "staff": sign_in(role="staff", email="staff@example.org", countries=["CD"]),
        "manager": sign_in(role="manager", email="manager@example.org", countries=["CD"]),
        "admin": sign_in(role="admin", email="admin@example.org"),
    }


# --- the permission sweeps' records -----------------------------------------------------------------------------------


@pytest.fixture
def records(app):
    """A project of CD with a mother, her child, an enrolment, a claim, an income project and a
    disbursement: something real behind every URL."""
    with app.app_context():
        enrolment = factories.EnrolmentFactory(child__mother__project__code="TF-CD-2025-01")
        child = enrolment.child
        mother = child.mother
        claim = PaternityClaim(child=child, member_state="ZA", personnel_category="military",
                               status="received", status_on=dt.date(2025, 3, 1))
        step = ClaimStep(claim=claim, step="received", occurred_on=dt.date(2025, 3, 1))
        income = IncomeProject(reference="IGA-CD-0001", beneficiary=mother, activity="tailoring",
                               started_on=dt.date(2025, 4, 1), planned_grant=Decimal("150000.00"),
                               currency="CDF", status="active")
        db.session.add_all([claim, step, income])
        db.session.commit()
        disbursement = factories.DisbursementFactory(beneficiary=mother, reference="D-CD-2025-0001")
        donor = factories.DonorFactory(name="Permission Sweep Donor")
        report = IssuedReport(number="TF-2025-0001", scope="fund", period_from=dt.date(2025, 1, 1),
                              period_to=dt.date(2025, 12, 31), as_of=dt.date(2025, 12, 31), lang="en",
                              issued_by_id=factories.UserFactory(role="manager", countries=["CD"]).id,
                              status="issued", sha256="0" * 64, pdf=b"%PDF-1.7 sweep", pages=1, size=14)
        db.session.add(report)
        db.session.commit()
        job = Job(kind="render_report", state="failed", params="{}", subject=report.number, country="CD",
                  started_by_id=report.issued_by_id, progress_done=0, progress_total=3, attempts=1, error="Stop")
        db.session.add(job)
        db.session.commit()
        out = {
            "plan_id": _plan("PLAN-2026-0001", mother.project.code, report.issued_by_id),
            "job_id": job.id,
            "donor_id": donor.id,
            "report_number": report.number,
            "project_code": mother.project.code,
            "mother_code": mother.code,
            "child_code": child.code,
            "enrolment_id": enrolment.id,
            "claim_id": claim.id,
            "step_id": step.id,
            "income_reference": income.reference,
            "disbursement_reference": disbursement.reference,
        }
        db.session.remove()
        return out
