"""Reading uploaded spreadsheets, and keeping one between preview and import.

:func:`parse_upload` turns the bytes of a CSV (UTF-8) or XLSX file into rows
of text for a kind, or raises :class:`FileProblem` with a message precise
enough to fix the file. Problems of one row (too many cells, a cell too long)
are collected as row errors instead, so that every bad row is reported.

The upload pages show a dry run first; the file then waits, encrypted, under
``instance/uploads`` for an hour (:func:`store_upload`, :func:`load_upload`)
so that the person confirms without uploading it again.
"""
from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import secrets
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tracker.formatting import number
from tracker.imports.base import Kind, RowError

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
MAX_CELL = 1000
#: An XLSX is a ZIP: refuse one that would unpack to more than this (a ZIP bomb).
MAX_UNPACKED = 400 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_XLSX_MAGIC = b"PK\x03\x04"
_NOT_SPREADSHEETS = (
    (b"%PDF", _l("a PDF document")),
    (b"\x89PNG", _l("a PNG image")),
    (b"\xff\xd8\xff", _l("a JPEG image")),
    (b"GIF8", _l("a GIF image")),
    (b"\x1f\x8b", _l("a gzip archive")),
    (b"PK\x05\x06", _l("an empty ZIP archive")),
    (b"Rar!", _l("a RAR archive")),
    (b"7z\xbc\xaf", _l("a 7-Zip archive")),
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f]")


class FileProblem(ValueError):
    """The file as a whole cannot be imported; ``message`` says why and what to do."""

    def __init__(self, message: str):
        self.message = str(message)
        super().__init__(self.message)


@dataclass
class ParsedFile:
    """The data rows of a file, as text, in the order of the file.

    Iterating gives ``(row_number, {column: text})`` for the rows to apply;
    rows with ``errors`` are left out of that iteration. Row numbers are those
    of the spreadsheet (the header is row 1); blank rows are skipped but
    counted. Cells are kept as tuples to keep large files small in memory.
    """

    format: str
    columns: tuple[str, ...]
    cells: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    #: Data rows in the file (blank rows not counted), including rows with errors.
    total: int = 0

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        for row_number, values in self.cells:
            yield row_number, dict(zip(self.columns, values))

    def __len__(self) -> int:
        return len(self.cells)

    @property
    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        return iter(self)


def parse_upload(data: bytes, filename: str, kind: Kind) -> ParsedFile:
    """Read ``data`` (CSV or XLSX, told by its content) as rows of ``kind``."""
    if len(data) > MAX_BYTES:
        raise FileProblem(_("The file is larger than 20 MB. Split it into several files."))
    if not data.strip() or not data.removeprefix(_BOM).strip():
        raise FileProblem(_("The file is empty."))
    if data.startswith(_XLSX_MAGIC):
        source, fmt = _xlsx_rows(data), "xlsx"
    else:
        _refuse_binary(data, filename)
        source, fmt = _csv_rows(_decode(data)), "csv"
    return _collect(source, fmt, kind)


def _refuse_binary(data: bytes, filename: str) -> None:
    head = data[:8192]
    for magic, what in _NOT_SPREADSHEETS:
        if head.startswith(magic):
            raise FileProblem(_("This file is %(what)s, not a spreadsheet. Upload a CSV (UTF-8) or XLSX file.",
                                what=what))
    if head.startswith(_OLE2):
        raise FileProblem(_("This is an old Excel (.xls) file or a password-protected workbook. Open it in Excel "
                            "and save it, without a password, as \"Excel Workbook (.xlsx)\" or \"CSV UTF-8\"."))
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileProblem(_("The file is UTF-16 text (Excel's \"Unicode text\"), not UTF-8. In Excel, use "
                            "\"Save as\" and choose \"CSV UTF-8 (comma delimited)\", or upload the XLSX file."))
    if b"\x00" in head:
        raise FileProblem(_("The file is not a CSV text file: it holds binary data (or is UTF-16 text). Upload a "
                            "CSV saved as \"CSV UTF-8\", or an XLSX workbook."))
    if _CONTROL.search(head):
        raise FileProblem(_("The file is not a CSV text file: it holds binary data. Upload a CSV saved as "
                            "\"CSV UTF-8\", or an XLSX workbook."))
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise FileProblem(_("The file is named like an Excel workbook but is not one. Save it again from Excel "
                            "as \"Excel Workbook (.xlsx)\"."))


