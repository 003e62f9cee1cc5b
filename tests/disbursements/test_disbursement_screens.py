"""The disbursement screens as staff (of CD) and as a manager (of CD and CF); outside their countries, 404.

Lists, exports, one disbursement's page and its actions, the entry start
form, the managers' approval queues (grouped by project, with the balance)
and batch decisions. CSRF is off in testing, so forms are posted as plain
data. A refused action is a message on the page it redirects to, never a 500.
"""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests import factories
from tracker.disbursements import services
from tracker.extensions import db as _db
from tracker.models import AuditEvent, Disbursement, User

STAFF, MANAGER = "staff_client", "manager_client"
EXPORT_HEADER = ["reference", "project_code", "category", "mother_code", "child_code", "academic_year", "term",
                 "payee", "amount", "currency", "usd_amount", "status", "entered_on", "paid_on"]


@dataclass(frozen=True)
class World:
    """References by what they are; ids of the people."""

    paid: str  # CD-1 school fees, child CD-C-00001-1 term 1, entered 2025-09-15, paid 2025-09-20
    approved: str  # CD-1 medical for mother 1, entered 2025-03-01
    submitted: str  # CD-2 medical for mother 3, entered 2025-10-10
    rejected: str  # CD-1 school fees, child CD-C-00001-2 (2024-2025) term 2, entered 2025-05-05
    draft: str  # CD-1 iga for mother 1, entered 2025-04-04
    cf: str  # CF submitted, XAF
    ss: str  # SS submitted, outside every signed-in user's countries
    mother: str
    child: str
    second_child: str
    enrolment: int
    second_enrolment: int
    other_enrolment: int
    enterer: int
    other_manager: int


def _enter(project, mother, user, entered_on, *, category="medical", amount="30000", currency="CDF", **extra):
    return services.enter(project=project, category=category, beneficiary=mother, payee="Centre Kavumu",
                          amount=amount, currency=currency, entered_on=entered_on, user=user, **extra)


@pytest.fixture
def world(app, staff_client, manager_client) -> World:
    with app.test_request_context():
        manager = _db.session.scalars(select(User).where(User.email == "manager@example.org")).one()
        with factories.one_commit():
            enterer = factories.UserFactory(role="staff", countries=["CD", "CF", "SS"], name="Enterer")
            other_manager = factories.UserFactory(role="manager", countries=["CD", "CF", "SS"])
            cd1 = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
            cd2 = factories.ProjectFactory(code="TF-CD-2025-02", country="CD")
            cf = factories.ProjectFactory(code="TF-CF-2025-01", country="CF")
            ss = factories.ProjectFactory(code="TF-SS-2025-01", country="SS")
            mother = factories.BeneficiaryFactory(project=cd1, number=1)
            child = factories.ChildFactory(mother=mother, number=1)
            second = factories.ChildFactory(mother=mother, number=2)
            enrolment = factories.EnrolmentFactory(child=child, academic_year="2025-2026", terms=3)
            second_enrolment = factories.EnrolmentFactory(child=second, academic_year="2024-2025", terms=2,
                                                          fee_per_term=Decimal("30000.00"))
            mother2 = factories.BeneficiaryFactory(project=cd1, number=2)
            other_enrolment = factories.EnrolmentFactory(child=factories.ChildFactory(mother=mother2),
                                                         academic_year="2025-2026")
            mother3 = factories.BeneficiaryFactory(project=cd2, number=3)
            cf_mother = factories.BeneficiaryFactory(project=cf, number=1)
            ss_mother = factories.BeneficiaryFactory(project=ss, number=1)
            income = factories.IncomeProjectFactory(beneficiary=mother, reference="IGA-CD-0001")
            factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1),
                                          usd_per_unit=Decimal("0.00035000"))
            factories.ExchangeRateFactory(currency="XAF", valid_from=dt.date(2025, 1, 1),
                                          usd_per_unit=Decimal("0.00170000"))
        paid = _enter(cd1, mother, enterer, dt.date(2025, 9, 15), category="school_fees", amount="45000",
                      child=child, enrolment=enrolment, term=1, reference="DB-CD-000101")
        approved = _enter(cd1, mother, enterer, dt.date(2025, 3, 1), reference="DB-CD-000102")
        submitted = _enter(cd2, mother3, enterer, dt.date(2025, 10, 10), reference="DB-CD-000103")
        rejected = _enter(cd1, mother, enterer, dt.date(2025, 5, 5), category="school_fees", child=second,
                          enrolment=second_enrolment, term=2, reference="DB-CD-000104")
        draft = _enter(cd1, mother, enterer, dt.date(2025, 4, 4), category="iga", income_project=income,
                       submit_now=False, reference="DB-CD-000105")
        cf_one = _enter(cf, cf_mother, enterer, dt.date(2025, 9, 1), amount="25000", currency="XAF",
                        reference="DB-CF-000101")
        ss_one = _enter(ss, ss_mother, enterer, dt.date(2025, 9, 1), amount="100", currency="USD",
                        reference="DB-SS-000101")
        services.approve(disbursement=paid, user=manager)
        services.pay(disbursement=paid, user=manager, paid_on=dt.date(2025, 9, 20), payment_reference="BANK-1")
        services.approve(disbursement=approved, user=manager)
        services.reject(disbursement=rejected, user=manager, reason="wrong fee")
        _db.session.commit()
        return World(paid.reference, approved.reference, submitted.reference, rejected.reference, draft.reference,
                     cf_one.reference, ss_one.reference, mother.code, child.code, second.code, enrolment.id,
                     second_enrolment.id, other_enrolment.id, enterer.id, other_manager.id)


