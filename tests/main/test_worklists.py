"""The home pages' worklists: each count worked out by hand, and each link opening a list of exactly those rows.

Today is Tuesday 10 February 2026 throughout (the ``clock`` fixture): academic year 2025-2026, five whole months
after 1 September, so term 2 of a three-term enrolment (January-April), term 2 of a four-term one
(December-February), term 1 of a two-term one (September-February); last month is January 2026; a claim is
stalled when its current step is dated before 12 November 2025 (90 days before today).
"""
from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.factories import one_commit
from tracker.extensions import db
from tracker.models import AuditEvent, Donor, User

TODAY = dt.datetime(2026, 2, 10, 9, 30, tzinfo=dt.UTC)
_refs = itertools.count(1)


@pytest.fixture
def on_10_february_2026(clock):
    clock.now = TODAY
    return clock


@pytest.fixture
def staff(app, on_10_february_2026, staff_client):
    """The signed-in CD staff member's client and id, and another CD staff member's id."""
    with app.app_context():
        me = db.session.scalars(select(User).where(User.email == "staff.cd@example.org")).one().id
        other = factories.UserFactory(role="staff", countries=["CD"]).id
    return staff_client, me, other


def pay(enrolment, term, status, *, by, category="school_fees"):
    """A payment of ``enrolment``'s ``term`` in ``status`` (USD frozen where the state needs it)."""
    n = next(_refs)
    fields = dict(beneficiary=enrolment.child.mother, child=enrolment.child, enrolment=enrolment, term=term,
                  category=category, status=status, amount=D("10.00"), currency="USD", entered_by_id=by,
                  payee=enrolment.school)
    if status in ("approved", "paid"):
        fields.update(usd_amount=D("10.00"), usd_rate=D("1"))
    if status == "paid":
        fields.update(paid_on=dt.date(2026, 1, 20), payment_reference=f"PAY-{n:05d}")
    if status == "rejected":
        fields["rejection_reason"] = "no receipt"
    return factories.DisbursementFactory(**fields)


def count_on_home(html: str, task: str) -> int:
    found = re.search(rf'id="{task}-count" data-count="(\d+)"', html)
    assert found, f"no count for {task}"
    return int(found.group(1))


def link_on_home(html: str, task: str) -> str:
    found = re.search(rf'<a href="([^"]+)" aria-describedby="{task}-count', html)
    assert found, f"no link for {task}"
    return found.group(1).replace("&amp;", "&")


def codes(html: str, pattern: str) -> set[str]:
    return set(re.findall(pattern, html))


# --- the current term ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "terms", "expected"), [
    (dt.date(2025, 9, 1), 3, 1), (dt.date(2025, 12, 31), 3, 1), (dt.date(2026, 1, 1), 3, 2),
    (dt.date(2026, 4, 30), 3, 2), (dt.date(2026, 5, 1), 3, 3), (dt.date(2026, 8, 31), 3, 3),
    (dt.date(2025, 11, 30), 4, 1), (dt.date(2025, 12, 1), 4, 2), (dt.date(2026, 3, 1), 4, 3),
    (dt.date(2026, 6, 1), 4, 4), (dt.date(2026, 2, 28), 2, 1), (dt.date(2026, 3, 1), 2, 2),
    (dt.date(2026, 8, 31), 1, 1),
])
def test_the_current_term_splits_the_school_year_from_september_into_equal_parts(ctx, day, terms, expected):
    from tracker.main.worklists import current_term

    assert current_term(day, terms) == expected


def test_the_terms_months_are_named_for_the_page(rq):
    from tracker.main.worklists import term_months

    assert term_months(3) == [("September", "December"), ("January", "April"), ("May", "August")]
    assert term_months(4)[1] == ("December", "February")


# --- staff -----------------------------------------------------------------------------------------------------------

