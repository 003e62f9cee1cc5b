"""Entering disbursements through the screens: one at a time (POST /disbursements/new) and a whole school term.

The testing configuration turns CSRF off, so forms are posted as plain data.
Every refused input comes back as the form with a message beside the field,
never a 500, and nothing is saved.
"""
from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import factories
from tracker.disbursements import services
from tracker.extensions import db as _db
from tracker.models import AuditEvent, Disbursement, User
from tracker.models.base import today

PROJECT = "TF-CD-2025-01"
YEAR = "2025-2026"


@dataclass(frozen=True)
class Refs:
    project_id: int
    mother: str
    child: str
    enrolment: int
    second_child: str
    second_child_id: int
    other_child_id: int
    income: int
    staff_id: int


@pytest.fixture
def world(app, staff_client) -> Refs:
    """A CD mother with a child enrolled for 2025-2026 (3 terms of 45,000 CDF), a second child, an income
    activity; another mother's child; a CDF rate."""
    with app.app_context():
        staff_id = _db.session.scalar(select(User.id).where(User.email == "staff.cd@example.org"))
        with factories.one_commit():
            project = factories.ProjectFactory(code=PROJECT, country="CD")
            mother = factories.BeneficiaryFactory(project=project, number=1)
            child = factories.ChildFactory(mother=mother, number=1)
            second = factories.ChildFactory(mother=mother, number=2)
            enrolment = factories.EnrolmentFactory(child=child, academic_year=YEAR, terms=3)
            other_mother = factories.BeneficiaryFactory(project=project, number=2)
            other_child = factories.ChildFactory(mother=other_mother, number=1)
            income = factories.IncomeProjectFactory(beneficiary=mother, reference="IGA-CD-0001")
            factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1))
        return Refs(project.id, mother.code, child.code, enrolment.id, second.code, second.id, other_child.id,
                    income.id, staff_id)


def count(app, **where) -> int:
    with app.app_context():
        stmt = select(func.count(Disbursement.id))
        for key, value in where.items():
            stmt = stmt.where(getattr(Disbursement, key) == value)
        return _db.session.scalar(stmt)


def audit_count(app) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count(AuditEvent.id)))


def rows(app, **where) -> list[dict]:
    with app.app_context():
        table = Disbursement.__table__
        stmt = select(table).order_by(table.c.id)
        for key, value in where.items():
            stmt = stmt.where(table.c[key] == value)
        return [dict(r) for r in _db.session.execute(stmt).mappings()]


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def field_error(response, name: str) -> str | None:
    match = re.search(rf'<p class="error" id="{name}-error">(.*?)</p>', response.get_data(as_text=True), re.S)
    return html.unescape(match.group(1)) if match else None


def entry(client, mother: str, category: str, *, top_up_page: bool = False, **data):
    """POST the entry form for a mother and category (a fresh request key unless given)."""
    form = {"request_key": data.pop("request_key", None) or uuid.uuid4().hex, "payee": "EP Mapendo",
            "amount": "45000", "currency": "CDF", "entered_on": "2025-09-15", "save_as": "submit"}
    form.update(data)
    url = f"/disbursements/new?mother={mother}&category={category}" + ("&top_up=1" if top_up_page else "")
    return client.post(url, data=form)


# --- one at a time ---------------------------------------------------------------------------------------------------

def test_staff_enters_school_fees_for_a_term_and_it_is_submitted(app, world, staff_client):
    response = entry(staff_client, world.mother, "school_fees", target=f"{world.enrolment}:1")
    assert response.status_code == 302
    [made] = rows(app)
    assert response.headers["Location"].endswith(f"/disbursements/{made['reference']}")
    assert (made["status"], made["category"], made["term"], made["enrolment_id"], made["amount"], made["currency"]) \
        == ("submitted", "school_fees", 1, world.enrolment, Decimal("45000.00"), "CDF")
    assert made["entered_by_id"] == made["submitted_by_id"] == world.staff_id
    assert made["entered_on"] == dt.date(2025, 9, 15)


def test_entry_kept_as_a_draft_is_not_submitted(app, world, staff_client):
    response = entry(staff_client, world.mother, "medical", target="", payee="Clinic", save_as="draft")
    assert response.status_code == 302
    [made] = rows(app)
    assert (made["status"], made["child_id"]) == ("draft", None)


