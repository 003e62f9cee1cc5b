"""Hostile text in a report, and the locked-down renderer (tracker/reports/pdf.py) on its own.

A project title or partner name holding ``<img src="http://127.0.0.1:PORT/">``,
``<link rel="attachment" href="file:///etc/passwd">``, ``<style>@import url(http://...)``
or a 1 MB string: the PDF shows the text, a listener on that port receives
nothing, the PDF embeds no file, rendering ends in bounded time. The listener
is a real TCP server on 127.0.0.1 that records every connection; each test
also connects to it once itself, to show that it was listening.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import socket
import threading
import time
from decimal import Decimal as D
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests import factories
from tests.conftest import _empty_tables, _make_app
from tracker.extensions import db
from tracker.models import Project
from tracker.reports.data import MAX_TEXT, build_report
from tracker.reports.pdf import BASE_URL, STATIC_DIR, RefusedURL, StaticOnlyFetcher, create_pdf
from tracker.reports.render import render_report, report_html

#: Longest a report may take, however hostile its data.
BOUND_SECONDS = 60
PERIOD = dict(date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 12, 31))
CONFIG_PY = Path(__file__).resolve().parents[2] / "config.py"


class Listener:
    """A TCP server on a free port of 127.0.0.1 that accepts, records and closes every connection."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections: list[tuple] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"listener-{self.port}", daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, address = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(0.5)
            try:
                first = conn.recv(200)
            except OSError:
                first = b""
            self.connections.append((address, first))
            conn.close()

    def assert_nothing_received(self):
        time.sleep(0.3)  # a late connection would have been accepted by now
        assert self.connections == [], f"the listener on port {self.port} was contacted: {self.connections}"

    def assert_listening(self):
        """Control: a connection to the port is seen, so an empty record means nothing came."""
        before = len(self.connections)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as probe:
            probe.sendall(b"probe")
        deadline = time.monotonic() + 3
        while len(self.connections) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.connections) == before + 1
        self.connections.pop()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def payloads(port: int) -> dict[str, str]:
    return {
        "img": f'<img src="http://127.0.0.1:{port}/img.png">',
        "link": '<link rel="attachment" href="file:///etc/passwd">',
        "style": f"<style>@import url(http://127.0.0.1:{port}/evil.css);</style>",
        "mixed": f'<a rel="attachment" href="http://127.0.0.1:{port}/a">x</a><object data="http://127.0.0.1:{port}/o">',
    }


def one_mb() -> str:
    """About 1 MB of words ``W000000 W000001 ...`` (8 characters each with the space)."""
    return " ".join(f"W{i:06d}" for i in range(131_072))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def assert_embeds_nothing(pdf: bytes):
    assert b"/EmbeddedFile" not in pdf
    assert b"/FileAttachment" not in pdf
    assert PdfReader(io.BytesIO(pdf)).attachments == {}
    assert b"root:x:0:0" not in pdf and "root:x:0:0" not in pdf_text(pdf)


# --- hostile data through the templates -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def attacked(_schema, database_url):
    """Titles, partners and a donor holding markup (and, on SQLite, a 1 MB title), rendered once."""
    server = Listener()
    app = _make_app(database_url)
    try:
        p = payloads(server.port)
        with app.app_context():
            dialect = db.engine.dialect.name
            factories.ProjectFactory(code="TF-CD-2025-01", title=p["img"] + " " + p["style"],
                                     partner=factories.PartnerFactory(name=p["link"]))
            factories.ProjectFactory(code="TF-CD-2025-02", title=p["link"],
                                     partner=factories.PartnerFactory(name=p["img"]))
            factories.ProjectFactory(code="TF-CD-2025-03", title=p["mixed"],
                                     partner=factories.PartnerFactory(name=p["style"]))
            if dialect == "sqlite":  # title is varchar(300) on PostgreSQL
                factories.ProjectFactory(code="TF-CD-2025-04", title=one_mb(),
                                         partner=factories.PartnerFactory(name="Long Title Partner"))
            for project in db.session.scalars(db.select(Project)):
                factories.BudgetLineFactory(project=project, amount_usd=D("1000.00"))
            factories.PledgeFactory(donor=factories.DonorFactory(name=p["img"]), amount=D("500.00"))
            with app.test_request_context():
                started = time.perf_counter()
                rendered = render_report(scope="fund", lang="en", **PERIOD)
                seconds = time.perf_counter() - started
                data = build_report(scope="fund", lang="en", **PERIOD)
                html = report_html(data, for_pdf=True)
            db.session.remove()
        time.sleep(0.3)
        connections = list(server.connections)
        server.assert_listening()
        return {"payloads": p, "pdf": rendered.pdf, "pages": rendered.pages, "seconds": seconds, "html": html,
                "connections": connections, "dialect": dialect, "text": squash(pdf_text(rendered.pdf))}
    finally:
        server.close()
        with app.app_context():
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