def test_children_whose_current_term_is_unpaid_are_counted_and_listed(app, staff):
    client, me, other = staff
    with app.app_context(), one_commit():
        cd = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        cf = factories.ProjectFactory(code="TF-CF-2025-01", country="CF")

        def enrol(project, number, terms=3, year="2025-2026", mother_status="active"):
            mother = factories.BeneficiaryFactory(project=project, number=number, status=mother_status,
                                                  **({"exit_reason": "moved", "exited_on": dt.date(2026, 1, 5)}
                                                     if mother_status == "exited" else {}))
            child = factories.ChildFactory(mother=mother)
            return factories.EnrolmentFactory(child=child, academic_year=year, terms=terms, currency="USD",
                                              fee_per_term=D("30.00"))

        e1 = enrol(cd, 1)                      # nothing paid: counted
        pay(enrol(cd, 2), 2, "paid", by=other)  # term 2 paid: not counted
        pay(enrol(cd, 3), 2, "submitted", by=other)  # term 2 asked for: not counted
        e4 = enrol(cd, 4)
        pay(e4, 1, "paid", by=other)
        pay(e4, 2, "draft", by=me)             # a draft is not a payment: counted
        e5 = enrol(cd, 5)
        pay(e5, 2, "rejected", by=other)       # rejected: counted
        pay(enrol(cd, 6, terms=2), 1, "approved", by=other)  # 2 terms: term 1 is current, approved: not counted
        e7 = enrol(cd, 7, terms=4)
        pay(e7, 3, "paid", by=other)           # 4 terms: term 2 is current and unpaid: counted
        enrol(cd, 8, year="2024-2025")         # last year's enrolment: not counted
        enrol(cd, 9, mother_status="exited")   # mother no longer in the project: not counted
        enrol(cf, 10)                          # another country: not counted
        expected = {e.child.code for e in (e1, e4, e5, e7)}
    assert expected == {"CD-C-00001-1", "CD-C-00004-1", "CD-C-00005-1", "CD-C-00007-1"}

    home = client.get("/").get_data(as_text=True)
    assert count_on_home(home, "unpaid") == 4
    assert "Today is in term 2 of a three-term year." in home
    listing = client.get(link_on_home(home, "unpaid"))
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert codes(page, r"[A-Z]{2}-C-\d{5}-\d") == expected
    assert "4 children" in page
    assert "2 of 4" in page and page.count("2 of 3") == 3  # the current term of each


def test_claims_with_no_step_for_90_days_are_counted_and_the_claims_list_filtered(app, staff):
    client, _me, _other = staff
    with app.app_context(), one_commit():
        def claim(number, status, status_on, country="CD"):
            project = factories.ProjectFactory(country=country)
            mother = factories.BeneficiaryFactory(project=project, number=number)
            child = factories.ChildFactory(mother=mother)
            factories.PaternityClaimFactory(child=child, status=status, status_on=status_on)
            return child.code

        k1 = claim(1, "received", dt.date(2025, 11, 11))              # 91 days: stalled
        claim(2, "received", dt.date(2025, 11, 12))                   # exactly 90 days: not yet
        k3 = claim(3, "notified_to_member_state", dt.date(2025, 6, 1))  # stalled
        claim(4, "withdrawn", dt.date(2025, 1, 1))                     # closed
        claim(5, "support_paid", dt.date(2025, 1, 1))                  # closed
        claim(6, "received", dt.date(2025, 1, 1), country="CF")        # another country
        claim(7, "dna_result_received", dt.date(2026, 1, 20))          # recent
    home = client.get("/").get_data(as_text=True)
    assert count_on_home(home, "stalled") == 2
    link = link_on_home(home, "stalled")
    assert link == "/claims/?stalled=1"
    page = client.get(link).get_data(as_text=True)
    assert codes(page, r"[A-Z]{2}-C-\d{5}-\d") == {k1, k3}
    assert "no step for more than 90 days" in page