def test_same_form_posted_twice_creates_one_disbursement(app, world, staff_client):
    first = entry(staff_client, world.mother, "school_fees", target=f"{world.enrolment}:1", request_key="rk-1")
    second = entry(staff_client, world.mother, "school_fees", target=f"{world.enrolment}:1", request_key="rk-1")
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert count(app) == 1


def test_new_form_gets_a_fresh_request_key_each_time(world, staff_client):
    url = f"/disbursements/new?mother={world.mother}&category=medical"
    keys = [re.search(r'name="request_key" type="hidden" value="([0-9a-f]{32})"',
                      staff_client.get(url).get_data(as_text=True)).group(1) for _ in range(2)]
    assert keys[0] != keys[1]


def test_bad_amount_shows_the_form_with_the_message_and_saves_nothing(app, world, staff_client):
    before = audit_count(app)
    for amount, currency, words in [
        ("NaN", "USD", "write a number such as 1,250.50"),
        ("Infinity", "USD", "write a number such as 1,250.50"),
        ("1e9999", "USD", "write a number such as 1,250.50"),
        ("-0.01", "USD", "greater than zero"),
        ("0", "USD", "greater than zero"),
        ("1.000,50", "USD", "'1.000,50' is not an amount"),  # French writing in an English form: refused
        ("1000,5", "USD", "'1000,5' is not an amount"),  # a comma that groups no thousands: ambiguous
        ("12.345", "USD", "at most 2 decimal places"),
        ("12.5", "XAF", "XAF amounts have no decimals"),
    ]:
        response = entry(staff_client, world.mother, "medical", target="", amount=amount, currency=currency)
        assert response.status_code == 200, amount
        assert words in (field_error(response, "amount") or ""), amount
    assert count(app) == 0 and audit_count(app) == before


def test_currency_that_does_not_exist_is_refused(app, world, staff_client):
    for currency in ["XYZ", "ZWL", ""]:
        response = entry(staff_client, world.mother, "medical", target="", currency=currency)
        assert response.status_code == 200, currency
        assert field_error(response, "currency"), currency
    assert count(app) == 0


def test_term_beyond_the_enrolment_is_not_offered_and_is_refused(app, world, staff_client):
    response = entry(staff_client, world.mother, "school_fees", target=f"{world.enrolment}:4")
    assert response.status_code == 200
    assert field_error(response, "target")
    assert count(app) == 0


def test_child_not_of_that_mother_is_refused(app, world, staff_client):
    response = entry(staff_client, world.mother, "medical", target=f"child:{world.other_child_id}")
    assert response.status_code == 200
    assert field_error(response, "target")
    assert count(app) == 0


def test_her_own_child_is_accepted_for_a_medical_payment(app, world, staff_client):
    response = entry(staff_client, world.mother, "medical", target=f"child:{world.second_child_id}", payee="Clinic")
    assert response.status_code == 302
    assert rows(app)[0]["child_id"] == world.second_child_id


def test_school_fees_without_the_child_are_refused(app, world, staff_client):
    response = entry(staff_client, world.mother, "school_fees", target="")
    assert response.status_code == 200
    assert "choose the child, year and term" in field_error(response, "target")
    assert count(app) == 0


def test_iga_grant_without_an_income_activity_is_refused(app, world, staff_client):
    response = entry(staff_client, world.mother, "iga", target="")
    assert response.status_code == 200
    assert "choose the income activity" in field_error(response, "target")
    assert count(app) == 0


def test_iga_grant_for_her_activity_is_entered(app, world, staff_client):
    response = entry(staff_client, world.mother, "iga", target=f"iga:{world.income}", payee="Supplies Ltd",
                     amount="350000")
    assert response.status_code == 302
    assert rows(app)[0]["income_project_id"] == world.income


def test_entry_date_in_the_future_is_refused(app, world, staff_client):
    response = entry(staff_client, world.mother, "medical", target="",
                     entered_on=(today() + dt.timedelta(days=1)).isoformat())
    assert response.status_code == 200
    assert "in the future" in field_error(response, "entered_on")
    assert count(app) == 0


