"""The donor report's preview keeps the CSRF token out of URLs (issue 14, point 7).

The form's "Preview" button posts the form (no JavaScript: ``formaction`` and ``formtarget`` on the
button), so the token travels in the body and never in an address or an access log line. The preview
writes nothing and is never cached, so a reload that posts it again only renders it again. Issuing
still needs the token.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.conftest import PASSWORD
from tracker.extensions import db
from tracker.models import AuditEvent, IssuedReport

CODE = "TF-CD-2025-01"
CHOICES = {"scope": f"project:{CODE}", "date_from": "2025-01-01", "date_to": "2025-12-31", "lang": "en", "donor": ""}


class ReportFormPage(HTMLParser):
    """What a browser reads from /reports/new: the form's method and action, its fields, and its buttons."""

    def __init__(self):
        super().__init__()
        self.form: dict = {}
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, dict] = {}
        self._button = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("action") == "/reports/new":
            self.form = attrs
        elif not self.form:
            return
        if tag == "input" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and self._select and ("selected" in attrs or self._select not in self.fields):
            self.fields[self._select] = attrs.get("value") or ""
        elif tag == "button":
            self._button = attrs

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._button is not None and data.strip():
            self.buttons[data.strip()] = self._button
            self._button = None


def read_form(client) -> ReportFormPage:
    page = ReportFormPage()
    page.feed(client.get("/reports/new").get_data(as_text=True))
    return page


def submission(page: ReportFormPage, button: str) -> tuple[str, str]:
    """The method and the URL a browser uses for ``button`` (HTML: ``formmethod``/``formaction`` win)."""
    attrs = page.buttons[button]
    method = (attrs.get("formmethod") or page.form.get("method") or "get").lower()
    return method, attrs.get("formaction") or page.form["action"]


@pytest.fixture
def protected(make_app):
    """The app with CSRF checked, as outside the tests; a CD project with its budget; a signed-in CD manager."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        project = factories.ProjectFactory(code=CODE, country="CD", title="Schooling support, Goma")
        factories.BudgetLineFactory(project=project, year=2025, category="medical", amount_usd=D("10000.00"))
        factories.BudgetLineFactory(project=project, year=2025, category="legal", amount_usd=D("2345.67"))
        factories.AllocationFactory(project=project, amount_usd=D("4321.09"), allocated_on=dt.date(2025, 3, 15))
        factories.UserFactory(role="manager", email="manager.cd@example.org", countries=["CD"])
        db.session.remove()
    client = app.test_client()
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"email": "manager.cd@example.org", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return app, client


def counts(app) -> tuple[int, int]:
    with app.app_context():
        out = (db.session.scalar(select(func.count(IssuedReport.id))),
               db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "issue_report")))
        db.session.remove()
    return out


def test_the_preview_button_posts_the_form_so_no_url_carries_the_token(protected):
    app, client = protected
    page = read_form(client)
    assert page.fields["csrf_token"]
    method, url = submission(page, "Preview")
    assert (method, url) == ("post", "/reports/preview")
    assert page.buttons["Preview"].get("formtarget") == "_blank"
    assert "csrf_token" not in url

    fields = {**page.fields, **CHOICES}
    response = client.open(url, method=method, data=fields)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "csrf_token" not in response.request.url and response.request.query_string == b""
    html = response.get_data(as_text=True)
    # need 10,000.00 + 2,345.67 = 12,345.67; allocated 4,321.09; gap 12,345.67 - 4,321.09 = 8,024.58
    for figure in ("$12,345.67", "$4,321.09", "$8,024.58", "Preview, not issued"):
        assert figure in html, figure
    assert response.headers["Cache-Control"] == "no-store"


def test_posting_the_preview_again_renders_it_again_and_issues_nothing(protected):
    app, client = protected
    fields = {**read_form(client).fields, **CHOICES}
    first = client.post("/reports/preview", data=fields)
    again = client.post("/reports/preview", data=fields)  # a reload that sends the form again
    assert first.status_code == again.status_code == 200
    assert first.get_data() == again.get_data()
    assert counts(app) == (0, 0)


def test_the_posted_preview_needs_the_token(protected):
    app, client = protected
    refused = client.post("/reports/preview", data=CHOICES)
    assert refused.status_code == 400 and b"This form has expired" in refused.data
    forged = client.post("/reports/preview", data={**CHOICES, "csrf_token": "not-a-token"})
    assert forged.status_code == 400


def test_a_preview_by_address_needs_no_token_and_its_errors_are_shown(protected):
    app, client = protected
    response = client.get("/reports/preview", query_string=CHOICES)
    assert response.status_code == 200 and "$12,345.67" in response.get_data(as_text=True)
    wrong = client.get("/reports/preview", query_string={**CHOICES, "date_to": "2024-12-31"})
    assert wrong.status_code == 422 and "the period ends before it starts" in wrong.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_issuing_still_needs_the_token(protected, monkeypatch):
    app, client = protected
    # Issuing is what is tested here, not the PDF: the request's own commit only.
    monkeypatch.setattr("tracker.reports.archive.start_rendering", lambda report, url: db.session.commit())
    page = read_form(client)
    assert submission(page, "Issue the report") == ("post", "/reports/new")
    refused = client.post("/reports/new", data=CHOICES)
    assert refused.status_code == 400 and b"This form has expired" in refused.data
    assert counts(app) == (0, 0)
    issued = client.post("/reports/new", data={**page.fields, **CHOICES})
    assert issued.status_code == 302
    assert counts(app) == (1, 1)


def test_the_form_shown_again_after_a_refused_preview_still_carries_a_token(protected):
    app, client = protected
    fields = {**read_form(client).fields, **CHOICES, "date_to": "2024-12-31"}
    refused = client.post("/reports/preview", data=fields)
    assert refused.status_code == 422
    assert re.search(r'name="csrf_token" (?:type="hidden" )?value="[^"]+"', refused.get_data(as_text=True))
    assert "the period ends before it starts" in refused.get_data(as_text=True)

