"""The registry's screens, as staff (of CD) and as a manager (of CD and CF); outside their countries, 404.

The testing configuration turns CSRF off, so forms are posted as plain data;
dates are typed ``YYYY-MM-DD``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests import factories
from tracker.extensions import db as _db
from tracker.models import (
    AuditEvent,
    Beneficiary,
    Child,
    ClaimStep,
    Enrolment,
    IncomeProject,
    IncomeReport,
    PaternityClaim,
)
from tracker.models.base import today

STAFF = "staff_client"  # staff of CD
MANAGER = "manager_client"  # manager of CD and CF


@dataclass(frozen=True)
class Refs:
    """The records of one country's project, by the keys their URLs use."""

    country: str
    project: str
    mother: str
    mother_name: str
    child: str
    child_name: str
    free_child: str  # a child without a claim
    enrolment: int
    claim: int
    step: int
    income: str


def _make_country(country: str, number: int) -> Refs:
    project = factories.ProjectFactory(code=f"TF-{country}-2025-01", country=country)
    mother = factories.BeneficiaryFactory(
        project=project, number=number, name=f"Mother Of {country}", year_of_birth=1990,
        enrolled_on=dt.date(2025, 2, 1), children_seq=2,
    )
    child = factories.ChildFactory(mother=mother, number=1, first_name=f"Kid Of {country}", year_of_birth=2016)
    free = factories.ChildFactory(mother=mother, number=2, first_name=f"Sib Of {country}", year_of_birth=2018)
    enrolment = factories.EnrolmentFactory(child=child, academic_year="2025-2026")
    claim = factories.PaternityClaimFactory(child=child, status_on=dt.date(2025, 3, 1))
    income = factories.IncomeProjectFactory(beneficiary=mother, reference=f"IGA-{country}-00{number}-1",
                                            started_on=dt.date(2025, 3, 1))
    return Refs(country, project.code, mother.code, f"Mother Of {country}", child.code, f"Kid Of {country}",
                free.code, enrolment.id, claim.id, claim.steps[0].id, income.reference)


@pytest.fixture
def world(app) -> dict[str, Refs]:
    """One project with a mother, two children, an enrolment, a claim and an IGA in each of CD, CF and HT."""
    with app.app_context(), factories.one_commit():
        return {c: _make_country(c, n) for c, n in (("CD", 501), ("CF", 502), ("HT", 503))}


@pytest.fixture(params=[(STAFF, "CD"), (MANAGER, "CF")], ids=["staff-CD", "manager-CF"])
def inside(request, world):
    """(client, the records of a country the user works in)."""
    client_name, country = request.param
    return request.getfixturevalue(client_name), world[country]


def scalar(app, stmt):
    with app.app_context():
        return _db.session.scalar(stmt)


def count(app, model) -> int:
    return scalar(app, select(func.count()).select_from(model))


def text_of(response) -> str:
    return response.get_data(as_text=True)


def location(response) -> str:
    return response.headers.get("Location", "")


# --- mothers ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_name, seen", [(STAFF, {"CD"}), (MANAGER, {"CD", "CF"})])
def test_mothers_list_shows_the_mothers_of_the_users_countries_only(request, world, client_name, seen):
    response = request.getfixturevalue(client_name).get("/mothers/")
    assert response.status_code == 200
    shown = {c for c, refs in world.items() if refs.mother in text_of(response)}
    assert shown == seen
    assert response.headers["Cache-Control"] == "no-store"


def test_mothers_list_filters_by_status(staff_client, world, app):
    with app.app_context():
        factories.BeneficiaryFactory(project=_db.session.scalar(select(Beneficiary).where(
            Beneficiary.code == world["CD"].mother)).project, number=600, status="exited", exit_reason="moved",
            exited_on=dt.date(2025, 6, 1))
    page = text_of(staff_client.get("/mothers/?status=exited"))
    assert "CD-M-00600" in page and world["CD"].mother not in page


def test_find_by_code_goes_to_her_page(inside):
    client, refs = inside
    response = client.post("/mothers/find", data={"q": f" {refs.mother} "})
    assert response.status_code == 302
    assert location(response).endswith(f"/mothers/{refs.mother}")


def test_find_by_the_start_of_a_code_lists_the_matches(staff_client, world, app):
    with app.app_context():
        factories.BeneficiaryFactory(project__country="CD", number=777)
    page = text_of(staff_client.post("/mothers/find", data={"q": "CD-M-00"}))
    assert "2 mothers" in page and world["CD"].mother in page and "CD-M-00777" in page


def test_find_by_a_code_typed_in_lower_case_goes_to_her_page(staff_client, world):
    response = staff_client.post("/mothers/find", data={"q": world["CD"].mother.lower()})
    assert response.status_code == 302


def test_find_by_exact_name_goes_to_her_page(inside):
    client, refs = inside
    response = client.post("/mothers/find", data={"q": "  " + refs.mother_name.upper().replace(" ", "   ")})
    assert response.status_code == 302
    assert location(response).endswith(f"/mothers/{refs.mother}")


