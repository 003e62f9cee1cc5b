"""Reading the first worksheet of an XLSX workbook as a stream, within limits.

An XLSX file is a ZIP of XML parts, and a small file can hold a great deal:
deflate shrinks repeated text a thousandfold, a cell can sit in column XFD
(16,384) or row 1,048,576, and the sheet's ``dimension`` may say anything.
So this reader never trusts a size it has not checked:

- the parts' unpacked sizes, as the ZIP declares them, are added up and
  checked before anything is unpacked (Python's :mod:`zipfile` then refuses
  a part that unpacks to more than it declared: a bad CRC);
- the shared strings (the text of the cells, kept once per workbook) are
  checked by unpacked size before they are read, and by count while they are
  read, since they must all be kept in memory;
- the sheet is parsed by expat as it is unpacked, 64 KB at a time, with no
  tree: only the non-empty cells of the current row are kept, by column
  number, so a cell in column XFD costs one entry, never a 16,384-wide row;
  rows and cells must come in order, within the sheet's 1,048,576 rows and
  16,384 columns, a cell's text within Excel's 32,767 characters;
- no part may hold more XML elements than 2.5 times what the densest
  50,000-row sheet needs (:data:`~tracker.imports.xlsx_xml.MAX_ELEMENTS`),
  which keeps parsing to a few seconds whatever the file;
- every chunk checks the time budget and that the XML made progress (a tag
  or comment of megabytes is refused rather than buffered).

A document type declaration is refused outright, as defusedxml would (no
entity, internal or external, is ever expanded). Values are read as
openpyxl's ``data_only`` mode reads them: a formula gives its cached result,
numbers in a date format give dates, and :func:`cell_text` turns each into the
text a person would type.
"""
from __future__ import annotations

import datetime as dt
import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
from openpyxl.utils.cell import get_column_letter
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel, from_ISO8601

from tracker.formatting import number
from tracker.imports import xlsx_xml
from tracker.imports.kinds import FileProblem
from tracker.imports.xlsx_xml import MAX_TOKEN, Parts, Unreadable, local_name, read_part, too_many_elements, xml_parser

#: The largest row and column a worksheet may have (Excel's own limits).
SHEET_ROWS = 1_048_576
SHEET_COLUMNS = 16_384
#: Styles past this many are not Excel's (it allows 64,000); they are not looked at.
MAX_STYLES = 65_536
#: Characters in one cell: Excel's own limit.
MAX_CELL_TEXT = 32_767

_COLUMN_NUMBERS = {get_column_letter(n): n for n in range(1, SHEET_COLUMNS + 1)}
_REFERENCE = re.compile(r"^\$?([A-Za-z]{1,3})\$?\d*$")
_DIGITS = "0123456789"
_RELATIONSHIP_ID = "}id"
_WORKBOOK_PARTS = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")


@dataclass(frozen=True)
class Limits:
    """What a workbook may cost to read (``IMPORT_*`` settings in config.py)."""

    #: Bytes of all its parts once unpacked, as the ZIP declares them.
    unpacked: int
    #: Parts (files) in the ZIP.
    parts: int
    #: Bytes of the shared strings part once unpacked.
    shared_strings_bytes: int
    #: Shared strings (different texts).
    shared_strings: int


