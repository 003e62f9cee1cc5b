"""Every route declares a permission, and the app enforces it in one place.

The sweeps below walk ``app.url_map``, so a route added later is checked
without anyone remembering to add it here. A route whose URL takes an
argument needs a sample value in :func:`url_values`; the test says so when
one is missing.
"""
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from tests import factories
from tracker.auth.permissions import PUBLIC, SIGNED_IN, permission
from tracker.extensions import db
from tracker.models import AuditEvent
from tracker.models.users import ALL_PERMISSIONS, ROLE_PERMISSIONS

#: Permissions a donor may hold: nothing here shows a record.
DONOR_MAY = {PUBLIC, SIGNED_IN, "reports.read"}
#: Methods Flask answers by itself for every route.
AUTOMATIC_METHODS = {"HEAD", "OPTIONS"}


def undeclared_endpoints(app) -> list[str]:
    """Endpoints (other than ``static``) whose view declares no known permission."""
    bad = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "permission", None) not in ALL_PERMISSIONS:
            bad.append(rule.endpoint)
    return sorted(set(bad))


def _permission_of(app, rule) -> str:
    return app.view_functions[rule.endpoint].permission


# The records behind the URLs (``records``): tests/security/conftest.py.

#: Which record a ``<code>`` names, by the first segment of the URL.
CODE_BY_PREFIX = {"projects": "project_code", "mothers": "mother_code", "children": "child_code"}


def url_values(rule, records) -> dict:
    """Sample values for the arguments of ``rule``, naming an existing record."""
    prefix = rule.rule.strip("/").split("/")[0]
    by_argument = {
        "code": records.get(CODE_BY_PREFIX.get(prefix, "")),
        "enrolment_id": records["enrolment_id"],
        "claim_id": records["claim_id"],
        "step_id": records["step_id"],
        "reference": records.get({"income": "income_reference",
                                  "disbursements": "disbursement_reference"}.get(prefix, "")),
        "fmt": "csv",
        "id": records["donor_id"],  # /donors/<int:id>
        "number": records["report_number"],  # /reports/<number>
        "table": "projects",  # /review/export/<table>.csv
        "kind_name": "projects",  # an import kind (DESIGN section 7)
        "filename": "css/app.css",
        "user_id": records.get("user_id", 1),  # an admin page of a user (tracker/admin)
        "job_id": records.get("job_id"),  # a job's page (tracker/jobs)
        "plan_id": records.get("plan_id"),  # an allocation plan's page (tracker/dashboard/routes_plan.py)
    }
    values = {}
    for argument in rule.arguments:
        value = by_argument.get(argument)
        assert value is not None, (
            f"tests/security/test_permissions.py: give {rule.rule} a sample value for <{argument}> in url_values()"
        )
        values[argument] = value
    return values


def build(rule, records) -> str:
    return rule.build(url_values(rule, records), append_unknown=False)[1]


def fetch(client, url, method="GET"):
    """Request ``url`` and read the whole answer (a streamed export keeps its context until closed)."""
    response = client.open(url, method=method)
    response.get_data()
    response.close()
    return response


def routes(app, *, methods=None):
    """(rule, method) for every route other than ``static`` and the API's.

    The API (``api.*``) answers a session cookie with 401 whoever holds it
    (tests/security/test_access_matrix.py); tests/api/test_api.py sweeps it with each role's token.
    """
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("api."):
            continue
        for method in sorted(rule.methods - AUTOMATIC_METHODS):
            if methods is None or method in methods:
                yield rule, method


def snapshot(app) -> dict:
    """Every row of every table except the audit trail (reading a page may be audited)."""
    with app.app_context():
        out = {}
        for table in db.metadata.sorted_tables:
            if table.name == "audit_events":
                continue
            rows = db.session.execute(select(table)).all()
            out[table.name] = sorted(repr(tuple(row)) for row in rows)
        db.session.remove()
        return out


# --- declarations ----------------------------------------------------------------------------


def test_every_route_declares_a_known_permission(app):
    assert undeclared_endpoints(app) == []


def test_the_app_has_routes_to_check(app):
    assert {"main.home", "auth.login", "auth.logout", "projects.index", "projects.show"} <= {
        rule.endpoint for rule in app.url_map.iter_rules()
    }


def test_checker_finds_a_new_undeclared_route_and_the_app_refuses_it(make_app, app):
    other = make_app()

    @other.route("/throwaway")
    def throwaway():
        return "nobody declared who may see this"

    @other.route("/throwaway-unknown")
    def throwaway_unknown():
        return "declares a permission nobody has heard of"

    throwaway_unknown.permission = "records.teleport"

    assert undeclared_endpoints(other) == ["throwaway", "throwaway_unknown"]
    assert undeclared_endpoints(app) == []

    with other.app_context():
        user = factories.UserFactory(role="admin", email="admin@example.org")
        email = user.email
    client = other.test_client()
    assert client.get("/throwaway").status_code == 403  # anonymous: refused before anything else
    assert client.post("/login", data={"email": email, "password": factories.PASSWORD}).status_code == 302
    response = client.get("/throwaway")
    assert response.status_code == 403
    assert b"nobody declared" not in response.data
    assert client.get("/").status_code == 200  # she is signed in: only the undeclared route is refused


