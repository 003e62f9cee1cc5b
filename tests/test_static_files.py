"""Static files under the hash of their content (tracker/static_files.py): a year in the browser's cache."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from flask import Flask, url_for

from tracker import static_files

STATIC = Path(__file__).resolve().parent.parent / "tracker" / "static"
YEAR = "public, max-age=31536000, immutable"


def expected_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def test_pages_link_the_stylesheet_under_the_hash_of_its_bytes(client):
    digest = expected_hash((STATIC / "css" / "app.css").read_bytes())
    page = client.get("/login").get_data(as_text=True)
    assert f'href="/static/css/app.css?v={digest}"' in page


def test_the_hashed_url_is_cached_for_a_year(client):
    data = (STATIC / "css" / "app.css").read_bytes()
    response = client.get(f"/static/css/app.css?v={expected_hash(data)}")
    assert response.status_code == 200
    assert response.get_data() == data
    assert response.headers["Cache-Control"] == YEAR
    assert "no-store" not in response.headers["Cache-Control"]
    response.close()  # a static file is sent from the open file until closed


def test_a_font_is_hashed_too(app):
    data = (STATIC / "fonts" / "DejaVuSans.ttf").read_bytes()
    with app.test_request_context():
        url = url_for("static", filename="fonts/DejaVuSans.ttf")
    assert url == f"/static/fonts/DejaVuSans.ttf?v={expected_hash(data)}"


def test_without_the_hash_or_with_another_a_file_is_revalidated_on_every_use(client):
    for path in ("/static/css/app.css", "/static/css/app.css?v=000000000000", "/static/css/app.css?v="):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-cache", path
        assert response.headers.get("ETag"), path
        response.close()


def test_a_revalidation_under_the_hash_keeps_the_year(client):
    digest = expected_hash((STATIC / "css" / "app.css").read_bytes())
    first = client.get(f"/static/css/app.css?v={digest}")
    first.close()
    again = client.get(f"/static/css/app.css?v={digest}", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == YEAR


def test_a_hash_of_one_file_does_not_serve_another_for_a_year(client):
    report_css = expected_hash((STATIC / "css" / "report.css").read_bytes())
    response = client.get(f"/static/css/app.css?v={report_css}")
    assert response.headers["Cache-Control"] == "no-cache"
    response.close()


def test_the_folder_url_and_a_missing_file_carry_no_hash(app):
    with app.test_request_context():
        assert url_for("static", filename="") == "/static/"
        assert url_for("static", filename="css/none.css") == "/static/css/none.css"


def _app_on(folder: Path, *, debug: bool = False) -> Flask:
    app = Flask(__name__, static_folder=str(folder), static_url_path="/static")
    app.debug = debug
    static_files.init_app(app)
    return app


def _static_url(app: Flask, filename: str) -> str:
    with app.test_request_context():
        return url_for("static", filename=filename)


def test_a_changed_file_gets_a_new_hash_when_the_app_starts_again(tmp_path):
    sheet = tmp_path / "css" / "site.css"
    sheet.parent.mkdir()
    first, second = b"body { color: black; }\n", b"body { color: navy; }\n"
    sheet.write_bytes(first)
    before = _app_on(tmp_path)
    old_url = _static_url(before, "css/site.css")
    assert old_url == f"/static/css/site.css?v={expected_hash(first)}"

    sheet.write_bytes(second)
    after = _app_on(tmp_path)
    new_url = _static_url(after, "css/site.css")
    assert new_url == f"/static/css/site.css?v={expected_hash(second)}"
    assert new_url != old_url

    client = after.test_client()
    fresh = client.get(new_url)
    assert (fresh.get_data(), fresh.headers["Cache-Control"]) == (second, YEAR)
    fresh.close()
    # The old URL (a page of the previous deployment) now gets the new bytes: they must not be kept a year.
    stale = client.get(old_url)
    assert (stale.get_data(), stale.headers["Cache-Control"]) == (second, "no-cache")
    stale.close()
    # The app that started before the change still names the bytes it hashed.
    assert _static_url(before, "css/site.css") == old_url


def test_in_development_an_edited_file_gets_its_new_hash_at_once(tmp_path):
    sheet = tmp_path / "site.css"
    first, edited = b"a { color: red; }\n", b"a { color: maroon; }\n"
    sheet.write_bytes(first)
    app = _app_on(tmp_path, debug=True)
    assert _static_url(app, "site.css") == f"/static/site.css?v={expected_hash(first)}"
    sheet.write_bytes(edited)
    stat = sheet.stat()
    os.utime(sheet, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a clock too coarse to see the edit
    assert _static_url(app, "site.css") == f"/static/site.css?v={expected_hash(edited)}"


def test_file_hashes_names_every_file_below_the_folder(tmp_path):
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "a.ttf").write_bytes(b"\x00\x01")
    (tmp_path / "b.css").write_bytes(b"")
    assert static_files.file_hashes(tmp_path) == {
        "b.css": "e3b0c44298fc",  # SHA-256 of nothing
        "fonts/a.ttf": expected_hash(b"\x00\x01"),
    }
    assert static_files.file_hashes(tmp_path / "missing") == {}


def test_every_static_url_in_a_page_is_hashed(staff_client):
    page = staff_client.get("/mothers/").get_data(as_text=True)
    urls = re.findall(r'(?:href|src)="(/static/[^"]*)"', page)
    assert urls
    assert all(re.search(r"\?v=[0-9a-f]{12}$", url) for url in urls), urls
