"""Every error at once: the error summary on top of a form links to each field with an error, every field shows
all its errors, and the services report every field's problem in one go (issue 18)."""
from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.conftest import _user_client
from tracker.disbursements import services as disbursements
from tracker.errors import Errors, Invalid
from tracker.extensions import db as _db
from tracker.funding import services as funding
from tracker.models import Disbursement
from tracker.registry import people

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.fixture
def mother(app) -> str:
    """A CD mother (born 1995, enrolled on 1 February 2025) with a child born in 2016; a CDF rate."""
    with app.app_context(), factories.one_commit():
        project = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        her = factories.BeneficiaryFactory(project=project, number=1)
        factories.ChildFactory(mother=her, number=1, year_of_birth=2016)
        factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1))
        return her.code


def _pay(client, mother: str, **data):
    form = {"request_key": uuid.uuid4().hex, "target": "", "payee": "Centre Kavumu", "amount": "45000",
            "currency": "CDF", "entered_on": "2025-09-15", "save_as": "submit"}
    form.update(data)
    return client.post(f"/disbursements/new?mother={mother}&category=medical", data=form)


def _summary(page: str) -> list[tuple[str, str]]:
    """The error summary's links: (href, text)."""
    box = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', page, re.S)
    assert box, "no error summary"
    return [(href, html.unescape(" ".join(text.split()))) for href, text in
            re.findall(r'<a href="([^"]+)">(.*?)</a>', box.group(1), re.S)]


def _field_error(page: str, field_id: str) -> list[str]:
    found = re.search(rf'<p class="error" id="{field_id}-error">(.*?)</p>', page, re.S)
    return [html.unescape(m.strip()) for m in found.group(1).split("<br>")] if found else []


def _payments(app) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count(Disbursement.id)))


def test_a_payment_with_two_errors_shows_both_in_the_summary_and_at_both_fields(app, mother, staff_client):
    response = _pay(staff_client, mother, payee="", amount="1.250,50")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'<div class="error-summary" id="error-summary" role="alert" aria-labelledby="error-summary-h" '
                     r'tabindex="-1" autofocus>\s*<h2 id="error-summary-h">There is a problem</h2>', page)
    assert _summary(page) == [
        ("#payee", "Payee (school, supplier, provider): This field is required."),
        ("#amount", "Amount: '1.250,50' is not an amount: write a number such as 1,250.50"),
    ]
    assert _field_error(page, "payee") == ["This field is required."]
    assert _field_error(page, "amount") == ["'1.250,50' is not an amount: write a number such as 1,250.50"]
    assert re.search(r'<input[^>]* id="amount"[^>]* value="1.250,50"', page)  # as typed, to correct it
    assert _payments(app) == 0


def test_a_field_with_two_errors_shows_both(app, mother, staff_client):
    """Born in 2016 she would be 9 at enrolment (2025) and younger than her child (2016): two problems."""
    page = staff_client.post(f"/mothers/{mother}/edit", data={"project": "TF-CD-2025-01",
                                                              "year_of_birth": "2016"}).get_data(as_text=True)
    assert _field_error(page, "year_of_birth") == ["she would be under 10 years old at enrolment",
                                                   "is too late for her children's years of birth"]
    assert _summary(page) == [
        ("#year_of_birth", "Year of birth: she would be under 10 years old at enrolment"),
        ("#year_of_birth", "Year of birth: is too late for her children's years of birth"),
    ]


def test_no_summary_on_a_form_without_errors(mother, staff_client):
    page = staff_client.get(f"/disbursements/new?mother={mother}&category=medical").get_data(as_text=True)
    assert "error-summary" not in page and "autofocus" not in page


@pytest.mark.parametrize(("typed", "expected"), [
    ("1 250,50", Decimal("1250.50")),
    (f"1{NNBSP}250,50", Decimal("1250.50")),
    (f"1{NBSP}250,5", Decimal("1250.50")),
    ("1250,5", Decimal("1250.50")),
])
def test_a_french_user_types_an_amount_the_french_way(app, mother, typed, expected):
    client = _user_client(app, role="staff", email="staff.fr@example.org", countries=["CD"], locale="fr")
    response = _pay(client, mother, amount=typed)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        assert _db.session.scalar(select(Disbursement.amount)) == expected


def test_a_french_user_sees_the_summary_in_french_and_english_writing_refused(app, mother):
    client = _user_client(app, role="staff", email="staff.fr@example.org", countries=["CD"], locale="fr")
    page = _pay(client, mother, payee="", amount="1,250.50").get_data(as_text=True)
    assert "Il y a un problème" in page
    assert _field_error(page, "amount") == [
        f"'1,250.50' n'est pas un montant{NBSP}: écrivez un nombre comme 1{NNBSP}250,50"]
    assert [href for href, _text in _summary(page)] == ["#payee", "#amount"]
    assert _payments(app) == 0


