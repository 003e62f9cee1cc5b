"""Survivors' names never leak: not into lists, pages, default exports, URLs, the audit trail or the logs.

Only pressing "Show personal data" (a POST, audited) or the personal export
(a POST with a confirmation and a reason, audited) shows them.
"""
from __future__ import annotations

import io
import json
import logging
import re
from urllib.parse import unquote_plus, urlsplit

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests import factories
from tracker.extensions import db as _db
from tracker.models import AuditEvent, Beneficiary, Child, Enrolment, IncomeProject, PaternityClaim

MOTHER = "Wamuhiga Zabibuka"
RENAMED = "Nyamwiza Kabuyaya"
OTHER_MOTHER = "Kahambu Sifanzeyi"
PHONE = "+243 899 765 432"
VILLAGE = "Mbobero Kalehero"
CHILD = "Tumainyetu"
OTHER_CHILD = "Oluwaseyifa"
#: Every word that would give a survivor away (each is distinctive enough to search for alone).
SECRETS = ["Wamuhiga", "Zabibuka", "Nyamwiza", "Kabuyaya", "Kahambu", "Sifanzeyi", "899 765 432", "899765432",
           "Mbobero", "Kalehero", CHILD, OTHER_CHILD]


def leaks(text: str) -> list[str]:
    """The secrets found in ``text`` (any case, and URL-decoded too)."""
    haystacks = (text.lower(), unquote_plus(text).lower())
    return [s for s in SECRETS if any(s.lower() in h for h in haystacks)]


def body_text(response) -> str:
    if response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
        book = load_workbook(io.BytesIO(response.data), read_only=True)
        return "\n".join(" ".join("" if v is None else str(v) for v in row)
                         for sheet in book.worksheets for row in sheet.iter_rows(values_only=True))
    return response.get_data(as_text=True)


LINK = re.compile(r'(?:href|action|src|formaction)\s*=\s*"([^"]*)"', re.I)


class Watch:
    """Every response of the test: its body, Location and links are checked for names."""

    def __init__(self, client):
        self.client = client
        self.urls: list[str] = []
        self.locations: list[str] = []
        self.links: list[str] = []

    def _seen(self, url, response, *, may_show_names=False, name_in_url=False):
        if not name_in_url:  # a URL the test typed a name into on purpose
            self.urls.append(url)
        self.locations.append(response.headers.get("Location", ""))
        text = body_text(response)
        if response.mimetype == "text/html":
            self.links.extend(LINK.findall(text))
        if not may_show_names:
            assert leaks(text) == [], f"{url} shows {leaks(text)}"
        return response

    def get(self, url, *, name_in_url=False, **kw):
        return self._seen(url, self.client.get(url, **kw), name_in_url=name_in_url)

    def post(self, url, data=None, *, may_show_names=False, **kw):
        return self._seen(url, self.client.post(url, data=data or {}, **kw), may_show_names=may_show_names)