def refs(response) -> list[str]:
    return re.findall(r'href="/disbursements/(DB-[A-Z]{2}-(?:\d{4}-)?\d{6})"', response.get_data(as_text=True))


def text_of(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def flashes(response) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="flash flash-\w+"[^>]*>(.*?)</p>',
                                                 response.get_data(as_text=True), re.S)]


def stored(app, reference: str) -> dict:
    with app.app_context():
        table = Disbursement.__table__
        return dict(_db.session.execute(select(table).where(table.c.reference == reference)).mappings().one())


def audit_count(app) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.entity == "disbursements"))


# --- who sees what ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who, seen, unseen", [
    (STAFF, {"paid", "approved", "submitted", "rejected", "draft"}, {"cf", "ss"}),
    (MANAGER, {"paid", "approved", "submitted", "rejected", "draft", "cf"}, {"ss"}),
])
def test_list_shows_the_disbursements_of_their_countries_only(request, world, who, seen, unseen):
    client = request.getfixturevalue(who)
    response = client.get("/disbursements/")
    assert response.status_code == 200
    assert set(refs(response)) == {getattr(world, name) for name in seen}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("who, inside, outside", [(STAFF, "paid", "cf"), (MANAGER, "cf", "ss")])
def test_one_disbursement_page_inside_their_countries_and_404_outside(request, world, who, inside, outside):
    client = request.getfixturevalue(who)
    page = client.get(f"/disbursements/{getattr(world, inside)}")
    assert page.status_code == 200
    assert getattr(world, inside) in page.get_data(as_text=True)
    assert client.get(f"/disbursements/{getattr(world, outside)}").status_code == 404
    assert client.get("/disbursements/DB-CD-999999").status_code == 404


def test_paid_disbursement_page_shows_the_frozen_usd_value_and_its_history(world, staff_client):
    body = text_of(staff_client.get(f"/disbursements/{world.paid}"))
    assert "$15.75" in body and "0.00035" in body  # 45,000 CDF × 0.00035
    assert "BANK-1" in body
    history = re.search(r'<ol class="steps">(.*?)</ol>', body, re.S).group(1)
    assert len(re.findall(r"<li>", history)) == 4  # entered, submitted, approved, paid


@pytest.mark.parametrize("who, outside", [(STAFF, "cf"), (MANAGER, "ss")])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_hold_the_disbursements_of_their_countries(request, world, who, outside, fmt):
    client = request.getfixturevalue(who)
    response = client.get(f"/disbursements/export.{fmt}")
    assert response.status_code == 200
    if fmt == "csv":
        table = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    else:
        sheet = load_workbook(io.BytesIO(response.data), read_only=True).worksheets[0]
        table = [["" if c is None else str(c) for c in r] for r in sheet.iter_rows(values_only=True)]
    assert table[0] == EXPORT_HEADER
    by_ref = {r[0]: dict(zip(EXPORT_HEADER, r)) for r in table[1:]}
    assert getattr(world, outside) not in by_ref
    assert world.paid in by_ref
    paid = by_ref[world.paid]
    assert (paid["project_code"], paid["category"], paid["mother_code"], paid["child_code"], paid["academic_year"],
            paid["term"], paid["currency"], paid["status"], paid["entered_on"][:10], paid["paid_on"][:10]) == \
        ("TF-CD-2025-01", "school_fees", world.mother, world.child, "2025-2026", "1", "CDF", "paid", "2025-09-15",
         "2025-09-20")
    assert Decimal(paid["amount"]) == Decimal("45000") and Decimal(paid["usd_amount"]) == Decimal("15.75")