def _decode(data: bytes) -> str:
    bom = len(_BOM) if data.startswith(_BOM) else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = bom + error.start
        line = data.count(b"\n", 0, offset) + 1
        raise FileProblem(_(
            "The file is not UTF-8 text: byte %(offset)d (line %(line)d) is 0x%(byte)02X, which UTF-8 does not "
            "allow. It was probably saved as \"CSV\" in a Windows or Latin-1 encoding. In Excel, use \"Save as\" "
            "and choose \"CSV UTF-8 (comma delimited)\", then upload it again.",
            offset=offset, line=line, byte=data[offset])) from None


def _delimiter(text: str) -> str:
    """Comma, unless the header line is clearly separated by semicolons (French Excel) or tabs."""
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    if counts[","] == 0 and (counts[";"] or counts["\t"]):
        return ";" if counts[";"] >= counts["\t"] else "\t"
    return ","


def _csv_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    row_number = 0
    while True:
        row_number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                raise FileProblem(_("row %(row)d: a cell is far longer than %(max)d characters.",
                                    row=row_number, max=MAX_CELL)) from None
            raise FileProblem(_("row %(row)d: the CSV cannot be read (%(reason)s). Check the quotes in that row.",
                                row=row_number, reason=str(error))) from None
        yield row_number, [cell.strip() for cell in cells]


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileProblem(_("The file looks like an XLSX workbook but is damaged: it cannot be opened. Save it "
                            "again from Excel.")) from None
    if "xl/workbook.xml" not in names:
        if "mimetype" in names and archive.read("mimetype").startswith(b"application/vnd.oasis.opendocument"):
            raise FileProblem(_("This is an OpenDocument (LibreOffice) file. Save it as \"Excel 2007-365 "
                                "(.xlsx)\" or as CSV (UTF-8) and upload it again."))
        raise FileProblem(_("This file is a ZIP archive, not an XLSX workbook. Upload a CSV (UTF-8) or XLSX file."))
    if unpacked > MAX_UNPACKED:
        raise FileProblem(_("The workbook is too large once unpacked. Split it into several files."))
    unreadable = _("The XLSX workbook cannot be read; it may be damaged. Save it again from Excel, or save it "
                   "as \"CSV UTF-8\".")
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a parser of untrusted bytes: any failure means a bad file
        raise FileProblem(unreadable) from None
    try:
        if not workbook.worksheets:
            raise FileProblem(_("The workbook has no worksheet."))
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some programs write wrong sheet dimensions
        rows = sheet.iter_rows(values_only=True)
        row_number = 0
        while True:
            row_number += 1
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception:
                raise FileProblem(unreadable) from None
            yield row_number, [cell_text(value) for value in values]
    finally:
        workbook.close()