def test_names_never_leak_into_pages_exports_urls_audit_or_logs(staff_client, app, caplog):
    # SQL statements and their parameters too (INFO): they carry ciphertext and hashes, never a name. (At DEBUG
    # SQLAlchemy would also log result rows, decrypted: an echo setting no deployment should use.)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    caplog.set_level(logging.DEBUG)  # after: this also sets the capture handler's level
    with app.app_context():
        factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
    web = Watch(staff_client)

    # registration, children, school, claim, income activity: through the screens
    first = web.post("/mothers/new", data={
        "project": "TF-CD-2025-01", "full_name": MOTHER, "phone": PHONE, "village": VILLAGE,
        "year_of_birth": "1994", "enrolled_on": "2025-02-03", "consent_services": "y", "consent_reporting": "y"})
    second = web.post("/mothers/new", data={
        "project": "TF-CD-2025-01", "full_name": OTHER_MOTHER, "year_of_birth": "1992", "enrolled_on": "2025-02-04"})
    assert first.status_code == second.status_code == 302
    m1, m2 = "CD-M-00001", "CD-M-00002"
    assert web.post(f"/mothers/{m1}/children/new",
                    data={"first_name": CHILD, "year_of_birth": "2016", "sex": "F"}).status_code == 302
    assert web.post(f"/mothers/{m2}/children/new",
                    data={"first_name": OTHER_CHILD, "year_of_birth": "2017", "sex": "M"}).status_code == 302
    c1, c2 = "CD-C-00001-1", "CD-C-00002-1"
    web.post(f"/children/{c1}/enrolments/new", data={
        "school": "EP Mapendo", "academic_year": "2025-2026", "grade": "P3", "fee_per_term": "45000",
        "currency": "CDF", "terms": "3"})
    web.post(f"/children/{c1}/claim/new", data={"member_state": "UY", "personnel_category": "military",
                                               "received_on": "2025-03-01"})
    web.post(f"/mothers/{m1}/income/new", data={"activity": "tailoring", "started_on": "2025-03-01",
                                                "planned_grant": "350000", "currency": "CDF", "status": "active"})
    iga = "IGA-CD-00001-1"
    web.post(f"/income/{iga}/reports", data={"month": "2025-04", "revenue": "180000", "costs": "95000"})

    # edits: a new name typed; a child's edit with the name left empty
    assert web.post(f"/mothers/{m1}/edit", data={"project": "TF-CD-2025-01", "full_name": RENAMED,
                                                 "year_of_birth": "1994"}).status_code == 302
    assert web.post(f"/children/{c1}/edit", data={"first_name": "", "year_of_birth": "2016",
                                                  "sex": "F"}).status_code == 302

    # find by name: a POST, answered by a redirect to a code
    found = web.post("/mothers/find", data={"q": RENAMED.lower()})
    assert found.status_code == 302 and urlsplit(found.headers["Location"]).path == f"/mothers/{m1}"
    not_found = web.post("/mothers/find", data={"q": MOTHER})  # the old name is no longer hers
    assert not_found.status_code == 200 and "0 mothers" in not_found.get_data(as_text=True)

    with app.app_context():
        enrolment_id = _db.session.scalar(select(Enrolment.id))
        claim_id = _db.session.scalar(select(PaternityClaim.id))

    # every list, page, form and default export
    pages = [
        "/", "/projects/", "/projects/TF-CD-2025-01",
        "/mothers/", "/mothers/?status=active", "/mothers/?consent=reporting", "/mothers/?page=2",
        f"/mothers/{m1}", f"/mothers/{m2}", f"/mothers/{m1}/edit", f"/mothers/{m1}/children/new",
        f"/mothers/{m1}/income/new", "/mothers/new",
        f"/children/{c1}", f"/children/{c2}", f"/children/{c1}/edit", f"/children/{c1}/enrolments/new",
        f"/enrolments/{enrolment_id}/edit", f"/children/{c2}/claim/new",
        "/claims/", f"/claims/{claim_id}", "/income/", f"/income/{iga}", f"/income/{iga}/edit",
        "/mothers/export.csv", "/mothers/export.xlsx", "/claims/export.csv", "/claims/export.xlsx",
        "/income/export.csv", "/income/export.xlsx",
    ]
    for url in pages:
        assert web.get(url).status_code == 200, url

    # only codes travel in a URL: a name in ?q= is not searched (both mothers stay listed) and not echoed
    by_url = web.get("/mothers/?q=" + RENAMED.replace(" ", "+"), name_in_url=True)
    assert "2 mothers" in by_url.get_data(as_text=True)
    assert m1 in by_url.get_data(as_text=True) and m2 in by_url.get_data(as_text=True)

    # on purpose: "Show personal data" and the personal export do show names
    shown = web.post(f"/mothers/{m1}/personal", may_show_names=True)
    assert RENAMED in shown.get_data(as_text=True) and CHILD in shown.get_data(as_text=True)
    assert PHONE in shown.get_data(as_text=True) and VILLAGE in shown.get_data(as_text=True)
    child_shown = web.post(f"/children/{c2}/personal", may_show_names=True)
    assert OTHER_CHILD in child_shown.get_data(as_text=True)
    export = web.post("/mothers/export-personal", data={"confirm": "y", "reason": "home visits", "fmt": "csv"},
                      may_show_names=True)
    assert export.mimetype == "text/csv"
    assert RENAMED in body_text(export) and OTHER_MOTHER in body_text(export) and PHONE in body_text(export)

    # no URL the user was sent to or offered carries a name
    assert [u for u in web.urls + web.locations + web.links if leaks(u)] == []
    assert any(link.startswith(f"/mothers/{m1}") for link in web.links)  # the links were read

    # the audit trail: codes and "(personal)", never a value
    with app.app_context():
        events = _db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        trail = [json.dumps([e.action, e.entity, e.entity_id, e.changes, e.ip], default=str) for e in events]
        shows = [(e.entity, e.entity_id) for e in events if e.action == "show_personal"]
        personal_exports = [e.changes for e in events if e.action == "export_personal"]
        created = next(e.changes for e in events if e.action == "create" and e.entity_id == m1)
    assert [t for t in trail if leaks(t)] == []
    assert shows == [("beneficiaries", m1), ("children", c2)]
    assert personal_exports == [{"rows": 2, "reason": "home visits"}]
    assert created["full_name"] == created["phone"] == created["village"] == "(personal)"

    # the logs, at DEBUG, of everything above
    assert any(r.name.startswith("sqlalchemy.engine") for r in caplog.records), "the capture is not working"
    logged = [f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in caplog.records]
    assert [line for line in logged if leaks(line)] == []


