"""Every error at once, in a real browser (issue 18): a payment form with two errors shows both in the error
summary on top, which takes the focus without a script; each link leads to its field, which shows its error."""
from __future__ import annotations

import datetime as dt
import re

import pytest

from tests import factories
from tests.browser.conftest import SKIP_REASON
from tests.browser.test_journeys import sign_in
from tracker.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.skipif(SKIP_REASON is not None, reason=f"{SKIP_REASON}")]

if SKIP_REASON is None:
    from playwright.sync_api import expect
else:  # pragma: no cover - the tests are skipped
    expect = None


@pytest.fixture
def mother(live_server) -> str:
    """A CD staff member and a CD mother."""
    with live_server.app.app_context():
        project = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        her = factories.BeneficiaryFactory(project=project, number=1)
        factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1))
        factories.UserFactory(role="staff", email="staff@example.org", name="Staff Member", countries=["CD"],
                              locale="en")
        factories.UserFactory(role="staff", email="personnel@example.org", name="Personnel", countries=["CD"],
                              locale="fr")
        db.session.commit()
        code = her.code
        db.session.remove()
    return code


def test_a_payment_form_with_two_errors_shows_both_in_the_summary(visit, mother):
    v = visit()
    page = v.page
    sign_in(v, "staff@example.org")
    v.goto(f"/disbursements/new?mother={mother}&category=medical", "payment form")
    page.get_by_label("Payee (school, supplier, provider)").fill("")
    page.get_by_label("Amount", exact=True).fill("1.250,50")
    page.get_by_role("button", name="Enter the payment").click()
    v.check("payment form with two errors")

    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()  # autofocus on the box: a screen reader reads it first, no script needed
    links = summary.get_by_role("link")
    expect(links).to_have_count(2)
    expect(links.nth(0)).to_have_text("Payee (school, supplier, provider): This field is required.")
    expect(links.nth(1)).to_have_text("Amount: '1.250,50' is not an amount: write a number such as 1,250.50")

    # Each link leads to its field, which shows its own error and keeps what was typed.
    links.nth(1).click()
    assert page.url.endswith("#amount")
    amount = page.get_by_label("Amount", exact=True)
    expect(amount).to_have_value("1.250,50")
    expect(amount).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#amount-error")).to_have_text(
        "'1.250,50' is not an amount: write a number such as 1,250.50")
    expect(page.locator("#payee-error")).to_have_text("This field is required.")

    # Corrected, it is saved.
    page.get_by_label("Payee (school, supplier, provider)").fill("Centre Kavumu")
    amount.fill("1,250.50")
    page.get_by_role("button", name="Enter the payment").click()
    v.check("payment saved")
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"1,250\.50"))).not_to_have_count(0)


def test_a_french_user_types_a_french_amount_and_sees_the_summary_in_french(visit, mother):
    v = visit(locale="fr-FR")
    page = v.page
    sign_in(v, "personnel@example.org", button="Se connecter")
    v.goto(f"/disbursements/new?mother={mother}&category=medical", "formulaire de paiement")
    payee = page.locator("#payee")
    payee.fill("")
    page.locator("#amount").fill("1 250,50")
    page.locator("form.card button[type=submit]").first.click()
    v.check("une erreur")
    summary = page.get_by_role("alert").filter(has_text="Il y a un problème")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link")).to_have_count(1)  # the amount typed the French way is no error
    expect(page.locator("#amount")).to_have_value("1 250,50")
    payee.fill("Centre Kavumu")
    page.locator("form.card button[type=submit]").first.click()
    v.check("paiement enregistré")
    expect(page.get_by_text(re.compile("1\u202f250,50"))).not_to_have_count(0)
