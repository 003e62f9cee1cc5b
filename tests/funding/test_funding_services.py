"""The Fund's money without HTTP: donors, pledges, contributions, allocations, budget lines and projects.

Expected figures are worked out by hand in each test. Services run inside a
test request context, as when a route calls them (their messages are
translated with the request's locale).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import factories
from tracker.errors import Invalid
from tracker.extensions import db as _db
from tracker.funding import services
from tracker.models import Allocation, BudgetLine, Contribution, Donor, Partner, Pledge, Project


@pytest.fixture
def donor(rq):
    return factories.DonorFactory(name="Japan")


@pytest.fixture
def project(rq):
    """TF-CD-2025-01, 2025-01-01 to 2026-12-31, active."""
    return factories.ProjectFactory(code="TF-CD-2025-01", country="CD")


@pytest.fixture
def jpy(rq):
    """JPY at 0.0067 USD from 2025-01-01, 0.0065 from 2025-06-01."""
    factories.ExchangeRateFactory(currency="JPY", valid_from=dt.date(2025, 1, 1), usd_per_unit=Decimal("0.0067"))
    factories.ExchangeRateFactory(currency="JPY", valid_from=dt.date(2025, 6, 1), usd_per_unit=Decimal("0.0065"))


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


def refused(call, **kwargs) -> dict[str, str]:
    """Call a service that must refuse; roll back as a route does; return its messages by field."""
    with pytest.raises(Invalid) as caught:
        call(**kwargs)
    _db.session.rollback()
    return caught.value.errors


def receive(donor, usd: str, on: dt.date, reference: str, pledge=None):
    contribution = services.record_contribution(donor=donor, reference=reference, amount=usd, currency="USD",
                                                received_on=on, pledge=pledge)
    _db.session.commit()
    return contribution


# --- donors ----------------------------------------------------------------------------------------------------------

def test_donor_is_created_with_kind_and_country(rq):
    donor = services.create_donor(name="  Kingdom of Norway ", kind="member_state", country="no")
    _db.session.commit()
    assert (donor.name, donor.kind, donor.country) == ("Kingdom of Norway", "member_state", "NO")


def test_donor_names_are_unique_and_kinds_known(donor):
    assert "name" in refused(services.create_donor, name="Japan", kind="member_state")
    assert "kind" in refused(services.create_donor, name="Japan Foundation", kind="foundation")
    assert count(Donor) == 1


def test_donor_can_be_renamed_but_not_onto_another(donor):
    other = factories.DonorFactory(name="Sweden")
    services.update_donor(donor=donor, name="Government of Japan", kind="member_state", country="JP")
    _db.session.commit()
    assert (donor.name, donor.country) == ("Government of Japan", "JP")
    assert "name" in refused(services.update_donor, donor=other, name="Government of Japan", kind="member_state")


# --- pledges and contributions: USD frozen at the rate in force on their date --------------------------------------

def test_pledge_usd_is_frozen_at_the_rate_of_its_date(donor, jpy):
    pledge = services.record_pledge(donor=donor, reference="PL-JP-1", amount="1000000", currency="JPY",
                                    pledged_on=dt.date(2025, 3, 1))
    _db.session.commit()
    # 1,000,000 JPY × 0.0067 = 6,700.00 USD (the 2025-01-01 rate is the one in force on 2025-03-01)
    assert (pledge.usd_amount, pledge.usd_rate) == (Decimal("6700.00"), Decimal("0.00670000"))


def test_a_rate_added_later_does_not_change_a_frozen_pledge(donor, jpy):
    services.record_pledge(donor=donor, reference="PL-JP-1", amount="1000000", currency="JPY",
                                    pledged_on=dt.date(2025, 3, 1))
    _db.session.commit()
    # a correction that would have been in force on the pledge's date, had it been known then
    factories.ExchangeRateFactory(currency="JPY", valid_from=dt.date(2025, 2, 1), usd_per_unit=Decimal("0.0070"))
    _db.session.expire_all()
    stored = _db.session.scalars(select(Pledge)).one()
    assert (stored.usd_amount, stored.usd_rate) == (Decimal("6700.00"), Decimal("0.00670000"))


def test_contribution_usd_uses_the_latest_rate_on_or_before_it(donor, jpy):
    before = services.record_contribution(donor=donor, reference="CT-1", amount="500000", currency="JPY",
                                          received_on=dt.date(2025, 5, 31))
    on_the_day = services.record_contribution(donor=donor, reference="CT-2", amount="500000", currency="JPY",
                                              received_on=dt.date(2025, 6, 1))
    _db.session.commit()
    assert before.usd_amount == Decimal("3350.00")  # 500,000 × 0.0067
    assert on_the_day.usd_amount == Decimal("3250.00")  # 500,000 × 0.0065


def test_usd_value_is_rounded_half_even_to_cents(donor, rq):
    factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1), usd_per_unit=Decimal("0.00035"))
    # 10,050.00 CDF × 0.00035 = 3.5175 → 3.52; 10,030.00 × 0.00035 = 3.5105 → 3.51
    up = services.record_contribution(donor=donor, reference="CT-1", amount="10050", currency="CDF",
                                      received_on=dt.date(2025, 3, 1))
    down = services.record_contribution(donor=donor, reference="CT-2", amount="10030", currency="CDF",
                                        received_on=dt.date(2025, 3, 1))
    assert (up.usd_amount, down.usd_amount) == (Decimal("3.52"), Decimal("3.51"))


def test_pledge_in_an_unknown_currency_is_refused_and_nothing_saved(donor):
    errors = refused(services.record_pledge, donor=donor, reference="PL-1", amount="1000", currency="XYZ",
                     pledged_on=dt.date(2025, 3, 1))
    assert errors == {"currency": "XYZ is not an ISO 4217 currency code such as USD"}
    assert count(Pledge) == 0


def test_pledge_without_a_rate_for_its_date_is_refused(donor, jpy):
    errors = refused(services.record_pledge, donor=donor, reference="PL-1", amount="1000", currency="EUR",
                     pledged_on=dt.date(2025, 3, 1))
    assert errors == {"currency": "there is no exchange rate for EUR on 2025-03-01; an administrator must add one"}
    # a JPY rate exists, but only from 2025-01-01
    errors = refused(services.record_pledge, donor=donor, reference="PL-2", amount="1000", currency="JPY",
                     pledged_on=dt.date(2024, 12, 31))
    assert "there is no exchange rate for JPY on 2024-12-31" in errors["currency"]
    assert count(Pledge) == 0


def test_contribution_without_a_rate_for_its_date_is_refused(donor):
    errors = refused(services.record_contribution, donor=donor, reference="CT-1", amount="1000", currency="SEK",
                     received_on=dt.date(2025, 3, 1))
    assert list(errors) == ["currency"]
    assert count(Contribution) == 0


def test_contribution_bigger_than_any_sane_amount_is_refused(donor):
    errors = refused(services.record_contribution, donor=donor, reference="CT-1", amount="1000000000.01",
                     currency="USD", received_on=dt.date(2025, 3, 1))
    assert errors == {"amount": "is larger than any amount the Fund handles (1,000,000,000 USD)"}
    assert count(Contribution) == 0
    # the limit itself is accepted
    assert receive(donor, "1000000000", dt.date(2025, 3, 1), "CT-2").usd_amount == Decimal("1000000000.00")


def test_pledge_bigger_than_any_sane_amount_is_refused(donor):
    errors = refused(services.record_pledge, donor=donor, reference="PL-1", amount="2000000000", currency="USD",
                     pledged_on=dt.date(2025, 3, 1))
    assert list(errors) == ["amount"]


@pytest.mark.parametrize("amount, field_message", [
    ("12,50", "is not a plain amount"), ("-5", "greater than zero"), ("0", "greater than zero"),
    ("1e6", "is not a plain amount"), ("12.345", "at most 2 decimal places"),
])
def test_amounts_are_parsed_exactly_or_refused(donor, amount, field_message):
    errors = refused(services.record_contribution, donor=donor, reference="CT-1", amount=amount, currency="USD",
                     received_on=dt.date(2025, 3, 1))
    assert field_message in errors["amount"]


def test_references_are_unique(donor):
    receive(donor, "100", dt.date(2025, 3, 1), "CT-1")
    assert "reference" in refused(services.record_contribution, donor=donor, reference="CT-1", amount="5",
                                  currency="USD", received_on=dt.date(2025, 3, 2))
    services.record_pledge(donor=donor, reference="PL-1", amount="5", currency="USD", pledged_on=dt.date(2025, 3, 1))
    _db.session.commit()
    assert "reference" in refused(services.record_pledge, donor=donor, reference="PL-1", amount="6", currency="USD",
                                  pledged_on=dt.date(2025, 3, 1))


def test_future_dates_are_refused(donor):
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    assert "pledged_on" in refused(services.record_pledge, donor=donor, reference="PL-1", amount="5",
                                   currency="USD", pledged_on=tomorrow)


def test_pledge_earmark_for_a_project_takes_its_country(donor, project):
    pledge = services.record_pledge(donor=donor, reference="PL-1", amount="5000", currency="USD",
                                    pledged_on=dt.date(2025, 3, 1), project=project)
    assert (pledge.project_id, pledge.country) == (project.id, "CD")


def test_pledge_earmark_project_and_country_must_agree(donor, project):
    errors = refused(services.record_pledge, donor=donor, reference="PL-1", amount="5000", currency="USD",
                     pledged_on=dt.date(2025, 3, 1), project=project, country="CF")
    assert errors == {"country": "project TF-CD-2025-01 is not in CF"}


def test_contribution_against_another_donors_pledge_is_refused(donor):
    sweden = factories.DonorFactory(name="Sweden")
    pledge = services.record_pledge(donor=sweden, reference="PL-SE-1", amount="5000", currency="USD",
                                    pledged_on=dt.date(2025, 3, 1))
    _db.session.commit()
    errors = refused(services.record_contribution, donor=donor, reference="CT-1", amount="5000", currency="USD",
                     received_on=dt.date(2025, 4, 1), pledge=pledge)
    assert errors == {"pledge_reference": "pledge PL-SE-1 is not of Japan"}
    assert count(Contribution) == 0


def test_contribution_against_the_donors_pledge_is_linked(donor):
    pledge = services.record_pledge(donor=donor, reference="PL-1", amount="5000", currency="USD",
                                    pledged_on=dt.date(2025, 3, 1))
    contribution = receive(donor, "2000", dt.date(2025, 4, 1), "CT-1", pledge=pledge)
    assert contribution.pledge_id == pledge.id


# --- allocations -----------------------------------------------------------------------------------------------------

def test_unallocated_is_received_up_to_the_day_minus_every_allocation(donor, project):
    receive(donor, "10000.00", dt.date(2025, 3, 1), "CT-1")
    receive(donor, "2500.50", dt.date(2025, 8, 1), "CT-2")
    factories.AllocationFactory(project=project, amount_usd=Decimal("4000.00"), allocated_on=dt.date(2025, 9, 1))
    # 10,000.00 received by 2025-07-01, minus the 4,000.00 allocated (dated later, it still counts)
    assert services.unallocated_on(dt.date(2025, 7, 1)) == Decimal("6000.00")
    # 10,000.00 + 2,500.50 − 4,000.00
    assert services.unallocated_on(dt.date(2025, 9, 1)) == Decimal("8500.50")


def test_allocation_up_to_what_is_unallocated_is_accepted(donor, project):
    receive(donor, "10000.00", dt.date(2025, 3, 1), "CT-1")
    factories.AllocationFactory(project=project, amount_usd=Decimal("4000.00"), allocated_on=dt.date(2025, 4, 1))
    allocation = services.allocate(project=project, amount_usd="6000.00", allocated_on=dt.date(2025, 5, 1),
                                   note="second tranche")
    _db.session.commit()
    assert (allocation.amount_usd, allocation.note) == (Decimal("6000.00"), "second tranche")
    assert services.unallocated_on(dt.date(2025, 5, 1)) == Decimal("0.00")


def test_allocation_beyond_what_is_unallocated_is_refused_with_the_amount_available(donor, project):
    receive(donor, "10000.00", dt.date(2025, 3, 1), "CT-1")
    receive(donor, "5000.00", dt.date(2025, 8, 1), "CT-2")
    factories.AllocationFactory(project=project, amount_usd=Decimal("4000.00"), allocated_on=dt.date(2025, 4, 1))
    # on 2025-07-01 only the first 10,000.00 had come in: 10,000.00 − 4,000.00 = 6,000.00
    errors = refused(services.allocate, project=project, amount_usd="6000.01", allocated_on=dt.date(2025, 7, 1))
    assert errors == {"amount_usd": "only $6,000.00 received is not yet allocated"}
    assert count(Allocation) == 1


def test_allocation_to_a_closed_project_is_refused(donor):
    closed = factories.ProjectFactory(code="TF-CD-2020-01", status="closed")
    receive(donor, "10000.00", dt.date(2025, 3, 1), "CT-1")
    errors = refused(services.allocate, project=closed, amount_usd="100", allocated_on=dt.date(2025, 4, 1))
    assert errors == {"project_code": "project TF-CD-2020-01 is closed"}


def test_allocation_keeps_its_reference(donor, project):
    receive(donor, "10000.00", dt.date(2025, 3, 1), "CT-1")
    allocation = services.allocate(project=project, amount_usd="4000.00", allocated_on=dt.date(2025, 4, 1),
                                   reference=" AL-CD-1 ")
    _db.session.commit()
    assert allocation.reference == "AL-CD-1"


def test_two_equal_allocations_with_different_references_are_both_kept(donor, project):
    receive(donor, "10000.00", dt.date(2025, 3, 1), "CT-1")
    for reference in ("AL-CD-1", "AL-CD-2", None, ""):
        services.allocate(project=project, amount_usd="2000.00", allocated_on=dt.date(2025, 4, 1),
                          reference=reference)
    _db.session.commit()
    # an empty reference is none: two allocations without one, two with
    assert sorted(_db.session.scalars(select(Allocation.reference)), key=str) == ["AL-CD-1", "AL-CD-2", None, None]


def test_allocation_with_a_reference_already_used_is_refused(donor, project):
    receive(donor, "10000.00", dt.date(2025, 3, 1), "CT-1")
    factories.AllocationFactory(project=project, reference="AL-CD-1")
    errors = refused(services.allocate, project=project, amount_usd="10", allocated_on=dt.date(2025, 4, 1),
                     reference="AL-CD-1")
    assert errors == {"reference": "AL-CD-1 exists already"}
    assert count(Allocation) == 1


def test_allocation_reference_is_checked_like_a_pledge_reference(donor, project):
    receive(donor, "10000.00", dt.date(2025, 3, 1), "CT-1")
    errors = refused(services.allocate, project=project, amount_usd="10", allocated_on=dt.date(2025, 4, 1),
                     reference="A" * 61)
    assert errors == {"reference": "is too long (at most 60 characters)"}


def test_an_allocation_without_reference_can_be_named_once(donor, project):
    allocation = factories.AllocationFactory(project=project)
    factories.AllocationFactory(project=project, reference="AL-CD-2")
    assert refused(services.name_allocation, allocation=allocation, reference="AL-CD-2") == {
        "reference": "AL-CD-2 exists already"}
    allocation = _db.session.get(Allocation, allocation.id)
    services.name_allocation(allocation=allocation, reference="AL-CD-1")
    _db.session.commit()
    assert refused(services.name_allocation, allocation=allocation, reference="AL-CD-3") == {
        "reference": "the allocation has the reference AL-CD-1 already"}


# --- budget lines ----------------------------------------------------------------------------------------------------

def test_budget_line_is_created_changed_or_left_unchanged(project):
    line, outcome = services.set_budget_line(project=project, year="2025", category="school_fees",
                                             amount_usd="24000.00")
    assert (outcome, line.amount_usd) == ("created", Decimal("24000.00"))
    assert services.set_budget_line(project=project, year=2025, category="school_fees",
                                    amount_usd="24000")[1] == "unchanged"
    line, outcome = services.set_budget_line(project=project, year=2025, category="school_fees",
                                             amount_usd="25500.50")
    _db.session.commit()
    assert (outcome, line.amount_usd) == ("updated", Decimal("25500.50"))
    assert count(BudgetLine) == 1


def test_budget_line_for_a_year_outside_the_project_is_refused(project):
    errors = refused(services.set_budget_line, project=project, year="2027", category="medical", amount_usd="100")
    assert errors == {"year": "2027 is outside the project's dates (2025–2026)"}
    assert "year" in refused(services.set_budget_line, project=project, year="2024", category="medical",
                             amount_usd="100")
    assert count(BudgetLine) == 0


def test_budget_line_category_must_be_known(project):
    assert "category" in refused(services.set_budget_line, project=project, year="2025", category="travel",
                                 amount_usd="100")


# --- projects --------------------------------------------------------------------------------------------------------

PROJECT = dict(code="TF-CF-2025-07", title="Assistance in Bangui", country="CF", partner="Bangui Women's Network",
               start_date="2025-01-01", end_date="2026-12-31", status="active")


def test_new_project_is_created_with_a_new_partner(rq):
    project = services.save_project(**PROJECT)
    _db.session.commit()
    assert (project.code, project.country, project.partner.name) == ("TF-CF-2025-07", "CF", "Bangui Women's Network")
    assert count(Partner) == 1


def test_project_dates_must_be_in_order(rq):
    errors = refused(services.save_project, **{**PROJECT, "end_date": "2024-12-31"})
    assert errors == {"end_date": "is before the start date"}
    assert count(Project) == 0


def test_project_status_must_be_known(rq):
    assert "status" in refused(services.save_project, **{**PROJECT, "status": "running"})


def test_project_can_be_changed_and_keeps_its_code(project):
    services.save_project(project=project, code="IGNORED", title="New title", country="CD", partner="Other NGO",
                          start_date="2025-01-01", end_date="2027-06-30", status="active")
    _db.session.commit()
    assert (project.code, project.title, project.end_date, project.partner.name) == (
        "TF-CD-2025-01", "New title", dt.date(2027, 6, 30), "Other NGO")


def test_project_dates_cannot_leave_budget_lines_outside(project):
    factories.BudgetLineFactory(project=project, year=2026)
    errors = refused(services.save_project, project=project, code=project.code, title="T", country="CD",
                     partner="P", start_date="2025-01-01", end_date="2025-12-31", status="active")
    assert errors == {"end_date": "1 budget lines fall outside these dates"}


def test_project_with_mothers_cannot_change_country(project):
    factories.BeneficiaryFactory(project=project)
    errors = refused(services.save_project, project=project, code=project.code, title="T", country="CF",
                     partner="P", start_date="2025-01-01", end_date="2026-12-31", status="active")
    assert list(errors) == ["country"]


def test_partner_named_reuses_a_partner(rq):
    first = services.partner_named("Example NGO")
    assert services.partner_named("  Example NGO ") is first
    assert count(Partner) == 1