def test_stored_personal_fields_are_encrypted(app, staff_client):
    with app.app_context():
        factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
    staff_client.post("/mothers/new", data={
        "project": "TF-CD-2025-01", "full_name": MOTHER, "phone": PHONE, "village": VILLAGE,
        "year_of_birth": "1994", "enrolled_on": "2025-02-03"})
    staff_client.post("/mothers/CD-M-00001/children/new", data={"first_name": CHILD, "year_of_birth": "2016",
                                                                 "sex": "F"})
    with app.app_context():
        raw = _db.session.execute(_db.text(
            "SELECT b.full_name, b.phone, b.village, b.name_hash, c.first_name "
            "FROM beneficiaries b JOIN children c ON c.mother_id = b.id")).one()
    assert leaks(" ".join(raw)) == []


@pytest.fixture
def two_mothers(app):
    with app.app_context():
        project = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        factories.BeneficiaryFactory(project=project, number=1, name=MOTHER)
        factories.BeneficiaryFactory(project=project, number=2, name=OTHER_MOTHER,
                                     consent_reporting_on=None)


def test_the_mothers_list_does_not_search_names_given_in_the_url(staff_client, two_mothers):
    page = staff_client.get("/mothers/?q=" + MOTHER.replace(" ", "%20")).get_data(as_text=True)
    assert "2 mothers" in page and "CD-M-00001" in page and "CD-M-00002" in page
    assert leaks(page) == []


def test_the_find_form_is_a_post_whose_action_carries_no_name(staff_client, two_mothers):
    page = staff_client.get("/mothers/").get_data(as_text=True)
    form = re.search(r'<form method="post" action="([^"]*)"[^>]*role="search"', page)
    assert form and form.group(1) == "/mothers/find"


def test_finding_by_name_redirects_to_her_code(staff_client, two_mothers):
    response = staff_client.post("/mothers/find", data={"q": OTHER_MOTHER})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/mothers/CD-M-00002"


def test_personal_export_without_the_confirmation_gives_no_file_and_no_event(staff_client, app, two_mothers):
    for data in ({"reason": "home visits"}, {"confirm": "y", "reason": ""}, {}):
        response = staff_client.post("/mothers/export-personal", data=data)
        assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/mothers/"
        assert "attachment" not in response.headers.get("Content-Disposition", "")
        assert leaks(response.get_data(as_text=True)) == []
    with app.app_context():
        assert _db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "export_personal")) is None


