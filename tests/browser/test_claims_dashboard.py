"""Issue 19's journey: a manager opens the claims dashboard, follows a number of its table and lands on the list of
exactly the claims it counts; then back to the dashboard, at the same date.

Dates are today's (the server runs in a thread of its own): in Pakistan three claims wait at "DNA sample
collected", one of them for 200 days (stalled), and one has been received for 10 days; in Uruguay, one claim
received for 120 days (stalled). A claim of the Central African Republic is another manager's.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest

from tests import factories
from tests.browser.conftest import SKIP_REASON
from tests.browser.test_journeys import sign_in
from tracker.extensions import db
from tracker.models import ClaimStep
from tracker.models.base import today

pytestmark = [pytest.mark.browser, pytest.mark.skipif(SKIP_REASON is not None, reason=f"{SKIP_REASON}")]

if SKIP_REASON is None:
    from playwright.sync_api import expect
else:  # pragma: no cover - the tests are skipped
    expect = None

CODE = re.compile(r"^[A-Z]{2}-C-\d{5}-\d$")


@pytest.fixture
def world(live_server):
    day = today()

    def ago(days: int) -> dt.date:
        return day - dt.timedelta(days=days)

    with live_server.app.app_context(), factories.one_commit():
        factories.UserFactory(role="manager", email="manager@example.org", name="Manager One", countries=["CD"])
        projects = {c: factories.ProjectFactory(code=f"TF-{c}-2026-01", country=c) for c in ("CD", "CF")}
        claims = [  # country, Member State, steps (days ago)
            ("CD", "PK", [("received", 260), ("notified_to_member_state", 240), ("dna_sample_collected", 200)]),
            ("CD", "PK", [("received", 90), ("notified_to_member_state", 60), ("dna_sample_collected", 30)]),
            ("CD", "PK", [("received", 50), ("notified_to_member_state", 40), ("dna_sample_collected", 5)]),
            ("CD", "PK", [("received", 10)]),
            ("CD", "UY", [("received", 120)]),
            ("CF", "NP", [("received", 30), ("dna_sample_collected", 20)]),
        ]
        for number, (country, state, steps) in enumerate(claims, 1):
            mother = factories.BeneficiaryFactory(project=projects[country], number=number)
            child = factories.ChildFactory(mother=mother, number=1)
            rows = [ClaimStep(step=step, occurred_on=ago(days)) for step, days in steps]
            factories.PaternityClaimFactory(child=child, member_state=state, status=steps[-1][0],
                                            status_on=ago(steps[-1][1]), steps=rows)
    with live_server.app.app_context():
        db.session.remove()
    return {"to": day.isoformat()}


def test_a_number_of_the_dashboard_leads_to_as_many_claims(visit, world):
    v = visit()
    page = v.page
    sign_in(v, "manager@example.org")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Claims dashboard", exact=True).click()
    v.check("the claims dashboard")
    table = page.get_by_role("table", name=re.compile("^Claims by Member State"))
    expect(table.get_by_role("row", name=re.compile("^Pakistan"))).to_have_count(1)
    expect(table.get_by_role("row", name=re.compile("^Central African|^Nepal"))).to_have_count(0)

    # Pakistan's claims at "DNA sample collected": the sixth cell of its row (after received, open, stalled and
    # the two steps before it).
    pakistan = table.get_by_role("row", name=re.compile("^Pakistan"))
    number = pakistan.get_by_role("cell").nth(5).get_by_role("link")
    expect(number).to_have_text("3")
    number.click()
    v.check("the claims behind the number")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^Open claims at DNA sample collected, Pakistan, as of "))
    expect(page).to_have_url(re.compile(rf"to={world['to']}"))
    codes = page.get_by_role("table").get_by_role("link", name=CODE)
    expect(codes).to_have_count(3)

    # The stalled claims of all Member States: the total row's count.
    page.get_by_role("link", name=re.compile("^Back to the claims dashboard")).click()
    v.check("the dashboard again")
    expect(page).to_have_url(re.compile(rf"/claims/dashboard\?to={world['to']}$"))
    total = page.get_by_role("table", name=re.compile("^Claims by Member State")).get_by_role("row",
                                                                                             name=re.compile("^Total"))
    stalled = total.get_by_role("cell").nth(2).get_by_role("link")
    expect(stalled).to_have_text("2")
    stalled.click()
    v.check("the stalled claims")
    expect(page.get_by_role("table").get_by_role("link", name=CODE)).to_have_count(2)


def test_the_public_page_is_served_only_when_its_setting_is_on(visit, world, live_server):
    """No sign-in: 404 while PUBLIC_CLAIMS_DASHBOARD is off, the Fund's suppressed figures once it is on."""
    v = visit()
    page = v.page
    live_server.app.config["PUBLIC_CLAIMS_DASHBOARD"] = False
    assert page.goto(v.url("/public/claims")).status == 404
    live_server.app.config["PUBLIC_CLAIMS_DASHBOARD"] = True
    answer = page.goto(v.url("/public/claims"))
    assert answer.status == 200
    assert "set-cookie" not in answer.headers
    assert answer.headers["cache-control"] == "public, max-age=3600"
    v.check("the public claims page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Paternity claims by Member State")
    # Six claims in all, however many of them the end of last month had: no code of any, no count from 1 to 9.
    assert not re.search(r"[A-Z]{2}-[CM]-\d{5}", page.locator("body").inner_text())
    counts = [c.strip() for c in page.locator("td").all_inner_texts()]
    assert counts and not [c for c in counts if re.fullmatch(r"[1-9]", c)]
    page.get_by_role("link", name="Français").click()
    v.check("the public claims page in French")
    expect(page.get_by_role("heading", level=1)).to_have_text("Demandes en reconnaissance de paternité par État Membre")