def read_rows(data: bytes, limits: Limits, check_time: Callable[[], None]) -> Iterator[tuple[int, dict[int, str]]]:
    """``(row number, {column number: text})`` of the non-empty rows of the first worksheet, in order.

    Only non-empty cells are given (their text stripped); rows with none are
    left out, so the numbers may jump. Raises :class:`FileProblem` for a
    limit or a file that is not a workbook; any other exception
    (:class:`Unreadable`, expat's, a bad number...) means a damaged file.
    ``check_time`` is called between chunks and raises when the time budget
    is spent.
    """
    if data.count(b"PK\x01\x02") > limits.parts:  # central directory entries, counted before zipfile lists them
        raise FileProblem(_("The workbook is made of more than %(max)s parts; a workbook of data has a few dozen. "
                            "Save it again from Excel, or save it as \"CSV UTF-8\".", max=number(limits.parts)))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))  # shares the bytes, no copy
        entries = archive.infolist()
        infos = {info.filename: info for info in entries}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise FileProblem(_("The file looks like an XLSX workbook but is damaged: it cannot be opened. Save it "
                            "again from Excel.")) from None
    if "xl/workbook.xml" not in infos:
        if "mimetype" in infos and infos["mimetype"].file_size < 100 \
                and archive.read("mimetype").startswith(b"application/vnd.oasis.opendocument"):
            raise FileProblem(_("This is an OpenDocument (LibreOffice) file. Save it as \"Excel 2007-365 "
                                "(.xlsx)\" or as CSV (UTF-8) and upload it again."))
        raise FileProblem(_("This file is a ZIP archive, not an XLSX workbook. Upload a CSV (UTF-8) or XLSX file."))
    unpacked = sum(info.file_size for info in entries)  # every entry, even one whose name comes twice

    def too_large():
        return FileProblem(_("The workbook would take %(size)s MB once unpacked, more than the %(max)s MB allowed. "
                             "Save it as \"CSV UTF-8\", or split it into several files.",
                             size=_megabytes(unpacked), max=_megabytes(limits.unpacked)))

    if unpacked > limits.unpacked and any(infos[name].file_size > MAX_TOKEN for name in _WORKBOOK_PARTS
                                          if name in infos):
        raise too_large()
    reader = Parts(archive, infos, check_time)
    # The workbook's own parts are small (checked just above): read first, they say which part holds the shared
    # strings, whose limit names the problem better than the total does.
    sheet, strings_part, styles_part, epoch = _workbook(reader)
    if strings_part is not None and infos[strings_part].file_size > limits.shared_strings_bytes:
        raise FileProblem(_("The workbook's shared strings (the text of its cells) take %(size)s MB once unpacked, "
                            "more than the %(max)s MB allowed. Save it as \"CSV UTF-8\", or remove unused text "
                            "and sheets.", size=_megabytes(infos[strings_part].file_size),
                            max=_megabytes(limits.shared_strings_bytes)))
    if unpacked > limits.unpacked:
        raise too_large()
    date_styles, timedelta_styles = _styles(reader, styles_part) if styles_part else (set(), set())
    strings = _shared_strings(reader, strings_part, limits.shared_strings) if strings_part else []
    yield from _sheet(reader, sheet, strings, date_styles, timedelta_styles, epoch)


def _megabytes(size: int) -> str:
    return number(Decimal(size) / (1024 * 1024), 1 if size < 10 * 1024 * 1024 else 0)


# --- workbook.xml and its relationships --------------------------------------------------------------------------

def _workbook(reader: Parts) -> tuple[str, str | None, str | None, dt.datetime]:
    """The first worksheet's part, the shared strings' and styles' parts (if any), and the date epoch."""
    sheet_ids: list[str] = []
    date1904 = [False]

    def start(name, attrs):
        local = local_name(name)
        if local == "sheet":
            rid = next((value for key, value in attrs.items() if key.endswith(_RELATIONSHIP_ID)), None)
            if rid is not None and len(sheet_ids) < 10_000:
                sheet_ids.append(rid)
        elif local == "workbookPr":
            date1904[0] = attrs.get("date1904", "").strip().lower() in ("1", "true")

    read_part(reader, "xl/workbook.xml", xml_parser(start))
    relationships: dict[str, tuple[str, str]] = {}

    def relationship(name, attrs):
        if local_name(name) == "Relationship" and attrs.get("TargetMode") != "External" and len(relationships) < 10_000:
            relationships[attrs.get("Id", "")] = (attrs.get("Type", ""), _part_name(attrs.get("Target", "")))

    if reader.exists("xl/_rels/workbook.xml.rels"):
        read_part(reader, "xl/_rels/workbook.xml.rels", xml_parser(relationship))
    sheets = [relationships[rid][1] for rid in sheet_ids
              if rid in relationships and relationships[rid][0].endswith("/worksheet")]
    if not sheets:
        raise FileProblem(_("The workbook has no worksheet."))
    if not reader.exists(sheets[0]):
        raise Unreadable("the first worksheet is missing")

    def part(kind: str, usual: str) -> str | None:
        found = next((target for type_, target in relationships.values() if type_.endswith(kind)), usual)
        return found if reader.exists(found) else None

    epoch = CALENDAR_MAC_1904 if date1904[0] else CALENDAR_WINDOWS_1900
    return sheets[0], part("/sharedStrings", "xl/sharedStrings.xml"), part("/styles", "xl/styles.xml"), epoch


