"""Uploads waiting for confirmation: the rows read at the preview, kept compressed and encrypted.

The upload pages show a dry run first; the rows read then wait, compressed
and encrypted, under ``instance/uploads`` for an hour (:func:`store_upload`,
:func:`take_upload`), so that the person confirms without uploading the file
again and the import applies exactly the rows previewed, without reading the
file a second time.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from tracker.imports.kinds import RowError
from tracker.imports.reading import ParsedFile

#: Seconds an uploaded file waits for its confirmation.
UPLOAD_TTL = 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
_TAKEN = ".taken"


class UploadGone(LookupError):
    """The upload expired, was imported already or never existed."""


class UploadNotYours(LookupError):
    """The upload belongs to another user or kind (shown as 404)."""


@dataclass(frozen=True)
class PendingUpload:
    token: str
    kind: str
    history: bool
    filename: str
    #: The rows read at the preview, to import as they are (the file is not kept, nor read again).
    parsed: ParsedFile


def _now() -> float:
    return time.time()


def upload_dir() -> Path:
    return Path(current_app.config.get("IMPORT_UPLOAD_DIR") or Path(current_app.instance_path, "uploads"))


def _ensure_dir() -> Path:
    directory = upload_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    return directory


def _pack(parsed: ParsedFile) -> bytes:
    """``parsed`` as compressed JSON (50,000 disbursements, every column filled: 10.8 MB of JSON, 2.2 MB packed)."""
    document = {
        "format": parsed.format, "columns": parsed.columns, "total": parsed.total, "cells": parsed.cells,
        "errors": [[e.row, e.column, str(e.message)] for e in parsed.errors],
    }
    return zlib.compress(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 6)


def _unpack(packed: bytes) -> ParsedFile:
    document = json.loads(zlib.decompress(packed))
    return ParsedFile(format=document["format"], columns=tuple(document["columns"]),
                      cells=[(row, tuple(values)) for row, values in document["cells"]],
                      errors=[RowError(row, column, message) for row, column, message in document["errors"]],
                      total=document["total"])


def store_upload(parsed: ParsedFile, *, user_id: int, kind: str, history: bool, filename: str) -> str:
    """Keep the rows of ``parsed`` encrypted for :data:`UPLOAD_TTL` seconds; returns the token that finds them."""
    from tracker.crypto import keyring

    directory = _ensure_dir()
    purge_expired()
    token = secrets.token_urlsafe(32)
    packed = _pack(parsed)
    payload = json.dumps({
        "user_id": user_id, "kind": kind, "history": bool(history), "filename": filename[:200],
        "created": _now(), "sha256": hashlib.sha256(packed).hexdigest(),
        "rows": base64.b64encode(packed).decode("ascii"),
    })
    fd = os.open(directory / token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(keyring().encrypt(payload))
    return token


def take_upload(token: str, *, user_id: int, kind: str) -> PendingUpload:
    """The upload behind ``token``, if it is this user's, for this kind, and not expired.

    Taking it moves it aside in one atomic rename, so that a form sent twice
    imports the file once; the caller discards it (:func:`discard_upload`)
    when done. Raises :class:`UploadNotYours` (show 404) or :class:`UploadGone`.
    """
    from tracker.crypto import DataKeyError, keyring

    purge_expired()
    if not _TOKEN.match(token or ""):
        raise UploadNotYours(token)
    path = upload_dir() / token
    try:
        payload = json.loads(keyring().decrypt(path.read_text(encoding="ascii")))
    except FileNotFoundError:
        raise UploadGone(token) from None
    except (DataKeyError, ValueError, OSError):
        discard_upload(token)
        raise UploadGone(token) from None
    if payload.get("user_id") != user_id or payload.get("kind") != kind:
        raise UploadNotYours(token)
    if _now() - payload["created"] > UPLOAD_TTL or "rows" not in payload:  # "rows": not stored by an older version
        discard_upload(token)
        raise UploadGone(token)
    try:
        path.rename(path.with_name(token + _TAKEN))
    except FileNotFoundError:  # taken by a request sent at the same moment
        raise UploadGone(token) from None
    packed = base64.b64decode(payload["rows"])
    if hashlib.sha256(packed).hexdigest() != payload["sha256"]:
        discard_upload(token)
        raise UploadGone(token)
    return PendingUpload(token=token, kind=kind, history=payload["history"], filename=payload["filename"],
                         parsed=_unpack(packed))


def discard_upload(token: str) -> None:
    if _TOKEN.match(token or ""):
        for name in (token, token + _TAKEN):
            try:
                (upload_dir() / name).unlink()
            except FileNotFoundError:
                pass


def purge_expired() -> None:
    """Delete uploads older than :data:`UPLOAD_TTL` (opportunistically, on each use)."""
    directory = upload_dir()
    if not directory.is_dir():
        return
    limit = _now() - UPLOAD_TTL
    for path in directory.iterdir():
        try:
            if _TOKEN.match(path.name.removesuffix(_TAKEN)) and path.stat().st_mtime < limit:
                path.unlink()
        except FileNotFoundError:
            pass