def test_export_follows_the_list_filters(world, manager_client):
    response = manager_client.get("/disbursements/export.csv?status=submitted")
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert {r[0] for r in table[1:]} == {world.submitted, world.cf}


def test_unknown_export_format_is_not_found(world, staff_client):
    assert staff_client.get("/disbursements/export.pdf").status_code == 404


LIST_FILTERS = [
    ("project=TF-CD-2025-02", {"submitted"}),
    ("category=school_fees", {"paid", "rejected"}),
    ("category=iga", {"draft"}),
    ("status=approved", {"approved"}),
    ("status=rejected", {"rejected"}),
    ("date_from=2025-05-01&date_to=2025-09-15", {"paid", "rejected"}),
    ("date_from=2025-09-16", {"submitted"}),
    ("date_to=2025-03-01", {"approved"}),
    ("child={child}", {"paid"}),
    ("child={second_child}", {"rejected"}),
    ("mother={mother}", {"paid", "approved", "rejected", "draft"}),
    ("mother={mother}&category=medical", {"approved"}),
    ("project=TF-CD-2025-01&status=paid", {"paid"}),
    ("status=nonsense", {"paid", "approved", "submitted", "rejected", "draft"}),
    ("date_from=not-a-date", {"paid", "approved", "submitted", "rejected", "draft"}),
]


def test_list_filters_by_project_category_state_dates_child_and_mother(world, staff_client):
    for query, expected in LIST_FILTERS:
        query = query.format(child=world.child, second_child=world.second_child, mother=world.mother)
        response = staff_client.get(f"/disbursements/?{query}")
        assert response.status_code == 200, query
        assert set(refs(response)) == {getattr(world, name) for name in expected}, query


# --- entry start form ------------------------------------------------------------------------------------------------

def test_entry_start_form_is_shown(world, staff_client):
    response = staff_client.get("/disbursements/new")
    assert response.status_code == 200
    assert 'name="mother"' in response.get_data(as_text=True)


def options_of(response, name: str) -> list[str]:
    select_ = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', response.get_data(as_text=True), re.S)
    return re.findall(r'value="([^"]*)"', select_.group(1))


@pytest.mark.parametrize("who", [STAFF, MANAGER])
def test_school_fee_form_offers_only_that_mothers_unpaid_terms(request, world, who):
    client = request.getfixturevalue(who)
    response = client.get(f"/disbursements/new?mother={world.mother}&category=school_fees")
    assert response.status_code == 200
    # 2025-2026 terms 2 and 3 of her first child (term 1 is paid); 2024-2025 terms 1 and 2 of her second child
    # (term 2's payment was rejected, so it is open again). Nothing of another mother's child.
    assert options_of(response, "target") == [f"{world.enrolment}:2", f"{world.enrolment}:3",
                                              f"{world.second_enrolment}:1", f"{world.second_enrolment}:2"]


def test_top_up_form_offers_only_the_terms_already_held(world, staff_client):
    response = staff_client.get(f"/disbursements/new?mother={world.mother}&category=school_fees&top_up=1")
    assert options_of(response, "target") == [f"{world.enrolment}:1"]


def test_entry_form_for_a_mother_outside_their_countries_is_not_found(app, world, staff_client):
    with app.app_context():
        code = _db.session.scalar(select(Disbursement).where(Disbursement.reference == world.cf)).beneficiary.code
    assert staff_client.get(f"/disbursements/new?mother={code}&category=medical").status_code == 404
    assert staff_client.get("/disbursements/new?mother=CD-M-99999&category=medical").status_code == 404


# --- actions on one disbursement -------------------------------------------------------------------------------------

def test_staff_submits_a_draft(app, world, staff_client):
    response = staff_client.post(f"/disbursements/{world.draft}/submit")
    assert response.status_code == 302
    assert stored(app, world.draft)["status"] == "submitted"