def test_find_without_a_match_shows_an_empty_list(inside):
    client, _refs = inside
    response = client.post("/mothers/find", data={"q": "Nobody Known Here"})
    assert response.status_code == 200
    assert "0 mothers" in text_of(response) and "No mother matches." in text_of(response)


def test_find_does_not_reach_a_mother_of_another_country(staff_client, world):
    for q in (world["CF"].mother, world["CF"].mother_name):
        response = staff_client.post("/mothers/find", data={"q": q})
        assert response.status_code == 200
        assert world["CF"].mother not in text_of(response)


def test_register_form_offers_projects_of_the_users_countries(request, world):
    page = text_of(request.getfixturevalue(MANAGER).get("/mothers/new"))
    assert world["CD"].project in page and world["CF"].project in page and world["HT"].project not in page


def test_registering_a_mother_gives_her_the_first_code_of_her_country(inside, app):
    client, refs = inside
    assert client.get("/mothers/new").status_code == 200
    response = client.post("/mothers/new", data={
        "project": refs.project, "full_name": "Neema Registered", "phone": "+243 810 000 002", "village": "Ibanda",
        "year_of_birth": "1996", "enrolled_on": "2025-03-04", "consent_services": "y",
    })
    assert response.status_code == 302
    code = f"{refs.country}-M-00001"
    assert location(response).endswith(f"/mothers/{code}")
    with app.app_context():
        mother = _db.session.scalar(select(Beneficiary).where(Beneficiary.code == code))
        assert (mother.full_name, mother.phone, mother.village) == ("Neema Registered", "+243 810 000 002", "Ibanda")
        assert (mother.project.code, mother.year_of_birth, mother.enrolled_on) == (
            refs.project, 1996, dt.date(2025, 3, 4))
        assert (mother.consent_services_on, mother.consent_reporting_on) == (dt.date(2025, 3, 4), None)


def test_registering_in_a_project_of_another_country_is_refused(staff_client, world, app):
    before = count(app, Beneficiary)
    response = staff_client.post("/mothers/new", data={
        "project": world["CF"].project, "full_name": "Neema", "year_of_birth": "1996", "enrolled_on": "2025-03-04",
    })
    assert response.status_code == 200  # the form again: not a choice offered
    assert count(app, Beneficiary) == before


def test_a_name_of_ten_thousand_characters_is_refused_and_nothing_saved(staff_client, world, app):
    before = count(app, Beneficiary)
    response = staff_client.post("/mothers/new", data={
        "project": world["CD"].project, "full_name": "N" * 10_000, "year_of_birth": "1996",
        "enrolled_on": "2025-03-04",
    })
    assert response.status_code == 200
    assert "cannot be longer than 200 characters" in text_of(response)
    assert count(app, Beneficiary) == before


def test_registration_with_a_future_year_of_birth_shows_the_error_by_the_field(staff_client, world, app):
    before = count(app, Beneficiary)
    response = staff_client.post("/mothers/new", data={
        "project": world["CD"].project, "full_name": "Neema", "year_of_birth": str(today().year + 1),
        "enrolled_on": "2025-03-04",
    })
    assert response.status_code == 200
    assert re.search(r'id="year_of_birth-error">must be at most \d{4}<', text_of(response))
    assert count(app, Beneficiary) == before


def test_mother_page_shows_her_code_children_and_activities_but_not_her_name(inside):
    client, refs = inside
    response = client.get(f"/mothers/{refs.mother}")
    page = text_of(response)
    assert response.status_code == 200
    assert refs.mother in page and refs.child in page and refs.free_child in page and refs.income in page
    assert refs.mother_name not in page and refs.child_name not in page
    assert response.headers["Cache-Control"] == "no-store"


def test_show_personal_data_of_a_mother_is_audited(inside, app):
    client, refs = inside
    response = client.post(f"/mothers/{refs.mother}/personal")
    assert response.status_code == 200
    assert refs.mother_name in text_of(response) and refs.child_name in text_of(response)
    with app.app_context():
        events = _db.session.execute(select(AuditEvent.entity, AuditEvent.entity_id, AuditEvent.user_id)
                                     .where(AuditEvent.action == "show_personal")).all()
    assert [(e.entity, e.entity_id) for e in events] == [("beneficiaries", refs.mother)]
    assert events[0].user_id is not None


def test_edit_form_shows_no_personal_data(inside):
    client, refs = inside
    response = client.get(f"/mothers/{refs.mother}/edit")
    assert response.status_code == 200
    assert refs.mother_name not in text_of(response)
    assert 'value="1990"' in text_of(response)


def test_editing_with_the_name_left_empty_keeps_the_name(inside, app):
    client, refs = inside
    response = client.post(f"/mothers/{refs.mother}/edit", data={
        "project": refs.project, "full_name": "", "phone": "", "village": "", "year_of_birth": "1989",
    })
    assert response.status_code == 302 and location(response).endswith(f"/mothers/{refs.mother}")
    with app.app_context():
        mother = _db.session.scalar(select(Beneficiary).where(Beneficiary.code == refs.mother))
        assert (mother.full_name, mother.year_of_birth) == (refs.mother_name, 1989)


