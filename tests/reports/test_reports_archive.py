"""Issuing donor reports, keeping them, serving the stored bytes, and the public verification page.

DESIGN section 4 and tracker/reports/archive.py: issuing records the report
at once and renders its PDF once (inline with ``REPORTS_RENDER_INLINE``, else
as a job, by the in-process worker); every download serves the stored bytes; anyone can check
a copy against the archive by its SHA-256, and learns which report it is and
nothing else.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import threading
import time
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from tests import factories
from tracker.extensions import db
from tracker.jobs.queue import backend
from tracker.models import AuditEvent, BudgetLine, IssuedReport, Project
from tracker.models.base import today

ON_SQLITE = not os.environ.get("TRACKER_TEST_DATABASE_URL", "").startswith("postgresql")
CODE = "TF-CD-2025-01"
FORM = {"scope": f"project:{CODE}", "date_from": "2025-01-01", "date_to": "2025-12-31", "lang": "en", "donor": ""}
NOT_ISSUED = "Not an issued report."


def issue(app, client, **changes) -> str:
    """POST /reports/new and wait for the PDF; the report's number.

    Inline (``REPORTS_RENDER_INLINE``) on PostgreSQL. On SQLite inline rendering fails with "database is
    locked" (test_inline_rendering_works_on_sqlite below), so there the report is rendered as a job by the
    in-process worker, which the helper waits for.
    """
    app.config["REPORTS_RENDER_INLINE"] = not ON_SQLITE
    response = client.post("/reports/new", data={**FORM, **changes})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    number = response.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    _join(app)
    return number


def _join(app):
    """Wait for the in-process job worker (tracker/jobs/queue.py) to have run every queued job."""
    assert backend(app).join(120)


def drop_pool(app):
    """A commit that failed on a locked SQLite file leaves its pooled connection inside a transaction: close
    every pooled connection, so that the failure stays in its test."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def stored(app, number: str) -> IssuedReport:
    with app.app_context():
        report = db.session.scalars(select(IssuedReport).where(IssuedReport.number == number)).one()
        db.session.expunge(report)
        db.session.remove()
        return report


def count_reports(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count(IssuedReport.id)))
        db.session.remove()
        return n


@pytest.fixture
def data(app):
    """One project of CD: need 12,345.67, allocated 4,321.09; a donor to address reports to."""
    with app.app_context():
        project = factories.ProjectFactory(code=CODE, country="CD", title="Schooling support, Goma")
        factories.BudgetLineFactory(project=project, year=2025, category="medical", amount_usd=D("10000.00"))
        factories.BudgetLineFactory(project=project, year=2025, category="legal", amount_usd=D("2345.67"))
        factories.AllocationFactory(project=project, amount_usd=D("4321.09"), allocated_on=dt.date(2025, 3, 15))
        donor = factories.DonorFactory(name="Grand Duchy of Testenburg")
        out = {"project_id": project.id, "donor_id": donor.id, "donor_name": donor.name}
        db.session.remove()
        return out


# --- issuing ---------------------------------------------------------------------------------------------------------

