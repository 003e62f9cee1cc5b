"""Static files under the hash of their content, cached by browsers for a year: a changed file is a new URL.

When the app is made, every file of its static folder is hashed (SHA-256 of
its bytes, the first :data:`HASH_LENGTH` hexadecimal digits). ``url_for('static',
filename=...)`` then adds ``?v=<hash>`` on its own (a ``url_defaults`` hook), so
templates write static URLs as before. A request carrying the file's current
hash is answered with ``Cache-Control: public, max-age=31536000, immutable``:
the browser never asks again, and the next version of the file, with another
hash, is another URL. Any other request for a static file (no hash, or a hash
that is not the file's, such as a page of an older deployment) is revalidated
on every use (``no-cache``, with its ``ETag``), as all static files were before.

The hashes are read once, at start-up: a deployment restarts the app. In
development (``DEBUG``) a file is hashed again whenever it changes, so an edited
stylesheet shows on the next page without a restart.

Donor PDFs fetch their stylesheet and fonts under ``static/`` without a query
(tracker/reports/pdf.py); the file behind is the same.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, current_app, request

#: Hexadecimal digits of the SHA-256 kept in the URL (48 bits: no two versions of a file share one by chance).
HASH_LENGTH = 12
#: A year, the longest caches keep anything; ``immutable``: not revalidated on reload either.
LONG_CACHE = "public, max-age=31536000, immutable"
#: The query parameter that carries the hash.
PARAMETER = "v"


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:HASH_LENGTH]


def file_hashes(folder: str | Path | None) -> dict[str, str]:
    """``{path below folder, with '/': hash of its bytes}`` of every file below ``folder``."""
    root = Path(folder) if folder else None
    if root is None or not root.is_dir():
        return {}
    return {path.relative_to(root).as_posix(): content_hash(path.read_bytes())
            for path in sorted(root.rglob("*")) if path.is_file()}


class StaticHashes:
    """The hash of each static file: read once, or (``live``) again whenever the file's size or time changes."""

    def __init__(self, folder: str | Path | None, *, live: bool = False):
        self.folder = Path(folder) if folder else None
        self.live = live
        self.hashes = file_hashes(self.folder)
        self._seen: dict[str, tuple[int, int]] = {}

    def get(self, filename: str | None) -> str | None:
        if not filename:
            return None
        if not self.live:
            return self.hashes.get(filename)
        return self._current(filename)

    def _current(self, filename: str) -> str | None:
        if self.folder is None or filename.startswith("/") or ".." in filename.split("/"):
            return None
        path = self.folder / filename
        try:
            stat = path.stat()
        except OSError:
            return None
        mark = (stat.st_mtime_ns, stat.st_size)
        if filename not in self.hashes or self._seen.get(filename) != mark:
            if not path.is_file():
                return None
            self.hashes[filename] = content_hash(path.read_bytes())
            self._seen[filename] = mark
        return self.hashes[filename]


def init_app(app: Flask) -> None:
    hashes = StaticHashes(app.static_folder, live=app.debug)
    app.extensions["tracker.static_hashes"] = hashes

    @app.url_defaults
    def hashed_static_url(endpoint: str, values: dict) -> None:
        if endpoint == "static" and PARAMETER not in values:
            digest = hashes.get(values.get("filename"))
            if digest:
                values[PARAMETER] = digest

    app.after_request(static_cache)


def static_cache(response):
    """``after_request``: a year for a static file asked for under its current hash."""
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    hashes: StaticHashes = current_app.extensions["tracker.static_hashes"]
    asked = request.args.get(PARAMETER)
    if asked and asked == hashes.get((request.view_args or {}).get("filename")):
        response.headers["Cache-Control"] = LONG_CACHE
        response.headers.pop("Expires", None)
    return response
