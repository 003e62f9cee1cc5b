"""A funding form its own checks refuse also shows what the service refuses (``check_too``), the names and
references already used among it: donors (new and edit), pledges, allocations, budget lines, projects (new and
edit); and each still saves what is right."""
from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import factories
from tracker.extensions import db as _db
from tracker.models import Allocation, BudgetLine, Donor, Pledge, Project


@pytest.fixture
def fund(app) -> dict:
    """Norway (a pledge PL-NO-1), Sweden; TF-CD-2025-01 (2025–2026, CD) with a mother; 5,000 USD received on
    1 March 2025 of which 1,000 allocated on 1 June 2025 as AL-1."""
    with app.app_context(), factories.one_commit():
        norway = factories.DonorFactory(name="Kingdom of Norway", kind="member_state")
        sweden = factories.DonorFactory(name="Kingdom of Sweden", kind="member_state")
        factories.PledgeFactory(donor=norway, reference="PL-NO-1")
        factories.ContributionFactory(donor=norway, amount=Decimal("5000.00"))
        project = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        factories.BeneficiaryFactory(project=project, number=1)
        factories.AllocationFactory(project=project, reference="AL-1")
        return {"norway": norway.id, "sweden": sweden.id}


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


# --- donors ----------------------------------------------------------------------------------------------------------

def test_a_new_donor_without_kind_and_a_name_already_used_shows_both(app, fund, manager_client):
    page = manager_client.post("/donors/new", data={"name": "Kingdom of Norway", "kind": "", "country": ""}
                               ).get_data(as_text=True)
    assert _summary(page) == ["#name", "#kind"]
    assert _field_error(page, "name") == ["Kingdom of Norway exists already"]
    assert _field_error(page, "kind") == ["Not a valid choice."]
    assert _count(app, Donor.id) == 2


def test_a_donor_renamed_to_another_s_name_without_kind_shows_both(app, fund, manager_client):
    page = manager_client.post(f"/donors/{fund['sweden']}/edit", data={"name": "Kingdom of Norway", "kind": "",
                                                                       "country": ""}).get_data(as_text=True)
    assert _summary(page) == ["#name", "#kind"]
    assert _field_error(page, "name") == ["Kingdom of Norway exists already"]
    with app.app_context():
        assert _db.session.get(Donor, fund["sweden"]).name == "Kingdom of Sweden"


def test_a_donor_right_is_saved_and_one_keeping_its_name_too(app, fund, manager_client):
    assert manager_client.post("/donors/new", data={"name": "Republic of Korea", "kind": "member_state",
                                                    "country": "KR"}).status_code == 302
    assert manager_client.post(f"/donors/{fund['sweden']}/edit", data={
        "name": "Kingdom of Sweden", "kind": "member_state", "country": "SE", "name_fr": "Suède"}).status_code == 302
    with app.app_context():
        assert _db.session.scalars(select(Donor.kind).where(Donor.name == "Republic of Korea")).one() == "member_state"
        assert _db.session.get(Donor, fund["sweden"]).name_fr == "Suède"


# --- pledges ---------------------------------------------------------------------------------------------------------

def test_a_pledge_with_an_amount_written_wrong_and_a_reference_already_used_shows_both(app, fund, manager_client):
    page = manager_client.post("/pledges/new", data={
        "donor": str(fund["sweden"]), "reference": "PL-NO-1", "amount": "1.250,50", "currency": "USD",
        "pledged_on": "2025-03-01"}).get_data(as_text=True)
    assert _summary(page) == ["#reference", "#amount"]
    assert _field_error(page, "reference") == ["PL-NO-1 exists already"]
    assert _count(app, Pledge.id) == 1


# --- allocations -----------------------------------------------------------------------------------------------------

def test_an_allocation_with_an_amount_written_wrong_and_a_reference_already_used_shows_both(app, fund,
                                                                                           manager_client):
    page = manager_client.post("/allocations/new", data={
        "project": "TF-CD-2025-01", "amount_usd": "1.250,50", "allocated_on": "2025-07-01", "reference": "AL-1",
        "note": ""}).get_data(as_text=True)
    assert _summary(page) == ["#amount_usd", "#reference"]
    assert _field_error(page, "amount_usd") == ["'1.250,50' is not an amount: write a number such as 1,250.50"]
    assert _field_error(page, "reference") == ["AL-1 exists already"]
    assert _count(app, Allocation.id) == 1


