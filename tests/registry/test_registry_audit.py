"""Reading the registry leaves a trace (issue 14, point 6): looking a mother up and opening a record's page.

A search is audited by what it showed (codes and a count), never by the text typed: a name must not
reach the audit log, the application log or a URL. Opening the page of a mother, a child or a claim
writes one ``view`` event; lists write none. The audit log filters both.
"""
from __future__ import annotations

import json
import logging
import re
from urllib.parse import unquote_plus, urlsplit

import pytest
from sqlalchemy import func, select

from tests import factories
from tests.conftest import PASSWORD
from tracker.extensions import db
from tracker.models import AuditEvent, User

MOTHER = "Wamuhiga Zabibuka"
NAMESAKE = "Kahambu Sifanzeyi"  # two mothers bear this name
NOBODY = "Nyamwiza Kabuyaya"  # no mother bears this name
NAMES = ("Wamuhiga", "Zabibuka", "Kahambu", "Sifanzeyi", "Nyamwiza", "Kabuyaya")
#: The e-mail of ``staff_client`` (tests/conftest.py), a staff member of CD.
STAFF = "staff.cd@example.org"


@pytest.fixture
def registry(app):
    """Three mothers of CD (the second and third share a name), a child of the first and her claim; one mother
    of LR, outside the staff member's countries, who bears the first one's name."""
    with app.app_context():
        project = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        first = factories.BeneficiaryFactory(project=project, number=1, name=MOTHER)
        factories.BeneficiaryFactory(project=project, number=2, name=NAMESAKE, year_of_birth=1990)
        factories.BeneficiaryFactory(project=project, number=3, name=NAMESAKE, year_of_birth=1999)
        liberia = factories.ProjectFactory(code="TF-LR-2025-01", country="LR")
        factories.BeneficiaryFactory(project=liberia, number=1, name=MOTHER)
        child = factories.ChildFactory(mother=first, number=1, first_name="Tumainyetu")
        claim = factories.PaternityClaimFactory(child=child)
        out = {"claim": claim.id, "last_event": _last_event_id()}
        db.session.remove()
        return out


