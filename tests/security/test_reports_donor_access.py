"""A donor's session can reach only their reports and the verification page (tested over every route).

The sweep walks ``app.url_map``: every route, with GET and with POST where the
route takes it, signed in as a donor. Only the donor's list of reports, their
reports and the Fund-wide ones (``donor_id`` null) and their PDFs, the
verification page, the home page, their own account, signing in and out, and
static files answer; everything else is 404 (never 403: a donor learns nothing
of what lies behind a URL). Reports of another donor, and reports not issued
(still rendering, or failed), are 404 too. The reports are made by a factory
with stand-in bytes: nothing here renders a PDF.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests import factories
from tests.security.test_permissions import fetch, url_values
from tracker.extensions import db
from tracker.models import Donor

#: Endpoints a donor may reach, and what they answer to GET / POST with an empty form.
REACHABLE = {
    ("main.home", "GET"): 200,
    ("reports.index", "GET"): 200,
    ("reports.show", "GET"): 200,
    ("reports.download", "GET"): 200,
    ("reports.verify", "GET"): 200,
    ("reports.verify", "POST"): 200,
    ("static", "GET"): 200,
    # The health check is open to anyone and says nothing but "ok".
    ("main.healthz", "GET"): 200,
}
#: Signing in again while signed in sends the donor on (to the home page).
SIGN_IN = {"auth.login", "auth.login_code"}
#: The donor's own account (password, language, two-factor): any signed-in user's, never a record.
OWN_ACCOUNT_PREFIX = "/account"


@pytest.fixture
def reports(app, donor_client):
    """Reports of every kind around the signed-in donor (Kingdom of Norway)."""
    with app.app_context():
        norway = db.session.scalars(select(Donor).where(Donor.name == "Kingdom of Norway")).one()
        other = factories.DonorFactory(name="Republic of Elsewhere")
        made = {
            "own": factories.IssuedReportFactory(number="TF-2024-0101", donor=norway),
            "own_rendering": factories.IssuedReportFactory(number="TF-2024-0102", donor=norway, status="rendering"),
            "own_failed": factories.IssuedReportFactory(number="TF-2024-0103", donor=norway, status="failed",
                                                        error="RuntimeError"),
            "fund": factories.IssuedReportFactory(number="TF-2024-0104", donor=None, scope="fund"),
            "fund_rendering": factories.IssuedReportFactory(number="TF-2024-0105", donor=None, status="rendering"),
            "other": factories.IssuedReportFactory(number="TF-2024-0106", donor=other, scope="country:CD"),
            "other_failed": factories.IssuedReportFactory(number="TF-2024-0107", donor=other, status="failed"),
        }
        out = {key: (r.number, r.pdf) for key, r in made.items()}
        db.session.remove()
        return out


def _url(rule, records, number: str) -> str:
    """``rule`` built with tests/security/test_permissions.py's sample values, and ``number`` for a report."""
    values = url_values(rule, records)
    if "number" in rule.arguments:
        values["number"] = number
    return rule.build(values, append_unknown=False)[1]


def test_a_donor_reaches_only_reports_verification_home_and_account(app, records, reports, donor_client):
    own = reports["own"][0]
    answers = {}
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"GET", "POST"}):
            if rule.endpoint == "auth.logout":
                continue  # signs the donor out: tested below
            url = _url(rule, records, own)
            answers[(rule.endpoint, method, url)] = fetch(donor_client, url, method)

    wrong, reached = [], []
    for (endpoint, method, url), response in answers.items():
        status = response.status_code
        if (endpoint, method) in REACHABLE:
            expected = {REACHABLE[(endpoint, method)]}
        elif endpoint in SIGN_IN:
            expected = {302}
        elif url.startswith(OWN_ACCOUNT_PREFIX):
            expected = {200, 302, 400, 422}
        elif endpoint.startswith("api."):
            # The API ignores the session cookie (401 without a token; tests/api/test_api.py tries donors' tokens);
            # its description is public.
            expected = {200} if endpoint == "api.openapi" else {401}
        else:
            expected = {404}
        if status not in expected:
            wrong.append(f"{method} {url} ({endpoint}): {status}, expected {sorted(expected)}")
        if status != 404:
            reached.append((method, url))
        if endpoint in SIGN_IN:
            assert urlsplit(response.headers["Location"]).path == "/", (method, url)
    assert not wrong, "\n".join(wrong)
    assert len(answers) >= 100, len(answers)
    # The sweep went where it should.
    assert {("GET", "/"), ("GET", "/reports/"), ("GET", f"/reports/{own}"), ("GET", f"/reports/{own}/pdf"),
            ("GET", "/verify"), ("POST", "/verify")} <= set(reached)
    assert ("GET", "/reports/new") not in reached and ("POST", "/reports/new") not in reached
    assert ("GET", "/reports/preview") not in reached
    assert fetch(donor_client, "/static/css/report.css").status_code == 200
    # Still signed in after the whole sweep (nothing on the way signed her out or changed her role).
    assert donor_client.get("/reports/").status_code == 200


