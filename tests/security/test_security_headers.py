"""Security headers on every response, nothing a strict CSP would block, errors that tell nothing."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from config import DevelopmentConfig, TestingConfig
from tests import factories
from tests.security.test_access_matrix import ROLES, build, routes
from tracker import create_app
from tracker.auth.permissions import PUBLIC, permission
from tracker.security import CONTENT_SECURITY_POLICY

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"


def check_headers(response, *, static=False, where=""):
    headers = response.headers
    assert headers.get("Content-Security-Policy") == CONTENT_SECURITY_POLICY, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "same-origin", where
    assert headers.get("X-Frame-Options") == "DENY", where
    if static:
        assert "no-store" not in headers.get("Cache-Control", ""), where
    else:
        assert headers.get("Cache-Control") == "no-store", where


def test_the_policy_is_strict():
    parts = {p.split()[0]: p.split()[1:] for p in CONTENT_SECURITY_POLICY.split("; ")}
    assert parts["default-src"] == ["'self'"]
    assert parts["object-src"] == ["'none'"]
    assert parts["base-uri"] == ["'self'"]
    assert parts["frame-ancestors"] == ["'none'"]
    assert parts["form-action"] == ["'self'"]
    assert parts["img-src"] == ["'self'", "data:"]
    assert parts["style-src"] == ["'self'"]
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY and "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert "script-src" not in parts  # default-src 'self': no inline script, none from elsewhere


def test_every_route_answers_with_the_headers_for_every_role(app, world, clients):
    seen = 0
    for endpoint, method, rule in routes(app):
        for role in ROLES:
            response = clients[role].open(build(rule, world["inside"]), method=method)
            response.get_data()
            response.close()
            check_headers(response, static=endpoint == "static", where=f"{role} {method} {rule.rule}")
            seen += 1
    assert seen > 500


def test_error_pages_carry_the_headers(app, client):
    check_headers(client.get("/no/such/page"), where="404")
    check_headers(client.get("/logout"), where="405")
    assert client.get("/no/such/page").status_code == 404


def test_static_files_stay_cacheable(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    check_headers(response, static=True)
    assert response.headers.get("ETag") or response.headers.get("Last-Modified")
    response.close()  # a static file is sent from the open file until closed
    again = client.get("/static/css/app.css", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_a_signed_in_page_a_pdf_and_an_export_are_not_stored(app, sign_in):
    staff = sign_in(role="staff", countries=["CD"])
    for path in ("/", "/mothers/", "/mothers/export.csv", "/account"):
        response = staff.get(path)
        response.get_data()
        response.close()  # a streamed export keeps its context until closed
        assert response.headers["Cache-Control"] == "no-store", path


def test_hsts_in_production_only(app, monkeypatch, tmp_path):
    from config import ProductionConfig
    from tracker import crypto

    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    production = create_app(ProductionConfig, SECRET_KEY="k" * 64, TRACKER_DATA_KEY=crypto.generate_key(),
                            SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'p.db'}")
    response = production.test_client().get("/static/css/app.css", base_url="https://localhost")
    response.close()  # a static file is sent from the open file until closed
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


# --- nothing in the templates that the policy would block ----------------------------------------------------------


def _templates():
    return [p for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".svg") and p.is_file()]


def test_no_template_has_inline_style_script_or_event_handlers():
    offending = []
    for path in _templates():  # the PDF's templates too: the preview shows them in the browser
        text = path.read_text(encoding="utf-8")
        for pattern in (r"\sstyle\s*=", r"<script", r"<style", r"\son[a-z]+\s*=", r"javascript:"):
            if re.search(pattern, text, re.IGNORECASE):
                offending.append((path.relative_to(TEMPLATES).as_posix(), pattern))
    assert offending == []


def test_the_charts_are_coloured_without_a_style_element():
    """Presentation attributes: the CSP allows them on screen, and WeasyPrint applies them in the PDF."""
    chart = (TEMPLATES / "charts" / "chart.svg").read_text(encoding="utf-8")
    assert "<style" not in chart
    # Shapes and texts, coloured by tracker/charts.py: fill and stroke attributes.
    assert chart.count(' fill="{{') >= 2 and chart.count(' stroke="{{') >= 2


def test_the_review_page_draws_its_charts_without_a_style_element(app, sign_in):
    manager = sign_in(role="manager", countries=["CD"])
    with app.app_context():
        factories.BudgetLineFactory(project__code="TF-CD-2025-01")
    page = manager.get("/review/")
    assert page.status_code == 200
    assert b"<svg" in page.data and b"<style" not in page.data and b" style=" not in page.data
    assert b'<rect' in page.data and b' fill="#' in page.data


# --- errors ---------------------------------------------------------------------------------------------------------


def test_a_server_error_shows_no_traceback_and_keeps_the_headers(make_app):
    quiet = make_app(PROPAGATE_EXCEPTIONS=False)

    @quiet.route("/throwaway-boom")
    @permission(PUBLIC)
    def boom():
        raise RuntimeError("secret-detail-that-must-not-leak CD-M-00042")

    response = quiet.test_client().get("/throwaway-boom")
    assert response.status_code == 500
    assert b"Something went wrong" in response.data
    for leak in (b"Traceback", b"RuntimeError", b"secret-detail", b"CD-M-00042", b"File &#34;", b'File "'):
        assert leak not in response.data
    check_headers(response)


def test_the_debugger_is_refused_outside_development(monkeypatch):
    with pytest.raises(SystemExit, match="debug mode only"):
        create_app(TestingConfig, DEBUG=True)
    monkeypatch.setenv("FLASK_DEBUG", "1")  # what `flask run --debug` sets
    with pytest.raises(SystemExit, match="debug mode only"):
        create_app(TestingConfig)


def test_the_debugger_runs_in_development_only(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    development = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'd.db'}",
                             SECRET_KEY="dev", TRACKER_DATA_KEY=TestingConfig.TRACKER_DATA_KEY)
    assert development.debug is True


def test_there_is_no_console_to_reach(client):
    assert client.get("/console").status_code == 404
    assert client.get("/?__debugger__=yes&cmd=resource&f=style.css").status_code in (302, 404)