def test_the_listener_received_nothing_while_the_report_rendered(attacked):
    assert attacked["connections"] == []


def test_the_payloads_show_as_text(attacked):
    # Long URLs wrap after a slash: compare without any white space.
    text = re.sub(r"\s+", "", attacked["text"])
    for name, payload in attacked["payloads"].items():
        assert re.sub(r"\s+", "", payload) in text, f"{name} payload not shown as text"
    # The partner's name, under its project's title and code on the country's page.
    assert "· <link rel=\"attachment\" href=\"file:///etc/passwd\">" in attacked["text"]


def test_the_html_escapes_the_payloads(attacked):
    html = attacked["html"]
    assert "&lt;img src=" in html and "&lt;link rel=" in html and "&lt;style&gt;@import" in html
    assert "<img" not in html and 'rel="attachment"' not in html and "<object" not in html
    assert "<style>@import" not in html


def test_the_pdf_embeds_no_file(attacked):
    assert_embeds_nothing(attacked["pdf"])


def test_rendering_ends_in_bounded_time(attacked):
    assert attacked["seconds"] < BOUND_SECONDS


def test_a_1_mb_title_is_clipped(attacked):
    if attacked["dialect"] != "sqlite":
        pytest.skip("projects.title is varchar(300) on PostgreSQL: a 1 MB title cannot be stored")
    text = attacked["text"]
    # clip(): the first MAX_TEXT - 1 characters and an ellipsis; words are 8 characters with their space.
    assert MAX_TEXT == 300
    assert "W000000 W000001" in text and "W000036 W00…" in text
    assert "W000037" not in text and "W131071" not in text
    assert len(attacked["pdf"]) < 1_000_000
    assert len(attacked["html"]) < 200_000


def test_postgresql_refuses_a_title_longer_than_its_column(db, dialect):
    if dialect != "postgresql":
        pytest.skip("SQLite does not enforce varchar lengths")
    from sqlalchemy.exc import DataError

    with pytest.raises(DataError):
        factories.ProjectFactory(title="x" * 301)
    db.session.rollback()


# --- the fetcher on its own -------------------------------------------------------------------------------------------

def response_bytes(path: Path) -> bytes:
    return path.read_bytes()


def test_the_fetcher_serves_static_files():
    fetcher = StaticOnlyFetcher()
    response = fetcher.fetch(BASE_URL + "static/css/report.css")
    assert response.read() == (STATIC_DIR / "css" / "report.css").read_bytes()
    assert response.content_type == "text/css"
    font = fetcher.fetch(BASE_URL + "static/fonts/DejaVuSans.ttf")
    assert font.read() == (STATIC_DIR / "fonts" / "DejaVuSans.ttf").read_bytes()
    # A path that stays inside static/ after normalisation is served.
    assert fetcher(BASE_URL + "static/fonts/../css/report.css").read() == response_bytes(STATIC_DIR / "css/report.css")
    assert fetcher.refused == []


def test_the_fetcher_decodes_data_urls():
    fetcher = StaticOnlyFetcher()
    assert fetcher.fetch("data:text/plain,hello%20there").read() == b"hello there"
    assert fetcher.fetch("data:text/css;base64,Ym9keXt9").read() == b"body{}"


def _refused_urls(port: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port}/",
        f"https://127.0.0.1:{port}/static/css/report.css",
        "http://report.invalid/static/css/report.css",
        "https://example.org/static/css/report.css",
        "https://report.invalid.example.org/static/css/report.css",
        f"https://report.invalid@127.0.0.1:{port}/static/css/report.css",
        "https://report.invalid/config.py",
        "https://report.invalid/static",
        "https://report.invalid/static/",
        "https://report.invalid/static/css",
        "https://report.invalid/static/no-such-file.css",
        "https://report.invalid/static/../config.py",
        "https://report.invalid/static/css/../../config.py",
        "https://report.invalid/static/css/../../../config.py",
        "https://report.invalid/static/%2e%2e/config.py",
        "https://report.invalid/static/%2E%2E/config.py",
        "https://report.invalid/static/css/%2e%2e/%2e%2e/%2e%2e/config.py",
        "https://report.invalid/static/..%2fconfig.py",
        "https://report.invalid/static/%2e%2e%2f%2e%2e%2fconfig.py",
        "https://report.invalid/static/css/report.css?v=1",
        "https://report.invalid/static/css/report.css#top",
        "https://report.invalid/static/%2fetc/passwd",
        "https://report.invalid/static//etc/passwd",
        "file:///etc/passwd",
        f"file://{CONFIG_PY}",
        f"ftp://127.0.0.1:{port}/file",
        f"gopher://127.0.0.1:{port}/",
        "javascript:alert(1)",
        "static/css/report.css",  # relative: WeasyPrint resolves against the base URL first
    ]


