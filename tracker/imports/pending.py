"""Uploads waiting for confirmation: the rows read at the preview, kept compressed and encrypted.

The upload pages show a dry run first; the rows read then wait, compressed
and encrypted, under ``instance/uploads`` for an hour (:func:`store_upload`,
:func:`take_upload`), so that the person confirms without uploading the file
again and the import applies exactly the rows previewed, without reading the
file a second time.

A large file is checked by a job (tracker/imports/jobs.py): the request keeps
the file itself, encrypted, under a token (:func:`store_file`); the job reads
it and replaces it with its rows under the same token (:func:`load_waiting`,
:func:`store_upload` with ``token``). Confirming takes the upload aside at
once (:func:`claim_upload`), and the job that imports it reads it from there
(:func:`load_claimed`).
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
    #: The size of the file uploaded, in bytes (large ones are imported by a job).
    size: int = 0


@dataclass(frozen=True)
class WaitingFile:
    """A file uploaded for a job to check: the file itself, or its rows once the job has read them."""

    token: str
    user_id: int
    kind: str
    history: bool
    filename: str
    size: int
    data: bytes | None
    parsed: ParsedFile | None


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


def _write(directory: Path, token: str, payload: dict, *, replace: bool) -> None:
    """The payload, encrypted, under ``token``: a new file, or (``replace``) in place of the one there."""
    from tracker.crypto import keyring

    sealed = keyring().encrypt(json.dumps(payload))
    if not replace:
        fd = os.open(directory / token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(sealed)
        return
    partial = directory / f"{token}.{secrets.token_hex(4)}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(sealed)
    os.replace(partial, directory / token)


def store_upload(parsed: ParsedFile, *, user_id: int, kind: str, history: bool, filename: str,
                 size: int = 0, token: str | None = None) -> str:
    """Keep the rows of ``parsed`` encrypted for :data:`UPLOAD_TTL` seconds; returns the token that finds them.

    With ``token`` (a job that has read a file kept by :func:`store_file`), the rows replace the file.
    """
    directory = _ensure_dir()
    purge_expired()
    packed = _pack(parsed)
    payload = {
        "user_id": user_id, "kind": kind, "history": bool(history), "filename": filename[:200],
        "created": _now(), "size": size, "sha256": hashlib.sha256(packed).hexdigest(),
        "rows": base64.b64encode(packed).decode("ascii"),
    }
    if token is None:
        token = secrets.token_urlsafe(32)
        _write(directory, token, payload, replace=False)
    elif _TOKEN.match(token):
        _write(directory, token, payload, replace=True)
    else:
        raise ValueError("not an upload token")
    return token


def store_file(data: bytes, *, user_id: int, kind: str, history: bool, filename: str) -> str:
    """Keep an uploaded file, compressed and encrypted, for a job to check (:func:`load_waiting`); its token."""
    directory = _ensure_dir()
    purge_expired()
    token = secrets.token_urlsafe(32)
    packed = zlib.compress(data, 1)
    _write(directory, token, {
        "user_id": user_id, "kind": kind, "history": bool(history), "filename": filename[:200],
        "created": _now(), "size": len(data), "sha256": hashlib.sha256(packed).hexdigest(),
        "file": base64.b64encode(packed).decode("ascii"),
    }, replace=False)
    return token


def _read(path: Path, token: str) -> dict:
    from tracker.crypto import DataKeyError, keyring

    try:
        return json.loads(keyring().decrypt(path.read_text(encoding="ascii")))
    except FileNotFoundError:
        raise UploadGone(token) from None
    except (DataKeyError, ValueError, OSError):
        discard_upload(token)
        raise UploadGone(token) from None


def _contents(payload: dict, token: str) -> tuple[bytes | None, ParsedFile | None]:
    """The file or the rows a payload holds, once their checksum is right."""
    field_name = "rows" if "rows" in payload else "file"
    packed = base64.b64decode(payload[field_name])
    if hashlib.sha256(packed).hexdigest() != payload["sha256"]:
        discard_upload(token)
        raise UploadGone(token)
    if field_name == "rows":
        return None, _unpack(packed)
    return zlib.decompress(packed), None


def load_waiting(token: str) -> WaitingFile:
    """For the job checking it: the file kept under ``token`` (or its rows, if an earlier run of the job read
    them already). Raises :class:`UploadGone`."""
    if not _TOKEN.match(token or ""):
        raise UploadGone(token)
    payload = _read(upload_dir() / token, token)
    if "rows" not in payload and "file" not in payload:
        raise UploadGone(token)
    data, parsed = _contents(payload, token)
    return WaitingFile(token=token, user_id=payload["user_id"], kind=payload["kind"], history=payload["history"],
                       filename=payload["filename"], size=payload.get("size", 0), data=data, parsed=parsed)


def claim_upload(token: str, *, user_id: int, kind: str) -> PendingUpload:
    """The upload behind ``token``, if it is this user's, for this kind, and not expired, taken aside; its rows
    are not read yet (``parsed`` is empty: :func:`load_claimed` reads them).

    Taking it moves it aside in one atomic rename, so that a form sent twice
    imports the file once; the caller discards it (:func:`discard_upload`)
    when done. Raises :class:`UploadNotYours` (show 404) or :class:`UploadGone`.
    """
    purge_expired()
    if not _TOKEN.match(token or ""):
        raise UploadNotYours(token)
    path = upload_dir() / token
    payload = _read(path, token)
    if payload.get("user_id") != user_id or payload.get("kind") != kind:
        raise UploadNotYours(token)
    if _now() - payload["created"] > UPLOAD_TTL or "rows" not in payload:  # "rows": not stored by an older version
        discard_upload(token)
        raise UploadGone(token)
    try:
        path.rename(path.with_name(token + _TAKEN))
    except FileNotFoundError:  # taken by a request sent at the same moment
        raise UploadGone(token) from None
    return PendingUpload(token=token, kind=kind, history=payload["history"], filename=payload["filename"],
                         parsed=ParsedFile(format="", columns=()), size=payload.get("size", 0))


def load_claimed(token: str) -> PendingUpload:
    """The rows of an upload :func:`claim_upload` took aside. Raises :class:`UploadGone`."""
    if not _TOKEN.match(token or ""):
        raise UploadGone(token)
    payload = _read(upload_dir() / (token + _TAKEN), token)
    if "rows" not in payload:
        raise UploadGone(token)
    _data, parsed = _contents(payload, token)
    return PendingUpload(token=token, kind=payload["kind"], history=payload["history"],
                         filename=payload["filename"], parsed=parsed, size=payload.get("size", 0))


def take_upload(token: str, *, user_id: int, kind: str) -> PendingUpload:
    """The upload behind ``token`` with its rows: :func:`claim_upload`, then :func:`load_claimed`."""
    claim_upload(token, user_id=user_id, kind=kind)
    return load_claimed(token)


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
            name = path.name.removesuffix(_TAKEN).split(".", 1)[0]  # and a replacement left half-written
            if _TOKEN.match(name) and path.stat().st_mtime < limit:
                path.unlink()
        except FileNotFoundError:
            pass
