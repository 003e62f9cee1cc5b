"""factory_boy factories for the models; each commits what it makes."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory
from werkzeug.security import generate_password_hash

from tracker.crypto import keyring
from tracker.extensions import db
from tracker.models import (
    Beneficiary,
    BudgetLine,
    Child,
    Donor,
    Enrolment,
    ExchangeRate,
    Partner,
    Project,
    User,
    UserCountry,
)

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = None


def _password_hash():
    """A cheap hash of :data:`PASSWORD` for every user made here.

    Each sign-in checks the user's hash, and the suite signs in thousands of times: production's scrypt
    costs about 0.1 s of CPU a check. Hashes the app makes itself (a new user, a changed password) are
    still scrypt, and tests/security/test_cli_users.py checks that they are.
    """
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    return _PASSWORD_HASH


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class DonorFactory(Base):
    class Meta:
        model = Donor

    name = factory.Sequence(lambda n: f"Donor {n}")
    kind = "member_state"


class UserFactory(Base):
    class Meta:
        model = User
        exclude = ("countries",)

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    name = factory.Sequence(lambda n: f"User {n}")
    role = "staff"
    password_hash = factory.LazyFunction(_password_hash)
    active = True
    locale = "en"
    countries = ("CD",)
    country_links = factory.LazyAttribute(
        lambda o: [UserCountry(country=c) for c in o.countries] if o.role in ("staff", "manager") else []
    )


class PartnerFactory(Base):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner {n}")
    kind = "ngo"


class ProjectFactory(Base):
    class Meta:
        model = Project

    code = factory.Sequence(lambda n: f"TF-XX-2025-{n:02d}")
    title = factory.Sequence(lambda n: f"Assistance project {n}")
    country = "CD"
    partner = factory.SubFactory(PartnerFactory)
    start_date = dt.date(2025, 1, 1)
    end_date = dt.date(2026, 12, 31)
    status = "active"


class BudgetLineFactory(Base):
    class Meta:
        model = BudgetLine

    project = factory.SubFactory(ProjectFactory)
    year = 2025
    category = "school_fees"
    amount_usd = Decimal("1000.00")


class BeneficiaryFactory(Base):
    class Meta:
        model = Beneficiary
        exclude = ("name",)

    project = factory.SubFactory(ProjectFactory)
    country = factory.SelfAttribute("project.country")
    number = factory.Sequence(lambda n: n + 1)
    code = factory.LazyAttribute(lambda o: f"{o.country}-M-{o.number:05d}")
    name = factory.Sequence(lambda n: f"Test Mother {n}")
    full_name = factory.SelfAttribute("name")
    name_hash = factory.LazyAttribute(lambda o: keyring().name_hash(o.name))
    year_of_birth = 1995
    enrolled_on = dt.date(2025, 2, 1)
    status = "active"
    consent_services_on = dt.date(2025, 2, 1)
    consent_reporting_on = dt.date(2025, 2, 1)


class ChildFactory(Base):
    class Meta:
        model = Child

    mother = factory.SubFactory(BeneficiaryFactory)
    number = 1
    code = factory.LazyAttribute(lambda o: f"{o.mother.country}-C-{o.mother.number:05d}-{o.number}")
    first_name = factory.Sequence(lambda n: f"Child{n}")
    year_of_birth = 2016
    sex = "F"


class EnrolmentFactory(Base):
    class Meta:
        model = Enrolment

    child = factory.SubFactory(ChildFactory)
    school = "EP Mapendo"
    academic_year = "2025-2026"
    grade = "P3"
    fee_per_term = Decimal("45000.00")
    currency = "CDF"
    terms = 3


class ExchangeRateFactory(Base):
    class Meta:
        model = ExchangeRate

    currency = "CDF"
    valid_from = dt.date(2025, 1, 1)
    usd_per_unit = Decimal("0.00035000")


from tracker.models import Disbursement  # noqa: E402


class DisbursementFactory(Base):
    """A draft medical disbursement for a beneficiary, in her project."""

    class Meta:
        model = Disbursement

    reference = factory.Sequence(lambda n: f"D-TEST-{n:05d}")
    beneficiary = factory.SubFactory(BeneficiaryFactory)
    project = factory.SelfAttribute("beneficiary.project")
    category = "medical"
    payee = "Centre de santé Kavumu"
    amount = Decimal("30000.00")
    currency = "CDF"
    entered_on = dt.date(2025, 3, 1)
    status = "draft"
    entered_by_id = factory.LazyFunction(lambda: UserFactory(role="staff").id)


from tracker.models import ClaimStep, IncomeProject, IncomeReport, PaternityClaim  # noqa: E402


class PaternityClaimFactory(Base):
    """A child's claim at its first step, ``received``, with that step in its history."""

    class Meta:
        model = PaternityClaim

    child = factory.SubFactory(ChildFactory)
    member_state = "UY"
    personnel_category = "military"
    status = "received"
    status_on = dt.date(2025, 3, 1)
    steps = factory.LazyAttribute(lambda o: [ClaimStep(step="received", occurred_on=o.status_on)])