def test_a_new_name_is_found_by_name_and_the_old_one_is_not(inside):
    client, refs = inside
    client.post(f"/mothers/{refs.mother}/edit", data={
        "project": refs.project, "full_name": "Furaha Renamed", "year_of_birth": "1990"})
    found = client.post("/mothers/find", data={"q": "furaha renamed"})
    assert found.status_code == 302 and location(found).endswith(f"/mothers/{refs.mother}")
    old = client.post("/mothers/find", data={"q": refs.mother_name})
    assert old.status_code == 200 and "0 mothers" in text_of(old)


def test_phone_can_be_removed_on_purpose(staff_client, world, app):
    refs = world["CD"]
    with app.app_context():
        mother = _db.session.scalar(select(Beneficiary).where(Beneficiary.code == refs.mother))
        mother.phone = "+243 810 999 999"
        _db.session.commit()
    staff_client.post(f"/mothers/{refs.mother}/edit", data={
        "project": refs.project, "year_of_birth": "1990", "clear_phone": "y"})
    assert scalar(app, select(Beneficiary.phone).where(Beneficiary.code == refs.mother)) is None


@pytest.mark.parametrize("reason", ["graduated", "moved", "withdrew", "deceased"])
def test_exit_with_each_reason_then_readmit(inside, app, reason):
    client, refs = inside
    response = client.post(f"/mothers/{refs.mother}/exit", data={"reason": reason, "exited_on": "2025-09-01"})
    assert response.status_code == 302 and location(response).endswith(f"/mothers/{refs.mother}")
    row = select(Beneficiary.status, Beneficiary.exit_reason, Beneficiary.exited_on).where(
        Beneficiary.code == refs.mother)
    with app.app_context():
        assert tuple(_db.session.execute(row).one()) == ("exited", reason, dt.date(2025, 9, 1))
    assert "Readmit her" in text_of(client.get(f"/mothers/{refs.mother}"))
    assert client.post(f"/mothers/{refs.mother}/readmit").status_code == 302
    with app.app_context():
        assert tuple(_db.session.execute(row).one()) == ("active", None, None)


def test_exit_before_enrolment_is_refused_with_a_message(inside, app):
    client, refs = inside  # enrolled 2025-02-01
    response = client.post(f"/mothers/{refs.mother}/exit", data={"reason": "moved", "exited_on": "2025-01-31"},
                           follow_redirects=True)
    assert "Not recorded: exited_on: is before she was enrolled" in text_of(response)
    assert scalar(app, select(Beneficiary.status).where(Beneficiary.code == refs.mother)) == "active"


def test_consent_withdrawn_then_given(inside, app):
    client, refs = inside
    columns = select(Beneficiary.consent_reporting_on, Beneficiary.consent_reporting_withdrawn_on).where(
        Beneficiary.code == refs.mother)
    response = client.post(f"/mothers/{refs.mother}/consent",
                           data={"scope": "reporting", "action": "withdraw", "on": "2025-05-01"})
    assert response.status_code == 302 and location(response).endswith(f"/mothers/{refs.mother}#consent")
    with app.app_context():
        assert tuple(_db.session.execute(columns).one()) == (dt.date(2025, 2, 1), dt.date(2025, 5, 1))
    client.post(f"/mothers/{refs.mother}/consent", data={"scope": "reporting", "action": "give", "on": "2025-06-01"})
    with app.app_context():
        assert tuple(_db.session.execute(columns).one()) == (dt.date(2025, 6, 1), None)


# --- children --------------------------------------------------------------------------------------------------------


def test_adding_a_child_gives_the_next_number_under_the_mothers_code(inside, app):
    client, refs = inside
    assert client.get(f"/mothers/{refs.mother}/children/new").status_code == 200
    response = client.post(f"/mothers/{refs.mother}/children/new",
                           data={"first_name": "Baraka", "year_of_birth": "2019", "sex": "M"})
    code = refs.mother.replace("-M-", "-C-") + "-3"  # the world's mother has children 1 and 2
    assert response.status_code == 302 and location(response).endswith(f"/children/{code}")
    with app.app_context():
        child = _db.session.scalar(select(Child).where(Child.code == code))
        assert (child.first_name, child.year_of_birth, child.sex, child.mother.code) == (
            "Baraka", 2019, "M", refs.mother)


def test_a_child_born_before_the_mother_is_refused_on_the_form(staff_client, world, app):
    before = count(app, Child)
    response = staff_client.post(f"/mothers/{world['CD'].mother}/children/new",
                                 data={"first_name": "Baraka", "year_of_birth": "1985", "sex": "M"})
    assert response.status_code == 200
    assert "is too early: the mother was born in 1990" in text_of(response)
    assert count(app, Child) == before


