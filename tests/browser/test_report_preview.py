"""A manager previews a donor report in Chromium, then issues it (issue 14, point 7).

The "Preview" button posts the form into a new tab: no address the browser asks for, and no line of
the server's access log, carries the CSRF token; the preview renders; issuing still works.
"""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from urllib.parse import urlsplit

import pyotp
import pytest

from tests import factories
from tests.browser.conftest import SKIP_REASON
from tests.browser.test_journeys import sign_in
from tracker.extensions import db
from tracker.models.base import today

pytestmark = [pytest.mark.browser, pytest.mark.skipif(SKIP_REASON is not None, reason=f"{SKIP_REASON}")]

if SKIP_REASON is None:
    from playwright.sync_api import expect
else:  # pragma: no cover - the tests are skipped
    expect = None


@pytest.fixture
def manager(live_server):
    """A CD project with 1,000 USD allocated this year and its manager (with a second factor)."""
    with live_server.app.app_context():
        project = factories.ProjectFactory(code="TF-CD-2026-01", title="Assistance Nord-Kivu", country="CD",
                                           start_date=dt.date(today().year, 1, 1),
                                           end_date=dt.date(today().year + 2, 12, 31))
        factories.AllocationFactory(project=project, amount_usd=Decimal("1000.00"), allocated_on=today())
        user = factories.UserFactory(role="manager", email="manager@example.org", name="Manager One",
                                     countries=["CD"])
        totp = pyotp.random_base32()
        user.totp_secret = totp
        user.totp_enabled_at = dt.datetime.now(dt.UTC)
        db.session.commit()
        db.session.remove()
    return totp


def test_the_preview_keeps_the_token_out_of_every_address_and_the_report_is_then_issued(visit, manager, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    v = visit()
    page = v.page
    asked: list[str] = []
    v.context.on("request", lambda request: asked.append(f"{request.method} {request.url}"))
    sign_in(v, "manager@example.org", totp=manager)
    v.goto("/reports/new", "prepare a report")
    page.get_by_label("Scope").select_option(label="Project TF-CD-2026-01")
    page.get_by_label("To", exact=True).fill(today().isoformat())

    with page.expect_popup() as opened:
        page.get_by_role("button", name="Preview").click()
    preview = opened.value
    preview.wait_for_load_state("load")
    assert (urlsplit(preview.url).path, urlsplit(preview.url).query) == ("/reports/preview", "")
    expect(preview.get_by_role("heading", level=1)).to_have_text("Funding-gap report")
    expect(preview.get_by_role("definition").filter(has_text="Preview, not issued")).to_be_visible()
    assert preview.evaluate("() => document.querySelectorAll('script').length") == 0
    preview.close()

    page.get_by_role("button", name="Issue the report").click()
    v.check("report issued")
    expect(page.get_by_role("status").first).to_contain_text("is issued")
    # The status page refreshes itself until the worker thread has stored the PDF: let it finish here.
    expect(page.get_by_role("link", name="Download the PDF")).to_be_visible(timeout=120_000)
    v.check("report ready")

    assert any(line.startswith("POST ") and line.endswith("/reports/preview") for line in asked), asked
    assert [line for line in asked if "csrf" in line.lower()] == []
    access_log = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any('"POST /reports/preview HTTP/1.1" 200' in line for line in access_log), access_log
    assert [line for line in access_log if "csrf" in line.lower()] == []
