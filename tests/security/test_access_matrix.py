"""The access-control matrix: every route, every role, a record inside and outside the user's countries, every method.

:data:`MATRIX` declares, for each route and method, the answer each role
gets on a record of the user's own countries; for a route naming a record of
a country (the last column), the same request on a record of another country
must give staff and managers a 404 (admins see every country, donors no
record). The test fails when a route has no row, or a row no route.

Answers: ``OK`` the route serves the user (a page, a file, a redirect that is
not to the sign-in page, or the form's own 400/422 for the empty form these
requests send); ``LOGIN`` a redirect to the sign-in page; ``DENY`` 403;
``HIDE`` 404 (donors, and records outside the user's countries).

The same module checks that no GET changes anything, and that no POST is
accepted without a CSRF token.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import func, select

from tests import factories
from tracker.extensions import csrf, db
from tracker.models import AuditEvent

OK, LOGIN, DENY, HIDE = "ok", "login", 403, 404
#: The API (tracker/api) never reads the session: a browser's cookie, whoever's, gets 401 there.
#: tests/api/test_api.py holds the same sweep with each role's token, inside and outside the user's countries.
TOKEN = 401
ROLES = ("anonymous", "donor", "staff", "manager", "admin")
#: Methods Flask answers by itself for every route.
AUTOMATIC_METHODS = {"HEAD", "OPTIONS"}
#: Audit events a GET may write: reads that are recorded on purpose (an export, a report downloaded, the page
#: of a mother, a child or a claim opened).
AUDITED_READS = {"export", "download_report", "view"}

# fmt: off
#: (endpoint, method): (anonymous, donor, staff, manager, admin, record named by the URL or None)
MATRIX = {
    # signing in and out, one's own account
    ("auth.login", "GET"):                          (OK,    OK,   OK,   OK,   OK,   None),
    ("auth.login", "POST"):                         (OK,    OK,   OK,   OK,   OK,   None),
    ("auth.login_code", "GET"):                     (OK,    OK,   OK,   OK,   OK,   None),
    ("auth.login_code", "POST"):                    (OK,    OK,   OK,   OK,   OK,   None),
    ("auth.logout", "POST"):                        (LOGIN, OK,   OK,   OK,   OK,   None),
    ("auth.account", "GET"):                        (LOGIN, OK,   OK,   OK,   OK,   None),
    ("auth.language", "POST"):                      (LOGIN, OK,   OK,   OK,   OK,   None),
    ("auth.password", "GET"):                       (LOGIN, OK,   OK,   OK,   OK,   None),
    ("auth.password", "POST"):                      (LOGIN, OK,   OK,   OK,   OK,   None),
    ("auth.two_factor_setup", "GET"):               (LOGIN, OK,   OK,   OK,   OK,   None),
    ("auth.two_factor_start", "POST"):              (LOGIN, OK,   OK,   OK,   OK,   None),
    ("auth.two_factor_confirm", "POST"):            (LOGIN, OK,   OK,   OK,   OK,   None),
    ("auth.two_factor_disable", "POST"):            (LOGIN, OK,   OK,   OK,   OK,   None),
    ("auth.recovery_codes", "POST"):                (LOGIN, OK,   OK,   OK,   OK,   None),
    ("auth.create_api_token", "POST"):              (LOGIN, OK,   OK,   OK,   OK,   None),
    ("auth.revoke_api_token", "POST"):              (LOGIN, OK,   OK,   OK,   OK,   None),
    ("static", "GET"):                              (OK,    OK,   OK,   OK,   OK,   None),
    ("main.home", "GET"):                           (LOGIN, OK,   OK,   OK,   OK,   None),
    ("main.unpaid_terms", "GET"):                   (LOGIN, HIDE, OK,   OK,   OK,   None),
    # administration: users and the audit log
    ("admin.users", "GET"):                         (LOGIN, HIDE, DENY, DENY, OK,   None),
    ("admin.new_user", "GET"):                      (LOGIN, HIDE, DENY, DENY, OK,   None),
    ("admin.new_user", "POST"):                     (LOGIN, HIDE, DENY, DENY, OK,   None),
    ("admin.user", "GET"):                          (LOGIN, HIDE, DENY, DENY, OK,   None),
    ("admin.change_access", "POST"):                (LOGIN, HIDE, DENY, DENY, OK,   None),
    ("admin.disable_user", "POST"):                 (LOGIN, HIDE, DENY, DENY, OK,   None),
    ("admin.enable_user", "POST"):                  (LOGIN, HIDE, DENY, DENY, OK,   None),
    ("admin.reset_password", "POST"):               (LOGIN, HIDE, DENY, DENY, OK,   None),
    ("admin.reset_two_factor", "POST"):             (LOGIN, HIDE, DENY, DENY, OK,   None),
    ("admin.audit_log", "GET"):                     (LOGIN, HIDE, DENY, DENY, OK,   None),
    ("admin.audit_export", "GET"):                  (LOGIN, HIDE, DENY, DENY, OK,   None),
    ("funding.rates", "GET"):                       (LOGIN, HIDE, DENY, DENY, OK,   None),
    ("funding.rates", "POST"):                      (LOGIN, HIDE, DENY, DENY, OK,   None),
    # projects
    ("projects.index", "GET"):                      (LOGIN, HIDE, OK,   OK,   OK,   None),
    ("projects.show", "GET"):                       (LOGIN, HIDE, OK,   OK,   OK,   "project"),
    ("funding.new_project", "GET"):                 (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.new_project", "POST"):                (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.edit_project", "GET"):                (LOGIN, HIDE, DENY, OK,   OK,   "project"),
    ("funding.edit_project", "POST"):               (LOGIN, HIDE, DENY, OK,   OK,   "project"),
    ("funding.budget", "GET"):                      (LOGIN, HIDE, DENY, OK,   OK,   "project"),
    ("funding.budget", "POST"):                     (LOGIN, HIDE, DENY, OK,   OK,   "project"),
    # mothers: admins read records but never see or change a person's data
    ("registry.mothers", "GET"):                    (LOGIN, HIDE, OK,   OK,   OK,   None),
    ("registry.find_mother", "POST"):               (LOGIN, HIDE, OK,   OK,   OK,   None),
    ("registry.export_mothers", "GET"):             (LOGIN, HIDE, OK,   OK,   OK,   None),
    ("registry.export_mothers_personal", "POST"):   (LOGIN, HIDE, OK,   OK,   DENY, None),
    ("registry.new_mother", "GET"):                 (LOGIN, HIDE, OK,   OK,   DENY, None),
    ("registry.new_mother", "POST"):                (LOGIN, HIDE, OK,   OK,   DENY, None),
    ("registry.mother", "GET"):                     (LOGIN, HIDE, OK,   OK,   OK,   "mother"),
    ("registry.mother_personal", "POST"):           (LOGIN, HIDE, OK,   OK,   DENY, "mother"),
    ("registry.edit_mother", "GET"):                (LOGIN, HIDE, OK,   OK,   DENY, "mother"),
    ("registry.edit_mother", "POST"):               (LOGIN, HIDE, OK,   OK,   DENY, "mother"),
    ("registry.exit_mother", "POST"):               (LOGIN, HIDE, OK,   OK,   DENY, "mother"),
    ("registry.readmit_mother", "POST"):            (LOGIN, HIDE, OK,   OK,   DENY, "mother"),
    ("registry.consent", "POST"):                   (LOGIN, HIDE, OK,   OK,   DENY, "mother"),
    ("registry.new_child", "GET"):                  (LOGIN, HIDE, OK,   OK,   DENY, "mother"),
    ("registry.new_child", "POST"):                 (LOGIN, HIDE, OK,   OK,   DENY, "mother"),
    ("registry.new_income_project", "GET"):         (LOGIN, HIDE, OK,   OK,   DENY, "mother"),
    ("registry.new_income_project", "POST"):        (LOGIN, HIDE, OK,   OK,   DENY, "mother"),
    # children, enrolments, paternity claims
    ("registry.child", "GET"):                      (LOGIN, HIDE, OK,   OK,   OK,   "child"),
    ("registry.child_personal", "POST"):            (LOGIN, HIDE, OK,   OK,   DENY, "child"),
    ("registry.edit_child", "GET"):                 (LOGIN, HIDE, OK,   OK,   DENY, "child"),
    ("registry.edit_child", "POST"):                (LOGIN, HIDE, OK,   OK,   DENY, "child"),
    ("registry.new_enrolment", "GET"):              (LOGIN, HIDE, OK,   OK,   DENY, "child"),
    ("registry.new_enrolment", "POST"):             (LOGIN, HIDE, OK,   OK,   DENY, "child"),
    ("registry.new_claim", "GET"):                  (LOGIN, HIDE, OK,   OK,   DENY, "child"),
    ("registry.new_claim", "POST"):                 (LOGIN, HIDE, OK,   OK,   DENY, "child"),
    ("registry.edit_enrolment", "GET"):             (LOGIN, HIDE, OK,   OK,   DENY, "enrolment"),
    ("registry.edit_enrolment", "POST"):            (LOGIN, HIDE, OK,   OK,   DENY, "enrolment"),
    ("registry.claims_list", "GET"):                (LOGIN, HIDE, OK,   OK,   OK,   None),
    ("registry.export_claims", "GET"):              (LOGIN, HIDE, OK,   OK,   OK,   None),
    ("registry.claim", "GET"):                      (LOGIN, HIDE, OK,   OK,   OK,   "claim"),
    # the claims dashboard: managers and admins, the claims of their countries (issue 19)
    ("registry.claims_dashboard", "GET"):           (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("registry.claims_dashboard_claims", "GET"):    (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("registry.claims_dashboard_stalled_csv", "GET"): (LOGIN, HIDE, DENY, OK,  OK,   None),
    ("registry.add_step", "POST"):                  (LOGIN, HIDE, OK,   OK,   DENY, "claim"),
    ("registry.correct_step", "POST"):              (LOGIN, HIDE, OK,   OK,   DENY, "claim"),
    # income-generating activities
    ("registry.income_list", "GET"):                (LOGIN, HIDE, OK,   OK,   OK,   None),
    ("registry.export_income", "GET"):              (LOGIN, HIDE, OK,   OK,   OK,   None),
    ("registry.income_project", "GET"):             (LOGIN, HIDE, OK,   OK,   OK,   "income"),
    ("registry.edit_income_project", "GET"):        (LOGIN, HIDE, OK,   OK,   DENY, "income"),
    ("registry.edit_income_project", "POST"):       (LOGIN, HIDE, OK,   OK,   DENY, "income"),
    ("registry.add_income_report", "POST"):         (LOGIN, HIDE, OK,   OK,   DENY, "income"),
    # disbursements: staff enter, managers approve (admins only read)
    ("disbursements.index", "GET"):                 (LOGIN, HIDE, OK,   OK,   OK,   None),
    ("disbursements.export", "GET"):                (LOGIN, HIDE, OK,   OK,   OK,   None),
    ("disbursements.new", "GET"):                   (LOGIN, HIDE, OK,   OK,   DENY, None),
    ("disbursements.new", "POST"):                  (LOGIN, HIDE, OK,   OK,   DENY, None),
    ("disbursements.whole_term", "GET"):            (LOGIN, HIDE, OK,   OK,   DENY, None),
    ("disbursements.whole_term", "POST"):           (LOGIN, HIDE, OK,   OK,   DENY, None),
    ("disbursements.show", "GET"):                  (LOGIN, HIDE, OK,   OK,   OK,   "disbursement"),
    ("disbursements.submit", "POST"):               (LOGIN, HIDE, OK,   OK,   DENY, "disbursement"),
    ("disbursements.approve", "POST"):              (LOGIN, HIDE, DENY, OK,   DENY, "disbursement"),
    ("disbursements.reject", "POST"):               (LOGIN, HIDE, DENY, OK,   DENY, "disbursement"),
    ("disbursements.pay", "POST"):                  (LOGIN, HIDE, DENY, OK,   DENY, "disbursement"),
    ("disbursements.void", "POST"):                 (LOGIN, HIDE, DENY, OK,   DENY, "disbursement"),
    ("disbursements.withdraw", "POST"):             (LOGIN, HIDE, OK,   OK,   DENY, "disbursement"),
    ("disbursements.correct", "GET"):               (LOGIN, HIDE, OK,   OK,   DENY, "disbursement"),
    ("disbursements.correct", "POST"):              (LOGIN, HIDE, OK,   OK,   DENY, "disbursement"),
    ("disbursements.approvals", "GET"):             (LOGIN, HIDE, DENY, OK,   DENY, None),
    ("disbursements.decide", "POST"):               (LOGIN, HIDE, DENY, OK,   DENY, None),
    ("disbursements.to_pay", "GET"):                (LOGIN, HIDE, DENY, OK,   DENY, None),
    ("disbursements.pay_many", "POST"):             (LOGIN, HIDE, DENY, OK,   DENY, None),
    # imports (of mothers here: each kind checks its own permission)
    ("imports.index", "GET"):                       (LOGIN, HIDE, OK,   OK,   OK,   None),
    ("imports.upload", "GET"):                      (LOGIN, HIDE, OK,   OK,   DENY, None),
    ("imports.upload", "POST"):                     (LOGIN, HIDE, OK,   OK,   DENY, None),
    ("imports.confirm", "POST"):                    (LOGIN, HIDE, OK,   OK,   DENY, None),
    # the result of an import job: the world's job renders a report, so it is no import's (who sees an import
    # job's result: tests/imports/test_import_jobs.py)
    ("imports.job_result", "GET"):                  (LOGIN, HIDE, HIDE, HIDE, DENY, None),
    ("imports.template_csv", "GET"):                (LOGIN, HIDE, OK,   OK,   DENY, None),
    ("imports.template_xlsx", "GET"):               (LOGIN, HIDE, OK,   OK,   DENY, None),
    # funding: managers and admins (donors are not country records)
    ("funding.donors", "GET"):                      (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.export_donors", "GET"):               (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.new_donor", "GET"):                   (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.new_donor", "POST"):                  (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.donor", "GET"):                       (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.edit_donor", "GET"):                  (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.edit_donor", "POST"):                 (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.pledges", "GET"):                     (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.export_pledges", "GET"):              (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.new_pledge", "GET"):                  (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.new_pledge", "POST"):                 (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.contributions", "GET"):               (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.export_contributions", "GET"):        (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.new_contribution", "GET"):            (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.new_contribution", "POST"):           (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.allocations", "GET"):                 (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.export_allocations", "GET"):          (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.new_allocation", "GET"):              (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("funding.new_allocation", "POST"):             (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("dashboard.review", "GET"):                    (LOGIN, HIDE, DENY, OK,   OK,   None),
    ("dashboard.export", "GET"):                    (LOGIN, HIDE, DENY, OK,   OK,   None),
    # the allocation planner and its plans: managers only (a plan names the projects of its countries)
    ("dashboard.plan", "GET"):                      (LOGIN, HIDE, DENY, OK,   DENY, None),
    ("dashboard.plan", "POST"):                     (LOGIN, HIDE, DENY, OK,   DENY, None),
    ("dashboard.allocate", "POST"):                 (LOGIN, HIDE, DENY, OK,   DENY, None),
    ("dashboard.plans_list", "GET"):                (LOGIN, HIDE, DENY, OK,   DENY, None),
    ("dashboard.plan_show", "GET"):                 (LOGIN, HIDE, DENY, OK,   DENY, "plan"),
    ("dashboard.plan_confirm", "POST"):             (LOGIN, HIDE, DENY, OK,   DENY, "plan"),
    ("dashboard.plan_reject", "POST"):              (LOGIN, HIDE, DENY, OK,   DENY, "plan"),
    ("dashboard.plan_withdraw", "POST"):            (LOGIN, HIDE, DENY, OK,   DENY, "plan"),
    # open data: the IATI 2.03 activity file of the projects of the user's countries (issue 9)
    ("dashboard.iati", "GET"):                      (LOGIN, HIDE, DENY, OK,   OK,   None),
    # donor reports: donors read those addressed to them (or to every donor); anyone verifies a copy
    ("reports.index", "GET"):                       (LOGIN, OK,   DENY, OK,   OK,   None),
    ("reports.show", "GET"):                        (LOGIN, OK,   DENY, OK,   OK,   "report"),
    ("reports.download", "GET"):                    (LOGIN, OK,   DENY, OK,   OK,   "report"),
    ("reports.new", "GET"):                         (LOGIN, HIDE, DENY, OK,   DENY, None),
    ("reports.new", "POST"):                        (LOGIN, HIDE, DENY, OK,   DENY, None),
    ("reports.preview", "GET"):                     (LOGIN, HIDE, DENY, OK,   DENY, None),
    ("reports.preview", "POST"):                    (LOGIN, HIDE, DENY, OK,   DENY, None),
    ("reports.verify", "GET"):                      (OK,    OK,   OK,   OK,   OK,   None),
    ("reports.verify", "POST"):                     (OK,    OK,   OK,   OK,   OK,   None),
    # jobs: staff watch their own, managers those of their countries, admins all (the record: a job of a country)
    ("jobs.index", "GET"):                          (LOGIN, HIDE, OK,   OK,   OK,   None),
    ("jobs.show", "GET"):                           (LOGIN, HIDE, HIDE, OK,   OK,   "job"),
    # the health check of a proxy or an orchestrator: open, and it says nothing but ok
    ("main.healthz", "GET"):                        (OK,    OK,   OK,   OK,   OK,   None),
    # the public claims figures: open to anyone once PUBLIC_CLAIMS_DASHBOARD is on; off here (tests/public/)
    ("public.claims", "GET"):                       (HIDE,  HIDE, HIDE, HIDE, HIDE, None),
    # the JSON API: bearer tokens only (see TOKEN above); its description is public
    ("api.funding", "GET"):                         (TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, None),
    ("api.projects", "GET"):                        (TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, None),
    ("api.children_at_risk", "GET"):                (TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, None),
    ("api.disbursements", "GET"):                   (TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, None),
    ("api.claims_summary", "GET"):                  (TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, None),
    ("api.plan", "GET"):                            (TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, None),
    ("api.reports", "GET"):                         (TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, None),
    ("api.report", "GET"):                          (TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, None),
    ("api.report_pdf", "GET"):                      (TOKEN, TOKEN, TOKEN, TOKEN, TOKEN, None),
    ("api.openapi", "GET"):                         (OK,    OK,   OK,   OK,   OK,   None),
}

#: Form data for POSTs whose check of the record comes after the form's own check.
POST_DATA = {
    "disbursements.reject": {"reason": "checking access"},
    "disbursements.void": {"reason": "checking access"},
    "disbursements.withdraw": {"reason": "checking access"},
    "disbursements.pay": {"paid_on": "2025-03-02", "payment_reference": "PAY-CHECK-1"},
}
# fmt: on


# The records behind the URLs (``world``) and a client per role (``clients``): tests/security/conftest.py.

#: Which record a ``<code>`` or ``<reference>`` names, by the first segment of the URL.
_BY_PREFIX = {"projects": "project", "mothers": "mother", "children": "child", "income": "income",
              "disbursements": "disbursement"}


def url_values(rule, records: dict) -> dict:
    prefix = rule.rule.strip("/").split("/")[0]
    by_argument = {
        "code": records.get(_BY_PREFIX.get(prefix, "")),
        "reference": records.get(_BY_PREFIX.get(prefix, "")),
        "enrolment_id": records["enrolment"],
        "claim_id": records["claim"],
        "step_id": records["step"],
        "id": records["donor"],
        "number": records["report"],
        "user_id": records["user"],
        "job_id": records["job"],
        "plan_id": records["plan"],
        "fmt": "csv",
        "kind_name": "beneficiaries",
        "table": "projects",
        "filename": "css/app.css",
    }
    values = {}
    for argument in rule.arguments:
        assert by_argument.get(argument) is not None, f"give <{argument}> of {rule.rule} a sample in url_values()"
        values[argument] = by_argument[argument]
    return values


def build(rule, records) -> str:
    return rule.build(url_values(rule, records), append_unknown=False)[1]


def routes(app):
    """(endpoint, method, rule) for every route and method; sign-out last, so the sweep stays signed in."""
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - AUTOMATIC_METHODS):
            out.append((rule.endpoint, method, rule))
    return sorted(out, key=lambda item: (item[0] == "auth.logout", item[0], item[1]))


def answer(client, method, url, endpoint=None):
    """What the app answered: OK, LOGIN, DENY or HIDE (or the status code when none fits)."""
    data = POST_DATA.get(endpoint) if method == "POST" else None
    response = client.open(url, method=method, data=data)
    response.get_data()
    response.close()
    status = response.status_code
    if status in (301, 302, 303):
        target = urlsplit(response.headers["Location"])
        # Flask-Login sends to the sign-in page with the page asked for in `next`.
        return LOGIN if target.path == "/login" and "next=" in target.query else OK
    if status in (200, 400, 422):
        return OK
    return status


def expected_outside(inside_answer, role: str, record: str | None):
    """A record of another country: staff and managers do not see it (a report of another country
    included); donors see only their own reports."""
    if record is None or role in ("anonymous", "admin"):
        return inside_answer
    if role == "donor":
        return HIDE
    return HIDE if inside_answer == OK else inside_answer


# --- the matrix ------------------------------------------------------------------------------------------------------


def test_every_route_has_a_row_and_every_row_a_route(app):
    present = {(endpoint, method) for endpoint, method, _rule in routes(app)}
    assert sorted(present - set(MATRIX)) == [], "routes without a row in MATRIX"
    assert sorted(set(MATRIX) - present) == [], "rows in MATRIX for routes that do not exist"


def test_the_matrix_holds(app, world, clients):
    wrong = []
    for endpoint, method, rule in routes(app):
        row = MATRIX.get((endpoint, method))
        if row is None:
            continue  # reported by the test above
        record = row[5]
        for role, want in zip(ROLES, row[:5]):
            got = answer(clients[role], method, build(rule, world["inside"]), endpoint)
            if got != want:
                wrong.append(f"{role} {method} {endpoint} (own country): {got}, expected {want}")
            if record is not None:
                want_out = expected_outside(want, role, record)
                got_out = answer(clients[role], method, build(rule, world["outside"]), endpoint)
                if got_out != want_out:
                    wrong.append(f"{role} {method} {endpoint} (other country): {got_out}, expected {want_out}")
    assert wrong == []


# --- GET changes nothing -------------------------------------------------------------------------------------------


def snapshot(app) -> dict:
    """Every row of every table but the audit log."""
    with app.app_context():
        out = {}
        for table in db.metadata.sorted_tables:
            if table.name != "audit_events":
                out[table.name] = sorted(repr(tuple(row)) for row in db.session.execute(select(table)).all())
        db.session.remove()
        return out


def test_no_get_changes_anything_as_any_role(app, world, clients):
    before = snapshot(app)
    with app.app_context():
        last = db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
        db.session.remove()
    swept = 0
    for _endpoint, method, rule in routes(app):
        if method != "GET":
            continue
        for role in ROLES:
            for side in ("inside", "outside"):
                answer(clients[role], "GET", build(rule, world[side]))
                swept += 1
    assert swept > 400
    assert snapshot(app) == before
    with app.app_context():
        written = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.id > last)))
        db.session.remove()
    # Reads recorded on purpose are the only events a GET writes.
    assert written and written <= AUDITED_READS


# --- CSRF ------------------------------------------------------------------------------------------------------------


def test_no_view_or_blueprint_is_exempt_from_csrf(app):
    assert csrf._exempt_views == set() and csrf._exempt_blueprints == set()
    source = Path(__file__).resolve().parents[2] / "tracker"
    assert [p for p in source.rglob("*.py") if "csrf.exempt" in p.read_text(encoding="utf-8")] == []


def _token(client, path) -> str:
    page = client.get(path)
    found = re.search(rb'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page.data)
    assert found, f"no CSRF token on {path}"
    return found.group(1).decode()


def test_every_post_is_refused_without_a_csrf_token(make_app, world):
    protected = make_app(WTF_CSRF_ENABLED=True)
    with protected.app_context():
        for role, email in (("admin", "csrf.admin@example.org"), ("manager", "csrf.manager@example.org"),
                            ("staff", "csrf.staff@example.org")):
            factories.UserFactory(role=role, email=email, countries=["CD"] if role != "admin" else [])
        db.session.remove()
    clients = {"anonymous": protected.test_client()}
    for role in ("admin", "manager", "staff"):
        client = protected.test_client()
        response = client.post("/login", data={"email": f"csrf.{role}@example.org", "password": factories.PASSWORD,
                                               "csrf_token": _token(client, "/login")})
        assert response.status_code == 302
        clients[role] = client
    posts = [(endpoint, rule) for endpoint, method, rule in routes(protected) if method == "POST"]
    assert len(posts) > 40
    for role, client in clients.items():
        for endpoint, rule in posts:
            url = build(rule, world["inside"])
            response = client.post(url, data=POST_DATA.get(endpoint, {}))
            assert response.status_code == 400, f"{role} POST {url} without a token: {response.status_code}"
            assert b"This form has expired" in response.data, f"{role} POST {url}: not refused for CSRF"
        assert client.get("/account").status_code == (302 if role == "anonymous" else 200)  # still signed in