def test_child_page_shows_code_school_and_claim_but_not_the_name(inside):
    client, refs = inside
    response = client.get(f"/children/{refs.child}")
    page = text_of(response)
    assert response.status_code == 200
    assert refs.child in page and "EP Mapendo" in page and f"/claims/{refs.claim}" in page
    assert refs.child_name not in page


def test_show_personal_data_of_a_child_is_audited(inside, app):
    client, refs = inside
    response = client.post(f"/children/{refs.child}/personal")
    assert response.status_code == 200 and refs.child_name in text_of(response)
    with app.app_context():
        events = _db.session.execute(select(AuditEvent.entity, AuditEvent.entity_id)
                                     .where(AuditEvent.action == "show_personal")).all()
    assert [tuple(e) for e in events] == [("children", refs.child)]


def test_editing_a_child_keeps_the_name_when_left_empty(inside, app):
    client, refs = inside
    page = client.get(f"/children/{refs.child}/edit")
    assert page.status_code == 200 and refs.child_name not in text_of(page)
    response = client.post(f"/children/{refs.child}/edit", data={"first_name": "", "year_of_birth": "2015",
                                                                 "sex": "M"})
    assert response.status_code == 302 and location(response).endswith(f"/children/{refs.child}")
    with app.app_context():
        child = _db.session.scalar(select(Child).where(Child.code == refs.child))
        assert (child.first_name, child.year_of_birth, child.sex) == (refs.child_name, 2015, "M")


def test_enrolling_a_child_for_a_year(inside, app):
    client, refs = inside
    form = client.get(f"/children/{refs.child}/enrolments/new")
    assert form.status_code == 200
    response = client.post(f"/children/{refs.child}/enrolments/new", data={
        "school": "EP Tumaini", "academic_year": "2024-2025", "grade": "P2", "fee_per_term": "40000.50",
        "currency": "CDF", "terms": "3"})
    assert response.status_code == 302 and location(response).endswith(f"/children/{refs.child}")
    with app.app_context():
        enrolment = _db.session.scalar(select(Enrolment).join(Enrolment.child).where(
            Child.code == refs.child, Enrolment.academic_year == "2024-2025"))
        assert (enrolment.school, enrolment.grade, enrolment.fee_per_term, enrolment.currency, enrolment.terms) == (
            "EP Tumaini", "P2", Decimal("40000.50"), "CDF", 3)


def test_a_second_enrolment_for_the_same_year_is_refused(staff_client, world, app):
    before = count(app, Enrolment)
    response = staff_client.post(f"/children/{world['CD'].child}/enrolments/new", data={
        "school": "EP Other", "academic_year": "2025-2026", "grade": "P3", "fee_per_term": "1", "currency": "CDF",
        "terms": "3"})
    assert response.status_code == 200 and "is already enrolled for 2025-2026" in text_of(response)
    assert count(app, Enrolment) == before


def test_editing_an_enrolment(inside, app):
    client, refs = inside
    form = client.get(f"/enrolments/{refs.enrolment}/edit")
    assert form.status_code == 200 and 'value="45000.00"' in text_of(form)
    response = client.post(f"/enrolments/{refs.enrolment}/edit", data={
        "school": "EP Mapendo II", "academic_year": "1999-2000", "grade": "P4", "fee_per_term": "50000",
        "currency": "CDF", "terms": "2"})
    assert response.status_code == 302 and location(response).endswith(f"/children/{refs.child}")
    with app.app_context():
        enrolment = _db.session.get(Enrolment, refs.enrolment)
        assert (enrolment.school, enrolment.academic_year, enrolment.grade, enrolment.fee_per_term,
                enrolment.terms) == ("EP Mapendo II", "2025-2026", "P4", Decimal("50000.00"), 2)


def test_a_school_name_with_html_is_shown_escaped(staff_client, world):
    refs = world["CD"]
    school = "<script>alert(1)</script>"
    response = staff_client.post(f"/children/{refs.child}/enrolments/new", data={
        "school": school, "academic_year": "2024-2025", "grade": "P2", "fee_per_term": "40000", "currency": "CDF",
        "terms": "3"})
    assert response.status_code == 302
    for url in (f"/children/{refs.child}", f"/mothers/{refs.mother}", f"/children/{refs.free_child}/enrolments/new"):
        page = text_of(staff_client.get(url))
        assert school not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url


def _pay(enrolment_id, term, status, app, **extra):
    """A school-fee disbursement for a term, written directly (the disbursement screens are not under test)."""
    with app.app_context():
        enrolment = _db.session.get(Enrolment, enrolment_id)
        values = {"category": "school_fees", "beneficiary": enrolment.child.mother, "child": enrolment.child,
                  "enrolment": enrolment, "term": term, "status": status, "amount": Decimal("45000.00"),
                  "entered_by_id": factories.UserFactory(role="staff").id}
        if status in ("approved", "paid", "voided"):
            values |= {"usd_amount": Decimal("15.75"), "usd_rate": Decimal("0.00035000")}
        if status == "paid":
            values |= {"paid_on": dt.date(2025, 9, 20), "payment_reference": f"BANK-{term}"}
        if status == "rejected":
            values |= {"rejection_reason": "wrong amount"}
        if status == "voided":
            values |= {"void_reason": "paid twice"}
        factories.DisbursementFactory(**(values | extra))