def test_second_payment_for_a_held_term_is_refused_unless_a_top_up_with_a_reason(app, world, staff_client):
    assert entry(staff_client, world.mother, "school_fees", target=f"{world.enrolment}:1").status_code == 302
    again = entry(staff_client, world.mother, "school_fees", target=f"{world.enrolment}:1")
    assert again.status_code == 200 and field_error(again, "target")  # the held term is no longer offered
    assert count(app) == 1

    no_reason = entry(staff_client, world.mother, "school_fees", top_up_page=True, target=f"{world.enrolment}:1",
                      top_up="y", top_up_reason="", amount="5000")
    assert no_reason.status_code == 200
    assert "required" in field_error(no_reason, "top_up_reason")
    assert count(app) == 1

    top_up = entry(staff_client, world.mother, "school_fees", top_up_page=True, target=f"{world.enrolment}:1",
                   top_up="y", top_up_reason="the school raised the fee", amount="5000")
    assert top_up.status_code == 302
    assert [(r["top_up"], r["top_up_reason"]) for r in rows(app)] == \
        [(False, None), (True, "the school raised the fee")]


def test_term_is_offered_again_once_its_payment_is_rejected(app, world, staff_client):
    entry(staff_client, world.mother, "school_fees", target=f"{world.enrolment}:1")
    with app.test_request_context():
        d = _db.session.scalars(select(Disbursement)).one()
        manager = factories.UserFactory(role="manager")
        services.reject(disbursement=d, user=manager, reason="wrong school")
        _db.session.commit()
    response = entry(staff_client, world.mother, "school_fees", target=f"{world.enrolment}:1")
    assert response.status_code == 302
    assert [r["status"] for r in rows(app)] == ["rejected", "submitted"]


def test_mother_outside_the_staff_countries_is_not_found(app, world, staff_client):
    with app.app_context():
        cf = factories.BeneficiaryFactory(project=factories.ProjectFactory(code="TF-CF-2025-01", country="CF"),
                                          number=7)
        code = cf.code
    response = entry(staff_client, code, "medical", target="")
    assert response.status_code == 404
    assert count(app) == 0


# --- a whole term ----------------------------------------------------------------------------------------------------

def term_url(**extra) -> str:
    args = {"project": PROJECT, "academic_year": YEAR, "term": "1", "school": "EP Mapendo", **extra}
    return "/disbursements/term?" + "&".join(f"{k}={v}" for k, v in args.items())


@pytest.fixture
def school(app, staff_client) -> dict[str, int]:
    """50 children at EP Mapendo (25 mothers with two each), one at another school; a CDF rate. Code → enrolment id."""
    with app.app_context():
        with factories.one_commit():
            project = factories.ProjectFactory(code=PROJECT, country="CD")
            factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1))
            enrolments = []
            for n in range(1, 26):
                mother = factories.BeneficiaryFactory(project=project, number=n)
                for k in (1, 2):
                    child = factories.ChildFactory(mother=mother, number=k)
                    enrolments.append(factories.EnrolmentFactory(child=child, academic_year=YEAR, terms=3,
                                                                 school="EP Mapendo"))
            elsewhere = factories.ChildFactory(mother=factories.BeneficiaryFactory(project=project, number=26))
            factories.EnrolmentFactory(child=elsewhere, academic_year=YEAR, school="EP Umoja")
        return {e.child.code: e.id for e in enrolments}


def listed(response) -> list[int]:
    return [int(x) for x in re.findall(r'name="enrolment" value="(\d+)"', response.get_data(as_text=True))]


def batch_key(response) -> str:
    return re.search(r'name="batch_key" value="([^"]+)"', response.get_data(as_text=True)).group(1)


def term_states(client, code: str) -> dict[int, str]:
    page = client.get(f"/children/{code}")
    assert page.status_code == 200
    badge = r'class="term term-(\w+)">(?:<a class="term-pay" [^>]*>)?<span class="visually-hidden">Term</span> (\d)'
    return {int(n): state for state, n in re.findall(badge, page.get_data(as_text=True))}