def test_the_stalled_days_follow_the_setting(app, staff):
    client, _me, _other = staff
    app.config["CLAIM_STALLED_DAYS"] = 30
    with app.app_context():
        child = factories.ChildFactory()
        factories.PaternityClaimFactory(child=child, status="received", status_on=dt.date(2026, 1, 10))  # 31 days
    home = client.get("/").get_data(as_text=True)
    assert count_on_home(home, "stalled") == 1
    assert "Paternity claims with no step for 30 days" in home


def test_income_reports_due_are_counted_and_the_income_list_filtered(app, staff):
    client, _me, _other = staff
    with app.app_context(), one_commit():
        def activity(status, started_on, months=(), country="CD"):
            mother = factories.BeneficiaryFactory(project=factories.ProjectFactory(country=country))
            project = factories.IncomeProjectFactory(beneficiary=mother, status=status, started_on=started_on)
            for month in months:
                factories.IncomeReportFactory(income_project=project, month=month)
            return project.reference

        i1 = activity("active", dt.date(2025, 6, 1), [dt.date(2025, 12, 1)])  # January missing: due
        activity("active", dt.date(2025, 6, 1), [dt.date(2026, 1, 1)])         # January reported
        i3 = activity("struggling", dt.date(2025, 10, 1))                       # still running, nothing: due
        activity("active", dt.date(2026, 2, 1))                                 # started this month
        activity("planned", dt.date(2025, 6, 1))                                # not started
        activity("closed_failed", dt.date(2025, 6, 1))                          # closed
        activity("active", dt.date(2025, 6, 1), country="CF")                   # another country
        i8 = activity("active", dt.date(2026, 1, 15))                           # ran part of January: due
    home = client.get("/").get_data(as_text=True)
    assert count_on_home(home, "reports") == 3
    assert "no report for January 2026" in home
    link = link_on_home(home, "reports")
    assert link == "/income/?report_due=1"
    page = client.get(link).get_data(as_text=True)
    assert codes(page, r"IGA-TEST-\d{5}") == {i1, i3, i8}


def test_my_drafts_and_rejected_payments_are_counted_and_the_list_filtered(app, staff):
    client, me, other = staff
    with app.app_context(), one_commit():
        cd = factories.BeneficiaryFactory(project=factories.ProjectFactory(country="CD"))
        cf = factories.BeneficiaryFactory(project=factories.ProjectFactory(country="CF"))

        def payment(status, by, mother=cd):
            extra = {"rejection_reason": "no receipt"} if status == "rejected" else {}
            return factories.DisbursementFactory(beneficiary=mother, status=status, entered_by_id=by,
                                                 **extra).reference

        d1, d2 = payment("draft", me), payment("draft", me)
        payment("draft", other)
        r1 = payment("rejected", me)
        payment("submitted", me)
        payment("rejected", other)
        payment("draft", me, mother=cf)  # outside the staff member's countries
    home = client.get("/").get_data(as_text=True)
    assert count_on_home(home, "drafts") == 2
    assert count_on_home(home, "rejected") == 1
    assert link_on_home(home, "drafts") == "/disbursements/?mine=drafts"
    drafts = client.get(link_on_home(home, "drafts")).get_data(as_text=True)
    assert codes(drafts, r"D-TEST-\d{5}") == {d1, d2}
    rejected = client.get(link_on_home(home, "rejected")).get_data(as_text=True)
    assert codes(rejected, r"D-TEST-\d{5}") == {r1}


def test_nothing_to_do_shows_none_and_no_link(staff):
    client, _me, _other = staff
    home = client.get("/").get_data(as_text=True)
    for task in ("unpaid", "stalled", "reports", "drafts", "rejected"):
        assert count_on_home(home, task) == 0
        assert f'aria-describedby="{task}-count' not in home
    assert "Where to go" not in home  # the navigation is not repeated


# --- managers --------------------------------------------------------------------------------------------------------

