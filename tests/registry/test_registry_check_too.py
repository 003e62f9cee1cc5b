"""A registry form its own checks refuse also shows what the service refuses (``check_too``): the income activity
(new and edit), the claim and the claim's next step; and each still saves what is right."""
from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import factories
from tracker.extensions import db as _db
from tracker.models import Child, ClaimStep, IncomeProject, PaternityClaim


@pytest.fixture
def mother(app) -> str:
    """CD-M-00001, in TF-CD-2025-01, with a child CD-C-00001-1 born in 2016 and no claim; and her tailoring
    activity IGA-TEST-CT started on 1 March 2025 (CDF)."""
    with app.app_context(), factories.one_commit():
        project = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        her = factories.BeneficiaryFactory(project=project, number=1)
        factories.ChildFactory(mother=her, number=1, year_of_birth=2016)
        factories.IncomeProjectFactory(beneficiary=her, reference="IGA-TEST-CT", started_on=dt.date(2025, 3, 1))
        return her.code


def _summary(page: str) -> list[str]:
    """The error summary's links (hrefs), in their order."""
    box = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', page, re.S)
    assert box, "no error summary"
    return re.findall(r'<a href="([^"]+)">', box.group(1))


def _field_error(page: str, field_id: str) -> list[str]:
    found = re.search(rf'<p class="error" id="{field_id}-error">(.*?)</p>', page, re.S)
    return [html.unescape(m.strip()) for m in found.group(1).split("<br>")] if found else []


def _count(app, column) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count(column)))


# --- income activity -------------------------------------------------------------------------------------------------

def test_a_new_activity_without_name_and_with_a_zero_grant_shows_both(app, mother, staff_client):
    response = staff_client.post(f"/mothers/{mother}/income/new", data={
        "activity": "", "started_on": "2025-04-01", "planned_grant": "0", "currency": "CDF", "status": "planned"})
    page = response.get_data(as_text=True)
    assert _summary(page) == ["#activity", "#planned_grant"]
    assert _field_error(page, "activity") == ["This field is required."]
    assert _field_error(page, "planned_grant") == ["the amount must be greater than zero"]
    assert _count(app, IncomeProject.id) == 1  # the fixture's only


def test_a_new_activity_right_is_saved(app, mother, staff_client):
    response = staff_client.post(f"/mothers/{mother}/income/new", data={
        "activity": "bakery", "started_on": "2025-04-01", "planned_grant": "250000", "currency": "CDF",
        "status": "planned"})
    assert response.status_code == 302
    with app.app_context():
        saved = _db.session.scalars(select(IncomeProject).where(IncomeProject.activity == "bakery")).one()
        assert (saved.reference, saved.planned_grant, saved.currency, saved.started_on) == (
            "IGA-CD-00001-2", Decimal("250000.00"), "CDF", dt.date(2025, 4, 1))


def test_an_activity_edited_without_name_and_closed_before_it_started_shows_both(app, mother, staff_client):
    page = staff_client.post("/income/IGA-TEST-CT/edit", data={
        "activity": "", "planned_grant": "350000", "status": "closed_successful", "closed_on": "2025-02-01"}
    ).get_data(as_text=True)
    assert _summary(page) == ["#activity", "#closed_on"]
    assert _field_error(page, "closed_on") == ["is before the activity started"]
    with app.app_context():
        assert _db.session.scalars(select(IncomeProject.status)).one() == "active"


def test_an_activity_edited_right_is_saved(app, mother, staff_client):
    response = staff_client.post("/income/IGA-TEST-CT/edit", data={
        "activity": "tailoring and sewing", "planned_grant": "400000", "status": "closed_successful",
        "closed_on": "2025-09-30"})
    assert response.status_code == 302
    with app.app_context():
        saved = _db.session.scalars(select(IncomeProject)).one()
        assert (saved.activity, saved.planned_grant, saved.status, saved.closed_on) == (
            "tailoring and sewing", Decimal("400000.00"), "closed_successful", dt.date(2025, 9, 30))


# --- claims ----------------------------------------------------------------------------------------------------------

def test_a_claim_with_no_member_state_received_before_the_child_was_born_shows_both(app, mother, staff_client):
    page = staff_client.post("/children/CD-C-00001-1/claim/new", data={
        "member_state": "ZZ", "personnel_category": "military", "received_on": "2015-06-01"}).get_data(as_text=True)
    assert _summary(page) == ["#member_state", "#received_on"]
    assert _field_error(page, "member_state") == ["Not a valid choice."]
    assert _field_error(page, "received_on") == ["is before the child was born"]
    assert _count(app, PaternityClaim.id) == 0


def test_a_second_claim_refused_by_the_form_says_the_child_has_one_already(app, claim_id, staff_client):
    page = staff_client.post("/children/CD-C-00001-1/claim/new", data={
        "member_state": "ZZ", "personnel_category": "military", "received_on": "2025-06-01"}).get_data(as_text=True)
    assert _field_error(page, "member_state") == ["Not a valid choice."]
    assert "CD-C-00001-1 has a claim already" in html.unescape(page)
    assert _count(app, PaternityClaim.id) == 1


def test_a_claim_right_is_saved(app, mother, staff_client):
    response = staff_client.post("/children/CD-C-00001-1/claim/new", data={
        "member_state": "UY", "personnel_category": "military", "received_on": "2025-06-01"})
    assert response.status_code == 302
    with app.app_context():
        claim = _db.session.scalars(select(PaternityClaim)).one()
        assert (claim.member_state, claim.status, claim.status_on) == ("UY", "received", dt.date(2025, 6, 1))


@pytest.fixture
def claim_id(app, mother) -> int:
    """The child's claim, received on 1 March 2025."""
    with app.app_context(), factories.one_commit():
        return factories.PaternityClaimFactory(child=_db.session.scalars(select(Child)).one(),
                                               status_on=dt.date(2025, 3, 1)).id


def test_a_step_that_cannot_follow_dated_before_the_last_shows_both(app, claim_id, staff_client):
    response = staff_client.post(f"/claims/{claim_id}/steps", data={"step": "support_paid",
                                                                    "occurred_on": "2025-02-01"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _summary(page) == ["#step", "#occurred_on"]
    assert _field_error(page, "step") == ["Not a valid choice."]
    assert _field_error(page, "occurred_on") == ["is before the previous step (2025-03-01)"]
    assert _count(app, ClaimStep.id) == 1


def test_a_step_right_is_saved(app, claim_id, staff_client):
    response = staff_client.post(f"/claims/{claim_id}/steps", data={"step": "notified_to_member_state",
                                                                    "occurred_on": "2025-04-01"})
    assert response.status_code == 302
    with app.app_context():
        claim = _db.session.get(PaternityClaim, claim_id)
        assert (claim.status, claim.status_on) == ("notified_to_member_state", dt.date(2025, 4, 1))
