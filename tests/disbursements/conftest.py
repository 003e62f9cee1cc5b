"""Fixtures of the disbursement tests shared by the import and history-import modules."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests import factories
from tracker.models import User


@pytest.fixture
def people(rq) -> dict[str, User]:
    """Admin, CD staff, CD manager; a CD project with a mother, her child enrolled for 2025-2026 (3 terms), her
    tailoring activity; a CF project and mother; CDF rates from 1 January (0.00035) and 1 October 2025 (0.0004)."""
    with factories.one_commit():
        users = {
            "admin": factories.UserFactory(role="admin", email="admin@example.org"),
            "staff": factories.UserFactory(role="staff", email="staff@example.org", countries=["CD"]),
            "manager": factories.UserFactory(role="manager", email="manager@example.org", countries=["CD"]),
        }
        project = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        mother = factories.BeneficiaryFactory(project=project, number=1)
        child = factories.ChildFactory(mother=mother, number=1)
        factories.EnrolmentFactory(child=child, academic_year="2025-2026", terms=3)
        factories.IncomeProjectFactory(beneficiary=mother, reference="IGA-CD-0001")
        other = factories.BeneficiaryFactory(project=project, number=2)
        factories.ChildFactory(mother=other, number=1)
        cf = factories.ProjectFactory(code="TF-CF-2025-01", country="CF")
        factories.BeneficiaryFactory(project=cf, number=1)
        factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1),
                                      usd_per_unit=Decimal("0.00035000"))
        factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 10, 1),
                                      usd_per_unit=Decimal("0.00040000"))
    return users


@pytest.fixture
def cli(app, people, tmp_path):
    from tests.disbursements.test_disbursement_import import csv_bytes  # the file's columns live with its tests

    runner = app.test_cli_runner()

    def invoke(rows, *options):
        path = tmp_path / "disbursements.csv"
        path.write_bytes(csv_bytes(*rows))
        return runner.invoke(args=["import", "disbursements", str(path), *options])

    return invoke