def test_child_page_shows_each_terms_state(staff_client, world, app):
    refs = world["CD"]
    _pay(refs.enrolment, 1, "paid", app)
    _pay(refs.enrolment, 2, "approved", app)
    _pay(refs.enrolment, 3, "rejected", app)
    _pay(refs.enrolment, 3, "voided", app)
    page = text_of(staff_client.get(f"/children/{refs.child}"))
    terms = re.findall(r'<li class="term term-([a-z_]+)">(<a class="term-pay" [^>]*>)?'
                       r'<span class="visually-hidden">Term</span> (\d): ([^<]+)<', page)
    # The term no payment holds is a link to the payment form (issue 18); the others stay plain.
    assert terms == [("paid", "", "1", "Paid"), ("approved", "", "2", "Approved"),
                     ("not_requested", f'<a class="term-pay" href="/disbursements/new?mother={refs.mother}&amp;'
                                       f'category=school_fees&amp;child={refs.child}&amp;year=2025-2026&amp;term=3">',
                      "3", "Not asked for")]


# --- paternity claims ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_name, seen", [(STAFF, {"CD"}), (MANAGER, {"CD", "CF"})])
def test_claims_list_shows_the_claims_of_the_users_countries_only(request, world, client_name, seen):
    response = request.getfixturevalue(client_name).get("/claims/")
    assert response.status_code == 200
    assert {c for c, refs in world.items() if f"/claims/{refs.claim}\"" in text_of(response)} == seen


def test_claims_list_filters_stalled_claims(staff_client, world, app):
    with app.app_context():
        child = _db.session.scalar(select(Child).where(Child.code == world["CD"].free_child))
        factories.PaternityClaimFactory(child=child, status_on=today() - dt.timedelta(days=10))
    page = text_of(staff_client.get("/claims/?min_days=100"))
    assert world["CD"].child in page and world["CD"].free_child not in page


def test_opening_a_claim(inside, app):
    client, refs = inside
    assert client.get(f"/children/{refs.free_child}/claim/new").status_code == 200
    response = client.post(f"/children/{refs.free_child}/claim/new", data={
        "member_state": "UY", "personnel_category": "police", "received_on": "2025-04-02"})
    assert response.status_code == 302
    with app.app_context():
        claim = _db.session.scalar(select(PaternityClaim).join(PaternityClaim.child).where(
            Child.code == refs.free_child))
        assert location(response).endswith(f"/claims/{claim.id}")
        assert (claim.member_state, claim.personnel_category, claim.status, claim.status_on) == (
            "UY", "police", "received", dt.date(2025, 4, 2))
        assert [(s.step, s.occurred_on) for s in claim.steps] == [("received", dt.date(2025, 4, 2))]


def test_claim_page_offers_the_steps_that_may_follow(inside):
    client, refs = inside
    response = client.get(f"/claims/{refs.claim}")
    assert response.status_code == 200
    options = re.findall(r'<option[^>]*value="([a-z_]+)"', text_of(response).split('id="step"', 1)[1].split(
        "</select>", 1)[0])
    assert options == ["notified_to_member_state", "dna_sample_collected", "dna_result_received",
                       "paternity_established", "not_established", "withdrawn"]


def test_recording_the_next_step(inside, app):
    client, refs = inside
    response = client.post(f"/claims/{refs.claim}/steps",
                           data={"step": "notified_to_member_state", "occurred_on": "2025-04-01"})
    assert response.status_code == 302 and location(response).endswith(f"/claims/{refs.claim}")
    with app.app_context():
        claim = _db.session.get(PaternityClaim, refs.claim)
        assert (claim.status, claim.status_on) == ("notified_to_member_state", dt.date(2025, 4, 1))


def test_a_step_dated_before_the_previous_one_is_refused(inside, app):
    client, refs = inside  # received 2025-03-01
    before = count(app, ClaimStep)
    response = client.post(f"/claims/{refs.claim}/steps",
                           data={"step": "notified_to_member_state", "occurred_on": "2025-02-01"})
    assert response.status_code == 422
    assert "is before the previous step" in text_of(response)
    assert count(app, ClaimStep) == before


def test_a_step_that_does_not_follow_is_refused(staff_client, world, app):
    before = count(app, ClaimStep)
    response = staff_client.post(f"/claims/{world['CD'].claim}/steps",
                                 data={"step": "support_paid", "occurred_on": "2025-04-01"})
    assert response.status_code == 422
    assert count(app, ClaimStep) == before


