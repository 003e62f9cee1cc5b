"""Admin pages for users and the audit log; forms that take only their own fields; the append-only log."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, text

from tests import factories
from tracker.extensions import db
from tracker.models import AuditEvent, Beneficiary, Disbursement, User

GOOD = "a perfectly good passphrase"


def user(app, email):
    with app.app_context():
        found = db.session.scalars(select(User).where(User.email == email)).one_or_none()
        if found is not None:
            found = {"id": found.id, "role": found.role, "countries": found.countries, "donor_id": found.donor_id,
                     "active": found.active, "locale": found.locale, "email": found.email, "name": found.name,
                     "password_hash": found.password_hash, "session_token": found.session_token,
                     "password_changed_at": found.password_changed_at}
        db.session.remove()
        return found


def events(app, action=None):
    with app.app_context():
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        out = [(e.action, e.entity, e.entity_id, e.user_id, e.changes) for e in db.session.scalars(stmt)]
        db.session.remove()
        return out


@pytest.fixture
def admin(sign_in):
    return sign_in(role="admin", email="admin@example.org")


# --- users -----------------------------------------------------------------------------------------------------------


def test_the_user_list_shows_role_scope_and_state(app, admin):
    with app.app_context():
        factories.UserFactory(email="staff@example.org", role="staff", countries=["CD", "CF"])
        factories.UserFactory(email="gone@example.org", role="staff", active=False)
    page = admin.get("/admin/users/")
    assert page.status_code == 200
    assert b"staff@example.org" in page.data and b"CD, CF" in page.data and b"disabled" in page.data


def test_an_admin_creates_a_user_who_gets_a_first_password_once(app, admin, make_app):
    response = admin.post("/admin/users/new", data={"email": "New.Staff@Example.org", "name": "Grace N.",
                                                    "role": "staff", "countries": ["CD", "CF"], "donor": "",
                                                    "locale": "fr"})
    assert response.status_code == 200
    password = re.search(rb'<code class="initial-password">([^<]+)</code>', response.data).group(1).decode()
    assert len(password) >= 16
    created = user(app, "new.staff@example.org")
    assert (created["role"], created["countries"], created["locale"], created["password_changed_at"]) == (
        "staff", ["CD", "CF"], "fr", None)
    # Shown once: not on the user's page, not in the audit log.
    assert password.encode() not in admin.get(f"/admin/users/{created['id']}").data
    assert password not in repr(events(app))
    # The user must replace it before anything else (as outside the tests).
    own = make_app(PASSWORD_MUST_BE_OWN=True)
    client = own.test_client()
    assert client.post("/login", data={"email": "new.staff@example.org", "password": password}).status_code == 302
    assert urlsplit(client.get("/mothers/").headers["Location"]).path == "/account/password"


@pytest.mark.parametrize("data, field_message", [
    ({"role": "staff", "countries": []}, b"Staff and managers need at least one country."),
    ({"role": "admin", "countries": ["CD"]}, b"choose no country"),
    ({"role": "donor", "countries": []}, b"A donor user reads the reports of one donor"),
    ({"role": "manager", "countries": ["CD"], "donor": "1"}, b"Only donor users are linked to a donor."),
    ({"role": "staff", "countries": ["CD"], "email": "admin@example.org"}, b"A user with this e-mail exists"),
])
def test_a_user_that_breaks_a_rule_is_not_created(app, admin, data, field_message):
    with app.app_context():
        factories.DonorFactory(name="Kingdom of Norway")
    form = {"email": "someone@example.org", "name": "Someone", "donor": "", "locale": "en", **data}
    response = admin.post("/admin/users/new", data=form)
    assert response.status_code == 200 and field_message in response.data
    if form["email"] == "someone@example.org":
        assert user(app, "someone@example.org") is None


def test_changing_a_users_access_is_audited_with_before_and_after(app, admin):
    with app.app_context():
        target = factories.UserFactory(email="staff@example.org", role="staff", countries=["CD"]).id
    response = admin.post(f"/admin/users/{target}/access", data={"role": "manager", "countries": ["CD", "HT"],
                                                                 "donor": ""})
    assert response.status_code == 302
    changed = user(app, "staff@example.org")
    assert (changed["role"], changed["countries"]) == ("manager", ["CD", "HT"])
    (event,) = events(app, "access_changed")
    assert event[4] == {"role": ["staff", "manager"], "countries": [["CD"], ["CD", "HT"]]}


def test_a_donor_user_is_linked_to_a_donor(app, admin):
    with app.app_context():
        donor = factories.DonorFactory(name="Kingdom of Norway").id
        target = factories.UserFactory(email="someone@example.org", role="staff", countries=["CD"]).id
    admin.post(f"/admin/users/{target}/access", data={"role": "donor", "donor": str(donor)})
    changed = user(app, "someone@example.org")
    assert (changed["role"], changed["countries"], changed["donor_id"]) == ("donor", [], donor)


def test_an_admin_cannot_disable_or_demote_themselves(app, admin):
    me = user(app, "admin@example.org")
    admin.post(f"/admin/users/{me['id']}/disable")
    admin.post(f"/admin/users/{me['id']}/access", data={"role": "staff", "countries": ["CD"], "donor": ""})
    admin.post(f"/admin/users/{me['id']}/reset-password")
    after = user(app, "admin@example.org")
    assert (after["active"], after["role"], after["password_hash"]) == (True, "admin", me["password_hash"])
    assert admin.get("/admin/users/").status_code == 200


def test_unknown_user_is_404(admin):
    assert admin.get("/admin/users/999999").status_code == 404
    assert admin.post("/admin/users/999999/disable").status_code == 404


# --- the audit log ------------------------------------------------------------------------------------------------


@pytest.fixture
def logged(app):
    """A few events of two users on two days."""
    with app.app_context():
        anna = factories.UserFactory(email="anna@example.org", role="staff", countries=["CD"]).id
        ben = factories.UserFactory(email="ben@example.org", role="manager", countries=["CD"]).id
        rows = [
            (dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC), anna, "show_personal", "beneficiaries", "CD-M-00001"),
            (dt.datetime(2025, 3, 1, 23, 59, tzinfo=dt.UTC), anna, "export", "beneficiaries", None),
            (dt.datetime(2025, 3, 2, 0, 1, tzinfo=dt.UTC), ben, "approve", "disbursements", "D-CD-2025-0001"),
            (dt.datetime(2025, 3, 3, 8, tzinfo=dt.UTC), ben, "show_personal", "children", "=HYPERLINK(1)"),
        ]
        for at, who, action, entity, entity_id in rows:
            db.session.add(AuditEvent(at=at, user_id=who, action=action, entity=entity, entity_id=entity_id,
                                      changes={"note": "-2+3"}, ip="127.0.0.1"))
        db.session.commit()
        db.session.remove()
        return {"anna": anna, "ben": ben}


def _shown(page) -> list[str]:
    return re.findall(r'<td data-action="([a-z_]+)">', page.data.decode())


def test_the_audit_log_filters_by_user_action_entity_and_dates(app, admin, logged):
    assert _shown(admin.get(f"/admin/audit/?user={logged['anna']}")) == ["export", "show_personal"]
    assert _shown(admin.get("/admin/audit/?action=show_personal")) == ["show_personal", "show_personal"]
    assert _shown(admin.get("/admin/audit/?entity=disbursements")) == ["approve"]
    assert _shown(admin.get("/admin/audit/?entity=beneficiaries&entity_id=CD-M-00001")) == ["show_personal"]
    assert _shown(admin.get("/admin/audit/?date_from=2025-03-01&date_to=2025-03-01")) == ["export", "show_personal"]
    assert _shown(admin.get("/admin/audit/?date_from=2025-03-02&date_to=2025-03-03")) == ["show_personal", "approve"]
    assert admin.get("/admin/audit/?date_from=not-a-date&user=abc").status_code == 200  # bad filters are ignored


def test_the_audit_log_exports_the_filtered_events_as_safe_csv_and_the_export_is_audited(app, admin, logged):
    response = admin.get(f"/admin/audit/export.csv?user={logged['ben']}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["id", "at", "user_id", "user_email", "action", "entity", "entity_id", "changes", "ip"]
    assert [r[4] for r in rows[1:]] == ["show_personal", "approve"]
    assert rows[1][6] == "'=HYPERLINK(1)"  # a formula is text in a spreadsheet
    assert rows[1][7] == '{"note": "-2+3"}'
    (export,) = events(app, "export")[-1:]
    assert export[1] == "audit_events" and export[4] == {"rows": 2, "filters": {"user": logged["ben"]}}


def test_the_audit_log_is_for_admins(app, sign_in, logged):
    assert sign_in(role="manager", countries=["CD"]).get("/admin/audit/").status_code == 403
    assert sign_in(role="staff", countries=["CD"]).get("/admin/audit/export.csv").status_code == 403


@pytest.mark.postgres_only
def test_postgresql_refuses_to_change_or_delete_an_audit_event(app, dialect, logged):
    from sqlalchemy.exc import DBAPIError

    if dialect != "postgresql":
        pytest.skip("the trigger that keeps the audit log append-only is PostgreSQL's (migration 0002)")
    with db.engine.begin() as conn:
        before = conn.execute(text("SELECT count(*), max(id) FROM audit_events")).one()
    for statement in ("UPDATE audit_events SET action = 'nothing'", "DELETE FROM audit_events",
                      "TRUNCATE audit_events"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(statement))
    with db.engine.begin() as conn:
        assert conn.execute(text("SELECT count(*), max(id) FROM audit_events")).one() == before
        conn.execute(text("INSERT INTO audit_events (at, action) VALUES (now(), 'still_appends')"))


# --- forms take only their own fields ------------------------------------------------------------------------------


@pytest.fixture
def registry(app):
    with app.app_context():
        cd = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        lr = factories.ProjectFactory(code="TF-LR-2025-01", country="LR")
        factories.ExchangeRateFactory()
        mother = factories.BeneficiaryFactory(project=cd, number=500)
        out = {"cd": cd.id, "lr": lr.id, "mother": mother.code, "mother_id": mother.id,
               "other_user": factories.UserFactory(role="manager", email="other@example.org").id}
        db.session.remove()
        return out


def test_registering_a_mother_takes_only_the_forms_fields(app, sign_in, registry):
    staff = sign_in(role="staff", email="staff@example.org", countries=["CD"])
    response = staff.post("/mothers/new", data={
        "project": "TF-CD-2025-01", "full_name": "Test Person", "year_of_birth": "1990",
        "enrolled_on": "2025-03-01", "consent_services": "y",
        # not the form's
        "status": "exited", "code": "LR-M-99999", "country": "LR", "project_id": str(registry["lr"]),
        "number": "99999", "name_hash": "0" * 64, "consent_reporting_on": "2020-01-01", "id": "4242",
    })
    assert response.status_code == 302
    with app.app_context():
        mother = db.session.scalars(select(Beneficiary).where(Beneficiary.id != registry["mother_id"])).one()
        assert (mother.status, mother.country, mother.project_id, mother.consent_reporting_on) == (
            "active", "CD", registry["cd"], None)
        assert mother.code.startswith("CD-M-") and mother.id != 4242 and mother.number != 99999
        db.session.remove()


def test_editing_a_mother_takes_only_the_forms_fields(app, sign_in, registry):
    staff = sign_in(role="staff", email="staff@example.org", countries=["CD"])
    response = staff.post(f"/mothers/{registry['mother']}/edit", data={
        "project": "TF-CD-2025-01", "year_of_birth": "1991",
        "status": "exited", "code": "CD-M-77777", "project_id": str(registry["lr"]), "country": "LR",
    })
    assert response.status_code == 302
    with app.app_context():
        mother = db.session.get(Beneficiary, registry["mother_id"])
        assert (mother.year_of_birth, mother.status, mother.code, mother.project_id, mother.country) == (
            1991, "active", registry["mother"], registry["cd"], "CD")
        db.session.remove()


def test_entering_a_disbursement_takes_only_the_forms_fields(app, sign_in, registry):
    staff = sign_in(role="staff", email="staff@example.org", countries=["CD"])
    me = user(app, "staff@example.org")["id"]
    response = staff.post(f"/disbursements/new?mother={registry['mother']}&category=medical", data={
        "target": "", "payee": "Centre de santé", "amount": "30000.00", "currency": "CDF",
        "entered_on": "2025-03-01", "save_as": "submit",
        # not the form's
        "status": "approved", "approved_by_id": str(registry["other_user"]), "usd_amount": "999999.00",
        "usd_rate": "1", "entered_by_id": str(registry["other_user"]), "project_id": str(registry["lr"]),
        "reference": "D-FORGED-0001", "paid_on": "2025-03-02", "imported_history": "y", "version_id": "9",
    })
    assert response.status_code == 302
    with app.app_context():
        entered = db.session.scalars(select(Disbursement)).one()
        assert (entered.status, entered.approved_by_id, entered.usd_amount, entered.entered_by_id,
                entered.project_id, entered.paid_on, entered.imported_history) == (
            "submitted", None, None, me, registry["cd"], None, False)
        assert entered.reference != "D-FORGED-0001"
        db.session.remove()


def test_the_language_form_changes_only_ones_own_language(app, sign_in, registry):
    staff = sign_in(role="staff", email="staff@example.org", countries=["CD"])
    before_other = user(app, "other@example.org")
    before_me = user(app, "staff@example.org")
    response = staff.post("/account/language", data={
        "locale": "fr", "role": "admin", "email": "taken@example.org", "active": "", "id": str(registry["other_user"]),
        "user_id": str(registry["other_user"]), "countries": ["LR"], "name": "Someone Else",
    })
    assert response.status_code == 302
    after_me = user(app, "staff@example.org")
    assert after_me == {**before_me, "locale": "fr"}
    assert user(app, "other@example.org") == before_other


def test_the_password_form_changes_only_ones_own_password(app, sign_in, registry):
    staff = sign_in(role="staff", email="staff@example.org", countries=["CD"])
    before_other = user(app, "other@example.org")
    response = staff.post("/account/password", data={
        "current": factories.PASSWORD, "new": GOOD, "confirm": GOOD,
        "user_id": str(registry["other_user"]), "email": "other@example.org", "role": "admin",
    })
    assert response.status_code == 302
    assert user(app, "other@example.org") == before_other
    me = user(app, "staff@example.org")
    assert me["role"] == "staff" and me["email"] == "staff@example.org"
    assert app.test_client().post("/login", data={"email": "staff@example.org", "password": GOOD}).status_code == 302


def test_the_access_form_changes_only_role_countries_and_donor(app, sign_in, registry):
    admin = sign_in(role="admin", email="admin@example.org")
    target = registry["other_user"]
    before = user(app, "other@example.org")
    admin.post(f"/admin/users/{target}/access", data={
        "role": "staff", "countries": ["CD"], "donor": "",
        "email": "hijack@example.org", "active": "", "password_hash": "x", "name": "Renamed", "locale": "fr",
    })
    after = user(app, "other@example.org")
    assert (after["role"], after["countries"]) == ("staff", ["CD"])
    assert {k: after[k] for k in ("email", "active", "password_hash", "name", "locale")} == {
        k: before[k] for k in ("email", "active", "password_hash", "name", "locale")}