class IncomeProjectFactory(Base):
    """An active tailoring activity of a beneficiary, in CDF."""

    class Meta:
        model = IncomeProject

    reference = factory.Sequence(lambda n: f"IGA-TEST-{n:05d}")
    beneficiary = factory.SubFactory(BeneficiaryFactory)
    activity = "tailoring"
    started_on = dt.date(2025, 3, 1)
    planned_grant = Decimal("350000.00")
    currency = "CDF"
    status = "active"


class IncomeReportFactory(Base):
    class Meta:
        model = IncomeReport

    income_project = factory.SubFactory(IncomeProjectFactory)
    month = dt.date(2025, 4, 1)
    revenue = Decimal("180000.00")
    costs = Decimal("95000.00")
    currency = factory.SelfAttribute("income_project.currency")


import contextlib  # noqa: E402


@contextlib.contextmanager
def one_commit():
    """Inside the block every factory flushes instead of committing; one commit at the end.

    A set-up of many records then costs one SQLite transaction instead of one each.
    """
    def all_factories(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from all_factories(sub)

    saved = [(f, f._meta.sqlalchemy_session_persistence) for f in all_factories(Base)]
    for f, _persistence in saved:
        f._meta.sqlalchemy_session_persistence = "flush"
    try:
        yield
        db.session.commit()
    finally:
        for f, persistence in saved:
            f._meta.sqlalchemy_session_persistence = persistence


from tracker.models import Allocation  # noqa: E402


class AllocationFactory(Base):
    """USD the Fund assigns to a project."""

    class Meta:
        model = Allocation

    project = factory.SubFactory(ProjectFactory)
    amount_usd = Decimal("1000.00")
    allocated_on = dt.date(2025, 6, 1)


from tracker.models import Contribution, Pledge  # noqa: E402


class PledgeFactory(Base):
    """A donor's pledge; its USD value is frozen as given (default: USD at rate 1)."""

    class Meta:
        model = Pledge

    reference = factory.Sequence(lambda n: f"PL-TEST-{n:05d}")
    donor = factory.SubFactory(DonorFactory)
    amount = Decimal("1000.00")
    currency = "USD"
    pledged_on = dt.date(2025, 2, 1)
    usd_amount = factory.SelfAttribute("amount")
    usd_rate = Decimal("1.00000000")


class ContributionFactory(Base):
    """Money received, against ``pledge`` (then from its donor) or without one."""

    class Meta:
        model = Contribution

    reference = factory.Sequence(lambda n: f"CO-TEST-{n:05d}")
    pledge = None
    donor = factory.Maybe("pledge", yes_declaration=factory.SelfAttribute("pledge.donor"),
                          no_declaration=factory.SubFactory(DonorFactory))
    amount = Decimal("500.00")
    currency = "USD"
    received_on = dt.date(2025, 3, 1)
    usd_amount = factory.SelfAttribute("amount")
    usd_rate = Decimal("1.00000000")


import hashlib  # noqa: E402

from tracker.models import IssuedReport  # noqa: E402


class IssuedReportFactory(Base):
    """An issued donor report holding stand-in bytes (nothing rendered); ``status="rendering"`` has none."""

    class Meta:
        model = IssuedReport

    number = factory.Sequence(lambda n: f"TF-1999-{n + 1:04d}")
    scope = "fund"
    period_from = dt.date(2025, 1, 1)
    period_to = dt.date(2025, 12, 31)
    as_of = dt.date(2026, 1, 15)
    lang = "en"
    donor = None
    issued_by_id = factory.LazyFunction(lambda: UserFactory(role="manager").id)
    status = "issued"
    pdf = factory.LazyAttribute(lambda o: f"%PDF-1.7 stand-in {o.number}".encode() if o.status == "issued" else None)
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.pdf).hexdigest() if o.pdf else None)
    pages = factory.LazyAttribute(lambda o: 1 if o.pdf else None)
    size = factory.LazyAttribute(lambda o: len(o.pdf) if o.pdf else None)


def claim_with_steps(project, number: int, member_state: str, steps: list[tuple[str, dt.date]],
                     superseded=()) -> PaternityClaim:
    """A mother (``number``) of ``project``, her first child, and the child's claim with these steps in force,
    in path order, plus ``superseded`` ones (corrected away, kept as history); its status is the last step."""
    from tracker.models.base import now_utc

    mother = BeneficiaryFactory(project=project, number=number)
    child = ChildFactory(mother=mother, number=1)
    rows = [ClaimStep(step=step, occurred_on=on) for step, on in steps]
    rows += [ClaimStep(step=step, occurred_on=on, superseded_at=now_utc(), correction_reason="wrong date")
             for step, on in superseded]
    status, status_on = steps[-1]
    return PaternityClaimFactory(child=child, member_state=member_state, status=status, status_on=status_on,
                                 steps=rows)