def test_the_fetcher_refuses_everything_else(listener):
    fetcher = StaticOnlyFetcher()
    urls = _refused_urls(listener.port)
    served = []
    for url in urls:
        try:
            response = fetcher.fetch(url)
        except RefusedURL:
            continue
        served.append((url, response.read()[:60]))
    assert served == []
    assert fetcher.refused == [u[:200] for u in urls]
    listener.assert_nothing_received()
    listener.assert_listening()


def test_the_fetcher_never_reads_outside_static(monkeypatch, listener):
    """Whatever it refuses, it refuses before opening anything: no file outside tracker/static is read."""
    opened = []
    real_read_bytes = Path.read_bytes

    def spy(self):
        opened.append(self)
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    fetcher = StaticOnlyFetcher()
    for url in _refused_urls(listener.port):
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)
    assert opened == []
    fetcher.fetch(BASE_URL + "static/css/app.css")
    assert [p.resolve() for p in opened] == [(STATIC_DIR / "css" / "app.css").resolve()]


# --- the renderer with hostile HTML, not through the templates --------------------------------------------------------

def hostile_html(port: int) -> str:
    here = f"http://127.0.0.1:{port}"
    svg = (f"<svg xmlns='http://www.w3.org/2000/svg' xmlns:xlink='http://www.w3.org/1999/xlink' width='10' "
           f"height='10'><image href='{here}/svg-image.png' width='10' height='10'/></svg>")
    return f"""<!doctype html>
<html><head>
<meta charset="utf-8">
<title>Hostile</title>
<base href="{here}/base/">
<link rel="stylesheet" href="{here}/sheet.css">
<link rel="attachment" href="file:///etc/passwd">
<link rel="attachment" href="{here}/attachment.bin">
<link rel="attachment" href="file://{CONFIG_PY}">
<style>@import url({here}/import.css); @import url(file:///etc/passwd);
@font-face {{ font-family: X; src: url({here}/font.ttf); }}
body {{ background: url({here}/background.png); font-family: X; }}</style>
</head><body>
<p>Hostile HTML <img src="{here}/img.png"> <img src="https://127.0.0.1:{port}/tls.png"></p>
<p><a rel="attachment" href="file:///etc/passwd">passwd</a> <a rel="attachment" href="{here}/a.bin">a</a></p>
<object data="{here}/object.svg" type="image/svg+xml"></object>
<embed src="{here}/embed.svg">
<iframe src="{here}/frame.html"></iframe>
<img src="data:image/svg+xml,{svg.replace('#', '%23')}">
<img src="relative.png">
<p style="background-image: url(ftp://127.0.0.1:{port}/bg.png)">end</p>
</body></html>"""


def test_create_pdf_of_hostile_html_contacts_nothing_and_embeds_nothing(listener):
    fetcher = StaticOnlyFetcher()
    started = time.perf_counter()
    pdf = create_pdf(hostile_html(listener.port),
                     css=f"@import url(http://127.0.0.1:{listener.port}/extra.css); p {{ color: black }}",
                     fetcher=fetcher)
    assert time.perf_counter() - started < BOUND_SECONDS
    listener.assert_nothing_received()
    listener.assert_listening()
    assert pdf.startswith(b"%PDF") and "Hostile HTML" in pdf_text(pdf)
    assert_embeds_nothing(pdf)
    refused = " ".join(fetcher.refused)
    for what in ("/img.png", "/import.css", "/sheet.css", "/font.ttf", "/extra.css", "file:///etc/passwd",
                 "/tls.png", "/svg-image.png"):
        assert what in refused, f"{what} was not even asked for (the test would prove nothing)"
    # <link rel="attachment"> is removed before rendering: never even fetched.
    assert "/attachment.bin" not in refused


def test_create_pdf_refuses_attachments_by_file_url_even_under_static(listener):
    """``<link rel="attachment">`` to the app's files through file: or traversal embeds nothing."""
    html = (f'<link rel="attachment" href="file://{STATIC_DIR}/css/report.css">'
            f'<link rel="attachment" href="{BASE_URL}static/../config.py">'
            f'<link rel="attachment" href="{BASE_URL}static/%2e%2e/config.py"><p>x</p>')
    fetcher = StaticOnlyFetcher()
    pdf = create_pdf(html, fetcher=fetcher)
    assert_embeds_nothing(pdf)
    assert b"SECRET_KEY" not in pdf
    assert fetcher.refused == []  # the attachment links are removed before rendering, never fetched
    listener.assert_nothing_received()