def test_personal_export_xlsx_holds_names_phones_and_villages(staff_client, app, two_mothers):
    response = staff_client.post("/mothers/export-personal", data={"confirm": "y", "reason": "payment list"})
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Cache-Control"] == "no-store"
    rows = load_workbook(io.BytesIO(response.data), read_only=True).worksheets[0].iter_rows(values_only=True)
    header, *data = list(rows)
    assert header[:3] == ("code", "project_code", "full_name")
    assert [(r[0], r[2]) for r in data] == [("CD-M-00001", MOTHER), ("CD-M-00002", OTHER_MOTHER)]
    with app.app_context():
        event = _db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export_personal"))
        assert (event.entity, event.changes) == ("beneficiaries", {"rows": 2, "reason": "payment list"})


def test_personal_export_keeps_the_lists_consent_filter(staff_client, two_mothers):
    listed = staff_client.get("/mothers/?consent=no_reporting").get_data(as_text=True)
    assert "CD-M-00002" in listed and "CD-M-00001" not in listed
    response = staff_client.post("/mothers/export-personal?consent=no_reporting",
                                 data={"confirm": "y", "reason": "visits", "fmt": "csv"})
    text = response.get_data(as_text=True)
    assert OTHER_MOTHER in text and MOTHER not in text


def test_show_personal_is_a_post_and_audited_each_time(staff_client, app, two_mothers):
    assert staff_client.get("/mothers/CD-M-00001/personal").status_code == 405
    staff_client.post("/mothers/CD-M-00001/personal")
    staff_client.post("/mothers/CD-M-00001/personal")
    with app.app_context():
        rows = _db.session.execute(select(AuditEvent.entity, AuditEvent.entity_id, AuditEvent.user_id)
                                   .where(AuditEvent.action == "show_personal")).all()
    assert [(r.entity, r.entity_id) for r in rows] == [("beneficiaries", "CD-M-00001")] * 2
    assert all(r.user_id is not None for r in rows)


def test_a_page_after_showing_personal_data_hides_it_again(staff_client, two_mothers):
    assert MOTHER in staff_client.post("/mothers/CD-M-00001/personal").get_data(as_text=True)
    assert leaks(staff_client.get("/mothers/CD-M-00001").get_data(as_text=True)) == []


def test_a_donor_sees_no_registry_screen(donor_client, two_mothers):
    for url in ("/mothers/", "/mothers/CD-M-00001", "/claims/", "/income/", "/mothers/export.csv"):
        assert donor_client.get(url).status_code == 404, url
    assert donor_client.post("/mothers/CD-M-00001/personal").status_code == 404


def test_an_admin_may_read_records_but_not_show_personal_data(admin_client, app, two_mothers):
    assert admin_client.get("/mothers/CD-M-00001").status_code == 200
    assert admin_client.post("/mothers/CD-M-00001/personal").status_code == 403
    with app.app_context():
        assert _db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "show_personal")) is None


def test_import_audit_event_holds_counts_not_names(app, staff_client):
    from tracker.imports.kinds import get_kind
    from tracker.imports.reading import parse_upload
    from tracker.imports.running import run_import

    with app.test_request_context():
        factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        data = ("code,project_code,full_name,phone,village,year_of_birth,enrolled_on,consent_services,"
                f"consent_reporting\n,TF-CD-2025-01,{MOTHER},{PHONE},{VILLAGE},1994,2025-02-03,yes,no\n").encode()
        kind = get_kind("beneficiaries")
        parsed = parse_upload(data, "m.csv", kind)
        assert run_import(kind, parsed, read_errors=parsed.errors, user=None, dry_run=False, history=False).ok
        trail = [json.dumps([e.action, e.entity_id, e.changes], default=str)
                 for e in _db.session.scalars(select(AuditEvent))]
        _db.session.remove()
    assert [t for t in trail if leaks(t)] == []


def test_models_mark_every_personal_field():
    personal = {(m.__tablename__, c.key) for m in (Beneficiary, Child, IncomeProject, Enrolment)
                for c in m.__table__.columns if c.info.get("personal")}
    assert personal == {("beneficiaries", "full_name"), ("beneficiaries", "phone"), ("beneficiaries", "village"),
                        ("children", "first_name")}

