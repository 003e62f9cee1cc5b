"""The Fund's money on screen: donors, pledges, contributions, allocations, budgets and projects.

As a manager of CD and CF and as an admin; staff get 403 and donors 404.
Allocations, budgets and projects outside the manager's countries are 404.
The testing configuration turns CSRF off (one test turns it on); forms are
posted as plain data. Figures are worked out by hand in the tests.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests import factories
from tests.conftest import PASSWORD
from tracker.extensions import db as _db
from tracker.models import Allocation, AuditEvent, BudgetLine, Contribution, Donor, Pledge, Project, User
from tracker.models.base import today

CD, CF, SS = "TF-CD-2025-01", "TF-CF-2025-01", "TF-SS-2025-01"


@pytest.fixture
def world(app) -> dict:
    """Projects in CD, CF and SS (2025–2026); Japan and Sweden; JPY at 0.0067 from 2025-01-01.

    Japan pledged 1,000,000 JPY on 2025-03-01 (6,700.00 USD) and 5,000 USD on 2025-04-01 (earmarked for the SS
    project); it paid 500,000 JPY (3,350.00) against the first, 6,000 USD against the second and 1,000 USD
    against none. Sweden pledged 2,000 USD on 2025-05-01 and paid nothing. 4,000 USD are allocated to CD and
    1,500 USD to SS.
    """
    with app.app_context():
        with factories.one_commit():
            projects = {code: factories.ProjectFactory(code=code, country=code[3:5])
                        for code in (CD, CF, SS)}
            japan = factories.DonorFactory(name="Japan", country="JP")
            sweden = factories.DonorFactory(name="Sweden", country="SE")
            factories.ExchangeRateFactory(currency="JPY", valid_from=dt.date(2025, 1, 1),
                                          usd_per_unit=Decimal("0.0067"))
            jp1 = Pledge(donor=japan, reference="PL-JP-1", amount=Decimal("1000000.00"), currency="JPY",
                         pledged_on=dt.date(2025, 3, 1), usd_amount=Decimal("6700.00"), usd_rate=Decimal("0.0067"))
            jp2 = Pledge(donor=japan, reference="PL-JP-2", amount=Decimal("5000.00"), currency="USD",
                         pledged_on=dt.date(2025, 4, 1), usd_amount=Decimal("5000.00"), usd_rate=Decimal("1"),
                         project=projects[SS], country="SS")
            se1 = Pledge(donor=sweden, reference="PL-SE-1", amount=Decimal("2000.00"), currency="USD",
                         pledged_on=dt.date(2025, 5, 1), usd_amount=Decimal("2000.00"), usd_rate=Decimal("1"))
            _db.session.add_all([
                jp1, jp2, se1,
                Contribution(donor=japan, pledge=jp1, reference="CT-JP-1", amount=Decimal("500000.00"),
                             currency="JPY", received_on=dt.date(2025, 6, 1), usd_amount=Decimal("3350.00"),
                             usd_rate=Decimal("0.0067")),
                Contribution(donor=japan, pledge=jp2, reference="CT-JP-2", amount=Decimal("6000.00"),
                             currency="USD", received_on=dt.date(2025, 6, 2), usd_amount=Decimal("6000.00"),
                             usd_rate=Decimal("1")),
                Contribution(donor=japan, reference="CT-JP-3", amount=Decimal("1000.00"), currency="USD",
                             received_on=dt.date(2025, 6, 3), usd_amount=Decimal("1000.00"), usd_rate=Decimal("1")),
            ])
            factories.AllocationFactory(project=projects[CD], amount_usd=Decimal("4000.00"),
                                        allocated_on=dt.date(2025, 7, 1), note="first tranche")
            factories.AllocationFactory(project=projects[SS], amount_usd=Decimal("1500.00"),
                                        allocated_on=dt.date(2025, 7, 2))
        return {"japan": japan.id, "sweden": sweden.id}


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def count(app, model, *where) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count()).select_from(model).where(*where))


def exports(app, entity: str) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "export", AuditEvent.entity == entity))


def text(response) -> str:
    return response.get_data(as_text=True)


# --- who may see what ------------------------------------------------------------------------------------------------

PAGES = ["/donors/", "/donors/{japan}", "/donors/new", "/donors/{japan}/edit", "/donors/export.csv",
         "/pledges/", "/pledges/new", "/pledges/export.csv", "/contributions/", "/contributions/new",
         "/contributions/export.xlsx", "/allocations/", "/allocations/new", "/allocations/export.csv",
         f"/projects/{CD}/budget", "/projects/new", f"/projects/{CD}/edit"]


def statuses(client, world, pages) -> dict[str, int]:
    return {page: client.get(page.format(**world)).status_code for page in pages}


def test_staff_are_refused_every_funding_screen(world, staff_client):
    assert statuses(staff_client, world, PAGES) == {page: 403 for page in PAGES}


def test_donors_learn_nothing_of_the_funding_screens(world, donor_client):
    assert statuses(donor_client, world, PAGES) == {page: 404 for page in PAGES}


@pytest.mark.parametrize("client_name", ["manager_client", "admin_client"])
def test_managers_and_admins_open_every_funding_screen(world, request, client_name):
    client = request.getfixturevalue(client_name)
    for page in PAGES:
        if "export" in page:
            continue
        response = client.get(page.format(**world))
        assert (page, response.status_code, response.headers.get("Cache-Control")) == (page, 200, "no-store")


def test_posting_needs_funding_manage(world, staff_client):
    assert staff_client.post("/donors/new", data={"name": "X", "kind": "private"}).status_code == 403


def test_an_unknown_donor_is_404(world, manager_client):
    assert manager_client.get("/donors/999999").status_code == 404
    assert manager_client.get("/donors/999999/edit").status_code == 404


def test_budget_and_edit_of_a_project_outside_the_managers_countries_are_404(world, manager_client, admin_client):
    assert manager_client.get(f"/projects/{SS}/budget").status_code == 404
    assert manager_client.post(f"/projects/{SS}/budget", data={"year": "2025", "category": "medical",
                                                              "amount_usd": "10"}).status_code == 404
    assert manager_client.get(f"/projects/{SS}/edit").status_code == 404
    assert manager_client.get(f"/allocations/new?project={SS}").status_code == 404
    assert admin_client.get(f"/projects/{SS}/budget").status_code == 200


def test_the_navigation_offers_donors_pledges_and_allocations_to_managers_only(world, manager_client, staff_client):
    page = text(manager_client.get("/projects/"))
    for url in ("/donors/", "/pledges/", "/allocations/"):
        assert f'<li><a href="{url}">' in page
    staff_page = text(staff_client.get("/projects/"))
    assert 'href="/donors/"' not in staff_page and 'href="/allocations/"' not in staff_page


def test_project_pages_link_to_the_funding_forms_for_managers_only(world, manager_client, staff_client):
    assert "/projects/new" in text(manager_client.get("/projects/"))
    assert f"/projects/{CD}/budget" in text(manager_client.get(f"/projects/{CD}"))
    assert "/projects/new" not in text(staff_client.get("/projects/"))
    assert f"/projects/{CD}/budget" not in text(staff_client.get(f"/projects/{CD}"))


# --- donors ----------------------------------------------------------------------------------------------------------

def test_donor_list_shows_pledged_received_and_outstanding(world, manager_client):
    page = text(manager_client.get("/donors/"))
    # Japan: pledged 6,700.00 + 5,000.00 = 11,700.00; received 3,350.00 + 6,000.00 + 1,000.00 = 10,350.00;
    # outstanding (6,700.00 − 3,350.00) + max(5,000.00 − 6,000.00, 0) = 3,350.00
    assert "$11,700.00" in page and "$10,350.00" in page and "$3,350.00" in page
    rows = {r["name"]: r for r in csv_rows(manager_client.get("/donors/export.csv"))}
    assert rows["Japan"] == {"name": "Japan", "kind": "member_state", "country": "JP", "name_fr": "",
                             "pledged_usd": "11700.00", "received_usd": "10350.00", "outstanding_usd": "3350.00"}
    assert rows["Sweden"] == {"name": "Sweden", "kind": "member_state", "country": "SE", "name_fr": "",
                              "pledged_usd": "2000.00", "received_usd": "0.00", "outstanding_usd": "2000.00"}


def test_donor_page_shows_each_pledge_with_what_was_received_against_it(world, manager_client):
    page = text(manager_client.get(f"/donors/{world['japan']}"))
    for expected in ("PL-JP-1", "PL-JP-2", "CT-JP-1", "CT-JP-2", "CT-JP-3", "$6,700.00", "$3,350.00", "$6,000.00"):
        assert expected in page
    assert "PL-SE-1" not in page


def test_new_donor_is_recorded(world, manager_client, app):
    response = manager_client.post("/donors/new", data={"name": "Kingdom of Norway", "kind": "member_state",
                                                        "country": "NO"})
    assert response.status_code == 302
    with app.app_context():
        donor = _db.session.scalars(select(Donor).where(Donor.name == "Kingdom of Norway")).one()
        assert (donor.kind, donor.country) == ("member_state", "NO")
        assert response.headers["Location"].endswith(f"/donors/{donor.id}")


def test_new_donor_with_a_taken_name_shows_the_error_beside_the_name(world, admin_client, app):
    response = admin_client.post("/donors/new", data={"name": "Japan", "kind": "member_state", "country": ""})
    page = text(response)
    assert response.status_code == 200
    assert 'id="name-error">Japan exists already' in page
    assert count(app, Donor) == 2


def test_donor_is_edited(world, manager_client, app):
    response = manager_client.post(f"/donors/{world['sweden']}/edit",
                                   data={"name": "Kingdom of Sweden", "kind": "member_state", "country": "SE"})
    assert response.status_code == 302
    with app.app_context():
        assert _db.session.get(Donor, world["sweden"]).name == "Kingdom of Sweden"


# --- pledges ---------------------------------------------------------------------------------------------------------

def test_pledge_list_shows_received_outstanding_and_age(world, manager_client):
    rows = {r["reference"]: r for r in csv_rows(manager_client.get("/pledges/export.csv"))}
    assert rows["PL-JP-1"] == {
        "reference": "PL-JP-1", "donor": "Japan", "amount": "1000000.00", "currency": "JPY", "usd_amount": "6700.00",
        "usd_rate": "0.00670000", "pledged_on": "2025-03-01", "project_code": "", "country": "",
        "received_usd": "3350.00", "outstanding_usd": "3350.00",
        "age_days": str((today() - dt.date(2025, 3, 1)).days),
        # owed in yen: 1,000,000 − 500,000 = 500,000 JPY, × 0.0067 = 3,350.00; the rate did not move: 0.00
        "received": "500000.00", "remaining": "500000.00", "exchange_difference": "0.00"}
    # paid beyond the pledge: 5,000.00 − 6,000.00 is not −1,000.00 but 0, and its age is no longer counted
    assert (rows["PL-JP-2"]["received_usd"], rows["PL-JP-2"]["outstanding_usd"]) == ("6000.00", "0.00")
    assert (rows["PL-JP-2"]["remaining"], rows["PL-JP-2"]["age_days"]) == ("0.00", "")
    assert (rows["PL-SE-1"]["received_usd"], rows["PL-SE-1"]["outstanding_usd"]) == ("0.00", "2000.00")


def test_a_pledge_paid_in_full_in_its_own_currency_owes_nothing_on_every_screen(world, manager_client, app):
    with app.app_context():
        with factories.one_commit():
            norway = factories.DonorFactory(name="Norway", country="NO")
            for valid_from, rate in ((dt.date(2025, 1, 1), "0.0966"), (dt.date(2025, 6, 1), "0.0950"),
                                     (dt.date(2025, 9, 1), "0.0940")):
                factories.ExchangeRateFactory(currency="NOK", valid_from=valid_from, usd_per_unit=Decimal(rate))
            pledge = Pledge(donor=norway, reference="PL-NO-1", amount=Decimal("362000.00"), currency="NOK",
                            pledged_on=dt.date(2025, 2, 1), usd_amount=Decimal("34969.20"), usd_rate=Decimal("0.0966"))
            _db.session.add_all([pledge,
                Contribution(donor=norway, pledge=pledge, reference="CT-NO-1", amount=Decimal("200000.00"),
                             currency="NOK", received_on=dt.date(2025, 6, 10), usd_amount=Decimal("19000.00"),
                             usd_rate=Decimal("0.0950")),
                Contribution(donor=norway, pledge=pledge, reference="CT-NO-2", amount=Decimal("162000.00"),
                             currency="NOK", received_on=dt.date(2025, 9, 10), usd_amount=Decimal("15228.00"),
                             usd_rate=Decimal("0.0940"))])
        norway_id = norway.id
    # Pledged 362,000 × 0.0966 = 34,969.20; received 19,000.00 + 15,228.00 = 34,228.00 USD. Comparing dollars
    # would show 741.20 owed; in kroner, 362,000 − 200,000 − 162,000 = 0 is owed.
    # Exchange difference: (19,000.00 − 200,000 × 0.0966 = 19,320.00) + (15,228.00 − 162,000 × 0.0966 = 15,649.20)
    # = −320.00 − 421.20 = −741.20.
    row = {r["reference"]: r for r in csv_rows(manager_client.get("/pledges/export.csv"))}["PL-NO-1"]
    assert (row["received"], row["remaining"], row["outstanding_usd"], row["received_usd"]) == (
        "362000.00", "0.00", "0.00", "34228.00")
    assert (row["exchange_difference"], row["age_days"]) == ("-741.20", "")
    donor_page = text(manager_client.get(f"/donors/{norway_id}"))
    assert "NOK\u00a0362,000.00" in donor_page and "NOK\u00a00.00" in donor_page   # kroner, spaced from the figure
    assert "-$741.20" in donor_page
    donors = {r["name"]: r for r in csv_rows(manager_client.get("/donors/export.csv"))}
    assert donors["Norway"]["outstanding_usd"] == "0.00"
    assert "PL-NO-1" not in text(manager_client.get("/pledges/?outstanding=1"))


def test_pledge_earmarked_outside_the_managers_countries_is_still_listed_without_a_link(world, manager_client):
    page = text(manager_client.get("/pledges/"))
    assert "PL-JP-2" in page and SS in page
    assert f'href="/projects/{SS}"' not in page


def test_pledge_list_filters_by_donor_and_outstanding(world, manager_client):
    page = text(manager_client.get(f"/pledges/?donor={world['japan']}&outstanding=1"))
    assert "PL-JP-1" in page and "PL-JP-2" not in page and "PL-SE-1" not in page
    rows = csv_rows(manager_client.get("/pledges/export.csv?outstanding=1"))
    assert sorted(r["reference"] for r in rows) == ["PL-JP-1", "PL-SE-1"]


def pledge_form(world, **changes) -> dict:
    return {"donor": str(world["sweden"]), "reference": "PL-SE-2", "amount": "1000000", "currency": "JPY",
            "pledged_on": "2025-03-15", "country": "", "project": "", **changes}


def test_new_pledge_freezes_its_usd_value(world, manager_client, app):
    response = manager_client.post("/pledges/new", data=pledge_form(world, project=CF))
    assert response.status_code == 302
    with app.app_context():
        pledge = _db.session.scalars(select(Pledge).where(Pledge.reference == "PL-SE-2")).one()
        # 1,000,000 JPY × 0.0067 = 6,700.00
        assert (pledge.usd_amount, pledge.usd_rate, pledge.country) == (Decimal("6700.00"), Decimal("0.0067"), "CF")


def test_new_pledge_in_an_unknown_currency_shows_the_error_and_saves_nothing(world, manager_client, app):
    page = text(manager_client.post("/pledges/new", data=pledge_form(world, currency="XYZ")))
    assert 'id="currency-error">XYZ is not an ISO 4217 currency code such as USD' in page
    assert count(app, Pledge) == 3


def test_new_pledge_without_a_rate_for_its_date_shows_the_error(world, manager_client, app):
    page = text(manager_client.post("/pledges/new", data=pledge_form(world, currency="EUR")))
    assert "there is no exchange rate for EUR on 2025-03-15" in page
    assert count(app, Pledge) == 3


def test_new_pledge_earmarked_for_a_project_outside_the_managers_countries_is_404(world, manager_client, app):
    assert manager_client.post("/pledges/new", data=pledge_form(world, project=SS)).status_code == 404
    assert count(app, Pledge) == 3


# --- contributions ---------------------------------------------------------------------------------------------------

def contribution_form(world, **changes) -> dict:
    return {"donor": str(world["japan"]), "pledge": "PL-JP-1", "reference": "CT-JP-4", "amount": "100000",
            "currency": "JPY", "received_on": "2025-08-01", **changes}


def test_contribution_list_and_export(world, admin_client):
    page = text(admin_client.get("/contributions/"))
    assert "CT-JP-1" in page and "3 contributions" in page
    rows = csv_rows(admin_client.get(f"/contributions/export.csv?donor={world['japan']}"))
    assert [r["reference"] for r in rows] == ["CT-JP-3", "CT-JP-2", "CT-JP-1"]
    assert rows[2]["pledge_reference"] == "PL-JP-1" and rows[0]["pledge_reference"] == ""


def test_new_contribution_against_a_pledge_is_recorded(world, manager_client, app):
    response = manager_client.post("/contributions/new", data=contribution_form(world))
    assert response.status_code == 302
    rows = {r["reference"]: r for r in csv_rows(manager_client.get("/pledges/export.csv"))}
    # 100,000 JPY × 0.0067 = 670.00 more against PL-JP-1: 3,350.00 + 670.00 received, 6,700.00 − 4,020.00 outstanding
    assert (rows["PL-JP-1"]["received_usd"], rows["PL-JP-1"]["outstanding_usd"]) == ("4020.00", "2680.00")


def test_new_contribution_against_another_donors_pledge_is_refused_beside_the_pledge(world, manager_client, app):
    page = text(manager_client.post("/contributions/new", data=contribution_form(world, pledge="PL-SE-1")))
    assert 'id="pledge-error">pledge PL-SE-1 is not of Japan' in page
    assert count(app, Contribution) == 3


def test_new_contribution_bigger_than_any_sane_amount_is_refused(world, manager_client, app):
    page = text(manager_client.post("/contributions/new",
                                    data=contribution_form(world, pledge="", currency="USD", amount="1000000000.01")))
    assert 'id="amount-error">is larger than any amount the Fund handles (1,000,000,000 USD)' in page
    assert count(app, Contribution) == 3


# --- allocations -----------------------------------------------------------------------------------------------------

def test_allocation_list_is_scoped_to_the_managers_countries(world, manager_client, admin_client):
    rows = csv_rows(manager_client.get("/allocations/export.csv"))
    assert [(r["project_code"], r["amount_usd"], r["allocated_on"], r["note"]) for r in rows] == [
        (CD, "4000.00", "2025-07-01", "first tranche")]
    assert SS not in text(manager_client.get("/allocations/"))
    assert sorted(r["project_code"] for r in csv_rows(admin_client.get("/allocations/export.csv"))) == [CD, SS]


def test_new_allocation_page_shows_what_is_received_and_not_yet_allocated(world, manager_client):
    # received 3,350.00 + 6,000.00 + 1,000.00 = 10,350.00; allocated 4,000.00 + 1,500.00 = 5,500.00
    assert "$4,850.00" in text(manager_client.get("/allocations/new"))


def test_new_allocation_beyond_what_is_available_is_refused_with_the_amount(world, manager_client, app):
    page = text(manager_client.post("/allocations/new", data={"project": CF, "amount_usd": "4850.01",
                                                              "allocated_on": "2025-09-01", "note": ""}))
    assert 'id="amount_usd-error">only $4,850.00 received is not yet allocated' in page
    assert count(app, Allocation) == 2


def test_new_allocation_is_recorded_with_who_made_it(world, manager_client, app):
    response = manager_client.post("/allocations/new", data={"project": CF, "amount_usd": "4850.00",
                                                             "allocated_on": "2025-09-01", "note": "all of it"})
    assert response.status_code == 302
    rows = csv_rows(manager_client.get(f"/allocations/export.csv?project={CF}"))
    with app.app_context():
        name = _db.session.scalar(select(User.name).where(User.email == "manager@example.org"))
    assert [(r["amount_usd"], r["allocated_on"], r["note"], r["created_by"]) for r in rows] == [
        ("4850.00", "2025-09-01", "all of it", name)]


def test_new_allocation_with_a_reference_is_listed_and_exported_with_it(world, manager_client, app):
    data = {"project": CF, "amount_usd": "1000.00", "allocated_on": "2025-09-01", "reference": "AL-CF-1"}
    assert manager_client.post("/allocations/new", data=data).status_code == 302
    # a second, equal allocation on the same day, told apart by its reference
    assert manager_client.post("/allocations/new", data={**data, "reference": "AL-CF-2"}).status_code == 302
    rows = csv_rows(manager_client.get(f"/allocations/export.csv?project={CF}"))
    assert sorted((r["amount_usd"], r["allocated_on"], r["reference"]) for r in rows) == [
        ("1000.00", "2025-09-01", "AL-CF-1"), ("1000.00", "2025-09-01", "AL-CF-2")]
    page = text(manager_client.get("/allocations/"))
    assert "<td>AL-CF-1</td>" in page and "<td>AL-CF-2</td>" in page


def test_new_allocation_with_a_reference_already_used_shows_the_error_beside_it(world, manager_client, app):
    data = {"project": CF, "amount_usd": "1000.00", "allocated_on": "2025-09-01", "reference": "AL-CF-1"}
    assert manager_client.post("/allocations/new", data=data).status_code == 302
    page = text(manager_client.post("/allocations/new", data={**data, "amount_usd": "5.00"}))
    assert 'id="reference-error">AL-CF-1 exists already' in page
    assert count(app, Allocation) == 3  # the world's two and the first one here


def test_allocation_import_preview_shows_a_repeated_row(world, manager_client, app):
    data = "project_code,amount_usd,allocated_on,reference\r\n" \
           f"{CF},1000.00,2025-09-01,\r\n{CF},1000,2025-09-01,\r\n{CF},1000,2025-09-01,AL-CF-1\r\n"
    response = manager_client.post("/imports/allocations", data={"file": (io.BytesIO(data.encode()), "a.csv")},
                                   content_type="multipart/form-data")
    page = text(response)
    assert '<tr><td class="nowrap">3</td><td>—</td><td>same as row 2</td></tr>' in page
    assert "Nothing saved: the file has problems" in page
    assert count(app, Allocation) == 2


def test_the_allocation_import_help_explains_the_reference(world, manager_client):
    page = text(manager_client.get("/imports/allocations"))
    assert "<code>reference</code></td><td>optional</td>" in page
    assert "a row repeated without a different reference is refused" in page


def test_new_allocation_to_a_project_outside_the_managers_countries_is_404(world, manager_client, app):
    response = manager_client.post("/allocations/new", data={"project": SS, "amount_usd": "10",
                                                             "allocated_on": "2025-09-01"})
    assert response.status_code == 404
    assert count(app, Allocation) == 2


# --- budget lines ----------------------------------------------------------------------------------------------------

def test_budget_line_is_set_then_changed(world, manager_client, app):
    data = {"year": "2026", "category": "school_fees", "amount_usd": "24000.00"}
    assert manager_client.post(f"/projects/{CD}/budget", data=data).status_code == 302
    assert manager_client.post(f"/projects/{CD}/budget", data={**data, "amount_usd": "25000.50"}).status_code == 302
    with app.app_context():
        assert _db.session.execute(select(BudgetLine.year, BudgetLine.category, BudgetLine.amount_usd)).all() == [
            (2026, "school_fees", Decimal("25000.50"))]
    assert "$25,000.50" in text(manager_client.get(f"/projects/{CD}"))


def test_budget_line_for_a_year_outside_the_project_shows_the_error_beside_the_year(world, admin_client, app):
    page = text(admin_client.post(f"/projects/{SS}/budget",
                                  data={"year": "2027", "category": "medical", "amount_usd": "100"}))
    assert 'id="year-error">2027 is outside the project&#39;s dates (2025–2026)' in page
    assert count(app, BudgetLine) == 0


# --- projects --------------------------------------------------------------------------------------------------------

def project_form(**changes) -> dict:
    return {"code": "TF-CD-2025-07", "title": "Assistance in Bunia", "country": "CD", "partner": "Bunia Women",
            "start_date": "2025-03-01", "end_date": "2026-12-31", "status": "active", "description": "", **changes}


def test_new_project_is_created_by_a_manager_in_their_country(world, manager_client, app):
    response = manager_client.post("/projects/new", data=project_form())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/projects/TF-CD-2025-07")
    with app.app_context():
        project = _db.session.scalars(select(Project).where(Project.code == "TF-CD-2025-07")).one()
        assert (project.title, project.country, project.partner.name, project.status) == (
            "Assistance in Bunia", "CD", "Bunia Women", "active")


def test_an_admin_creates_a_project_in_any_country(world, admin_client, app):
    assert admin_client.post("/projects/new", data=project_form(code="TF-HT-2025-01", country="HT")).status_code == 302
    assert count(app, Project, Project.country == "HT") == 1


def test_new_project_with_a_taken_code_shows_the_error_beside_the_code(world, admin_client, app):
    page = text(admin_client.post("/projects/new", data=project_form(code=CD)))
    assert f'id="code-error">{CD} exists already' in page
    assert count(app, Project) == 3


def test_new_project_outside_the_managers_countries_is_refused_beside_the_country(world, manager_client, app):
    page = text(manager_client.post("/projects/new", data=project_form(country="SS")))
    assert 'id="country-error">is not one of your countries' in page
    assert count(app, Project) == 3


def test_new_project_with_dates_out_of_order_shows_the_error(world, admin_client, app):
    page = text(admin_client.post("/projects/new", data=project_form(end_date="2025-01-01")))
    assert 'id="end_date-error">is before the start date' in page
    assert count(app, Project) == 3


def test_project_is_edited_by_a_manager(world, manager_client, app):
    response = manager_client.post(f"/projects/{CD}/edit", data=project_form(title="Renamed", partner="New NGO"))
    assert response.status_code == 302
    with app.app_context():
        project = _db.session.scalars(select(Project).where(Project.code == CD)).one()
        assert (project.code, project.title, project.partner.name, project.start_date) == (
            CD, "Renamed", "New NGO", dt.date(2025, 3, 1))


def test_a_manager_cannot_move_a_project_out_of_their_countries(world, manager_client, app):
    page = text(manager_client.post(f"/projects/{CD}/edit", data=project_form(country="SS")))
    assert 'id="country-error">is not one of your countries' in page
    assert count(app, Project, Project.country == "CD") == 1


# --- exports ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("entity", ["donors", "pledges", "contributions", "allocations"])
def test_every_list_exports_csv_and_xlsx_with_an_audit_event(world, manager_client, app, entity):
    csv_response = manager_client.get(f"/{entity}/export.csv")
    assert csv_response.headers["Content-Disposition"] == f"attachment; filename={entity}.csv"
    header = list(csv_rows(csv_response)[0].keys())  # read the streamed body before the next request
    xlsx = manager_client.get(f"/{entity}/export.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert [c.value for c in next(sheet.iter_rows())] == header
    assert exports(app, entity) == 2
    assert manager_client.get(f"/{entity}/export.pdf").status_code == 404


def test_exports_neutralise_formulas(world, admin_client, app):
    with app.app_context():
        factories.DonorFactory(name="=HYPERLINK(\"http://evil\")", kind="private")
    names = [r["name"] for r in csv_rows(admin_client.get("/donors/export.csv"))]
    assert "'=HYPERLINK(\"http://evil\")" in names


def test_forms_need_a_csrf_token(world, make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        factories.UserFactory(role="admin", email="csrf.admin@example.org")
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text(client.get("/login"))).group(1)
    signed_in = client.post("/login", data={"email": "csrf.admin@example.org", "password": PASSWORD,
                                            "csrf_token": token})
    assert signed_in.status_code == 302
    response = client.post("/donors/new", data={"name": "Norway", "kind": "member_state"})
    assert response.status_code == 400
    assert count(app, Donor, Donor.name == "Norway") == 0


def test_garbled_filters_are_ignored_not_a_server_error(world, manager_client):
    assert manager_client.get("/pledges/?donor=%C2%B2").status_code == 200  # "²" passes str.isdigit()
    assert manager_client.get("/contributions/export.csv?donor=99999999999999").status_code == 200
    assert manager_client.get("/pledges/new?donor=%C2%B2").status_code == 200
    assert manager_client.post("/pledges/new", data=pledge_form(world, donor="²")).status_code == 200