def test_correcting_a_step_keeps_its_history(inside, app):
    client, refs = inside
    response = client.post(f"/claims/{refs.claim}/steps/{refs.step}/correct", data={
        f"c{refs.step}-occurred_on": "2025-02-20", f"c{refs.step}-new_step": "received",
        f"c{refs.step}-reason": "the letter is dated 20 February"})
    assert response.status_code == 302 and location(response).endswith(f"/claims/{refs.claim}")
    with app.app_context():
        old = _db.session.get(ClaimStep, refs.step)
        assert old.superseded_at is not None and old.correction_reason == "the letter is dated 20 February"
        new = _db.session.get(ClaimStep, old.superseded_by_id)
        assert (new.step, new.occurred_on, new.superseded_at) == ("received", dt.date(2025, 2, 20), None)
        claim = _db.session.get(PaternityClaim, refs.claim)
        assert (claim.status, claim.status_on) == ("received", dt.date(2025, 2, 20))
    page = text_of(client.get(f"/claims/{refs.claim}"))
    assert "corrected" in page and "the letter is dated 20 February" in page


def test_a_correction_without_a_reason_is_refused(staff_client, world, app):
    refs = world["CD"]
    response = staff_client.post(f"/claims/{refs.claim}/steps/{refs.step}/correct", data={
        f"c{refs.step}-occurred_on": "2025-02-20", f"c{refs.step}-new_step": "received", f"c{refs.step}-reason": ""})
    assert response.status_code == 422
    assert scalar(app, select(ClaimStep.superseded_at).where(ClaimStep.id == refs.step)) is None


def test_correcting_a_step_of_another_claim_is_404(manager_client, world):
    cd, cf = world["CD"], world["CF"]
    response = manager_client.post(f"/claims/{cd.claim}/steps/{cf.step}/correct", data={
        f"c{cf.step}-occurred_on": "2025-02-20", f"c{cf.step}-reason": "x"})
    assert response.status_code == 404


# --- income activities -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client_name, seen", [(STAFF, {"CD"}), (MANAGER, {"CD", "CF"})])
def test_income_list_shows_the_activities_of_the_users_countries_only(request, world, client_name, seen):
    response = request.getfixturevalue(client_name).get("/income/")
    assert response.status_code == 200
    assert {c for c, refs in world.items() if refs.income in text_of(response)} == seen


def test_starting_an_income_activity(inside, app):
    client, refs = inside
    assert client.get(f"/mothers/{refs.mother}/income/new").status_code == 200
    response = client.post(f"/mothers/{refs.mother}/income/new", data={
        "activity": "soap-making", "started_on": "2025-05-01", "planned_grant": "250000", "currency": "CDF",
        "status": "active"})
    reference = f"IGA-{refs.country}-{refs.mother[-5:]}-2"  # her second activity
    assert response.status_code == 302 and location(response).endswith(f"/income/{reference}")
    with app.app_context():
        project = _db.session.scalar(select(IncomeProject).where(IncomeProject.reference == reference))
        assert (project.activity, project.started_on, project.planned_grant, project.currency, project.status) == (
            "soap-making", dt.date(2025, 5, 1), Decimal("250000.00"), "CDF", "active")


def test_income_page_shows_months_reported_and_average_monthly_profit(inside):
    client, refs = inside
    assert client.post(f"/income/{refs.income}/reports", data={
        "month": "2025-04", "revenue": "180000", "costs": "95000"}).status_code == 302
    assert client.post(f"/income/{refs.income}/reports", data={
        "month": "2025-05", "revenue": "150000", "costs": "160000", "note": "rainy month"}).status_code == 302
    page = text_of(client.get(f"/income/{refs.income}"))
    # profits 85000 and -10000 CDF: average (85000 - 10000) / 2 = 37500.00
    assert re.search(r"<dt>Months reported</dt><dd>2</dd>", page)
    assert re.search(r"<dt>Average monthly profit</dt><dd>CDF\s?37,500.00</dd>", page)
    assert "rainy month" in page


def test_a_month_reported_twice_is_refused(staff_client, world, app):
    refs = world["CD"]
    staff_client.post(f"/income/{refs.income}/reports", data={"month": "2025-04", "revenue": "1", "costs": "0"})
    response = staff_client.post(f"/income/{refs.income}/reports",
                                 data={"month": "2025-04", "revenue": "2", "costs": "0"})
    assert response.status_code == 422 and "2025-04 is reported already" in text_of(response)
    assert count(app, IncomeReport) == 1


def test_editing_an_income_activity(inside, app):
    client, refs = inside
    form = client.get(f"/income/{refs.income}/edit")
    assert form.status_code == 200 and 'value="350000.00"' in text_of(form)
    response = client.post(f"/income/{refs.income}/edit", data={
        "activity": "tailoring and sales", "planned_grant": "400000", "status": "closed_successful",
        "closed_on": "2025-10-31"})
    assert response.status_code == 302 and location(response).endswith(f"/income/{refs.income}")
    with app.app_context():
        project = _db.session.scalar(select(IncomeProject).where(IncomeProject.reference == refs.income))
        assert (project.activity, project.planned_grant, project.status, project.closed_on) == (
            "tailoring and sales", Decimal("400000.00"), "closed_successful", dt.date(2025, 10, 31))


