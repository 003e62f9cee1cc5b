"""Issue 18's journey: the staff worklist links to lists filtered to exactly the rows it counts.

Dates are today's (the server runs in a thread of its own): one child of this academic year with no payment,
one with its current term paid; a claim whose current step is 200 days old and one from last week; two drafts
of the staff member's own and one of a colleague's.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

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


def current_term_of_three(day: dt.date) -> int:
    """Term 1 from September to December, 2 from January to April, 3 from May to August."""
    return ((day.month - 9) % 12) * 3 // 12 + 1


@pytest.fixture
def world(live_server):
    with live_server.app.app_context():
        staff = factories.UserFactory(role="staff", email="staff@example.org", name="Staff Member", countries=["CD"])
        colleague = factories.UserFactory(role="staff", countries=["CD"])
        project = factories.ProjectFactory(code="TF-CD-2026-01", country="CD")
        year, term = academic_year(today()), current_term_of_three(today())
        children = []
        for number in (1, 2):
            mother = factories.BeneficiaryFactory(project=project, number=number)
            child = factories.ChildFactory(mother=mother)
            enrolment = factories.EnrolmentFactory(child=child, academic_year=year, currency="USD",
                                                   fee_per_term=Decimal("25.00"))
            children.append(child.code)
        factories.DisbursementFactory(beneficiary=mother, child=child, enrolment=enrolment, term=term,
                                      category="school_fees", status="submitted", amount=Decimal("25.00"),
                                      currency="USD", entered_by_id=colleague.id, payee=enrolment.school)
        claims = []
        for number, days in ((3, 200), (4, 7)):
            mother = factories.BeneficiaryFactory(project=project, number=number)
            child = factories.ChildFactory(mother=mother)
            factories.PaternityClaimFactory(child=child, status_on=today() - dt.timedelta(days=days))
            claims.append(child.code)
        drafts = [factories.DisbursementFactory(beneficiary=mother, entered_by_id=staff.id).reference
                  for _ in range(2)]
        factories.DisbursementFactory(beneficiary=mother, entered_by_id=colleague.id)
        db.session.remove()
    return {"unpaid": children[0], "paid": children[1], "stalled": claims[0], "recent": claims[1], "drafts": drafts}


def test_staff_worklist_links_to_the_filtered_lists(visit, world):
    v = visit()
    page = v.page
    sign_in(v, "staff@example.org")
    work = page.get_by_role("region", name="What needs doing")

    def task(name):
        return work.get_by_role("listitem").filter(has=page.get_by_text(re.compile(name)))

    expect(task("^Children whose current term is unpaid$").locator(".task-count")).to_have_text("1")
    expect(task("^Paternity claims with no step").locator(".task-count")).to_have_text("1")
    expect(task("^My drafts$").locator(".task-count")).to_have_text("2")
    expect(task("^My rejected payments$").locator(".task-count")).to_have_text("None")

    work.get_by_role("link", name="Children whose current term is unpaid").click()
    v.check("children whose current term is unpaid")
    table = page.get_by_role("table")
    expect(table.get_by_role("link", name=world["unpaid"])).to_be_visible()
    expect(table.get_by_text(world["paid"])).to_have_count(0)

    v.goto("/", "home again")
    work.get_by_role("link", name=re.compile("^Paternity claims with no step")).click()
    v.check("stalled claims")
    expect(page).to_have_url(re.compile(r"/claims/\?stalled=1$"))
    expect(page.get_by_role("link", name=world["stalled"])).to_be_visible()
    expect(page.get_by_text(world["recent"])).to_have_count(0)
    page.get_by_role("link", name="Show the whole list").click()
    v.check("all claims")
    expect(page.get_by_role("link", name=world["recent"])).to_be_visible()

    v.goto("/", "home once more")
    work.get_by_role("link", name="My drafts").click()
    v.check("my drafts")
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(3)  # the heading and the two drafts
    for reference in world["drafts"]:
        expect(page.get_by_role("link", name=reference)).to_be_visible()