def _part_name(target: str) -> str:
    """A relationship's target as a name in the archive (relative to ``xl/``, or absolute)."""
    if target.startswith("/"):
        return posixpath.normpath(target[1:])
    return posixpath.normpath(posixpath.join("xl", target))


# --- styles: which cell styles show numbers as dates --------------------------------------------------------------

def _styles(reader: Parts, name: str) -> tuple[set[int], set[int]]:
    """The indexes of the cell styles (``cellXfs``) whose number format is a date, and a duration.

    As openpyxl decides it: the style's custom format if its ``numFmtId`` is
    defined in ``numFmts``, else the built-in format of that id.
    """
    custom: dict[int, str] = {}
    formats: list[int] = []
    in_cell_xfs = [False]

    def start(name, attrs):
        local = local_name(name)
        if local == "xf":
            if in_cell_xfs[0] and len(formats) < MAX_STYLES:
                formats.append(int(attrs.get("numFmtId", 0)))
        elif local == "numFmt":
            if len(custom) < MAX_STYLES:
                custom[int(attrs.get("numFmtId", -1))] = attrs.get("formatCode", "")[:1000]
        elif local == "cellXfs":
            in_cell_xfs[0] = True

    def end(name):
        if local_name(name) == "cellXfs":
            in_cell_xfs[0] = False

    read_part(reader, name, xml_parser(start, end))
    dates, durations = set(), set()
    for index, format_id in enumerate(formats):
        code = custom[format_id] if format_id in custom else builtin_format_code(format_id)
        if is_date_format(code):
            dates.add(index)
        if is_timedelta_format(code):
            durations.add(index)
    return dates, durations


# --- shared strings -----------------------------------------------------------------------------------------------

def _shared_strings(reader: Parts, name: str, most: int) -> list[str]:
    """The shared strings, in order: the plain text of each ``si`` (runs joined, phonetic hints left out)."""
    strings: list[str] = []
    parts: list[str] = []
    state = {"collect": False, "phonetic": 0}

    def start(name, attrs):
        local = local_name(name)
        if local == "t":
            state["collect"] = not state["phonetic"]
        elif local == "si":
            parts.clear()
        elif local == "rPh":
            state["phonetic"] += 1

    def end(name):
        local = local_name(name)
        if local == "t":
            state["collect"] = False
        elif local == "si":
            # openpyxl's reading of Excel's escaped underscore (``_x005F_``), kept so that cells read as before.
            strings.append("".join(parts).replace("x005F_", ""))
            if len(strings) > most:
                raise FileProblem(_("The workbook holds more than %(max)s different texts (shared strings). Save "
                                    "it as \"CSV UTF-8\", or remove unused text and sheets.", max=number(most)))
        elif local == "rPh":
            state["phonetic"] -= 1

    def text(data):
        if state["collect"]:
            parts.append(data)

    read_part(reader, name, xml_parser(start, end, text))
    return strings


# --- the worksheet ------------------------------------------------------------------------------------------------