def test_manager_home_figures_by_hand(app, on_10_february_2026, manager_client):
    """Default period 1 January-10 February 2026; burn window November 2025-January 2026.

    A (CD): 1,000 allocated, 1,300 paid: balance -300, over-committed by $300; a child at 100/term at risk
      (balance <= 0): it costs 100 - (-300) = 400.
    B (CD): 3,000 allocated, 2,400 paid on 15 December: burn 800, balance 600, runway 600/800 = 0.75 -> 0.8 months;
      two children at 400/term: 400 <= 600 fits, 800 > 600: one at risk, cost 800 - 600 = 200.
    C (CF): 10,000 allocated, 300 paid on 10 January: burn 100, runway 97.0: fine.
    D (CD): 500 allocated, nothing paid: no runway figure, fine.
    E (SS): outside the manager's countries, over-committed: not shown.
    Children at risk: 2, for $600. Waiting: two submitted in CD (entered 1 January and 1 February), one in SS.
    """
    with app.app_context(), one_commit():
        clerk = factories.UserFactory(role="staff").id
        n = itertools.count(1)

        def project(code, country, allocated):
            p = factories.ProjectFactory(code=code, country=country)
            factories.AllocationFactory(project=p, amount_usd=D(allocated), allocated_on=dt.date(2025, 6, 1))
            return p

        def paid(p, usd, on):
            m = factories.BeneficiaryFactory(project=p)
            factories.DisbursementFactory(beneficiary=m, status="paid", amount=D(usd), currency="USD",
                                          usd_amount=D(usd), usd_rate=D("1"), paid_on=on,
                                          payment_reference=f"PAY-{next(n)}", entered_by_id=clerk)

        def child(p, fee):
            m = factories.BeneficiaryFactory(project=p)
            factories.EnrolmentFactory(child=factories.ChildFactory(mother=m), fee_per_term=D(fee), currency="USD")

        a, b = project("TF-CD-2025-0A", "CD", "1000.00"), project("TF-CD-2025-0B", "CD", "3000.00")
        c, d = project("TF-CF-2025-0C", "CF", "10000.00"), project("TF-CD-2025-0D", "CD", "500.00")
        e = project("TF-SS-2025-0E", "SS", "100.00")
        paid(a, "1300.00", dt.date(2025, 12, 1))
        paid(b, "2400.00", dt.date(2025, 12, 15))
        paid(c, "300.00", dt.date(2026, 1, 10))
        paid(e, "500.00", dt.date(2025, 12, 1))
        child(a, "100.00")
        child(b, "400.00")
        child(b, "400.00")
        assert d.code
        for p, entered in ((a, dt.date(2026, 1, 1)), (b, dt.date(2026, 2, 1)), (e, dt.date(2025, 1, 1))):
            factories.DisbursementFactory(beneficiary=factories.BeneficiaryFactory(project=p), status="submitted",
                                          entered_on=entered, reference=f"DB-{p.country}-W{next(n)}",
                                          entered_by_id=clerk)
    response = manager_client.get("/")
    assert response.status_code == 200  # the home itself, no longer a redirect to the review
    html = response.get_data(as_text=True)
    assert count_on_home(html, "waiting") == 2
    assert re.search(r"The oldest, DB-CD-W\d+, was entered 40 days ago\.", html)
    assert count_on_home(html, "over") == 1
    assert re.search(r'href="/projects/TF-CD-2025-0A">TF-CD-2025-0A</a> over-committed by \$300', html)
    assert "TF-SS-2025-0E" not in html
    assert count_on_home(html, "runway") == 1
    assert re.search(r'href="/projects/TF-CD-2025-0B">TF-CD-2025-0B</a> 0\.8 months', html)
    assert "TF-CF-2025-0C" not in html and "TF-CD-2025-0D" not in html
    assert count_on_home(html, "risk") == 2
    assert "$600 more would keep them all in school." in html
    assert link_on_home(html, "waiting") == "/approvals/"
    assert link_on_home(html, "risk") == "/review/?sort=at_risk#risk-h"
    assert 'href="/review/"' in html
    assert "Children at risk of missing next term&#39;s fees" not in html  # the review's own section is not here


