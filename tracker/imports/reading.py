"""Reading uploaded spreadsheets (CSV, and XLSX through :mod:`tracker.imports.xlsx`) into rows and row errors.

:func:`parse_upload` turns the bytes of a CSV (UTF-8) or XLSX file into rows
of text for a kind, or raises :class:`~tracker.imports.kinds.FileProblem` with a message precise
enough to fix the file. Problems of one row (too many cells, a cell too long)
are collected as row errors instead, so that every bad row is reported.

Reading a file is bounded whatever it holds: 20 MB uploaded, 50,000 data
rows, 1,048,576 rows with the blank ones, 20 million characters in the cells
kept, ``IMPORT_PARSE_SECONDS`` of reading, and for an XLSX the limits of
:mod:`tracker.imports.xlsx` (unpacked size, shared strings). Both formats are
read as a stream: a row is checked against the header's width before it is
kept, and a cell far to the right costs one entry, never a padded row.

The rows read wait for the confirmation in :mod:`tracker.imports.pending`.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tracker.formatting import number
from tracker.imports.kinds import FileProblem, Kind, RowError

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
MAX_CELL = 1000
#: Rows a file may have with its blank rows (a worksheet's own limit): blank rows are skipped, but not for free.
MAX_LINES = 1_048_576
#: Characters in the cells kept, all rows together: as much as a 20 MB CSV can hold. An XLSX can refer to one
#: long shared string from every cell, and the rows kept wait for the confirmation.
MAX_TEXT = 20_000_000
#: Characters of one CSV row: far more than any row of a kind (at most 1,000 per cell), and a quote left open
#: would make one row of the rest of the file.
MAX_CSV_ROW = 1_000_000
#: An XLSX is a ZIP of more parts than this only if something is wrong (Excel writes a dozen or so).
MAX_PARTS = 10_000

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
#: The clock of the time budget (tests move it).
_clock = time.monotonic


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
            yield row_number, dict(zip(self.columns, values, strict=True))

    def __len__(self) -> int:
        return len(self.cells)

    @property
    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        return iter(self)


class _Budget:
    """The time reading one file may take (``IMPORT_PARSE_SECONDS``); :meth:`check` is called as it streams."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = _clock() + seconds

    def check(self) -> None:
        if _clock() > self.deadline:
            raise FileProblem(_("Reading the file took longer than the %(seconds)s seconds allowed. Split it into "
                                "several smaller files.", seconds=number(self.seconds)))


def parse_upload(data: bytes, filename: str, kind: Kind) -> ParsedFile:
    """Read ``data`` (CSV or XLSX, told by its content) as rows of ``kind``."""
    refuse_at_once(data, filename)
    budget = _Budget(current_app.config["IMPORT_PARSE_SECONDS"])
    if data.startswith(_XLSX_MAGIC):
        source, fmt = _xlsx_rows(data, budget), "xlsx"
    else:
        source, fmt = _csv_rows(data, budget), "csv"
    return _collect(source, fmt, kind)


def refuse_at_once(data: bytes, filename: str) -> None:
    """The checks of a file that cost nothing (too large, empty, not a spreadsheet): an upload page makes them
    before handing a large file to a job. Raises :class:`FileProblem`."""
    if len(data) > MAX_BYTES:
        raise FileProblem(_("The file is larger than 20 MB. Split it into several files."))
    if not data.strip() or not data.removeprefix(_BOM).strip():
        raise FileProblem(_("The file is empty."))
    if not data.startswith(_XLSX_MAGIC):
        _refuse_binary(data, filename)


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