def _last_event_id() -> int:
    return db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def reads(app, since: int) -> list[tuple]:
    """The ``search`` and ``view`` events written after event ``since``, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.entity, AuditEvent.entity_id, AuditEvent.changes, User.email)
            .outerjoin(User, AuditEvent.user_id == User.id)
            .where(AuditEvent.id > since, AuditEvent.action.in_(("search", "view")))
            .order_by(AuditEvent.id)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def everything_in_the_log(app) -> str:
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.action, AuditEvent.entity, AuditEvent.entity_id,
                                         AuditEvent.changes, AuditEvent.ip)).all()
        db.session.remove()
    return "\n".join(json.dumps(list(r), default=str) for r in rows)


def named(text: str) -> list[str]:
    haystack = (text + "\n" + unquote_plus(text)).lower()
    return [n for n in NAMES if n.lower() in haystack]


# --- looking a mother up ---------------------------------------------------------------------------------------------


def test_finding_one_mother_by_name_records_her_code_not_the_name(staff_client, app, registry):
    response = staff_client.post("/mothers/find", data={"q": "  wamuhiga   ZABIBUKA "})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/mothers/CD-M-00001"
    # The LR namesake is outside her countries: one match, not two.
    assert reads(app, registry["last_event"]) == [
        ("search", "beneficiaries", "CD-M-00001", {"by": "name", "matches": 1}, STAFF),
    ]
    assert named(everything_in_the_log(app)) == []


def test_a_name_that_matches_no_one_is_recorded_without_the_name(staff_client, app, registry):
    response = staff_client.post("/mothers/find", data={"q": NOBODY})
    assert response.status_code == 200 and "0 mothers" in response.get_data(as_text=True)
    assert reads(app, registry["last_event"]) == [
        ("search", "beneficiaries", None, {"by": "name", "matches": 0}, STAFF),
    ]
    assert named(everything_in_the_log(app)) == []


def test_a_name_that_matches_two_mothers_records_each_code_shown_and_the_count(staff_client, app, registry):
    response = staff_client.post("/mothers/find", data={"q": NAMESAKE})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "2 mothers" in page
    assert "CD-M-00002" in page and "CD-M-00003" in page and "CD-M-00001" not in page
    assert reads(app, registry["last_event"]) == [
        ("search", "beneficiaries", "CD-M-00002", {"by": "name", "matches": 2}, STAFF),
        ("search", "beneficiaries", "CD-M-00003", {"by": "name", "matches": 2}, STAFF),
    ]
    assert named(everything_in_the_log(app)) == []


def test_a_code_search_records_her_code_when_it_finds_her_and_a_count_otherwise(staff_client, app, registry):
    assert staff_client.post("/mothers/find", data={"q": "cd-m-00002"}).status_code == 302
    assert staff_client.post("/mothers/find", data={"q": "CD-M-0000"}).status_code == 200  # the three of CD
    assert staff_client.post("/mothers/find", data={"q": "LR-M-00001"}).status_code == 200  # not hers to see
    assert reads(app, registry["last_event"]) == [
        ("search", "beneficiaries", "CD-M-00002", {"by": "code", "matches": 1}, STAFF),
        ("search", "beneficiaries", None, {"by": "code", "matches": 3}, STAFF),
        ("search", "beneficiaries", None, {"by": "code", "matches": 0}, STAFF),
    ]


def test_an_empty_search_is_the_list_and_records_nothing(staff_client, app, registry):
    response = staff_client.post("/mothers/find", data={"q": "   "})
    assert response.status_code == 200 and "3 mothers" in response.get_data(as_text=True)
    assert reads(app, registry["last_event"]) == []


def test_a_search_refused_for_its_csrf_token_records_nothing(make_app, app, registry):
    protected = make_app(WTF_CSRF_ENABLED=True)
    with protected.app_context():
        factories.UserFactory(role="staff", email="csrf.staff@example.org", countries=["CD"])
        db.session.remove()
    client = protected.test_client()
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"email": "csrf.staff@example.org", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    assert client.post("/mothers/find", data={"q": MOTHER}).status_code == 400
    assert reads(app, registry["last_event"]) == []


def test_a_name_search_and_the_visit_it_leads_to_log_no_name(staff_client, app, registry, caplog):
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    caplog.set_level(logging.DEBUG)
    responses = [staff_client.post("/mothers/find", data={"q": name}) for name in (MOTHER, NAMESAKE, NOBODY)]
    followed = staff_client.get(responses[0].headers["Location"])
    assert followed.status_code == 200
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records), "the capture is not working"
    assert any("/mothers/find" in r.getMessage() for r in caplog.records), "the request lines were not logged"
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records) + caplog.text
    assert named(logged) == []
    # Nor in an address: the redirect, and every link or form action of the pages answered.
    addresses = [r.headers.get("Location", "") for r in responses]
    for response in responses + [followed]:
        addresses += re.findall(r'(?:href|action|formaction)="([^"]*)"', response.get_data(as_text=True))
    assert addresses and named("\n".join(addresses)) == []


# --- opening a record ------------------------------------------------------------------------------------------------


def test_opening_a_mother_a_child_or_a_claim_records_one_view_each(staff_client, app, registry):
    claim = registry["claim"]
    for url in ("/mothers/CD-M-00001", "/children/CD-C-00001-1", f"/claims/{claim}", "/mothers/CD-M-00001"):
        assert staff_client.get(url).status_code == 200, url
    assert reads(app, registry["last_event"]) == [
        ("view", "beneficiaries", "CD-M-00001", None, STAFF),
        ("view", "children", "CD-C-00001-1", None, STAFF),
        ("view", "paternity_claims", str(claim), {"child": "CD-C-00001-1"}, STAFF),
        ("view", "beneficiaries", "CD-M-00001", None, STAFF),
    ]
    assert named(everything_in_the_log(app)) == []


def test_a_view_event_names_the_same_record_as_the_records_own_events(staff_client, app, registry):
    staff_client.get(f"/claims/{registry['claim']}")
    with app.app_context():
        created = db.session.execute(select(AuditEvent.entity, AuditEvent.entity_id)
                                     .where(AuditEvent.action == "create", AuditEvent.entity == "paternity_claims")
                                     ).one()
        viewed = db.session.execute(select(AuditEvent.entity, AuditEvent.entity_id)
                                    .where(AuditEvent.action == "view")).one()
        db.session.remove()
    assert tuple(viewed) == tuple(created) == ("paternity_claims", str(registry["claim"]))


def test_lists_and_exports_write_no_view(staff_client, app, registry):
    for url in ("/mothers/", "/mothers/?q=CD-M-00001", "/claims/", "/income/", "/mothers/?page=2"):
        assert staff_client.get(url).status_code == 200, url
    assert reads(app, registry["last_event"]) == []


def test_showing_personal_data_stays_its_own_event_and_is_no_view(staff_client, app, registry):
    staff_client.post("/mothers/CD-M-00001/personal")
    staff_client.post("/children/CD-C-00001-1/personal")
    with app.app_context():
        rows = db.session.execute(select(AuditEvent.action, AuditEvent.entity, AuditEvent.entity_id,
                                         AuditEvent.changes)
                                  .where(AuditEvent.id > registry["last_event"],
                                         AuditEvent.action.in_(("view", "show_personal", "search")))
                                  .order_by(AuditEvent.id)).all()
        db.session.remove()
    assert [tuple(r) for r in rows] == [
        ("show_personal", "beneficiaries", "CD-M-00001", None),
        ("show_personal", "children", "CD-C-00001-1", None),
    ]


def test_a_record_outside_her_countries_or_unknown_is_404_and_no_view(staff_client, app, registry):
    for url in ("/mothers/LR-M-00001", "/mothers/CD-M-99999", "/children/CD-C-00002-1",
                f"/claims/{registry['claim'] + 1000}"):
        assert staff_client.get(url).status_code == 404, url
    assert reads(app, registry["last_event"]) == []


# --- the audit log filters them --------------------------------------------------------------------------------------


def _shown(page) -> list[tuple[str, str]]:
    """(action, record as shown: its type and code) of each row of the audit log page, newest first."""
    rows = re.findall(r'<td data-action="([a-z_]+)">.*?</td>\s*<td>(.*?)</td>', page.get_data(as_text=True), re.S)
    return [(action, " ".join(re.sub(r"<[^>]+>", " ", record).split())) for action, record in rows]


def test_the_audit_log_filters_searches_and_views_by_action_and_record(staff_client, app, registry, sign_in):
    staff_client.post("/mothers/find", data={"q": MOTHER})       # search CD-M-00001
    staff_client.get("/mothers/CD-M-00001")                       # view CD-M-00001
    staff_client.post("/mothers/find", data={"q": NAMESAKE})      # search CD-M-00002, search CD-M-00003
    staff_client.get("/children/CD-C-00001-1")                    # view CD-C-00001-1
    admin = sign_in(role="admin", email="admin@example.org")

    assert _shown(admin.get("/admin/audit/?action=search")) == [
        ("search", "Mothers CD-M-00003"), ("search", "Mothers CD-M-00002"),
        ("search", "Mothers CD-M-00001")]
    assert _shown(admin.get("/admin/audit/?action=view")) == [
        ("view", "Children CD-C-00001-1"), ("view", "Mothers CD-M-00001")]
    # By record number: every search that showed her and every opening of her page.
    assert _shown(admin.get("/admin/audit/?entity_id=CD-M-00001&action=")) == [
        ("view", "Mothers CD-M-00001"), ("search", "Mothers CD-M-00001"),
        ("create", "Mothers CD-M-00001")]
    assert _shown(admin.get("/admin/audit/?action=view&entity=children")) == [("view", "Children CD-C-00001-1")]


def test_the_audit_filters_name_actions_and_record_types_in_english_and_french(staff_client, app, registry,
                                                                               sign_in):
    staff_client.post("/mothers/find", data={"q": MOTHER})
    staff_client.get("/mothers/CD-M-00001")
    admin = sign_in(role="admin", email="admin@example.org")
    english = admin.get("/admin/audit/").get_data(as_text=True)
    assert '<option value="view">Record opened (view)</option>' in english
    assert '<option value="search">Mother looked up by name or code (search)</option>' in english
    assert '<option value="create">Entered (create)</option>' in english
    assert '<option value="beneficiaries">Mothers (beneficiaries)</option>' in english
    assert '<option value="paternity_claims">Paternity claims (paternity_claims)</option>' in english
    assert '<label for="entity_id">Record number</label>' in english
    # The choices follow their labels: "Entered" < "Mother looked up..." < "Record opened"; "Mothers" before
    # "Paternity claims".
    assert english.index('value="create"') < english.index('value="search"') < english.index('value="view"')
    assert english.index('value="beneficiaries"') < english.index('value="paternity_claims"')

    with app.app_context():
        db.session.execute(User.__table__.update().where(User.email == "admin@example.org").values(locale="fr"))
        db.session.commit()
        db.session.remove()
    french = admin.get("/admin/audit/").get_data(as_text=True)
    assert '<label for="action">Action</label>' in french
    assert '<label for="entity_id">Numéro de fiche</label>' in french
    assert '<option value="beneficiaries">Mères (beneficiaries)</option>' in french
    assert '<option value="create">Saisi (create)</option>' in french