def test_a_donor_gets_404_not_403_anywhere(app, records, reports, donor_client):
    """No route answers a donor 403: a 403 would tell her that something exists behind the URL."""
    forbidden = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"GET", "POST"}):
            if rule.endpoint == "auth.logout":
                continue
            url = _url(rule, records, reports["other"][0])
            if fetch(donor_client, url, method).status_code == 403:
                forbidden.append(f"{method} {url}")
    assert forbidden == []


def test_a_donor_lists_only_her_issued_reports_and_the_fund_wide_ones(reports, donor_client):
    html = donor_client.get("/reports/").get_data(as_text=True)
    for key in ("own", "fund"):
        assert reports[key][0] in html, key
    for key in ("own_rendering", "own_failed", "fund_rendering", "other", "other_failed"):
        assert reports[key][0] not in html, key
    assert "Republic of Elsewhere" not in html
    assert "/reports/new" not in html  # no "Prepare a report" for a donor


def test_a_donors_home_links_her_reports_in_words(reports, donor_client):
    html = donor_client.get("/").get_data(as_text=True)
    own, fund = reports["own"][0], reports["fund"][0]
    assert f'href="/reports/{own}"' in html and f'href="/reports/{fund}"' in html
    assert reports["other"][0] not in html and reports["own_rendering"][0] not in html
    # The fund-wide report's scope and the language read as words, not as the stored "fund" and "en".
    assert "The whole Fund" in html and "<td>fund</td>" not in html
    assert '<span lang="en">English</span>' in html


def test_a_donor_opens_and_downloads_her_reports_and_the_fund_wide_ones(reports, donor_client):
    for key in ("own", "fund"):
        number, pdf = reports[key]
        page = donor_client.get(f"/reports/{number}")
        assert page.status_code == 200 and number in page.get_data(as_text=True)
        download = donor_client.get(f"/reports/{number}/pdf")
        assert download.status_code == 200 and download.data == pdf


def test_reports_of_another_donor_or_not_issued_are_404_for_a_donor(reports, donor_client):
    for key in ("other", "other_failed", "own_rendering", "own_failed", "fund_rendering"):
        number, _pdf = reports[key]
        for url in (f"/reports/{number}", f"/reports/{number}/pdf"):
            response = donor_client.get(url)
            assert response.status_code == 404, url
            assert "Republic of Elsewhere" not in response.get_data(as_text=True)


def test_the_same_reports_are_there_for_a_manager(reports, manager_client):
    """Control: the 404s above are about the donor, not about missing reports."""
    for key in ("other", "own_rendering", "own_failed", "fund_rendering"):
        assert manager_client.get(f"/reports/{reports[key][0]}").status_code == 200, key
    assert manager_client.get(f"/reports/{reports['other'][0]}/pdf").status_code == 200
    assert manager_client.get(f"/reports/{reports['own_rendering'][0]}/pdf").status_code == 404


def test_a_donor_verifies_a_copy_of_another_donors_report_but_learns_only_which_it_is(reports, donor_client):
    import io

    number, pdf = reports["other"]
    response = donor_client.post("/verify", data={"file": (io.BytesIO(pdf), "copy.pdf")},
                                 content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f"This is issued report {number}." in html
    assert f"/reports/{number}/pdf" not in html


def test_a_donor_signs_out_with_post(reports, donor_client):
    assert donor_client.get("/logout").status_code == 405
    response = donor_client.post("/logout")
    assert response.status_code == 302
    after = donor_client.get(f"/reports/{reports['own'][0]}")
    assert after.status_code == 302 and urlsplit(after.headers["Location"]).path == "/login"
    assert donor_client.get("/verify").status_code == 200  # public
