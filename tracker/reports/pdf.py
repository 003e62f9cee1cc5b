"""A locked-down PDF renderer: ``create_pdf(html, css)`` behind a fetcher that only serves our own files.

WeasyPrint fetches every URL a document names (images, stylesheets, fonts,
``<link rel="attachment">``). Donor reports are rendered from our own
templates, but the data in them (project titles, partner names) is typed by
people, so the renderer must be safe even if markup ever slipped through: the
fetcher serves the application's own static files and ``data:`` URLs, and
refuses everything else (http, https, file, ftp, redirects, other hosts),
without touching the network or the file system outside ``tracker/static``.
"""
from __future__ import annotations

import mimetypes
import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

#: The base URL documents are rendered under; only ``/static/`` below it is served.
BASE_URL = "https://report.invalid/"
STATIC_PREFIX = BASE_URL + "static/"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


#: ``<link rel="attachment">`` would embed a file in the PDF; data in reports is escaped, so only markup matches.
_ATTACHMENT = re.compile(r"<link[^>]*\brel\s*=\s*[\"']?[^\"'>]*attachment[^>]*>", re.IGNORECASE)


class RefusedURL(ValueError):
    """A URL the renderer will not fetch (WeasyPrint logs it and leaves the resource out)."""


class StaticOnlyFetcher(URLFetcher):
    """Serves ``https://report.invalid/static/...`` from ``tracker/static`` and ``data:`` URLs; refuses the rest."""

    def __init__(self, static_dir: Path = STATIC_DIR):
        super().__init__(timeout=1, allowed_protocols=("data", "https"), allow_redirects=False)
        self.static_dir = static_dir.resolve()
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)  # decoded in memory by urllib's DataHandler
        if url.startswith(STATIC_PREFIX):
            path = self._static_path(url)
            if path is not None:
                mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": mime})
        self.refused.append(url[:200])
        raise RefusedURL(f"refused: {url[:200]}")

    def _static_path(self, url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.query or parts.fragment:
            return None
        relative = posixpath.normpath(unquote(parts.path)).lstrip("/")
        if not relative.startswith("static/") or ".." in relative.split("/"):
            return None
        path = (self.static_dir / relative.removeprefix("static/")).resolve()
        if self.static_dir not in path.parents or not path.is_file():
            return None
        return path


def create_pdf(html: str, css: str | None = None, *, fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """Render ``html`` (and an optional print stylesheet) to PDF bytes with the locked-down fetcher."""
    return render_pdf(html, css, fetcher=fetcher)[0]


def render_pdf(html: str, css: str | None = None, *, fetcher: StaticOnlyFetcher | None = None) -> tuple[bytes, int]:
    """``(pdf_bytes, page_count)`` of ``html`` rendered with the locked-down fetcher."""
    html = _ATTACHMENT.sub("<!-- attachment removed -->", html)  # a report never embeds a file
    fetcher = fetcher or StaticOnlyFetcher()
    stylesheets = [CSS(string=css, base_url=BASE_URL, url_fetcher=fetcher)] if css else None
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher, media_type="print").render(
        stylesheets=stylesheets)
    return document.write_pdf(attachments=[]), len(document.pages)
