"""Issued reports follow the scope rules of issuing (issue 14, point 5).

A manager reads the reports of her countries and of the projects in them, and
the whole Fund's only when her countries hold every project, the rule that
decides whether the issuing form offers "The whole Fund". Any other report is a
404 on the report page, its PDF and the API, and is missing from both lists.
Admins read every report; donors are covered by tests/security/test_reports_donor_access.py.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests import factories
from tracker.auth.scope import sees_whole_fund
from tracker.auth.tokens import create_token
from tracker.extensions import db
from tracker.models import IssuedReport, User
from tracker.reports.archive import readable_report, readable_reports

#: number: scope
REPORTS = {
    "TF-2026-0001": "fund",
    "TF-2026-0002": "country:CD",
    "TF-2026-0003": "country:HT",
    "TF-2026-0004": "project:TF-CD-2025-01",
    "TF-2026-0005": "project:TF-HT-2025-01",
}
CD_ONLY = ["TF-2026-0002", "TF-2026-0004"]


@pytest.fixture
def archive(app):
    """Projects in CD and HT, the five reports above (issued by a manager of both) and a manager's token."""
    with app.app_context():
        factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        factories.ProjectFactory(code="TF-HT-2025-01", country="HT")
        issuer = factories.UserFactory(role="manager", email="issuer@example.org", countries=["CD", "HT"])
        for number, scope in REPORTS.items():
            factories.IssuedReportFactory(number=number, scope=scope, issued_by_id=issuer.id)
        db.session.commit()
        db.session.remove()


def api_token(app, email: str) -> str:
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        token = create_token(user=user, name="reports", days=365).token
        db.session.commit()
        db.session.remove()
    return token


def api(client, url, token):
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def listed_on_the_web(client) -> list[str]:
    page = client.get("/reports/").get_data(as_text=True)
    return [number for number in REPORTS if number in page]


def test_a_manager_of_cd_reads_cd_and_its_projects_reports_and_nothing_else(app, archive, client, sign_in):
    web = sign_in(role="manager", email="cd.manager@example.org", countries=["CD"])
    token = api_token(app, "cd.manager@example.org")

    assert listed_on_the_web(web) == CD_ONLY
    body = api(client, "/api/v1/reports", token).get_json()
    assert sorted(r["number"] for r in body["items"]) == CD_ONLY and body["total"] == 2

    for number in CD_ONLY:
        assert web.get(f"/reports/{number}").status_code == 200
        assert web.get(f"/reports/{number}/pdf").status_code == 200
        assert api(client, f"/api/v1/reports/{number}", token).status_code == 200
        assert api(client, f"/api/v1/reports/{number}/pdf", token).status_code == 200
    # Haiti's report, a Haitian project's, and the Fund's (HT holds a project she does not manage).
    for number in ("TF-2026-0003", "TF-2026-0005", "TF-2026-0001"):
        assert web.get(f"/reports/{number}").status_code == 404, number
        assert web.get(f"/reports/{number}/pdf").status_code == 404, number
        assert api(client, f"/api/v1/reports/{number}", token).status_code == 404, number
        assert api(client, f"/api/v1/reports/{number}/pdf", token).status_code == 404, number


def test_a_manager_of_every_country_with_a_project_also_reads_the_funds_reports(app, archive, client, sign_in):
    # LR has no project: managing it or not changes nothing.
    web = sign_in(role="manager", email="both.manager@example.org", countries=["CD", "HT", "LR"])
    token = api_token(app, "both.manager@example.org")
    assert listed_on_the_web(web) == list(REPORTS)
    assert sorted(r["number"] for r in api(client, "/api/v1/reports", token).get_json()["items"]) == list(REPORTS)
    assert web.get("/reports/TF-2026-0001/pdf").status_code == 200
    assert api(client, "/api/v1/reports/TF-2026-0001/pdf", token).status_code == 200


def test_the_issuing_form_offers_the_fund_by_the_same_rule(app, archive, sign_in):
    cd = sign_in(role="manager", email="cd.manager@example.org", countries=["CD"])
    both = sign_in(role="manager", email="both.manager@example.org", countries=["CD", "HT"])
    assert 'value="fund"' not in cd.get("/reports/new").get_data(as_text=True)
    assert 'value="fund"' in both.get("/reports/new").get_data(as_text=True)


def test_an_admin_reads_every_report(app, archive, client, sign_in):
    web = sign_in(role="admin", email="the.admin@example.org")
    token = api_token(app, "the.admin@example.org")
    assert listed_on_the_web(web) == list(REPORTS)
    assert api(client, "/api/v1/reports/TF-2026-0003/pdf", token).status_code == 200


def test_the_rule_without_http(app, archive):
    with app.app_context():
        cd = factories.UserFactory(role="manager", countries=["CD"])
        ht = factories.UserFactory(role="manager", countries=["HT"])
        both = factories.UserFactory(role="manager", countries=["CD", "HT"])
        admin = factories.UserFactory(role="admin")

        def numbers(user):
            return sorted(db.session.scalars(readable_reports(user).with_only_columns(IssuedReport.number)))

        assert numbers(cd) == CD_ONLY
        assert numbers(ht) == ["TF-2026-0003", "TF-2026-0005"]
        assert numbers(both) == numbers(admin) == list(REPORTS)
        assert (sees_whole_fund(cd), sees_whole_fund(both), sees_whole_fund(admin)) == (False, True, True)
        assert readable_report(ht, "TF-2026-0002") is None
        assert readable_report(ht, "TF-2026-0003").scope == "country:HT"
        db.session.remove()