def test_issuing_numbers_the_reports_and_keeps_the_bytes(app, data, manager_client, monkeypatch):
    year = today().year
    first = issue(app, manager_client)
    second = issue(app, manager_client, lang="fr", donor=str(data["donor_id"]))
    assert (first, second) == (f"TF-{year}-0001", f"TF-{year}-0002")

    reports = [stored(app, first), stored(app, second)]
    for report in reports:
        assert report.status == "issued", report.error
        assert report.pdf.startswith(b"%PDF")
        assert report.sha256 == hashlib.sha256(report.pdf).hexdigest()
        assert report.size == len(report.pdf) and report.pages >= 3
        assert (report.scope, report.period_from, report.period_to) == (
            f"project:{CODE}", dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert (reports[0].lang, reports[0].donor_id) == ("en", None)
    assert (reports[1].lang, reports[1].donor_id) == ("fr", data["donor_id"])
    assert reports[0].sha256 != reports[1].sha256

    page = manager_client.get(f"/reports/{first}")
    assert page.status_code == 200 and reports[0].sha256 in page.get_data(as_text=True)

    # The data changes after issuing; nothing renders any more: downloads are the stored bytes.
    with app.app_context():
        project = db.session.get(Project, data["project_id"])
        project.title = "Renamed after issuing"
        db.session.add(BudgetLine(project=project, year=2025, category="outreach", amount_usd=D("777.00")))
        db.session.commit()
        db.session.remove()

    def no_rendering(*args, **kwargs):
        raise AssertionError("a download rendered the report again")

    monkeypatch.setattr("tracker.reports.render.render_pdf", no_rendering)
    monkeypatch.setattr("tracker.reports.render.render_report", no_rendering)
    monkeypatch.setattr("tracker.reports.pdf.render_pdf", no_rendering)
    for report in reports:
        for _ in range(2):
            response = manager_client.get(f"/reports/{report.number}/pdf")
            assert response.status_code == 200
            assert response.data == report.pdf
            assert response.headers["Content-Type"] == "application/pdf"
            assert response.headers["Content-Disposition"] == f'attachment; filename="{report.number}.pdf"'
            assert response.headers["Cache-Control"] == "no-store"
    assert stored(app, first).pdf == reports[0].pdf
    with app.app_context():
        downloads = db.session.scalars(select(AuditEvent.entity_id).where(AuditEvent.action == "download_report"))
        assert sorted(downloads) == [first, first, second, second]
        db.session.remove()


def test_inline_rendering_works_on_sqlite(app, data, manager_client):
    app.config["REPORTS_RENDER_INLINE"] = True
    try:
        response = manager_client.post("/reports/new", data=FORM)
    finally:
        drop_pool(app)
    assert response.status_code == 302
    assert stored(app, f"TF-{today().year}-0001").status == "issued"


def test_others_can_write_while_a_report_renders(app, data, manager_client, monkeypatch):
    """Rendering in the worker thread must not hold the database: a write made meanwhile succeeds."""
    import tracker.reports.render as render_module

    real_render_pdf = render_module.render_pdf
    started = threading.Event()

    def slow_render_pdf(*args, **kwargs):
        started.set()
        time.sleep(7)  # longer than SQLite's 5 s busy timeout, shorter than a report at scale 10
        return real_render_pdf(*args, **kwargs)

    monkeypatch.setattr(render_module, "render_pdf", slow_render_pdf)
    app.config["REPORTS_RENDER_INLINE"] = False
    response = manager_client.post("/reports/new", data=FORM)
    assert response.status_code == 302
    number = response.headers["Location"].rsplit("/", 1)[1]
    try:
        assert started.wait(30)
        with app.app_context():
            factories.DonorFactory(name="Written while a report renders")
            db.session.remove()
    finally:
        _join(app)
        drop_pool(app)
    assert stored(app, number).status == "issued"


def test_a_report_being_rendered_shows_its_state_and_has_no_pdf_yet(app, data, manager_client):
    with app.app_context():
        factories.IssuedReportFactory(number="TF-2025-0042", status="rendering", scope=f"project:{CODE}")
        db.session.remove()
    page = manager_client.get("/reports/TF-2025-0042")
    assert page.status_code == 200
    assert page.headers.get("Refresh") == "3"
    assert "being rendered" in page.get_data(as_text=True)
    assert manager_client.get("/reports/TF-2025-0042/pdf").status_code == 404


def test_unknown_number_is_404(app, data, manager_client):
    for url in ("/reports/TF-2025-9999", "/reports/TF-2025-9999/pdf", "/reports/nonsense", "/reports/nonsense/pdf",
                "/reports/%27%3B--/pdf"):
        assert manager_client.get(url).status_code == 404, url


# --- verification ----------------------------------------------------------------------------------------------------

def _verify(client, *, pdf: bytes | None = None, sha: str | None = None):
    data = {}
    if pdf is not None:
        data["file"] = (io.BytesIO(pdf), "report.pdf")
    if sha is not None:
        data["sha256"] = sha
    response = client.post("/verify", data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _found_block(html: str) -> str:
    match = re.search(r'<div class="flash flash-success" role="status">(.*?)</div>', html, re.S)
    assert match, "no verified report in the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def test_verification_names_the_report_and_nothing_else(app, data, manager_client, client):
    number = issue(app, manager_client, donor=str(data["donor_id"]))
    report = stored(app, number)
    issued_on = report.issued_at.date()

    for how in ({"pdf": report.pdf}, {"sha": report.sha256}, {"sha": f"  {report.sha256.upper()} \n"}):
        html = _verify(client, **how)
        if "sha" in how:  # the form shows back what was pasted
            html = html.replace(how["sha"], "").replace(how["sha"].strip(), "")
        block = _found_block(html)
        assert block == (f"This is issued report {number}. Issued on {issued_on:%b} {issued_on.day}, "
                         f"{issued_on.year} · Project {CODE} · Jan 1, 2025 – Dec 31, 2025 · addressed to "
                         f"{data['donor_name']}."), block
        assert NOT_ISSUED not in html
        # Nothing else: no figure, title, fingerprint, size or issuer.
        for other in ("$", "12,345.67", "Schooling support", "manager@example.org", report.sha256, str(report.size),
                      "TF-2025", "Download"):
            assert other not in html.replace(f"Project {CODE}", ""), other


def test_a_fund_wide_report_is_verified_as_addressed_to_every_donor(app, client):
    with app.app_context():
        report = factories.IssuedReportFactory(number="TF-2025-0007", scope="fund")
        pdf = report.pdf
        db.session.remove()
    block = _found_block(_verify(client, pdf=pdf))
    assert block.startswith("This is issued report TF-2025-0007.")
    assert "The whole Fund" in block and block.endswith("addressed to every donor.")


def test_altered_forged_or_unknown_copies_are_not_issued_reports(app, client):
    with app.app_context():
        pdf = factories.IssuedReportFactory(number="TF-2025-0001").pdf
        factories.IssuedReportFactory(number="TF-2025-0002", status="rendering")
        db.session.remove()
    assert "This is issued report TF-2025-0001." in _verify(client, pdf=pdf)
    altered = bytearray(pdf)
    altered[len(altered) // 2] ^= 0x01
    forged = b"%PDF-1.7\n% a report the Fund never issued\n%%EOF\n"
    for copy in (bytes(altered), pdf + b"\n", pdf[:-1], forged, b""):
        html = _verify(client, pdf=copy)
        assert NOT_ISSUED in html and "This is issued report" not in html, copy[:40]
    for sha in (hashlib.sha256(b"random").hexdigest(), "0" * 64, hashlib.sha256(forged).hexdigest()):
        html = _verify(client, sha=sha)
        assert NOT_ISSUED in html and "This is issued report" not in html, sha


MALFORMED = ["xyz", "0" * 63, "0" * 65, "g" * 64, "%" * 64, "' OR 1=1 --", "\u00e9" * 64, "a" * 100,
             "sha256:" + "0" * 64, "0" * 32 + " " + "0" * 32]


def test_a_malformed_fingerprint_is_not_found_and_no_error(app, client):
    with app.app_context():
        factories.IssuedReportFactory(number="TF-2025-0001")
        db.session.remove()
    for sha in MALFORMED:
        html = _verify(client, sha=sha)
        assert NOT_ISSUED in html and "This is issued report" not in html, sha


def test_an_overlong_fingerprint_is_refused_by_the_form_not_an_error(app, client):
    html = _verify(client, sha="0" * 101)
    assert "This is issued report" not in html
    assert "Field cannot be longer than 100 characters" in html


def test_verify_without_file_or_fingerprint_asks_for_one(client):
    assert "Choose a file or paste a fingerprint." in _verify(client)
    assert client.get("/verify").status_code == 200


# --- preview ---------------------------------------------------------------------------------------------------------

def test_the_preview_is_html_with_the_figures_and_issues_nothing(app, data, manager_client):
    response = manager_client.get("/reports/preview?scope=fund&date_from=2025-01-01&date_to=2025-12-31&lang=en")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    for figure in ("$12,345.67", "$4,321.09", "$8,024.58"):
        assert figure in html, figure
    assert "Preview, not issued" in html and "/static/css/report.css" in html
    french = manager_client.get(f"/reports/preview?scope=project:{CODE}&date_from=2025-01-01"
                                "&date_to=2025-12-31&lang=fr").get_data(as_text=True)
    assert "12\u202f345,67\u00a0$US" in french
    assert count_reports(app) == 0


# --- bad input -------------------------------------------------------------------------------------------------------

def test_a_period_ending_before_it_starts_is_refused_with_a_message(app, data, manager_client):
    app.config["REPORTS_RENDER_INLINE"] = True
    response = manager_client.post("/reports/new", data={**FORM, "date_from": "2025-06-01", "date_to": "2025-05-31"})
    assert response.status_code == 200
    assert "the period ends before it starts" in response.get_data(as_text=True)
    preview = manager_client.get(f"/reports/preview?scope=project:{CODE}&date_from=2025-06-01&date_to=2025-05-31"
                                 "&lang=en")
    assert preview.status_code == 422
    assert "the period ends before it starts" in preview.get_data(as_text=True)
    assert count_reports(app) == 0


def test_an_unknown_scope_is_refused_with_a_message(app, data, manager_client):
    app.config["REPORTS_RENDER_INLINE"] = True
    for scope in ("project:TF-XX-9999-99", "project:", "country:ZZ", "planet:Mars", ""):
        response = manager_client.post("/reports/new", data={**FORM, "scope": scope})
        assert response.status_code == 200, scope
        html = response.get_data(as_text=True)
        assert "Not a valid choice" in html or "This field is required" in html, scope
        preview = manager_client.get("/reports/preview", query_string={**FORM, "scope": scope})
        assert preview.status_code == 422, scope
    assert count_reports(app) == 0


def test_a_manager_cannot_report_on_a_project_or_country_outside_hers(app, data, sign_in):
    with app.app_context():
        factories.ProjectFactory(code="TF-HT-2025-01", country="HT")
        db.session.remove()
    app.config["REPORTS_RENDER_INLINE"] = True
    cd_manager = sign_in(role="manager", email="cd.manager@example.org", countries=["CD"])
    for scope in ("project:TF-HT-2025-01", "country:HT"):
        response = cd_manager.post("/reports/new", data={**FORM, "scope": scope})
        assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True), scope
        preview = cd_manager.get("/reports/preview", query_string={**FORM, "scope": scope})
        assert preview.status_code == 422 and "TF-HT-2025-01" not in preview.get_data(as_text=True), scope
    assert count_reports(app) == 0


def test_a_manager_of_some_countries_is_not_offered_the_whole_fund(app, data, sign_in):
    with app.app_context():
        factories.ProjectFactory(code="TF-HT-2025-01", country="HT", title="Haitian project outside her scope")
        db.session.remove()
    cd_manager = sign_in(role="manager", email="cd.manager@example.org", countries=["CD"])
    form = cd_manager.get("/reports/new").get_data(as_text=True)
    preview = cd_manager.get("/reports/preview", query_string={**FORM, "scope": "fund"})
    assert count_reports(app) == 0
    assert 'value="fund"' not in form
    assert preview.status_code in (404, 422)
    assert "TF-HT-2025-01" not in preview.get_data(as_text=True)


def test_an_unknown_donor_is_refused(app, data, manager_client):
    response = manager_client.post("/reports/new", data={**FORM, "donor": "999999"})
    assert response.status_code == 200 and "Not a valid choice" in response.get_data(as_text=True)
    assert count_reports(app) == 0


def test_staff_cannot_issue_or_preview(app, data, staff_client):
    assert staff_client.get("/reports/new").status_code == 403
    assert staff_client.post("/reports/new", data=FORM).status_code == 403
    assert staff_client.get("/reports/preview", query_string=FORM).status_code == 403
    assert staff_client.get("/reports/").status_code == 403
    assert count_reports(app) == 0