def _days_ago(n: int) -> dt.date:
    return today() - dt.timedelta(days=n)


def test_income_list_shows_the_share_still_going(staff_client, world, app):
    with app.app_context():
        mother = _db.session.scalar(select(Beneficiary).where(Beneficiary.code == world["CD"].mother))
        _db.session.execute(IncomeProject.__table__.delete())  # only the activities below
        _db.session.commit()
        for started, status, closed in (
            (500, "active", None),  # both marks passed, going
            (500, "closed_failed", 400),  # failed before its 6-month mark
            (500, "closed_failed", 230),  # failed between the 6- and 12-month marks
            (250, "struggling", None),  # past the 6-month mark only
            (60, "active", None),  # too young for either
        ):
            factories.IncomeProjectFactory(beneficiary=mother, started_on=_days_ago(started), status=status,
                                           closed_on=_days_ago(closed) if closed else None)
    page = text_of(staff_client.get("/income/"))
    # 6 months: 4 eligible, 3 going = 75%; 12 months: 3 eligible, 1 going = 33%
    assert re.search(r"Still going after 6 months</dt>\s*<dd>75% <small>3 of 4</small>", page)
    assert re.search(r"Still going after 12 months</dt>\s*<dd>33% <small>1 of 3</small>", page)


def test_income_list_shows_the_median_monthly_profit_by_activity_in_usd(staff_client, world, app):
    with app.app_context():
        factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1), usd_per_unit=Decimal("0.0004"))
        project = _db.session.scalar(select(IncomeProject).where(IncomeProject.reference == world["CD"].income))
        other = factories.IncomeProjectFactory(beneficiary=project.beneficiary, activity="TAILORING")
        for target, month, revenue, costs in ((project, 4, "180000", "95000"), (project, 5, "150000", "160000"),
                                              (other, 4, "100000", "50000")):
            factories.IncomeReportFactory(income_project=target, month=dt.date(2025, month, 1),
                                          revenue=Decimal(revenue), costs=Decimal(costs))
    page = text_of(staff_client.get("/income/"))
    # profits 85000, -10000, 50000 CDF × 0.0004 = 34.00, -4.00, 20.00 USD: the median is 20.00
    assert re.search(r"<tr><td>tailoring</td><td class=\"num\">2</td><td class=\"num\">3</td>"
                     r"<td class=\"num\">\$20.00</td></tr>", page)


# --- exports ---------------------------------------------------------------------------------------------------------


def _rows(response) -> list[list[str]]:
    if response.mimetype == "text/csv":
        return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).worksheets[0]
    return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]


EXPORTS = {
    "mothers": ["code", "project_code", "year_of_birth", "enrolled_on", "status", "children", "consent_services",
                "consent_reporting"],
    "claims": ["child_code", "member_state", "personnel_category", "status", "status_on", "waiting_days"],
    "income": ["reference", "mother_code", "activity", "status", "started_on", "planned_grant", "currency"],
}


@pytest.mark.parametrize("client_name, seen", [(STAFF, ["CD"]), (MANAGER, ["CD", "CF"])])
def test_exports_hold_the_users_countries_by_code(request, world, app, client_name, seen):
    client = request.getfixturevalue(client_name)
    for what, header in EXPORTS.items():
        key = {"mothers": "mother", "claims": "child", "income": "income"}[what]
        for fmt in ("csv", "xlsx"):
            response = client.get(f"/{what}/export.{fmt}")
            assert response.status_code == 200
            assert response.headers["Content-Disposition"].startswith("attachment")
            assert response.headers["Cache-Control"] == "no-store"
            rows = _rows(response)
            assert rows[0] == header
            assert sorted(r[0] for r in rows[1:]) == [getattr(world[c], key) for c in seen], (what, fmt)
    with app.app_context():
        exports = _db.session.execute(select(AuditEvent.entity, AuditEvent.changes)
                                      .where(AuditEvent.action == "export").order_by(AuditEvent.id)).all()
    assert [e.entity for e in exports] == ["beneficiaries"] * 2 + ["paternity_claims"] * 2 + ["income_projects"] * 2
    assert {e.changes["rows"] for e in exports} == {len(seen)}


def test_mothers_export_values(staff_client, world):
    rows = _rows(staff_client.get("/mothers/export.csv"))
    assert rows[1] == [world["CD"].mother, world["CD"].project, "1990", "2025-02-01", "active", "2", "true", "true"]


def test_an_unknown_export_format_is_404(staff_client, world):
    assert staff_client.get("/mothers/export.pdf").status_code == 404


def test_personal_export_holds_names_and_is_audited_with_the_reason(inside, app):
    client, refs = inside
    response = client.post("/mothers/export-personal",
                           data={"confirm": "y", "reason": "school fee visit list", "fmt": "xlsx"})
    assert response.status_code == 200
    rows = _rows(response)
    assert rows[0] == ["code", "project_code", "full_name", "phone", "village", "year_of_birth", "enrolled_on",
                       "status"]
    assert [r[0] for r in rows[1:] if r[0] == refs.mother] == [refs.mother]
    assert refs.mother_name in [r[2] for r in rows[1:]]
    with app.app_context():
        event = _db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export_personal"))
        assert event.changes["reason"] == "school fee visit list" and event.user_id is not None