def test_whole_term_for_a_school_of_fifty_is_entered_approved_paid_and_shown_on_the_child_pages(
        app, school, staff_client, manager_client):
    page = staff_client.get(term_url())
    assert page.status_code == 200
    assert sorted(listed(page)) == sorted(school.values())  # all 50, not the child at the other school
    key = batch_key(page)
    form = {"enrolment": [str(i) for i in school.values()], "entered_on": "2025-09-15", "batch_key": key}
    form.update({f"amount-{i}": "45000" for i in school.values()})
    entered = staff_client.post(term_url(), data=form)
    assert entered.status_code == 302
    assert f"project={PROJECT}" in entered.headers["Location"] and "status=submitted" in entered.headers["Location"]
    made = rows(app)
    assert len(made) == 50
    assert {r["enrolment_id"] for r in made} == set(school.values())
    assert {(r["status"], r["term"], r["batch_key"], r["payee"], r["amount"], r["entered_on"]) for r in made} == \
        {("submitted", 1, key, "EP Mapendo", Decimal("45000.00"), dt.date(2025, 9, 15))}

    ids = [str(r["id"]) for r in made]
    approved = manager_client.post("/approvals/decide", data={"id": ids, "decision": "approve"})
    assert approved.status_code == 302
    made = rows(app)
    # 45,000 CDF × 0.00035 = 15.75 USD each.
    assert {(r["status"], r["usd_amount"]) for r in made} == {("approved", Decimal("15.75"))}

    pay = {"id": ids, "paid_on": "2025-09-20"}
    pay.update({f"payref-{r['id']}": f"MAP-{n:03d}" for n, r in enumerate(made, 1)})
    paid = manager_client.post("/approvals/pay", data=pay)
    assert paid.status_code == 302
    made = rows(app)
    assert {(r["status"], r["paid_on"]) for r in made} == {("paid", dt.date(2025, 9, 20))}
    assert sorted(r["payment_reference"] for r in made) == [f"MAP-{n:03d}" for n in range(1, 51)]

    for code in school:
        assert term_states(staff_client, code) == {1: "paid", 2: "not_requested", 3: "not_requested"}
    # Term 1 is now held for all of them: the school lists nobody for term 1, everybody for term 2.
    assert listed(staff_client.get(term_url())) == []
    assert sorted(listed(staff_client.get(term_url(term="2")))) == sorted(school.values())


def test_batch_with_one_bad_amount_saves_nothing_and_shows_the_error_on_that_row(app, school, staff_client):
    chosen = sorted(school.values())[:3]
    bad = chosen[1]
    form = {"enrolment": [str(i) for i in chosen], "entered_on": "2025-09-15", "batch_key": "batch-1",
            f"amount-{chosen[0]}": "45000", f"amount-{bad}": "45,000", f"amount-{chosen[2]}": "45000"}
    before = audit_count(app)
    response = staff_client.post(term_url(), data=form)
    assert response.status_code == 200
    assert count(app) == 0 and audit_count(app) == before
    body = response.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="err-{bad}">(.*?)</p>', body, re.S)
    assert error and "no commas" in html.unescape(error.group(1))
    assert re.findall(r'<p class="error" id="err-(\d+)">', body) == [str(bad)]
    assert re.search(rf'<tr class="row-error">\s*<td><input type="checkbox" name="enrolment" value="{bad}"', body)
    assert f'name="amount-{bad}" value="45,000"' in body  # what was typed is kept to correct
    assert 'name="batch_key" value="batch-1"' in body
    assert "Nothing was entered" in text_of(response)


def test_corrected_batch_is_entered_after_a_refusal(app, school, staff_client):
    chosen = sorted(school.values())[:2]
    form = {"enrolment": [str(i) for i in chosen], "entered_on": "2025-09-15", "batch_key": "batch-2",
            f"amount-{chosen[0]}": "45000", f"amount-{chosen[1]}": "0"}
    assert staff_client.post(term_url(), data=form).status_code == 200
    form[f"amount-{chosen[1]}"] = "40000"
    assert staff_client.post(term_url(), data=form).status_code == 302
    assert sorted((r["enrolment_id"], r["amount"]) for r in rows(app)) == \
        [(chosen[0], Decimal("45000.00")), (chosen[1], Decimal("40000.00"))]


def test_same_batch_posted_twice_creates_no_duplicates(app, school, staff_client):
    chosen = sorted(school.values())[:4]
    form = {"enrolment": [str(i) for i in chosen], "entered_on": "2025-09-15", "batch_key": "batch-3"}
    form.update({f"amount-{i}": "45000" for i in chosen})
    assert staff_client.post(term_url(), data=form).status_code == 302
    again = staff_client.post(term_url(), data=form)
    assert again.status_code in (200, 302)
    assert count(app) == 4 and count(app, batch_key="batch-3") == 4


def test_child_whose_term_is_already_held_is_not_listed(app, school, staff_client):
    held_code, held_id = sorted(school.items())[0]
    with app.test_request_context():
        from tracker.models import Enrolment

        enrolment = _db.session.get(Enrolment, held_id)
        staff = _db.session.scalars(select(User).where(User.email == "staff.cd@example.org")).one()
        services.enter(project=enrolment.child.mother.project, category="school_fees",
                       beneficiary=enrolment.child.mother, child=enrolment.child, enrolment=enrolment, term=1,
                       payee="EP Mapendo", amount="45000", currency="CDF", entered_on=dt.date(2025, 9, 1),
                       user=staff)
        _db.session.commit()
    page = staff_client.get(term_url())
    assert held_id not in listed(page)
    assert held_code not in page.get_data(as_text=True)
    assert len(listed(page)) == 49
    assert held_id in listed(staff_client.get(term_url(term="2")))