# --- donors ----------------------------------------------------------------------------------------------------------

def test_donor_home_suppresses_small_counts_and_links_each_pdf(app, on_10_february_2026, donor_client):
    """The whole Fund: need $1,234.56 of 2026 -> "$1,235"; nothing allocated, so each of the four children is at
    risk ("<10", never "4"), for 4 x $25 = $100 less a balance of 0."""
    with app.app_context(), one_commit():
        norway = db.session.scalars(select(Donor).where(Donor.name == "Kingdom of Norway")).one()
        p = factories.ProjectFactory(code="TF-CD-2026-01", country="CD")
        factories.BudgetLineFactory(project=p, year=2026, amount_usd=D("1234.56"))
        for _ in range(4):
            mother = factories.BeneficiaryFactory(project=p)
            factories.EnrolmentFactory(child=factories.ChildFactory(mother=mother), fee_per_term=D("25.00"),
                                       currency="USD")
        factories.IssuedReportFactory(number="TF-2026-0001", donor=norway)
        factories.IssuedReportFactory(number="TF-2026-0002", donor=norway, status="rendering")
        factories.IssuedReportFactory(number="TF-2026-0003", donor=factories.DonorFactory(name="Elsewhere"))
        factories.IssuedReportFactory(number="TF-2026-0004", donor=None)  # for every donor
    html = donor_client.get("/").get_data(as_text=True)
    assert "$1,235" in html and "$1,234.56" not in html
    assert re.search(r"data-children-at-risk>&lt;10 <small>\$100 keeps them in school", html)
    assert not re.search(r"data-children-at-risk>4\b", html)
    assert "CD-C-" not in html and "CD-M-" not in html
    assert 'href="/reports/TF-2026-0001/pdf"' in html
    assert 'href="/reports/TF-2026-0004/pdf"' in html
    assert "TF-2026-0002" not in html  # not issued yet
    assert "TF-2026-0003" not in html  # another donor's
    pdf = donor_client.get("/reports/TF-2026-0001/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"


def test_donor_home_shows_a_count_of_ten_or_more(app, on_10_february_2026, donor_client):
    with app.app_context(), one_commit():
        p = factories.ProjectFactory(country="CD")
        for _ in range(12):
            mother = factories.BeneficiaryFactory(project=p)
            factories.EnrolmentFactory(child=factories.ChildFactory(mother=mother), fee_per_term=D("25.00"),
                                       currency="USD")
    html = donor_client.get("/").get_data(as_text=True)
    assert "data-children-at-risk>12 " in html


# --- administrators --------------------------------------------------------------------------------------------------

def test_admin_home_counts_users_and_links_the_admin_pages(app, on_10_february_2026, admin_client):
    with app.app_context(), one_commit():
        factories.UserFactory(role="staff")
        factories.UserFactory(role="staff", active=False)
        factories.UserFactory(role="manager", locked_until=TODAY + dt.timedelta(minutes=10))
        factories.UserFactory(role="manager", totp_secret="JBSWY3DPEHPK3PXP", totp_enabled_at=TODAY)
        db.session.add(AuditEvent(action="sign_in", at=TODAY - dt.timedelta(days=8)))  # before the week
    with app.app_context():
        # Every other event (the sign-ins, the users made) was written in the last 7 days.
        in_week = db.session.scalar(select(func.count(AuditEvent.id))) - 1
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = ("manager",)
    html = admin_client.get("/").get_data(as_text=True)
    # Active: the admin, one staff member and the two managers; of the managers (the only role that must have a
    # second factor here), the locked one has none.
    assert count_on_home(html, "users") == 4
    assert count_on_home(html, "locked") == 1
    assert count_on_home(html, "no2fa") == 1
    assert link_on_home(html, "users") == "/admin/users/"
    assert count_on_home(html, "audit") == in_week
    assert link_on_home(html, "audit") == "/admin/audit/"
