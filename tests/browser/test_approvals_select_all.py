"""A manager with a second factor selects all the payments on the first page of the approvals queue, sees their
total in USD, and approves them; the second page's payments are then all that wait (issue 18)."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pyotp
import pytest
from sqlalchemy import select, update

from tests import factories
from tests.browser.conftest import SKIP_REASON
from tests.browser.test_journeys import sign_in
from tracker.disbursements import services
from tracker.extensions import db
from tracker.models import Disbursement
from tracker.models.base import now_utc

pytestmark = [pytest.mark.browser, pytest.mark.skipif(SKIP_REASON is not None, reason=f"{SKIP_REASON}")]

if SKIP_REASON is None:
    from playwright.sync_api import expect
else:  # pragma: no cover - the tests are skipped
    expect = None


@pytest.fixture
def world(live_server):
    """55 submitted payments of 10 + n USD (n = 0..54) for one CD project, waiting 120 − n days, entered by staff."""
    app = live_server.app
    with app.app_context():
        project = factories.ProjectFactory(code="TF-CD-2026-01", country="CD")
        factories.AllocationFactory(project=project, amount_usd=Decimal("5000.00"), allocated_on=dt.date(2026, 1, 2))
        mother = factories.BeneficiaryFactory(project=project, number=1)
        staff = factories.UserFactory(role="staff", email="staff@example.org", countries=["CD"])
        manager = factories.UserFactory(role="manager", email="manager@example.org", name="Manager One",
                                        countries=["CD"])
        totp = pyotp.random_base32()
        manager.totp_secret = totp
        manager.totp_enabled_at = dt.datetime.now(dt.UTC)
        db.session.commit()
        for n in range(55):
            d = services.enter(project=project, category="medical", beneficiary=mother, payee="Centre Kavumu",
                               amount=str(10 + n), currency="USD", entered_on=dt.date(2026, 6, 1), user=staff)
            db.session.execute(update(Disbursement).where(Disbursement.id == d.id)
                               .values(submitted_at=now_utc() - dt.timedelta(days=120 - n)))
        db.session.commit()
        db.session.remove()
    return {"totp": totp}


def test_manager_selects_all_on_the_page_sees_the_total_and_approves(visit, world, live_server):
    live_server.app.config["TWO_FACTOR_REQUIRED_ROLES"] = ("admin", "manager")
    v = visit()
    page = v.page
    sign_in(v, "manager@example.org", totp=world["totp"])
    v.goto("/approvals/", "approvals, page 1")
    expect(page.get_by_text("55 payments wait · the oldest for 120 days · Page 1 of 2")).to_be_visible()
    rows = page.get_by_role("region", name="Payments to approve, the longest waiting first").get_by_role("row")
    expect(rows).to_have_count(51)  # the heading row and 50 payments, the oldest first
    expect(rows.nth(1)).to_contain_text("waiting 120 days")
    expect(rows.nth(50)).to_contain_text("waiting 71 days")

    page.get_by_role("button", name="Select all on this page").click()
    v.check("all selected")
    checkboxes = page.get_by_role("checkbox", name=re.compile("^Tick DB-CD-2026-"))
    expect(checkboxes).to_have_count(50)
    for n in range(50):
        expect(checkboxes.nth(n)).to_be_checked()
    # 10 + 11 + ... + 59 = 50 × 10 + (0 + ... + 49) = 500 + 1,225 = 1,725.00.
    expect(page.get_by_text("50 payments ticked: about $1,725.00")).to_be_visible()

    page.get_by_role("button", name="Approve the ticked ones").click()
    v.check("approved")
    expect(page.get_by_text(re.compile(r"^Approved: DB-CD-2026-000001, .*DB-CD-2026-000050\.$"))).to_be_visible()
    expect(page.get_by_text("5 payments wait · the oldest for 70 days")).to_be_visible()
    with live_server.app.app_context():
        approved = db.session.scalars(select(Disbursement.reference).where(Disbursement.status == "approved")
                                      .order_by(Disbursement.reference)).all()
        db.session.remove()
    assert approved == [f"DB-CD-2026-{n:06d}" for n in range(1, 51)]