# --- the services report every problem at once -------------------------------------------------------------------

def test_a_payment_refused_names_every_field_at_once(rq):
    project = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
    her = factories.BeneficiaryFactory(project=project, number=1)
    with pytest.raises(Invalid) as refused:
        disbursements.check_entry(project=project, category="medical", beneficiary=her, payee="", amount="12O",
                                  currency="XXX", entered_on="2026-13-01")
    assert refused.value.errors == {
        "currency": "XXX is not an ISO 4217 currency code such as USD",
        "amount": "'12O' is not a plain amount like 1250.50 (digits and one dot only: no spaces, no commas)",
        "payee": "is required",
        "entered_on": "2026-13-01 is not a date in the form YYYY-MM-DD",
    }


def test_a_mother_refused_names_every_field_at_once(rq):
    project = factories.ProjectFactory(code="TF-CD-2025-01", country="CD", status="closed")
    with pytest.raises(Invalid) as refused:
        people.check_beneficiary(project=project, full_name="", year_of_birth="19x5", enrolled_on="2025-02-30")
    assert list(refused.value.errors) == ["full_name", "year_of_birth", "enrolled_on", "project_code"]


def test_a_pledge_refused_names_every_field_at_once(rq):
    donor = factories.DonorFactory(name="Kingdom of Norway")
    with pytest.raises(Invalid) as refused:
        funding.check_pledge(donor=donor, reference="", amount="-5", currency="EUR", pledged_on="tomorrow",
                             reference_taken=lambda _ref: False)
    assert list(refused.value.errors) == ["reference", "amount", "pledged_on"]


def test_errors_keep_every_message_of_a_field_and_no_duplicate():
    errors = Errors()
    errors.add("is required", "payee")
    errors.merge(Invalid({"payee": ["is required", "is too long"], "": "whole form"}))
    with pytest.raises(Invalid) as refused:
        errors.raise_any()
    assert refused.value.messages == {"payee": ["is required", "is too long"], "": ["whole form"]}
    assert refused.value.errors == {"payee": "is required; is too long", "": "whole form"}
    Errors().raise_any()  # nothing collected: nothing raised


def test_a_field_the_form_refuses_does_not_hide_what_the_service_refuses(app, mother, staff_client):
    """No full name (the form's check) and a year of birth "19x5" (the service's): both at once."""
    page = staff_client.post("/mothers/new", data={"project": "TF-CD-2025-01", "full_name": "",
                                                   "year_of_birth": "19x5", "enrolled_on": "2025-03-01"}
                             ).get_data(as_text=True)
    assert [href for href, _text in _summary(page)] == ["#full_name", "#year_of_birth"]
    assert _field_error(page, "full_name") == ["This field is required."]
    assert _field_error(page, "year_of_birth") == ["19x5 is not a whole number"]


def test_an_enrolment_refused_by_the_form_and_the_service_shows_both(app, mother, staff_client):
    page = staff_client.post("/children/CD-C-00001-1/enrolments/new", data={
        "school": "", "academic_year": "2025/2026", "grade": "P2", "fee_per_term": "45000", "currency": "CDF",
        "terms": "3"}).get_data(as_text=True)
    assert [href for href, _text in _summary(page)] == ["#school", "#academic_year"]
    assert _field_error(page, "academic_year") == ["2025/2026 is not an academic year such as 2025-2026"]


def test_a_payment_without_payee_in_a_currency_without_decimals_shows_both(app, mother, staff_client):
    page = _pay(staff_client, mother, payee="", amount="12.5", currency="XAF").get_data(as_text=True)
    assert [href for href, _text in _summary(page)] == ["#payee", "#amount"]
    assert _field_error(page, "amount") == ["XAF amounts have no decimals"]
    assert _payments(app) == 0


def test_a_pledge_with_an_amount_written_wrong_and_no_reference_shows_both(app, manager_client):
    with app.app_context(), factories.one_commit():
        donor_id = factories.DonorFactory(name="Kingdom of Norway").id
    page = manager_client.post("/pledges/new", data={
        "donor": str(donor_id), "reference": "", "amount": "1.250,50", "currency": "EUR",
        "pledged_on": "2025-03-01"}).get_data(as_text=True)
    assert [href for href, _text in _summary(page)] == ["#reference", "#amount"]
    assert _field_error(page, "amount") == ["'1.250,50' is not an amount: write a number such as 1,250.50"]