def test_manager_approves_rejects_pays_and_voids(app, world, manager_client):
    assert manager_client.post(f"/disbursements/{world.submitted}/approve").status_code == 302
    assert stored(app, world.submitted)["status"] == "approved"
    assert stored(app, world.submitted)["usd_amount"] == Decimal("10.50")  # 30,000 CDF × 0.00035

    assert manager_client.post(f"/disbursements/{world.cf}/reject", data={"reason": "duplicate"}).status_code == 302
    assert (stored(app, world.cf)["status"], stored(app, world.cf)["rejection_reason"]) == ("rejected", "duplicate")

    response = manager_client.post(f"/disbursements/{world.approved}/pay",
                                   data={"paid_on": "2025-03-10", "payment_reference": "CASH-7"})
    assert response.status_code == 302
    row = stored(app, world.approved)
    assert (row["status"], row["paid_on"], row["payment_reference"]) == ("paid", dt.date(2025, 3, 10), "CASH-7")

    assert manager_client.post(f"/disbursements/{world.paid}/void", data={"reason": "bounced"}).status_code == 302
    assert (stored(app, world.paid)["status"], stored(app, world.paid)["void_reason"]) == ("voided", "bounced")


def test_staff_cannot_decide_pay_or_void(app, world, staff_client):
    for action, reference, data in [
        ("approve", "submitted", {}),
        ("reject", "submitted", {"reason": "no"}),
        ("pay", "approved", {"paid_on": "2025-03-10", "payment_reference": "X-1"}),
        ("void", "paid", {"reason": "no"}),
    ]:
        ref = getattr(world, reference)
        before = stored(app, ref)
        assert staff_client.post(f"/disbursements/{ref}/{action}", data=data).status_code == 403, action
        assert stored(app, ref) == before


def test_actions_outside_their_countries_are_not_found(request, app, world):
    for who, action, reference, data in [
        (STAFF, "submit", "cf", {}),
        (MANAGER, "approve", "ss", {}),
        (MANAGER, "reject", "ss", {"reason": "no"}),
        (MANAGER, "pay", "ss", {"paid_on": "2025-09-10", "payment_reference": "X-1"}),
        (MANAGER, "void", "ss", {"reason": "no"}),
    ]:
        client = request.getfixturevalue(who)
        ref = getattr(world, reference)
        before = stored(app, ref)
        assert client.post(f"/disbursements/{ref}/{action}", data=data).status_code == 404, (who, action)
        assert stored(app, ref) == before