def test_an_unknown_permission_cannot_be_declared():
    with pytest.raises(ValueError, match="unknown permission"):
        permission("records.teleport")


def test_a_declared_permission_is_enforced_by_role(make_app):
    other = make_app()

    @other.route("/throwaway-admin")
    @permission("admin.users")
    def throwaway_admin():
        return "admins only"

    with other.app_context():
        donor = factories.DonorFactory()
        users = {
            "admin": factories.UserFactory(role="admin").email,
            "staff": factories.UserFactory(role="staff").email,
            "donor": factories.UserFactory(role="donor", donor=donor).email,
        }
    statuses = {}
    for role, email in users.items():
        client = other.test_client()
        assert client.post("/login", data={"email": email, "password": factories.PASSWORD}).status_code == 302
        statuses[role] = client.get("/throwaway-admin").status_code
    # Donors get 404 rather than 403: they learn nothing of what is behind a URL.
    assert statuses == {"admin": 200, "staff": 403, "donor": 404}


# --- donors --------------------------------------------------------------------------------


def test_donor_reaches_no_record_page(app, records, donor_client):
    checked = []
    for rule, method in routes(app):
        needed = _permission_of(app, rule)
        if needed in DONOR_MAY:
            continue
        url = build(rule, records)
        response = fetch(donor_client, url, method)
        assert response.status_code == 404, f"donor got {response.status_code} for {method} {url}"
        assert records["project_code"].encode() not in response.data
        checked.append((method, url))
    assert ("GET", "/projects/") in checked
    assert ("GET", f"/projects/{records['project_code']}") in checked


def test_sample_urls_name_records_that_exist(app, records, sign_in):
    """Control for the donor sweep: the same URLs do lead somewhere for a role allowed there."""
    clients = {}
    for rule, _method in routes(app, methods={"GET"}):
        needed = _permission_of(app, rule)
        if needed in DONOR_MAY:
            continue
        role = next(r for r in ("manager", "admin", "staff") if needed in ROLE_PERMISSIONS[r])
        if role not in clients:
            clients[role] = sign_in(role=role, countries=["CD"])
        url = build(rule, records)
        response = fetch(clients[role], url)
        assert response.status_code != 404, f"{role} got 404 for GET {url}: the sample value names no record"


def test_pages_open_to_donors_show_no_record(app, records, donor_client):
    """Routes any signed-in user may open (home, import pages...) still show a donor no record."""
    codes = [records[k].encode() for k in ("project_code", "mother_code", "child_code", "income_reference",
                                           "disbursement_reference")]
    opened = []
    for rule, _method in routes(app, methods={"GET"}):
        if _permission_of(app, rule) not in DONOR_MAY - {PUBLIC}:
            continue
        url = build(rule, records)
        response = fetch(donor_client, url)
        assert not [c for c in codes if c in response.data], f"donor sees a record code at {url}"
        opened.append(url)
    assert "/" in opened


# --- anonymous -----------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in_for_every_non_public_route(app, records, client):
    checked = 0
    for rule, method in routes(app):
        if _permission_of(app, rule) == PUBLIC:
            continue
        url = build(rule, records)
        response = fetch(client, url, method)
        assert response.status_code == 302, f"{method} {url} gave {response.status_code}"
        assert urlsplit(response.headers["Location"]).path == "/login", f"{method} {url}"
        checked += 1
    assert checked >= 4


def test_anonymous_redirect_remembers_the_page(client, records):
    response = client.get("/projects/")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).query == "next=%2Fprojects%2F"


def test_public_routes_are_served_to_anonymous(app, records, client):
    app.config["PUBLIC_CLAIMS_DASHBOARD"] = True  # off by default: 404 until the Fund publishes it (tests/public/)
    public = [rule for rule, method in routes(app, methods={"GET"}) if _permission_of(app, rule) == PUBLIC]
    assert "/login" in [rule.rule for rule in public]
    for rule in public:
        url = build(rule, records)
        response = fetch(client, url)
        if rule.endpoint == "auth.login_code":  # the code step belongs to a browser that just gave a right password
            assert urlsplit(response.headers["Location"]).path == "/login"
            continue
        assert response.status_code == 200, f"{url} gave {response.status_code}"
    assert fetch(client, "/static/css/app.css").status_code == 200


# --- GET changes nothing -------------------------------------------------------------------


def test_logout_is_not_a_get(staff_client):
    assert staff_client.get("/logout").status_code == 405
    assert staff_client.get("/").status_code == 200  # still signed in


def test_no_route_changes_anything_on_get(app, records, sign_in, donor_client):
    clients = [
        sign_in(role="staff", countries=["CD"]),
        sign_in(role="manager", countries=["CD", "CF"]),
        sign_in(role="admin"),
        donor_client,
    ]
    before = snapshot(app)
    with app.app_context():
        last_event = db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
        db.session.remove()

    requested = 0
    for client in clients:
        for rule, _method in routes(app, methods={"GET"}):
            fetch(client, build(rule, records))
            requested += 1

    assert requested >= 16
    assert snapshot(app) == before
    with app.app_context():
        written = db.session.scalars(select(AuditEvent.action).where(AuditEvent.id > last_event)).all()
        db.session.remove()
    # Showing personal data may be audited on a GET; no record may change.
    assert not {"create", "update", "delete", "sign_in", "sign_out"} & set(written)