def _check_utf8(data: bytes, start: int) -> None:
    """Refuse ``data`` unless it is UTF-8, saying where; decoded a megabyte at a time and thrown away."""
    position, step = start, 1024 * 1024
    while position < len(data):
        chunk = data[position:position + step]
        final = position + len(chunk) >= len(data)
        try:
            _text, consumed = codecs.utf_8_decode(chunk, "strict", final)
        except UnicodeDecodeError as error:
            offset = position + error.start
            line = data.count(b"\n", 0, offset) + 1
            raise FileProblem(_(
                "The file is not UTF-8 text: byte %(offset)d (line %(line)d) is 0x%(byte)02X, which UTF-8 does not "
                "allow. It was probably saved as \"CSV\" in a Windows or Latin-1 encoding. In Excel, use \"Save "
                "as\" and choose \"CSV UTF-8 (comma delimited)\", then upload it again.",
                offset=offset, line=line, byte=data[offset])) from None
        position += consumed


def _delimiter(first_line: bytes) -> str:
    """Comma, unless the header line is clearly separated by semicolons (French Excel) or tabs."""
    counts = {d: first_line.count(d.encode()) for d in (",", ";", "\t")}
    if counts[","] == 0 and (counts[";"] or counts["\t"]):
        return ";" if counts[";"] >= counts["\t"] else "\t"
    return ","


class _CsvLines:
    """The lines of a CSV for :func:`csv.reader`, decoded one at a time, within the row length and time budget."""

    def __init__(self, data: bytes, budget: _Budget):
        self.stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
        self.budget = budget
        self.lines = 0
        #: Characters read since the end of the last row the reader gave (a quoted cell may span lines).
        self.pending = 0
        self.row = 1

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.stream.readline(MAX_CSV_ROW + 1)
        if not line:
            raise StopIteration
        self.lines += 1
        if self.lines % 1024 == 0:
            self.budget.check()
        self.pending += len(line)
        if self.pending > MAX_CSV_ROW:
            raise FileProblem(_("row %(row)d: the row is longer than %(max)s characters. Check the quotes in that "
                                "row and the rows above it, or split the file.", row=self.row, max=number(MAX_CSV_ROW)))
        return line

    def row_done(self) -> None:
        self.pending = 0
        self.row += 1


def _csv_rows(data: bytes, budget: _Budget) -> Iterator[tuple[int, list[str]]]:
    start = len(_BOM) if data.startswith(_BOM) else 0
    _check_utf8(data, start)
    end = data.find(b"\n", start, start + MAX_CSV_ROW)
    lines = _CsvLines(data, budget)
    reader = csv.reader(lines, delimiter=_delimiter(data[start:end if end >= 0 else start + MAX_CSV_ROW]),
                        strict=True)
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
        lines.row_done()
        yield row_number, list(map(str.strip, cells))


def _xlsx_rows(data: bytes, budget: _Budget) -> Iterator[tuple[int, dict[int, str]]]:
    """The non-empty rows of the first worksheet as ``{column number: text}`` (see :mod:`tracker.imports.xlsx`)."""
    from tracker.imports import xlsx

    config = current_app.config
    limits = xlsx.Limits(unpacked=config["IMPORT_MAX_UNPACKED_BYTES"], parts=MAX_PARTS,
                         shared_strings_bytes=config["IMPORT_MAX_SHARED_STRINGS_BYTES"],
                         shared_strings=config["IMPORT_MAX_SHARED_STRINGS"])
    rows = xlsx.read_rows(data, limits, budget.check)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except FileProblem:
            raise
        except Exception:  # a parser of untrusted bytes: any other failure means a bad file
            raise FileProblem(_("The XLSX workbook cannot be read; it may be damaged. Save it again from Excel, "
                                "or save it as \"CSV UTF-8\".")) from None
        yield row


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
        problems.append(_("The header (row 1) has no name in column %(positions)s.", positions=_some(empty)))
    seen, twice = set(), []
    for name in names:
        if name and name in seen and name not in twice:
            twice.append(name)
        seen.add(name)
    if twice:
        problems.append(_("The header names these columns more than once: %(names)s.",
                          names=_some(_short(n) for n in twice)))
    unknown = [n for n in names if n and n not in known]
    if unknown:
        problems.append(_("Unknown columns: %(names)s. The columns are: %(columns)s.",
                          names=_some(_short(n) for n in unknown), columns=", ".join(kind.column_names)))
    missing = [n for n in kind.required_columns if n not in seen]
    if missing:
        problems.append(_("The header lacks the required columns: %(names)s.", names=", ".join(missing)))
    if problems:
        raise FileProblem(" ".join(problems))
    return tuple(names)