def _refused(app, client, reference, action, data, *words):
    ref = reference
    before, events = stored(app, ref), audit_count(app)
    response = client.post(f"/disbursements/{ref}/{action}", data=data, follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == f"/disbursements/{ref}"
    messages = " ".join(flashes(response))
    for word in words:
        assert word in messages, (word, messages)
    assert stored(app, ref) == before and audit_count(app) == events


def test_manager_cannot_approve_their_own_entry(app, world, manager_client):
    with app.test_request_context():
        manager = _db.session.scalars(select(User).where(User.email == "manager@example.org")).one()
        submitted = _db.session.scalar(select(Disbursement).where(Disbursement.reference == world.submitted))
        mine = _enter(submitted.project, submitted.beneficiary, manager, dt.date(2025, 10, 11))
        _db.session.commit()
        ref = mine.reference
    page = manager_client.get(f"/disbursements/{ref}")
    assert "another manager must approve it" in text_of(page)
    assert f'action="/disbursements/{ref}/approve"' not in page.get_data(as_text=True)
    _refused(app, manager_client, ref, "approve", {}, "entered by you")


REFUSED_ACTIONS = [
    ("submitted", "pay", {"paid_on": "2025-10-11", "payment_reference": "B-2"}, ("cannot be paid",)),
    ("approved", "pay", {"paid_on": "2099-01-01", "payment_reference": "B-2"}, ("in the future",)),
    ("approved", "pay", {"paid_on": "2025-03-10", "payment_reference": ""}, ("payment reference",)),
    ("approved", "pay", {"paid_on": "", "payment_reference": "B-2"}, ("date paid",)),
    ("approved", "pay", {"paid_on": "2025-03-10", "payment_reference": "BANK-1"}, ("BANK-1", "already")),
    ("approved", "pay", {"paid_on": "2025-02-28", "payment_reference": "B-2"}, ("2025-03-01",)),
    ("paid", "void", {"reason": ""}, ("Say why",)),
    ("submitted", "void", {"reason": "x"}, ("cannot be voided",)),
    ("submitted", "reject", {"reason": ""}, ("Say why",)),
    ("rejected", "approve", {}, ("cannot be approved",)),
    ("paid", "approve", {}, ("cannot be approved",)),
    ("submitted", "submit", {}, ("cannot be submitted",)),
]


def test_refused_actions_say_why_and_change_nothing(app, world, manager_client):
    for reference, action, data, words in REFUSED_ACTIONS:
        _refused(app, manager_client, getattr(world, reference), action, data, *words)


def test_approval_without_a_rate_names_the_currency_and_date_and_changes_nothing(app, world, manager_client):
    with app.test_request_context():
        enterer = _db.session.get(User, world.enterer)
        submitted = _db.session.scalar(select(Disbursement).where(Disbursement.reference == world.submitted))
        _enter(submitted.project, submitted.beneficiary, enterer, dt.date(2025, 10, 12), amount="80",
                       currency="EUR", reference="DB-CD-000401")
        _db.session.commit()
    _refused(app, manager_client, "DB-CD-000401", "approve", {}, "no exchange rate for EUR on 2025-10-12")
    assert stored(app, "DB-CD-000401")["usd_amount"] is None


def test_payment_reference_of_another_project_is_accepted(app, world, manager_client):
    manager_client.post(f"/disbursements/{world.submitted}/approve")
    response = manager_client.post(f"/disbursements/{world.submitted}/pay",
                                   data={"paid_on": "2025-10-12", "payment_reference": "BANK-1"})
    assert response.status_code == 302
    assert stored(app, world.submitted)["payment_reference"] == "BANK-1"


# --- the approval queues ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/approvals/", "/approvals/to-pay"])
def test_approval_queues_are_for_managers_only(world, staff_client, manager_client, url):
    assert staff_client.get(url).status_code == 403
    assert manager_client.get(url).status_code == 200


@pytest.mark.parametrize("url", ["/approvals/decide", "/approvals/pay"])
def test_staff_cannot_post_batch_decisions(app, world, staff_client, url):
    before = stored(app, world.submitted)
    assert staff_client.post(url, data={"id": ["1"], "decision": "approve"}).status_code == 403
    assert stored(app, world.submitted) == before


def test_donors_get_not_found(world, donor_client):
    for url in ["/disbursements/", "/disbursements/export.csv", "/disbursements/new", "/disbursements/term",
                f"/disbursements/{world.paid}", "/approvals/", "/approvals/to-pay"]:
        assert donor_client.get(url).status_code == 404, url


def queue_rows(response) -> dict[str, str]:
    """Each row of a queue page's table, by reference, in page order."""
    body = html.unescape(response.get_data(as_text=True))
    tbody = re.search(r'<table class="queue">.*?<tbody>(.*?)</tbody>', body, re.S).group(1)
    return {re.search(r"/disbursements/(DB-[A-Z]{2}-(?:\d{4}-)?\d{6})", tr).group(1): "<tr" + tr
            for tr in tbody.split("<tr")[1:]}


def balance_rows(response) -> dict[str, str]:
    """The queue page's table of projects (balance, payments, asked for), by project code."""
    body = html.unescape(response.get_data(as_text=True))
    tbody = re.search(r'<table class="queue-balances"[^>]*>.*?<tbody>(.*?)</tbody>', body, re.S).group(1)
    return {re.search(r"TF-[A-Z]{2}-\d{4}-\d{2}", tr).group(0): re.sub(r"\s+", " ", tr)
            for tr in tbody.split("<tr")[1:]}


def test_approvals_page_shows_each_projects_balance_and_running_total_oldest_first(app, world, manager_client):
    with app.test_request_context():
        manager = _db.session.scalars(select(User).where(User.email == "manager@example.org")).one()
        enterer = _db.session.get(User, world.enterer)
        paid = _db.session.scalar(select(Disbursement).where(Disbursement.reference == world.paid))
        cd1, mother = paid.project, paid.beneficiary
        cd2 = _db.session.scalar(select(Disbursement).where(Disbursement.reference == world.submitted)).project
        factories.AllocationFactory(project=cd1, amount_usd=Decimal("100.00"), allocated_on=dt.date(2025, 6, 1))
        factories.AllocationFactory(project=cd2, amount_usd=Decimal("500.00"), allocated_on=dt.date(2025, 6, 1))
        # A paid-then-voided payment no longer counts against the balance.
        voided = _enter(cd1, mother, enterer, dt.date(2025, 6, 2), amount="100000", reference="DB-CD-000106")
        services.approve(disbursement=voided, user=manager)
        services.pay(disbursement=voided, user=manager, paid_on=dt.date(2025, 6, 3), payment_reference="V-1")
        services.void(disbursement=voided, user=manager, reason="bounced")
        first = _enter(cd1, mother, enterer, dt.date(2025, 10, 1), amount="150000", reference="DB-CD-000107")
        second = _enter(cd1, mother, enterer, dt.date(2025, 10, 2), amount="90000", reference="DB-CD-000108")
        _db.session.commit()
        first, second = first.reference, second.reference
    page = manager_client.get("/approvals/")
    assert page.status_code == 200
    projects = balance_rows(page)
    assert list(projects) == ["TF-CD-2025-01", "TF-CD-2025-02", "TF-CF-2025-01"]
    # TF-CD-2025-01: allocated 100.00 − paid 15.75 (45,000 CDF × 0.00035) − committed 10.50 (the approved
    # 30,000 CDF) = 73.75; the voided and rejected ones do not count.
    # Asked for: 150,000 CDF → 52.50 (running 52.50), then 90,000 CDF → 31.50 (running 84.00 > 73.75).
    assert "$73.75" in projects["TF-CD-2025-01"] and '<td class="num loss">$84.00</td>' in projects["TF-CD-2025-01"]
    assert "more than the balance" in projects["TF-CD-2025-01"]
    # TF-CD-2025-02: allocated 500.00, nothing paid or committed; asked for 30,000 CDF → 10.50.
    assert "$500.00" in projects["TF-CD-2025-02"] and '<td class="num">$10.50</td>' in projects["TF-CD-2025-02"]
    assert "more than the balance" not in projects["TF-CD-2025-02"]
    # TF-CF-2025-01: no allocation: balance 0.00; 25,000 XAF × 0.0017 = 42.50 is over it.
    assert "$0.00" in projects["TF-CF-2025-01"] and "more than the balance" in projects["TF-CF-2025-01"]

    rows = queue_rows(page)
    # All submitted today: the order they joined the queue in.
    assert list(rows) == [world.submitted, world.cf, first, second]
    assert not rows[first].startswith('<tr class="over">') and "$52.50" in rows[first]
    assert rows[second].startswith('<tr class="over">') and "$31.50" in rows[second] and "$84.00" in rows[second]
    assert rows[world.cf].startswith('<tr class="over">') and "$42.50" in rows[world.cf]
    assert not rows[world.submitted].startswith('<tr class="over">')
    assert all("waiting 0 days" in row for row in rows.values())
    legend = re.search(r'<dl class="queue-legend".*?</dl>', text_of(page), re.S).group(0)
    assert "Tinted row" in legend and "would go over its balance" in legend


def test_approvals_page_lets_nobody_tick_their_own_entry(app, world, manager_client):
    with app.test_request_context():
        manager = _db.session.scalars(select(User).where(User.email == "manager@example.org")).one()
        submitted = _db.session.scalar(select(Disbursement).where(Disbursement.reference == world.submitted))
        mine = _enter(submitted.project, submitted.beneficiary, manager, dt.date(2025, 10, 11))
        _db.session.commit()
        mine_id, theirs_id = mine.id, submitted.id
    body = manager_client.get("/approvals/").get_data(as_text=True)
    assert f'name="id" value="{theirs_id}"' in body
    assert f'name="id" value="{mine_id}"' not in body


def test_to_pay_page_lists_the_approved_ones_with_their_usd_value(world, manager_client):
    page = manager_client.get("/approvals/to-pay")
    assert set(refs(page)) == {world.approved}
    assert "$10.50" in page.get_data(as_text=True)  # 30,000 CDF × 0.00035, frozen at approval


def _versions(response) -> dict[int, str]:
    return {int(i): v for i, v in re.findall(r'name="version-(\d+)" value="(\d+)"', response.get_data(as_text=True))}


def problems(response) -> list[tuple[str, str]]:
    """The error summary at the top of a queue page: (the input it links to, the message)."""
    box = re.search(r'<div class="queue-problems".*?</div>', response.get_data(as_text=True), re.S)
    return [(target, html.unescape(text)) for target, text in
            re.findall(r'<li><a href="#([\w-]+)">(.*?)</a></li>', box.group(0))] if box else []


def ticked_ids(response) -> set[int]:
    return {int(i) for i in re.findall(r'name="id" value="(\d+)" id="t-\d+" checked', response.get_data(as_text=True))}


def test_batch_approval_with_one_approved_meanwhile_saves_nothing_and_names_it(app, world, manager_client):
    with app.test_request_context():
        enterer = _db.session.get(User, world.enterer)
        submitted = _db.session.scalar(select(Disbursement).where(Disbursement.reference == world.submitted))
        extra = [_enter(submitted.project, submitted.beneficiary, enterer, dt.date(2025, 10, 12 + n),
                        reference=f"DB-CD-00020{n}") for n in range(2)]
        _db.session.commit()
        ids = {d.reference: d.id for d in [submitted, *extra]}
    page = manager_client.get("/approvals/")
    versions = _versions(page)
    taken = world.submitted
    with app.test_request_context():  # another manager approves one of them meanwhile
        d = _db.session.scalar(select(Disbursement).where(Disbursement.reference == taken))
        services.approve(disbursement=d, user=_db.session.get(User, world.other_manager))
        _db.session.commit()
    form = {"id": [str(i) for i in ids.values()], "decision": "approve"}
    form.update({f"version-{i}": versions[i] for i in ids.values()})
    response = manager_client.post("/approvals/decide", data=form)
    assert response.status_code == 422
    summary = problems(response)
    assert len(summary) == 1 and taken in summary[0][1] and "changed by someone else" in summary[0][1]
    # All or nothing: the other two stay submitted and stay ticked; the one taken meanwhile has left the queue.
    others = [r for r in ids if r != taken]
    assert [stored(app, r)["status"] for r in others] == ["submitted", "submitted"]
    assert ticked_ids(response) == {ids[r] for r in others}
    assert stored(app, taken)["approved_by_id"] == world.other_manager
    # Approved again, the two go through together.
    response = manager_client.post("/approvals/decide", data={"id": [str(ids[r]) for r in others],
                                                              "decision": "approve"}, follow_redirects=True)
    assert f"Approved: {', '.join(others)}." in flashes(response)
    with app.app_context():
        manager_id = _db.session.scalar(select(User.id).where(User.email == "manager@example.org"))
    for ref in others:
        assert (stored(app, ref)["status"], stored(app, ref)["approved_by_id"]) == ("approved", manager_id)


def test_batch_approval_without_versions_still_refuses_the_one_already_approved(app, world, manager_client):
    with app.app_context():
        ids = dict(_db.session.execute(select(Disbursement.reference, Disbursement.id).where(
            Disbursement.reference.in_([world.submitted, world.approved]))).all())
    response = manager_client.post("/approvals/decide", data={"id": [str(i) for i in ids.values()],
                                                              "decision": "approve"})
    assert response.status_code == 422
    assert [m for _, m in problems(response)] == [f"{world.approved} is approved; it cannot be approved"]
    assert stored(app, world.submitted)["status"] == "submitted"


def test_batch_rejection_needs_a_reason_and_keeps_the_ticks(app, world, manager_client):
    with app.app_context():
        submitted_id = _db.session.scalar(select(Disbursement.id).where(Disbursement.reference == world.submitted))
    response = manager_client.post("/approvals/decide", data={"id": [str(submitted_id)], "decision": "reject",
                                                              "reason": ""})
    assert response.status_code == 422
    assert problems(response) == [("reason", "Say why they are rejected.")]
    assert ticked_ids(response) == {submitted_id}
    assert stored(app, world.submitted)["status"] == "submitted"
    manager_client.post("/approvals/decide", data={"id": [str(submitted_id)], "decision": "reject",
                                                   "reason": "duplicate"})
    assert stored(app, world.submitted)["rejection_reason"] == "duplicate"


def test_batch_with_nothing_ticked_says_so(world, manager_client):
    for url, decision in (("/approvals/decide", "approve"), ("/approvals/pay", "pay")):
        response = manager_client.post(url, data={"decision": decision, "paid_on": "2025-10-01"})
        assert response.status_code == 422
        assert problems(response) == [("ticks", "Tick at least one payment.")]


def test_batch_decision_ignores_ids_outside_their_countries(app, world, manager_client):
    with app.app_context():
        ss_id = _db.session.scalar(select(Disbursement.id).where(Disbursement.reference == world.ss))
    response = manager_client.post("/approvals/decide", data={"id": [str(ss_id)], "decision": "approve"})
    assert response.status_code == 422
    assert problems(response) == [("ticks", "Tick at least one payment.")]
    assert stored(app, world.ss)["status"] == "submitted"


def test_batch_payment_with_a_reused_reference_pays_none_and_keeps_every_tick_and_reference(app, world,
                                                                                            manager_client):
    with app.test_request_context():
        enterer = _db.session.get(User, world.enterer)
        manager = _db.session.scalars(select(User).where(User.email == "manager@example.org")).one()
        approved = _db.session.scalar(select(Disbursement).where(Disbursement.reference == world.approved))
        another = _enter(approved.project, approved.beneficiary, enterer, dt.date(2025, 3, 2),
                         reference="DB-CD-000301")
        services.approve(disbursement=another, user=manager)
        _db.session.commit()
        ids = {world.approved: approved.id, another.reference: another.id}
    form = {"id": [str(i) for i in ids.values()], "paid_on": "2025-03-15", "decision": "pay",
            f"payref-{ids[world.approved]}": "CASH-9", f"payref-{ids['DB-CD-000301']}": "BANK-1"}
    response = manager_client.post("/approvals/pay", data=form)
    assert response.status_code == 422
    # BANK-1 already paid world.paid in the same project.
    assert problems(response) == [(f"pr-{ids['DB-CD-000301']}", f"DB-CD-000301: payment reference: BANK-1 is "
                                                                f"already the payment reference of {world.paid} "
                                                                f"in this project")]
    assert ticked_ids(response) == set(ids.values())
    body = response.get_data(as_text=True)
    assert f'name="payref-{ids[world.approved]}" maxlength="80" size="14" autocomplete="off" value="CASH-9"' in body
    assert 'value="BANK-1" aria-invalid="true"' in body and 'name="paid_on" value="2025-03-15"' in body
    assert (f'<p class="error" id="pr-{ids["DB-CD-000301"]}-error">BANK-1 is already the payment reference of '
            f'{world.paid} in this project</p>') in body
    assert [stored(app, r)["status"] for r in ids] == ["approved", "approved"]  # nothing half-saved
    form[f"payref-{ids['DB-CD-000301']}"] = "BANK-2"
    response = manager_client.post("/approvals/pay", data=form, follow_redirects=True)
    assert f"Paid: {world.approved}, DB-CD-000301." in flashes(response)
    assert [(stored(app, r)["status"], stored(app, r)["payment_reference"]) for r in ids] == \
        [("paid", "CASH-9"), ("paid", "BANK-2")]


def test_batch_payment_with_missing_references_names_each_payment_and_links_to_its_input(app, world,
                                                                                         manager_client):
    with app.test_request_context():
        enterer = _db.session.get(User, world.enterer)
        manager = _db.session.scalars(select(User).where(User.email == "manager@example.org")).one()
        approved = _db.session.scalar(select(Disbursement).where(Disbursement.reference == world.approved))
        another = _enter(approved.project, approved.beneficiary, enterer, dt.date(2025, 3, 2))
        services.approve(disbursement=another, user=manager)
        _db.session.commit()
        ids = {world.approved: approved.id, another.reference: another.id}
        new_ref = another.reference
    assert new_ref == "DB-CD-2025-000001"
    response = manager_client.post("/approvals/pay", data={
        "id": [str(i) for i in ids.values()], "paid_on": "2999-01-01", "decision": "pay",
        f"payref-{ids[world.approved]}": "CASH-9", f"payref-{ids[new_ref]}": "  "})
    assert response.status_code == 422
    assert problems(response) == [
        ("paid-on", "Paid on: is in the future"),
        (f"pr-{ids[new_ref]}", f"{new_ref}: enter the payment reference (the bank's or the school's receipt number)"),
    ]
    assert ticked_ids(response) == set(ids.values())
    body = html.unescape(response.get_data(as_text=True))
    assert 'value="CASH-9"' in body
    assert f'<p class="error" id="pr-{ids[new_ref]}-error">Enter the payment reference.</p>' in body
    assert '<p class="error" id="paid-on-error">is in the future</p>' in body
    assert [stored(app, r)["status"] for r in ids] == ["approved", "approved"]


def test_batch_with_a_garbled_id_is_not_a_server_error(app, world, manager_client):
    # ('²' passes str.isdigit() but int('²') raises; an id beyond the integer range broke the query: both were 500s.)
    before = stored(app, world.submitted)
    for url in ["/approvals/decide", "/approvals/pay"]:
        for garbled in ["²", "99999999999999999999999", "-1", "abc"]:
            for decision in ("approve", "pay", "select_all", "total"):
                response = manager_client.post(url, data={"id": [garbled], "decision": decision,
                                                          "paid_on": "2025-10-01"})
                assert response.status_code in (200, 400, 422), (url, garbled, decision)
    assert stored(app, world.submitted) == before


@pytest.mark.parametrize("url", ["/approvals/decide", "/approvals/pay"])
def test_batch_with_a_garbled_version_is_not_a_server_error(app, world, manager_client, url):
    with app.app_context():
        ids = {ref: _db.session.scalar(select(Disbursement.id).where(Disbursement.reference == ref))
               for ref in (world.submitted, world.approved)}
    ticked = ids[world.submitted] if url.endswith("decide") else ids[world.approved]
    response = manager_client.post(url, data={"id": [str(ticked)], f"version-{ticked}": "²", "decision": "approve",
                                              "paid_on": "2025-10-01", f"payref-{ticked}": "B-77"})
    assert response.status_code in (302, 400)
