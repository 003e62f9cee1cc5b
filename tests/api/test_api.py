"""The read-only JSON API (tracker/api): tokens, every route by role, figures, errors, pagination, audit.

The dataset of :func:`world` is small enough that its figures are worked out
by hand in the comments; the equality with the funding engine is checked too.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from tests import factories
from tracker.api.openapi import document
from tracker.auth.tokens import create_token, token_hash
from tracker.extensions import db
from tracker.funding.engine import funding_picture
from tracker.funding.serialise import picture_dict
from tracker.models import ApiToken, AuditEvent, User

PROBLEM = "application/problem+json"
FROM, TO = "2025-01-01", "2025-06-30"


def _report(number, donor=None, status="issued", scope="fund"):
    return factories.IssuedReportFactory(number=number, donor=donor, status=status, scope=scope)


@pytest.fixture
def world(app):
    return build_world(app)


def build_world(app) -> dict:
    """Two projects (CD, LR), people and payments in both, a pledge, five reports, a user of each role,
    and a token for each (tests/api/test_api_fuzz.py uses it too)."""
    with app.app_context():
        with factories.one_commit():
            cd = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
            lr = factories.ProjectFactory(code="TF-LR-2025-01", country="LR")
            factories.BudgetLineFactory(project=cd, year=2025, category="school_fees", amount_usd=D("3000.00"))
            factories.BudgetLineFactory(project=cd, year=2025, category="medical", amount_usd=D("1000.00"))
            factories.BudgetLineFactory(project=lr, year=2025, category="medical", amount_usd=D("500.00"))
            factories.AllocationFactory(project=cd, amount_usd=D("1500.00"), allocated_on=dt.date(2025, 3, 1))
            factories.AllocationFactory(project=lr, amount_usd=D("200.00"), allocated_on=dt.date(2025, 3, 1))
            mother = factories.BeneficiaryFactory(project=cd, number=1, name="Amina Secret-Name")
            child = factories.ChildFactory(mother=mother, number=1)
            # Academic year of 2025-06-30 (start month 9): 2024-2025. One uncovered term of 2000.00 USD.
            factories.EnrolmentFactory(child=child, academic_year="2024-2025", fee_per_term=D("2000.00"),
                                       currency="USD", terms=1, school="EP Mapendo")
            lr_mother = factories.BeneficiaryFactory(project=lr, number=2)
            clerk = factories.UserFactory(role="staff", countries=["CD"])
            common = dict(entered_by_id=clerk.id, currency="USD", usd_rate=D("1"), payee="Centre de santé Kavumu")
            factories.DisbursementFactory(reference="D-CD-0001", beneficiary=mother, status="paid",
                                          amount=D("100.00"), usd_amount=D("100.00"), entered_on=dt.date(2025, 4, 1),
                                          paid_on=dt.date(2025, 4, 10), payment_reference="PAY-1", **common)
            factories.DisbursementFactory(reference="D-CD-0002", beneficiary=mother, status="approved",
                                          amount=D("50.00"), usd_amount=D("50.00"), entered_on=dt.date(2025, 5, 1),
                                          **common)
            factories.DisbursementFactory(reference="D-CD-0003", beneficiary=mother, status="draft",
                                          amount=D("7.00"), entered_on=dt.date(2025, 6, 1), **common)
            factories.DisbursementFactory(reference="D-LR-0001", beneficiary=lr_mother, status="draft",
                                          amount=D("9.00"), entered_on=dt.date(2025, 6, 2), **common)
            ours = factories.DonorFactory(name="Kingdom of Norway")
            theirs = factories.DonorFactory(name="Republic of Elsewhere")
            pledge = factories.PledgeFactory(donor=ours, amount=D("5000.00"), pledged_on=dt.date(2025, 2, 1))
            factories.ContributionFactory(pledge=pledge, amount=D("3000.00"), received_on=dt.date(2025, 3, 1))
            users = {
                "donor": factories.UserFactory(role="donor", email="donor@example.org", donor=ours),
                "staff": factories.UserFactory(role="staff", email="staff@example.org", countries=["CD"]),
                "manager": factories.UserFactory(role="manager", email="manager@example.org", countries=["CD"]),
                "admin": factories.UserFactory(role="admin", email="admin@example.org"),
            }
        _report("TF-2025-0001")                                         # fund-wide, of the whole Fund
        _report("TF-2025-0002", donor=ours, scope="country:CD")         # the donor's own
        _report("TF-2025-0003", donor=theirs, scope="project:TF-CD-2025-01")  # another donor's
        _report("TF-2025-0004", status="rendering", scope="country:CD")
        _report("TF-2025-0005", donor=theirs, scope="country:LR")       # outside the manager's countries
        tokens = {}
        for role, user in users.items():
            tokens[role] = create_token(user=user, name=f"{role} script", days=30).token
        db.session.commit()
        out = {"tokens": tokens, "user_ids": {r: u.id for r, u in users.items()}, "mother": mother.code,
               "child": child.code, "lr_mother": lr_mother.code}
        db.session.remove()
        return out


def role_tokens(app, build, *, extra=None) -> dict[str, str]:
    """``build()`` the data, then a token for each of a CD manager, a CD staff member, an admin and a donor (and
    the ``extra`` users, role name -> factory keywords), committed; returns role -> token."""
    with app.app_context():
        build()
        wanted = {
            "manager": dict(role="manager", email="m@example.org", countries=["CD"]),
            "staff": dict(role="staff", email="s@example.org", countries=["CD"]),
            "admin": dict(role="admin", email="a@example.org"),
            "donor": dict(role="donor", email="d@example.org", donor=factories.DonorFactory(name="Kingdom of Norway")),
            **(extra or {}),
        }
        out = {role: create_token(user=factories.UserFactory(**fields), name=role, days=30).token
               for role, fields in wanted.items()}
        db.session.commit()
        db.session.remove()
    return out


def get(client, url, token=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.get(url, headers=headers, **kwargs)


def assert_problem(response, status, *, parameter=None, mentions=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    if parameter:
        assert body.get("parameter") == parameter
        assert parameter in body["detail"]
    if mentions:
        assert mentions in body["detail"]
    return body


# --- the token-based access matrix: every API route, every role, inside and outside the user's countries ---------

OK, DENY, HIDE = 200, 403, 404
ROLES = ("donor", "staff", "manager", "admin")
#: endpoint: (URL in the users' country (CD), URL outside it (LR) or None, answers by role inside, outside)
API_MATRIX = {
    "api.funding": ("/api/v1/funding?scope=country:CD", "/api/v1/funding?scope=country:LR",
                    (DENY, DENY, OK, OK), (DENY, DENY, HIDE, OK)),
    "api.projects": ("/api/v1/projects?country=CD", "/api/v1/projects?country=LR",
                     (DENY, DENY, OK, OK), (DENY, DENY, HIDE, OK)),
    "api.children_at_risk": ("/api/v1/children-at-risk?scope=project:TF-CD-2025-01",
                             "/api/v1/children-at-risk?scope=project:TF-LR-2025-01",
                             (DENY, OK, OK, OK), (DENY, HIDE, HIDE, OK)),
    "api.disbursements": ("/api/v1/disbursements?project=TF-CD-2025-01",
                          "/api/v1/disbursements?project=TF-LR-2025-01",
                          (DENY, OK, OK, OK), (DENY, HIDE, HIDE, OK)),
    "api.reports": ("/api/v1/reports", None, (OK, DENY, OK, OK), None),
    # "Outside" for a report: another donor's (donors see only theirs and fund-wide ones).
    "api.report": ("/api/v1/reports/TF-2025-0002", "/api/v1/reports/TF-2025-0003",
                   (OK, DENY, OK, OK), (HIDE, DENY, OK, OK)),
    "api.report_pdf": ("/api/v1/reports/TF-2025-0002/pdf", "/api/v1/reports/TF-2025-0003/pdf",
                       (OK, DENY, OK, OK), (HIDE, DENY, OK, OK)),
    "api.claims_summary": ("/api/v1/claims/summary", None, (OK, DENY, OK, OK), None),
    # The planner is the managers' alone (funding.plan).
    "api.plan": ("/api/v1/plan?scope=country:CD", "/api/v1/plan?scope=country:LR",
                 (DENY, DENY, OK, DENY), (DENY, DENY, HIDE, DENY)),
    "api.openapi": ("/api/v1/openapi.json", None, (OK, OK, OK, OK), None),
}


def api_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")]


def test_every_api_route_has_a_row_in_the_token_matrix(app):
    assert sorted(rule.endpoint for rule in api_rules(app)) == sorted(API_MATRIX)


def test_the_token_matrix_holds(app, world, client):
    wrong = []
    for _endpoint, (inside, outside, want_in, want_out) in API_MATRIX.items():
        for i, role in enumerate(ROLES):
            for url, want in ((inside, want_in), (outside, want_out)):
                if url is None:
                    continue
                response = get(client, url, world["tokens"][role])
                if response.status_code != want[i]:
                    wrong.append(f"{role} {url}: {response.status_code}, expected {want[i]}")
                if response.status_code != 200 and response.mimetype != PROBLEM:
                    wrong.append(f"{role} {url}: {response.mimetype}, not problem+json")
    assert wrong == []


def test_a_session_cookie_does_not_sign_in_to_the_api(app, world, sign_in):
    client = sign_in(role="manager", email="web.manager@example.org", countries=["CD"])
    assert client.get("/projects/").status_code == 200  # signed in on the web
    for rule in api_rules(app):
        if rule.endpoint == "api.openapi":
            continue
        url = API_MATRIX[rule.endpoint][0]
        response = client.get(url)
        assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/openapi.json").status_code == 200  # public


def test_a_token_does_not_sign_in_to_the_web(app, world, client):
    response = get(client, "/projects/", world["tokens"]["manager"])
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- tokens: made once, stored hashed, revoked, expired, disabled user ----------------------------------------------

def test_token_is_shown_once_and_stored_as_its_hash(app, world, sign_in):
    client = sign_in(role="staff", email="maker@example.org", countries=["CD"])
    response = client.post("/account/api-tokens", data={"name": "nightly export", "days": "90"})
    assert response.status_code == 200  # the answer to the POST itself, not a redirect to a URL
    page = response.get_data(as_text=True)
    token = re.search(r"tft_[A-Za-z0-9_-]{43}", page).group(0)
    assert "shown only this once" in page
    with app.app_context():
        record = db.session.scalars(select(ApiToken).where(ApiToken.name == "nightly export")).one()
        assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert record.prefix == token[:12]
        # 90 days, as chosen
        assert record.expires_at - record.created_at == dt.timedelta(days=90)
        every_column = [str(getattr(record, c.key)) for c in ApiToken.__table__.columns]
        assert token not in " ".join(every_column)
        events = db.session.scalars(select(AuditEvent)).all()
        assert token not in json.dumps([[e.action, e.entity_id, e.changes] for e in events], default=str)
        assert "api_token_created" in {e.action for e in events}
        db.session.remove()
    again = client.get("/account").get_data(as_text=True)
    assert token not in again and token[:12] in again  # listed by its prefix only
    with client.session_transaction() as session:
        assert token not in json.dumps(dict(session), default=str)
    assert get(client, "/api/v1/disbursements", token).status_code == 200


def test_token_form_refuses_a_missing_name_and_an_unoffered_lifetime(app, world, sign_in):
    client = sign_in(role="staff", email="maker2@example.org", countries=["CD"])
    assert client.post("/account/api-tokens", data={"name": "", "days": "90"}).status_code == 422
    assert client.post("/account/api-tokens", data={"name": "x", "days": "5000"}).status_code == 422
    with app.app_context():
        assert db.session.scalars(select(ApiToken).where(ApiToken.name == "x")).all() == []
        db.session.remove()


def test_revoked_token_stops_working_and_only_its_owner_revokes_it(app, world, client, sign_in):
    owner = sign_in(role="staff", email="owner@example.org", countries=["CD"])
    token = re.search(r"tft_[A-Za-z0-9_-]{43}", owner.post(
        "/account/api-tokens", data={"name": "to revoke", "days": "30"}).get_data(as_text=True)).group(0)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.token_hash == token_hash(token)))
        db.session.remove()
    other = sign_in(role="staff", email="other@example.org", countries=["CD"])
    other.post("/account/api-tokens/revoke", data={"token_id": str(token_id)})
    assert get(client, "/api/v1/disbursements", token).status_code == 200  # someone else cannot revoke it
    response = owner.post("/account/api-tokens/revoke", data={"token_id": str(token_id)})
    assert response.status_code == 302
    assert_problem(get(client, "/api/v1/disbursements", token), 401, mentions="revoked")
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
        db.session.remove()
    assert actions.count("api_token_revoked") == 1


def test_expired_token_is_refused(app, world, client, clock):
    with app.app_context():
        user = db.session.get(User, world["user_ids"]["staff"])
        made = create_token(user=user, name="short", days=30)
        db.session.commit()
        db.session.remove()
    clock.advance(days=29, hours=23)
    assert get(client, "/api/v1/disbursements", made.token).status_code == 200
    clock.advance(hours=1)  # 30 days after it was made
    response = get(client, "/api/v1/disbursements", made.token)
    assert_problem(response, 401, mentions="expired")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_disabled_users_tokens_stop_working(app, world, client):
    token = world["tokens"]["manager"]
    assert get(client, "/api/v1/projects", token).status_code == 200
    with app.app_context():
        db.session.get(User, world["user_ids"]["manager"]).active = False
        db.session.commit()
        db.session.remove()
    assert_problem(get(client, "/api/v1/projects", token), 401, mentions="disabled")


@pytest.mark.parametrize("header, why", [
    (None, "Authorization"),
    ("Bearer", "Bearer <token>"),
    ("Basic dXNlcjpwYXNz", "Bearer <token>"),
    ("Bearer not-a-token", "malformed"),
    ("Bearer tft_" + "A" * 43, "unknown"),
])
def test_missing_or_malformed_or_unknown_token_is_401(app, world, client, header, why):
    response = client.get("/api/v1/reports", headers={"Authorization": header} if header else {})
    assert_problem(response, 401, mentions=why)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_last_used_is_recorded_without_an_audited_change(app, world, client):
    assert get(client, "/api/v1/reports", world["tokens"]["donor"]).status_code == 200
    with app.app_context():
        record = db.session.scalars(select(ApiToken).where(ApiToken.user_id == world["user_ids"]["donor"])).one()
        assert record.last_used_at is not None
        assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "update",
                                                           AuditEvent.entity == "api_tokens")).all() == []
        db.session.remove()


# --- audit ------------------------------------------------------------------------------------------------------------

def test_each_api_request_is_audited_with_endpoint_and_token_prefix(app, world, client):
    token = world["tokens"]["manager"]
    get(client, "/api/v1/funding?scope=fund", token)
    get(client, "/api/v1/reports/TF-2025-0002/pdf", token)
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.in_(
            ["api_request", "download_report"])).order_by(AuditEvent.id)).all()
        rows = [(e.action, e.entity_id, e.user_id, (e.changes or {}).get("token")) for e in events]
        text = json.dumps([[e.entity_id, e.changes] for e in events])
        db.session.remove()
    manager = world["user_ids"]["manager"]
    assert rows == [
        ("api_request", "/api/v1/funding", manager, token[:12]),
        ("api_request", "/api/v1/reports/<number>/pdf", manager, token[:12]),
        ("download_report", "TF-2025-0002", manager, None),
    ]
    assert token not in text


# --- figures --------------------------------------------------------------------------------------------------------

def test_project_figures_worked_out_by_hand(app, world, client):
    body = get(client, f"/api/v1/funding?scope=project:TF-CD-2025-01&from={FROM}&to={TO}",
               world["tokens"]["manager"]).get_json()
    assert (body["scope"], body["from"], body["to"], body["currency"]) == ("project:TF-CD-2025-01", FROM, TO, "USD")
    t = body["totals"]
    # need = 3000.00 + 1000.00 = 4000.00; allocated = 1500.00 (2025-03-01, in the period)
    assert (t["need"], t["allocated"]) == ("4000.00", "1500.00")
    # disbursed = the paid 100.00 (2025-04-10); committed = the approved 50.00; the draft counts nowhere
    assert (t["disbursed"], t["committed"]) == ("100.00", "50.00")
    # gap = 4000.00 - 1500.00 = 2500.00; coverage = 1500 / 4000 = 0.375
    assert (t["gap"], t["coverage"]) == ("2500.00", 0.375)
    # balance = 1500.00 - 100.00 - 50.00 = 1350.00; burn = paid in March..May (100.00) / 3 = 33.33
    assert (t["balance"], t["burn"]) == ("1350.00", "33.33")
    # One uncovered term of 2000.00 USD in 2024-2025; 2000.00 > 1350.00: the child is at risk.
    assert (t["school_fee_forward_need"], t["children_at_risk"]) == ("2000.00", 1)
    assert body["by_category"]["medical"] == {"need": "1000.00", "disbursed": "100.00"}
    # The Fund: pledged 5000.00 (USD, not earmarked), received 3000.00 against it: outstanding 2000.00, no exchange
    # difference; allocated 1500.00 + 200.00 = 1700.00, unallocated 3000.00 - 1700.00 = 1300.00;
    # free to go anywhere 1300.00 + 2000.00 = 3300.00.
    # The project's uncovered gap: no pledge is earmarked for it, so max(2500.00 - 0, 0) = 2500.00; the Fund's
    # free money is shown beside it, never taken off it. The deprecated fund.uncovered_gap copies it.
    assert body["fund"] == {"pledged": "5000.00", "received": "3000.00", "outstanding_pledges": "2000.00",
                            "exchange_difference": "0.00", "allocated": "1700.00", "unallocated": "1300.00",
                            "free_resources": "3300.00", "uncovered_gap": "2500.00"}
    assert (t["earmarked_outstanding"], t["uncovered_gap"], t["overcommitted"]) == ("0.00", "2500.00", "0.00")


@pytest.mark.parametrize("role, scope, countries", [
    ("manager", "fund", ["CD"]),
    ("admin", "fund", None),
    ("admin", "country:LR", None),
    ("manager", "country:CD", ["CD"]),
    ("donor", "fund", None),
])
def test_figures_equal_the_engines_for_the_same_scope_and_period(app, world, client, role, scope, countries):
    body = get(client, f"/api/v1/funding?scope={scope}&from={FROM}&to={TO}", world["tokens"][role]).get_json()
    with app.app_context():
        expected = picture_dict(funding_picture(scope=scope, date_from=dt.date(2025, 1, 1),
                                                date_to=dt.date(2025, 6, 30), countries=countries,
                                                with_children=False))
        db.session.remove()
    if role == "donor":  # the same figures, but no counts of children for a donor
        for figures in (expected["totals"], *expected["projects"]):
            assert figures["children_at_risk"] is not None
            figures["children_at_risk"] = None
    assert body == json.loads(json.dumps(expected))


def test_a_managers_fund_scope_holds_only_the_projects_of_their_countries(app, world, client):
    manager = get(client, f"/api/v1/funding?from={FROM}&to={TO}", world["tokens"]["manager"]).get_json()
    admin = get(client, f"/api/v1/funding?from={FROM}&to={TO}", world["tokens"]["admin"]).get_json()
    assert [p["code"] for p in manager["projects"]] == ["TF-CD-2025-01"]
    assert [p["code"] for p in admin["projects"]] == ["TF-CD-2025-01", "TF-LR-2025-01"]
    # admin: need 4000.00 + 500.00 = 4500.00, allocated 1500.00 + 200.00 = 1700.00
    assert (admin["totals"]["need"], admin["totals"]["allocated"]) == ("4500.00", "1700.00")


def test_donors_read_the_fund_scope_only(app, world, client):
    token = world["tokens"]["donor"]
    body = get(client, f"/api/v1/funding?from={FROM}&to={TO}", token).get_json()
    # The fund's figures, but not the count of children at risk (1 in TF-CD-2025-01 for a manager, above).
    assert body["totals"]["need"] == "4500.00"
    assert [p["children_at_risk"] for p in body["projects"]] == [None, None]
    assert body["totals"]["children_at_risk"] is None
    assert_problem(get(client, "/api/v1/funding?scope=country:CD", token), 403, parameter="scope")
    assert_problem(get(client, "/api/v1/funding?scope=project:TF-CD-2025-01", token), 403, parameter="scope")


def test_unknown_project_or_country_is_404(app, world, client):
    token = world["tokens"]["admin"]
    assert_problem(get(client, "/api/v1/funding?scope=project:TF-XX-1999-99", token), 404, parameter="scope")
    assert_problem(get(client, "/api/v1/funding?scope=country:QQ", token), 404, parameter="scope")
    assert_problem(get(client, "/api/v1/disbursements?project=TF-XX-1999-99", token), 404, parameter="project")
    assert_problem(get(client, "/api/v1/reports/TF-2099-0001", token), 404)


def test_projects_list_carries_the_figures(app, world, client):
    body = get(client, f"/api/v1/projects?from={FROM}&to={TO}", world["tokens"]["admin"]).get_json()
    assert body["total"] == 2 and body["next"] is None
    lr = body["items"][1]
    # LR: need 500.00, allocated 200.00, gap 300.00, coverage 200 / 500 = 0.4, balance 200.00
    assert (lr["code"], lr["need"], lr["allocated"], lr["gap"], lr["coverage"], lr["balance"]) == (
        "TF-LR-2025-01", "500.00", "200.00", "300.00", 0.4, "200.00")
    assert lr["status"] == "active" and lr["title"]
    closed = get(client, "/api/v1/projects?status=closed", world["tokens"]["admin"]).get_json()
    assert closed["total"] == 0 and closed["items"] == []


def test_children_at_risk_by_code(app, world, client):
    body = get(client, f"/api/v1/children-at-risk?from={FROM}&to={TO}", world["tokens"]["staff"]).get_json()
    assert body["items"] == [{"project_code": "TF-CD-2025-01", "child_code": world["child"],
                              "mother_code": world["mother"], "term": 1, "fee": "2000.00", "currency": "USD",
                              "fee_usd": "2000.00"}]
    assert "EP Mapendo" not in json.dumps(body)


# --- disbursements --------------------------------------------------------------------------------------------------

def test_disbursements_carry_codes_never_the_payee_or_a_name(app, world, client):
    response = get(client, "/api/v1/disbursements", world["tokens"]["staff"])
    body = response.get_json()
    # Staff of CD: the three CD disbursements, newest entered first; never the LR one.
    assert [d["reference"] for d in body["items"]] == ["D-CD-0003", "D-CD-0002", "D-CD-0001"]
    assert body["items"][2] == {
        "reference": "D-CD-0001", "project_code": "TF-CD-2025-01", "category": "medical",
        "mother_code": world["mother"], "child_code": None, "academic_year": None, "term": None,
        "amount": "100.00", "currency": "USD", "usd_amount": "100.00", "status": "paid",
        "entered_on": "2025-04-01", "paid_on": "2025-04-10",
    }
    text = response.get_data(as_text=True)
    assert "Kavumu" not in text and "Amina" not in text


def test_disbursement_filters(app, world, client):
    token = world["tokens"]["admin"]

    def refs(query):
        return [d["reference"] for d in get(client, f"/api/v1/disbursements?{query}", token).get_json()["items"]]

    assert refs("status=paid") == ["D-CD-0001"]
    assert refs("project=TF-LR-2025-01") == ["D-LR-0001"]
    assert refs("from=2025-05-01&to=2025-06-01") == ["D-CD-0003", "D-CD-0002"]  # entered on, both days included
    assert refs("category=school_fees") == []


# --- pagination -----------------------------------------------------------------------------------------------------

def test_pagination_edges(app, world, client):
    token = world["tokens"]["admin"]
    first = get(client, "/api/v1/disbursements?limit=3", token).get_json()
    assert (first["total"], first["limit"], first["offset"], len(first["items"])) == (4, 3, 0, 3)
    assert first["previous"] is None
    assert first["next"] == "/api/v1/disbursements?limit=3&offset=3"
    last = get(client, first["next"], token).get_json()
    assert [d["reference"] for d in last["items"]] == ["D-CD-0001"] and last["next"] is None
    assert last["previous"] == "/api/v1/disbursements?limit=3&offset=0"
    beyond = get(client, "/api/v1/disbursements?offset=100", token).get_json()
    assert beyond["items"] == [] and beyond["total"] == 4 and beyond["next"] is None
    exact = get(client, "/api/v1/disbursements?limit=4", token).get_json()
    assert len(exact["items"]) == 4 and exact["next"] is None
    assert get(client, "/api/v1/disbursements?limit=200", token).status_code == 200
    kept = get(client, "/api/v1/disbursements?status=draft&limit=1", token).get_json()
    assert kept["next"] == "/api/v1/disbursements?status=draft&limit=1&offset=1"


def test_reports_list_follows_the_web_rules(app, world, client):
    def numbers(role):
        return [r["number"] for r in get(client, "/api/v1/reports", world["tokens"][role]).get_json()["items"]]

    # The manager of CD: CD's and its project's; not the Fund's (LR has a project) nor LR's.
    assert sorted(numbers("manager")) == ["TF-2025-0002", "TF-2025-0003", "TF-2025-0004"]
    assert sorted(numbers("admin")) == [f"TF-2025-000{n}" for n in range(1, 6)]
    # The donor: fund-wide and their own, issued ones only.
    assert sorted(numbers("donor")) == ["TF-2025-0001", "TF-2025-0002"]
    assert_problem(get(client, "/api/v1/reports/TF-2025-0004", world["tokens"]["donor"]), 404)
    rendering = get(client, "/api/v1/reports/TF-2025-0004", world["tokens"]["manager"]).get_json()
    assert rendering["pdf"] is None and rendering["status"] == "rendering"
    assert_problem(get(client, "/api/v1/reports/TF-2025-0004/pdf", world["tokens"]["manager"]), 404)


def test_report_pdf_is_the_stored_bytes(app, world, client):
    response = get(client, "/api/v1/reports/TF-2025-0002/pdf", world["tokens"]["donor"])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data == b"%PDF-1.7 stand-in TF-2025-0002"
    meta = get(client, "/api/v1/reports/TF-2025-0002", world["tokens"]["donor"]).get_json()
    assert meta["sha256"] == hashlib.sha256(response.data).hexdigest()
    assert meta["fund_wide"] is False and meta["pdf"] == "/api/v1/reports/TF-2025-0002/pdf"


# --- bad input: 400 for the wrong type, 422 for a value that cannot be used ----------------------------------------

@pytest.mark.parametrize("url, status, parameter", [
    ("/api/v1/disbursements?limit=abc", 400, "limit"),
    ("/api/v1/disbursements?limit=1.5", 400, "limit"),
    ("/api/v1/disbursements?offset=x", 400, "offset"),
    ("/api/v1/funding?from=notadate", 400, "from"),
    ("/api/v1/funding?to=2025-02-30", 400, "to"),
    ("/api/v1/funding?scope=bogus", 400, "scope"),
    ("/api/v1/funding?scope=", 400, "scope"),
    ("/api/v1/disbursements?status=lost", 400, "status"),
    ("/api/v1/disbursements?project=a%20b", 400, "project"),
    ("/api/v1/projects?country=CDX", 400, "country"),
    ("/api/v1/disbursements?colour=red", 400, "colour"),
    ("/api/v1/disbursements?limit=1&limit=2", 400, "limit"),
    ("/api/v1/disbursements?limit=0", 422, "limit"),
    ("/api/v1/disbursements?limit=-1", 422, "limit"),
    ("/api/v1/disbursements?limit=1000000000", 422, "limit"),
    ("/api/v1/disbursements?limit=201", 422, "limit"),
    ("/api/v1/disbursements?offset=-1", 422, "offset"),
    ("/api/v1/funding?from=2025-06-01&to=2025-05-31", 422, "to"),
    ("/api/v1/disbursements?from=2025-06-01&to=2025-05-31", 422, "to"),
    # The engine's default period (1 January of this year to today) against one given end.
    ("/api/v1/funding?from=2190-01-01", 422, "from"),
    ("/api/v1/projects?from=2190-01-01", 422, "from"),
    ("/api/v1/children-at-risk?to=1999-12-31", 422, "to"),
    ("/api/v1/funding?from=1899-12-31", 400, "from"),
])
def test_bad_parameters(app, world, client, url, status, parameter):
    assert_problem(get(client, url, world["tokens"]["admin"]), status, parameter=parameter)


def test_unknown_api_path_is_a_problem_not_a_page(app, world, client):
    body = assert_problem(get(client, "/api/v1/nothing-here", world["tokens"]["admin"]), 404)
    assert "/api/v1/nothing-here" in body["detail"]
    assert_problem(client.get("/api/v1"), 404)
    assert client.get("/nothing-here").mimetype == "text/html"  # the web keeps its pages


def test_other_methods_are_405_problems(app, world, client):
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        response = client.open("/api/v1/reports", method=method,
                               headers={"Authorization": f"Bearer {world['tokens']['admin']}"})
        assert_problem(response, 405, mentions="read-only")
        assert "GET" in response.headers["Allow"]


def test_a_server_error_is_a_problem(make_app, world):
    from tracker.auth.permissions import PUBLIC, permission

    other = make_app(PROPAGATE_EXCEPTIONS=False)

    @permission(PUBLIC)
    def boom():
        raise RuntimeError("kaput")

    other.add_url_rule("/api/v1/boom", "api_boom", boom)
    body = assert_problem(other.test_client().get("/api/v1/boom"), 500)
    assert "kaput" not in body["detail"]


def test_rate_limit_per_token_answers_429(make_app, world):
    limited = make_app(RATELIMIT_ENABLED=True, API_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    token = world["tokens"]["admin"]
    assert [get(client, "/api/v1/reports", token).status_code for _ in range(2)] == [200, 200]
    assert_problem(get(client, "/api/v1/reports", token), 429)
    # The allowance is the token's: another token is still served.
    assert get(client, "/api/v1/reports", world["tokens"]["manager"]).status_code == 200


# --- donor isolation ------------------------------------------------------------------------------------------------

def test_a_donor_token_never_reaches_a_persons_code(app, world, client):
    person = [world["mother"], world["child"], world["lr_mother"], "D-CD-0001", "Kavumu", "Amina", "EP Mapendo"]
    token = world["tokens"]["donor"]
    checked = 0
    for _endpoint, (inside, outside, _want_in, _want_out) in API_MATRIX.items():
        for url in filter(None, (inside, outside, inside.split("?")[0])):
            response = get(client, url, token)
            if response.status_code in (403, 404):
                continue
            text = response.get_data(as_text=True)
            assert not [c for c in person if c in text], f"donor sees a person's code at {url}"
            checked += 1
    assert checked >= 5


# --- the OpenAPI document -------------------------------------------------------------------------------------------

def _openapi_path(rule) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)


def test_openapi_documents_every_api_route_and_nothing_else(app, client):
    served = {}
    for rule in api_rules(app):
        served.setdefault(_openapi_path(rule), set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    doc = client.get("/api/v1/openapi.json").get_json()
    documented = {path: set(item) - {"parameters", "summary", "description"} for path, item in doc["paths"].items()}
    assert documented == served


def test_openapi_is_3_1_and_loads_in_schemathesis(app, client):
    import schemathesis

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc == json.loads(json.dumps(document()))
    assert doc["openapi"].startswith("3.1.")
    bearer = doc["components"]["securitySchemes"]["bearer"]
    assert bearer == {"type": "http", "scheme": "bearer", "description": bearer["description"]}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert operation["operationId"] and operation["responses"]["200"], f"{method} {path}"
            for status, answer in operation["responses"].items():
                if status != "200":
                    assert answer["$ref"].startswith("#/components/responses/"), f"{method} {path} {status}"
    for name, answer in doc["components"]["responses"].items():
        assert list(answer["content"]) == [PROBLEM], name
    # Every $ref resolves.
    refs = re.findall(r'"\$ref": "#/([^"]+)"', json.dumps(doc))
    for ref in refs:
        node = doc
        for part in ref.split("/"):
            node = node[part]
    schema = schemathesis.openapi.from_dict(doc)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(API_MATRIX)