def test_an_allocation_right_is_saved(app, fund, manager_client):
    """5,000 received, 1,000 allocated: 4,000 may be."""
    assert manager_client.post("/allocations/new", data={
        "project": "TF-CD-2025-01", "amount_usd": "4000", "allocated_on": "2025-07-01", "reference": "AL-2",
        "note": ""}).status_code == 302
    with app.app_context():
        assert _db.session.scalars(select(Allocation.amount_usd).where(Allocation.reference == "AL-2")).one() \
            == Decimal("4000.00")


# --- budget lines ----------------------------------------------------------------------------------------------------

def test_a_budget_line_without_category_in_a_year_outside_the_project_shows_both(app, fund, manager_client):
    page = manager_client.post("/projects/TF-CD-2025-01/budget", data={
        "year": "2030", "category": "", "amount_usd": "1000"}).get_data(as_text=True)
    assert _summary(page) == ["#year", "#category"]
    assert _field_error(page, "year") == ["2030 is outside the project's dates (2025–2026)"]
    assert _field_error(page, "category") == ["Not a valid choice."]
    assert _count(app, BudgetLine.id) == 0


def test_a_budget_line_right_is_saved(app, fund, manager_client):
    assert manager_client.post("/projects/TF-CD-2025-01/budget", data={
        "year": "2026", "category": "medical", "amount_usd": "2500"}).status_code == 302
    with app.app_context():
        line = _db.session.scalars(select(BudgetLine)).one()
        assert (line.year, line.category, line.amount_usd) == (2026, "medical", Decimal("2500.00"))


# --- projects --------------------------------------------------------------------------------------------------------

def _project(**data) -> dict:
    form = {"code": "TF-CF-2025-01", "title": "Assistance in Bangui", "title_fr": "", "country": "CF",
            "partner": "Partner Bangui", "start_date": "2025-01-01", "end_date": "2026-12-31", "status": "active",
            "description": ""}
    form.update(data)
    return form


def test_a_new_project_with_a_date_written_wrong_and_a_code_already_used_shows_both(app, fund, manager_client):
    page = manager_client.post("/projects/new", data=_project(code="tf-cd-2025-01", start_date="2025-13-01")
                               ).get_data(as_text=True)
    assert _summary(page) == ["#code", "#start_date"]
    assert _field_error(page, "code") == ["TF-CD-2025-01 exists already"]
    assert _field_error(page, "start_date") == ["Not a valid date value."]
    assert _count(app, Project.id) == 1


def test_a_project_outside_the_manager_s_countries_refused_by_the_form_says_so_too(app, fund, manager_client):
    page = manager_client.post("/projects/new", data=_project(country="SS", start_date="2025-13-01")
                               ).get_data(as_text=True)
    assert _summary(page) == ["#country", "#start_date"]
    assert _field_error(page, "country") == ["is not one of your countries"]


def test_a_project_edited_with_a_date_written_wrong_and_a_country_it_cannot_change_shows_both(app, fund,
                                                                                              manager_client):
    page = manager_client.post("/projects/TF-CD-2025-01/edit", data=_project(country="CF", start_date="2025-13-01")
                               ).get_data(as_text=True)
    assert _summary(page) == ["#country", "#start_date"]
    assert _field_error(page, "country") == ["mothers are registered in this project; its country cannot change"]
    with app.app_context():
        assert _db.session.scalars(select(Project.country)).one() == "CD"


def test_a_project_right_is_saved_new_and_edited(app, fund, manager_client):
    assert manager_client.post("/projects/new", data=_project()).status_code == 302
    assert manager_client.post("/projects/TF-CD-2025-01/edit", data=_project(
        code="", title="Assistance in Kinshasa", country="CD", end_date="2027-06-30")).status_code == 302
    with app.app_context():
        new = _db.session.scalars(select(Project).where(Project.code == "TF-CF-2025-01")).one()
        edited = _db.session.scalars(select(Project).where(Project.code == "TF-CD-2025-01")).one()
        assert (new.title, new.country, new.partner.name) == ("Assistance in Bangui", "CF", "Partner Bangui")
        assert (edited.title, edited.end_date) == ("Assistance in Kinshasa", dt.date(2027, 6, 30))