def test_personal_export_without_the_confirmation_gives_no_file(staff_client, world, app):
    response = staff_client.post("/mothers/export-personal", data={"reason": "school visits"})
    assert response.status_code == 302 and location(response).endswith("/mothers/")
    assert world["CD"].mother_name.encode() not in response.data
    assert scalar(app, select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "export_personal")) == 0


# --- outside the user's countries: 404 -------------------------------------------------------------------------------

OUTSIDE_URLS = [
    ("GET", "/mothers/{mother}", None),
    ("POST", "/mothers/{mother}/personal", {}),
    ("GET", "/mothers/{mother}/edit", None),
    ("POST", "/mothers/{mother}/edit", {"project": "{project}", "year_of_birth": "1991"}),
    ("POST", "/mothers/{mother}/exit", {"reason": "moved", "exited_on": "2025-06-01"}),
    ("POST", "/mothers/{mother}/readmit", {}),
    ("POST", "/mothers/{mother}/consent", {"scope": "reporting", "action": "withdraw", "on": "2025-06-01"}),
    ("GET", "/mothers/{mother}/children/new", None),
    ("POST", "/mothers/{mother}/children/new", {"first_name": "X", "year_of_birth": "2019", "sex": "F"}),
    ("GET", "/children/{child}", None),
    ("POST", "/children/{child}/personal", {}),
    ("GET", "/children/{child}/edit", None),
    ("POST", "/children/{child}/edit", {"year_of_birth": "2015", "sex": "M"}),
    ("GET", "/children/{child}/enrolments/new", None),
    ("POST", "/children/{child}/enrolments/new", {"school": "S", "academic_year": "2024-2025", "grade": "P1",
                                                  "fee_per_term": "10", "currency": "USD", "terms": "3"}),
    ("GET", "/enrolments/{enrolment}/edit", None),
    ("POST", "/enrolments/{enrolment}/edit", {"school": "S", "grade": "P1", "fee_per_term": "10",
                                              "currency": "CDF", "terms": "3"}),
    ("GET", "/children/{free_child}/claim/new", None),
    ("POST", "/children/{free_child}/claim/new", {"member_state": "UY", "personnel_category": "police",
                                                  "received_on": "2025-04-02"}),
    ("GET", "/claims/{claim}", None),
    ("POST", "/claims/{claim}/steps", {"step": "notified_to_member_state", "occurred_on": "2025-04-01"}),
    ("POST", "/claims/{claim}/steps/{step}/correct", {"c{step}-occurred_on": "2025-02-20",
                                                      "c{step}-new_step": "received", "c{step}-reason": "x"}),
    ("GET", "/mothers/{mother}/income/new", None),
    ("POST", "/mothers/{mother}/income/new", {"activity": "farming", "started_on": "2025-05-01",
                                              "planned_grant": "100", "currency": "USD", "status": "active"}),
    ("GET", "/income/{income}", None),
    ("GET", "/income/{income}/edit", None),
    ("POST", "/income/{income}/edit", {"activity": "farming", "planned_grant": "100", "status": "active"}),
    ("POST", "/income/{income}/reports", {"month": "2025-04", "revenue": "1", "costs": "0"}),
]


def _fill(template: str, refs: Refs) -> str:
    return template.format(**refs.__dict__)


def _request(client, method, url, data, refs):
    if method == "GET":
        return client.get(_fill(url, refs))
    return client.post(_fill(url, refs), data={_fill(k, refs): _fill(v, refs) for k, v in data.items()})


@pytest.mark.parametrize("method, url, data", OUTSIDE_URLS, ids=[f"{m} {u}" for m, u, _d in OUTSIDE_URLS])
def test_staff_get_404_for_records_of_another_country_and_change_nothing(staff_client, world, app, method, url,
                                                                          data):
    refs = world["CF"]
    before = count(app, AuditEvent)
    response = _request(staff_client, method, url, data, refs)
    assert response.status_code == 404
    assert refs.mother not in text_of(response) and refs.mother_name not in text_of(response)
    assert count(app, AuditEvent) == before  # nothing was changed, nor shown


def test_a_manager_gets_404_for_every_record_of_a_third_country(manager_client, world, app):
    refs = world["HT"]
    before = count(app, AuditEvent)
    for method, url, data in OUTSIDE_URLS:
        assert _request(manager_client, method, url, data, refs).status_code == 404, (method, url)
    assert count(app, AuditEvent) == before


@pytest.mark.parametrize("url", ["/mothers/CD-M-99999", "/children/CD-C-99999-1", "/claims/999999",
                                 "/income/IGA-NOPE", "/enrolments/999999/edit"])
def test_unknown_records_are_404(staff_client, world, url):
    assert staff_client.get(url).status_code == 404