def _sheet(reader: Parts, name: str, strings: list[str], date_styles: set[int], timedelta_styles: set[int],
           epoch: dt.datetime) -> Iterator[tuple[int, dict[int, str]]]:
    """The sheet's non-empty rows, parsed without building a tree.

    The handlers keep one row's non-empty cells (``{column: text}``, at
    most 16,384 entries however the XML repeats them) and the text of the
    current value; finished rows wait in ``ready`` until the chunk is parsed.
    The handlers run once per tag of the sheet, so they use closure
    variables rather than attributes or dictionaries.
    """
    ready: list[tuple[int, dict[int, str]]] = []
    ROW = C = V = T = IS = RPH = None
    row_number, column, cells = 0, 0, {}
    kind, style, value, inline = "n", None, None, None
    text: list[str] = []
    collect, collected, phonetic, elements = False, 0, 0, 0

    def first(name, attrs):
        # The root names the namespace (transitional or strict); tags are compared with it from here on.
        nonlocal ROW, C, V, T, IS, RPH
        namespace = name[:name.index("}") + 1] if "}" in name else ""
        ROW, C, V, T, IS, RPH = (namespace + local for local in ("row", "c", "v", "t", "is", "rPh"))
        parser.StartElementHandler = start

    def start(name, attrs):
        nonlocal row_number, column, cells, kind, style, value, inline, collect, collected, phonetic, elements
        elements += 1
        if elements > xlsx_xml.MAX_ELEMENTS:  # looked up there: one limit for every part
            raise too_many_elements()
        if name == C:
            reference = attrs.get("r")
            found = _column(reference) if reference is not None else column + 1
            if found <= column or found > SHEET_COLUMNS:  # so a row has at most 16,384 cells, however written
                raise Unreadable("cells out of order or beyond column XFD")
            column = found
            kind = attrs.get("t", "n")
            style = attrs.get("s")
            value = inline = None
        elif name == V:
            text.clear()
            collect, collected = True, 0
        elif name == T:
            if inline is not None and not phonetic:
                text.clear()
                collect, collected = True, 0
        elif name == IS:
            inline = []
        elif name == RPH:
            phonetic += 1
        elif name == ROW:
            found = attrs.get("r")
            found = _row_number(found) if found is not None else row_number + 1
            if found <= row_number or found > SHEET_ROWS:
                raise Unreadable("rows out of order or beyond row 1,048,576")
            row_number, column, cells = found, 0, {}

    def end(name):
        nonlocal cells, value, collect, phonetic
        if name == C:
            if kind == "s" and value:  # most cells: the shared strings' text, read here without a call
                index = int(value)
                if index < 0:
                    raise Unreadable("a negative shared string index")
                found = strings[index].strip()
            elif value is None and inline is None:
                return  # an empty cell, perhaps formatted
            else:
                found = _cell_value(kind, value, inline, style, strings, date_styles, timedelta_styles, epoch)
            if found:
                cells[column] = found
        elif name == V:
            value = "".join(text)
            collect = False
        elif name == T:
            if collect and inline is not None:
                inline.append("".join(text))
            collect = False
        elif name == ROW:
            if cells:
                ready.append((row_number, cells))
                cells = {}
        elif name == RPH:
            phonetic -= 1

    def characters(data):
        nonlocal collected
        if collect:
            text.append(data)
            collected += len(data)
            if collected > MAX_CELL_TEXT:
                raise Unreadable("a cell longer than Excel allows")

    parser = xml_parser(first, end, characters, counted=False)
    for _chunk in reader.parse(name, parser):
        if ready:
            yield from ready
            ready.clear()


def _column(reference: str) -> int:
    """The column number of a cell reference (``"XFD12"`` is 16384), without building anything."""
    number = _COLUMN_NUMBERS.get(reference.rstrip(_DIGITS))
    if number is not None:
        return number
    match = _REFERENCE.match(reference)
    if match is None:
        raise Unreadable("a cell reference that is not one")
    return _COLUMN_NUMBERS.get(match.group(1).upper(), SHEET_COLUMNS + 1)


def _row_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        value = float(text)  # a ValueError here is a damaged file
        if not value.is_integer():
            raise Unreadable("a row number that is not a whole number") from None
        return int(value)


def _cell_value(kind: str, raw: str | None, inline: list[str] | None, style: str | None, strings: list[str],
                date_styles: set[int], timedelta_styles: set[int], epoch: dt.datetime) -> str:
    """The text of a finished cell, as openpyxl's ``data_only`` reading and :func:`cell_text` give it."""
    if kind == "inlineStr":
        return "".join(inline).strip() if inline else ""
    if not raw:
        return ""
    if kind == "s":
        index = int(raw)
        if index < 0:
            raise Unreadable("a negative shared string index")
        return strings[index].strip()
    if kind == "n":
        found = float(raw) if ("." in raw or "e" in raw or "E" in raw) else int(raw)
        if style and date_styles and int(style) in date_styles:
            try:
                found = from_excel(found, epoch, timedelta=int(style) in timedelta_styles)
            except (OverflowError, ValueError):
                return "#VALUE!"  # what openpyxl makes of a date beyond the calendar
        return cell_text(found)
    if kind == "b":
        return "TRUE" if int(raw) else "FALSE"
    if kind == "d":
        return cell_text(from_ISO8601(raw))
    return raw.strip()  # "str" (a formula's text), "e" (an error such as #N/A)


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