def _short(name: str) -> str:
    return name if len(name) <= 40 else name[:39] + "…"


def _some(items, most: int = 20) -> str:
    """The first ``most`` items, then "…": a header thousands of cells wide is not listed in full."""
    items = list(items)
    return ", ".join(items[:most]) + (", …" if len(items) > most else "")


def _collect(source: Iterator[tuple[int, list[str] | dict[int, str]]], fmt: str, kind: Kind) -> ParsedFile:
    """The rows of ``source`` checked against the header and the limits.

    A CSV gives each row as a list; an XLSX as ``{column number: text}`` of
    its non-empty cells, so that a row reaching past the header is refused
    from its last column without building it.
    """
    parsed = None
    width = 0
    text = 0
    # Equal cells kept as one string: a file repeats its projects, categories, dates, codes and amounts row after
    # row, and 50,000 rows hold some 500,000 cells (a third of the memory of an import). Per file, not sys.intern:
    # the cells may be personal data, gone with the file.
    shared = {}.setdefault
    for row_number, cells in source:
        if parsed is None:
            if row_number != 1:  # an XLSX leaves a blank row 1 out
                cells = []
            header = _header(_as_list(cells), kind)
            parsed = ParsedFile(format=fmt, columns=header)
            width = len(header)
            continue
        if row_number > MAX_LINES:
            raise FileProblem(_("The file has more than %(max)s rows, blank rows included. Remove the blank rows, "
                                "or split it into several files.", max=number(MAX_LINES)))
        if isinstance(cells, dict):
            if not cells:
                continue
            last = max(cells)
            if last > width:
                parsed.total += 1
                _count_row(parsed)
                parsed.errors.append(RowError(row_number, "", _(
                    "column %(column)s holds a value, but the header ends at column %(last)s",
                    column=_letter(last), last=_letter(width))))
                continue
            cells = _as_list(cells)
        else:
            if len(cells) > width and not any(cells[width:]):
                del cells[width:]  # empty cells past the header (Excel's trailing commas): dropped in one step
            while cells and cells[-1] == "":
                cells.pop()
            if not cells:
                continue  # a blank row
            if len(cells) > width:
                parsed.total += 1
                _count_row(parsed)
                parsed.errors.append(RowError(row_number, "", _(
                    "the row has %(cells)d cells, the header has %(width)d", cells=len(cells), width=width)))
                continue
        parsed.total += 1
        _count_row(parsed)
        if max(map(len, cells), default=0) > MAX_CELL:
            parsed.errors.extend(RowError(row_number, parsed.columns[i], _("too long (max %(max)d characters)",
                                                                            max=MAX_CELL))
                                 for i, cell in enumerate(cells) if len(cell) > MAX_CELL)
            continue
        text += sum(map(len, cells))
        if text > MAX_TEXT:
            raise FileProblem(_("The cells of the file hold more than %(max)s characters of text. Split it into "
                                "several files.", max=number(MAX_TEXT)))
        parsed.cells.append((row_number, tuple(map(shared, cells, cells)) + ("",) * (width - len(cells))))
    if parsed is None:
        raise FileProblem(_("The file is empty."))
    if parsed.total == 0:
        raise FileProblem(_("The file has a header but no data rows."))
    return parsed


def _count_row(parsed: ParsedFile) -> None:
    if parsed.total > MAX_ROWS:
        raise FileProblem(_("The file has more than %(max)s data rows. Split it into several files.",
                            max=number(MAX_ROWS)))


def _as_list(cells: list[str] | dict[int, str]) -> list[str]:
    if isinstance(cells, dict):
        return [cells.get(column, "") for column in range(1, max(cells, default=0) + 1)]
    return cells


def _letter(column: int) -> str:
    from openpyxl.utils.cell import get_column_letter

    return get_column_letter(column)