def cell_text(value) -> str:
    """The text of an XLSX cell as a person would type it.

    Dates give ``YYYY-MM-DD`` (a time, if any, is kept so that it is not lost
    silently); numbers their exact decimal text, rounded like Excel to 15
    significant digits so that binary noise (``1250.4999999999998``) never
    shows; booleans ``TRUE``/``FALSE`` as in a CSV saved by Excel.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return ""
        return _plain_decimal(Decimal(format(value, ".15g")))
    if isinstance(value, Decimal):
        return _plain_decimal(value)
    return str(value).strip()


def _plain_decimal(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _header(cells: list[str], kind: Kind) -> tuple[str, ...]:
    while cells and cells[-1] == "":
        cells = cells[:-1]
    if not cells:
        raise FileProblem(_("Row 1 must hold the column names, and it is empty. The columns are: %(columns)s.",
                            columns=", ".join(kind.column_names)))
    names = [cell.strip().lower() for cell in cells]
    known = set(kind.column_names)
    if not known.intersection(names):
        # Do not echo the cells: row 1 may be a row of data (a person's details).
        raise FileProblem(_("Row 1 must hold the column names; none of them was found. The columns are: "
                            "%(columns)s.", columns=", ".join(kind.column_names)))
    problems = []
    empty = [str(i + 1) for i, name in enumerate(names) if not name]
    if empty:
        problems.append(_("The header (row 1) has no name in column %(positions)s.", positions=", ".join(empty)))
    seen, twice = set(), []
    for name in names:
        if name and name in seen and name not in twice:
            twice.append(name)
        seen.add(name)
    if twice:
        problems.append(_("The header names these columns more than once: %(names)s.",
                          names=", ".join(_short(n) for n in twice)))
    unknown = [n for n in names if n and n not in known]
    if unknown:
        problems.append(_("Unknown columns: %(names)s. The columns are: %(columns)s.",
                          names=", ".join(_short(n) for n in unknown), columns=", ".join(kind.column_names)))
    missing = [n for n in kind.required_columns if n not in seen]
    if missing:
        problems.append(_("The header lacks the required columns: %(names)s.", names=", ".join(missing)))
    if problems:
        raise FileProblem(" ".join(problems))
    return tuple(names)


def _short(name: str) -> str:
    return name if len(name) <= 40 else name[:39] + "…"


def _collect(source: Iterator[tuple[int, list[str]]], fmt: str, kind: Kind) -> ParsedFile:
    header = None
    parsed = None
    for row_number, cells in source:
        if header is None:  # row 1
            header = _header(cells, kind)
            parsed = ParsedFile(format=fmt, columns=header)
            continue
        while cells and cells[-1] == "":
            cells.pop()
        if not cells:
            continue  # a blank row
        parsed.total += 1
        if parsed.total > MAX_ROWS:
            raise FileProblem(_("The file has more than %(max)s data rows. Split it into several files.",
                                max=number(MAX_ROWS)))
        width = len(header)
        if len(cells) > width:
            parsed.errors.append(RowError(row_number, "", _("the row has %(cells)d cells, the header has %(width)d",
                                                            cells=len(cells), width=width)))
            continue
        too_long = [RowError(row_number, header[i], _("too long (max %(max)d characters)", max=MAX_CELL))
                    for i, cell in enumerate(cells) if len(cell) > MAX_CELL]
        if too_long:
            parsed.errors.extend(too_long)
            continue
        parsed.cells.append((row_number, tuple(cells) + ("",) * (width - len(cells))))
    if parsed is None:
        raise FileProblem(_("The file is empty."))
    if parsed.total == 0:
        raise FileProblem(_("The file has a header but no data rows."))
    return parsed


# --- Uploads waiting for confirmation --------------------------------------

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
    data: bytes


def _now() -> float:
    return time.time()


def upload_dir() -> Path:
    return Path(current_app.config.get("IMPORT_UPLOAD_DIR") or Path(current_app.instance_path, "uploads"))


def _ensure_dir() -> Path:
    directory = upload_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    return directory


def store_upload(data: bytes, *, user_id: int, kind: str, history: bool, filename: str) -> str:
    """Keep ``data`` encrypted for :data:`UPLOAD_TTL` seconds; returns the token that finds it."""
    from tracker.crypto import keyring

    directory = _ensure_dir()
    purge_expired()
    token = secrets.token_urlsafe(32)
    payload = json.dumps({
        "user_id": user_id, "kind": kind, "history": bool(history), "filename": filename[:200],
        "created": _now(), "sha256": hashlib.sha256(data).hexdigest(),
        "data": base64.b64encode(data).decode("ascii"),
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
    if _now() - payload["created"] > UPLOAD_TTL:
        discard_upload(token)
        raise UploadGone(token)
    try:
        path.rename(path.with_name(token + _TAKEN))
    except FileNotFoundError:  # taken by a request sent at the same moment
        raise UploadGone(token) from None
    data = base64.b64decode(payload["data"])
    if hashlib.sha256(data).hexdigest() != payload["sha256"]:
        discard_upload(token)
        raise UploadGone(token)
    return PendingUpload(token=token, kind=kind, history=payload["history"], filename=payload["filename"], data=data)


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