def test_ticking_a_held_child_anyway_saves_nothing(app, school, staff_client):
    chosen = sorted(school.values())[:2]
    form = {"enrolment": [str(chosen[0])], "entered_on": "2025-09-15", "batch_key": "b-a",
            f"amount-{chosen[0]}": "45000"}
    assert staff_client.post(term_url(), data=form).status_code == 302
    # A page opened before that batch still offers chosen[0]; ticking it with chosen[1] enters neither.
    form = {"enrolment": [str(i) for i in chosen], "entered_on": "2025-09-15", "batch_key": "b-b"}
    form.update({f"amount-{i}": "45000" for i in chosen})
    response = staff_client.post(term_url(), data=form)
    assert response.status_code == 200
    assert count(app) == 1


def test_whole_term_page_for_a_project_outside_the_staff_countries_lists_nothing(app, staff_client):
    with app.app_context():
        project = factories.ProjectFactory(code="TF-CF-2025-01", country="CF")
        mother = factories.BeneficiaryFactory(project=project, number=1)
        factories.EnrolmentFactory(child=factories.ChildFactory(mother=mother), academic_year=YEAR)
    response = staff_client.get(term_url(project="TF-CF-2025-01", school=""))
    assert response.status_code in (200, 404)
    assert listed(response) == []
    posted = staff_client.post(term_url(project="TF-CF-2025-01", school=""), data={"enrolment": ["1"]})
    assert posted.status_code in (200, 404)
    assert count(app) == 0


def test_whole_term_page_with_a_bad_term_is_not_a_server_error(app, school, staff_client):
    # (routes_entry.whole_term used to do int() on the raw query string: ?term=abc was a 500.)
    first = min(school.values())
    for term in ["abc", "²", "9", ""]:
        response = staff_client.get(term_url(term=term))
        assert response.status_code in (200, 400), term
        posted = staff_client.post(term_url(term=term), data={"enrolment": [str(first)], "entered_on": "2025-09-15",
                                                              "batch_key": "b-t", f"amount-{first}": "45000"})
        assert posted.status_code in (200, 302, 400), term
    assert {r["term"] for r in rows(app)} <= {1}


def test_ticking_a_held_child_anyway_says_which_child_is_refused(app, school, staff_client):
    # (The refusal used to be kept only for a row the page no longer lists, so nobody saw which child.)
    code, first = sorted(school.items(), key=lambda item: item[1])[0]
    chosen = sorted(school.values())[:2]
    assert chosen[0] == first
    staff_client.post(term_url(), data={"enrolment": [str(chosen[0])], "entered_on": "2025-09-15",
                                        "batch_key": "b-a", f"amount-{chosen[0]}": "45000"})
    form = {"enrolment": [str(i) for i in chosen], "entered_on": "2025-09-15", "batch_key": "b-b"}
    form.update({f"amount-{i}": "45000" for i in chosen})
    response = staff_client.post(term_url(), data=form)
    assert any(code in m and "no longer open" in m for m in
               re.findall(r'<p class="flash flash-error"[^>]*>(.*?)</p>', text_of(response), re.S))
    assert count(app) == 1


def test_whole_term_batch_with_a_garbled_tick_is_not_a_server_error(app, school, staff_client):
    # ('²' passes str.isdigit() but int('²') raises: it used to be a 500.)
    for garbled in ["²", "99999999999999999999999", "-1", "abc"]:
        response = staff_client.post(term_url(), data={"enrolment": [garbled], "entered_on": "2025-09-15",
                                                       "batch_key": "b-c"})
        assert response.status_code in (200, 400), garbled
    assert count(app) == 0



def test_overlong_request_key_is_not_a_server_error(app, world, staff_client):
    first = entry(staff_client, world.mother, "medical", target="", request_key="k" * 100)
    assert first.status_code in (200, 302, 400)
    again = entry(staff_client, world.mother, "medical", target="", request_key="k" * 100)
    assert again.status_code in (200, 302, 400)
    assert count(app) <= 1
