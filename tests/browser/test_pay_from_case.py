"""Acting from the case (issue 18), in headless Chromium: paying a term from the mother's page, and withdrawing a
payment to correct it and submit it again, approved then by a manager who did not enter it.

Every page reached is screenshotted, audited by axe-core, checked for <script> elements and weighed
(tests/browser/conftest.py).
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pyotp
import pytest

from tests import factories
from tests.browser.conftest import SKIP_REASON
from tests.browser.test_journeys import academic_year, sign_in
from tracker.extensions import db
from tracker.models.base import today

pytestmark = [pytest.mark.browser, pytest.mark.skipif(SKIP_REASON is not None, reason=f"{SKIP_REASON}")]

if SKIP_REASON is None:
    from playwright.sync_api import expect
else:  # pragma: no cover - the tests are skipped
    expect = None

MOTHER, CHILD = "CD-M-00001", "CD-C-00001-1"


@pytest.fixture
def case(live_server):
    """A CD project; mother CD-M-00001 with CD-C-00001-1 enrolled this year at EP Mapendo, 3 terms of 25.00 USD;
    a staff member and a manager with a second factor."""
    app = live_server.app
    year = academic_year(today())
    with app.app_context():
        project = factories.ProjectFactory(code="TF-CD-2026-01", country="CD",
                                           start_date=dt.date(today().year, 1, 1),
                                           end_date=dt.date(today().year + 2, 12, 31))
        mother = factories.BeneficiaryFactory(project=project, number=1, name="Amani Case", children_seq=1)
        child = factories.ChildFactory(mother=mother, number=1, first_name="Neema")
        factories.EnrolmentFactory(child=child, school="EP Mapendo", academic_year=year, grade="P2",
                                   fee_per_term=Decimal("25.00"), currency="USD", terms=3)
        factories.UserFactory(role="staff", email="staff@example.org", name="Staff Member", countries=["CD"])
        manager = factories.UserFactory(role="manager", email="manager@example.org", name="Manager One",
                                        countries=["CD"])
        totp = pyotp.random_base32()
        manager.totp_secret = totp
        manager.totp_enabled_at = dt.datetime.now(dt.UTC)
        db.session.commit()
        db.session.remove()
    return {"year": year, "totp": totp}


def pay_term_two_from_her_page(v, case) -> str:
    """From the mother's page, the badge of term 2 to the pre-filled form, saved; returns the payment's reference."""
    page = v.page
    v.goto(f"/mothers/{MOTHER}", "her page")
    terms = page.locator("ul.terms")
    expect(terms.get_by_role("link")).to_have_count(3)  # no term is asked for yet: each one is a link
    page.get_by_role("link", name=re.compile(rf"^Term 2: Not asked for .*enter the payment for {CHILD}")).click()
    v.check("the pre-filled payment form")
    assert "Carol" not in page.url and "Neema" not in page.url and "Amani" not in page.url
    expect(page.get_by_label("For")).to_have_value(re.compile(r"^\d+:2$"))
    expect(page.get_by_label("For").locator("option:checked")).to_have_text(f"{CHILD} · {case['year']} · 2")
    expect(page.get_by_label("Payee (school, supplier, provider)")).to_have_value("EP Mapendo")
    expect(page.get_by_label("Amount")).to_have_value("25.00")
    expect(page.get_by_label("Currency")).to_have_value("USD")
    page.get_by_role("button", name="Enter the payment").click()
    v.check("the payment entered")
    heading = page.get_by_role("heading", level=1)
    reference = heading.inner_text().split()[0]
    assert re.fullmatch(r"DB-CD-[0-9-]+", reference), reference
    expect(page.get_by_role("status").filter(has_text=f"{reference} is entered.")).to_be_visible()
    return reference


def test_staff_pays_a_term_from_the_mothers_page_then_enters_another_and_goes_back(visit, case):
    v = visit()
    page = v.page
    sign_in(v, "staff@example.org")
    reference = pay_term_two_from_her_page(v, case)
    expect(page.get_by_role("link", name=re.compile("^Enter another for this mother"))).to_be_visible()

    page.get_by_role("link", name="Back to the list").click()
    v.check("back on her page")
    assert page.url.endswith(f"/mothers/{MOTHER}")
    terms = page.locator("ul.terms")
    expect(terms.get_by_role("link")).to_have_count(2)  # terms 1 and 3
    expect(terms.locator("li.term-pending")).to_have_text(re.compile("2: Pending approval"))
    expect(page.get_by_role("cell", name=reference)).to_be_visible()

    # Enter another: the first step with her code, then on to the form for the next term.
    page.goto(v.url(f"/disbursements/{reference}"))
    v.check("the payment again, without the banner")
    expect(page.get_by_role("link", name=re.compile("^Enter another for this mother"))).to_have_count(0)
    page.goto(v.url(f"/mothers/{MOTHER}"))
    v.check("her page again")
    page.get_by_role("link", name=re.compile(r"^Term 3: Not asked for")).click()
    v.check("the form for term 3")
    page.get_by_role("button", name="Enter the payment").click()
    v.check("term 3 entered")
    page.get_by_role("link", name=re.compile("^Enter another for this mother")).click()
    v.check("enter another for her")
    expect(page.get_by_label("Mother's code")).to_have_value(MOTHER)
    expect(page.get_by_text(f"Another payment for {MOTHER}, project TF-CD-2026-01")).to_be_visible()


def test_staff_withdraws_a_payment_corrects_it_and_another_manager_approves_it(visit, case):
    v = visit()
    page = v.page
    sign_in(v, "staff@example.org")
    reference = pay_term_two_from_her_page(v, case)

    page.get_by_text("Withdraw it to correct it").click()
    reason = page.get_by_label("Why you withdraw it")
    expect(reason).to_have_attribute("required", "")  # and the server refuses an empty one too (unit tests)
    reason.fill("the school raised the fee")
    page.get_by_role("button", name="Withdraw", exact=True).click()
    v.check("withdrawn")
    expect(page.get_by_text(f"{reference} is withdrawn: it is a draft again.")).to_be_visible()
    expect(page.get_by_text("Reason: the school raised the fee")).to_be_visible()

    page.get_by_role("link", name="Correct it").click()
    v.check("the correction form")
    expect(page.get_by_label("Amount")).to_have_value("25.00")
    # The correction form is opened only here (tests/browser/pages.py skips it): it must not scroll sideways.
    for width in (390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        scroll, client = page.evaluate("() => [document.documentElement.scrollWidth, "
                                       "document.documentElement.clientWidth]")
        assert scroll <= client, f"the correction form is {scroll} px wide at {width} px"
    page.get_by_label("Amount").fill("27.50")
    page.get_by_role("button", name="Save the correction").click()
    v.check("corrected")
    expect(page.get_by_text("Amount: $25.00 → $27.50")).to_be_visible()
    page.get_by_role("button", name="Submit for approval").click()
    v.check("submitted again")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Submitted")
    history = page.locator("ol.steps > li")
    expect(history).to_have_text([re.compile(r"^Entered"), re.compile(r"^Submitted for approval"),
                                  re.compile(r"^Withdrawn to correct it"), re.compile(r"^Corrected"),
                                  re.compile(r"^Submitted for approval")])
    page.get_by_role("button", name=re.compile("^(Sign out)")).click()

    m = visit()
    sign_in(m, "manager@example.org", totp=case["totp"])
    m.goto(f"/disbursements/{reference}", "the manager opens it")
    m.page.get_by_role("button", name="Approve").click()
    m.check("approved")
    expect(m.page.get_by_role("heading", level=1)).to_contain_text("Approved")
    expect(m.page.get_by_text("$27.50", exact=False).first).to_be_visible()
