"""CSV and XLSX downloads that are safe to open in a spreadsheet.

A cell whose text begins with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return can run as a formula when the file is opened (formula
injection: ``=HYPERLINK(...)`` sending data away). Every text cell goes
through :func:`neutralise`, which prefixes such text with ``'``; XLSX text
cells are also written as strings, never as formulas. Money stays exact:
Decimals are written as their text in CSV, and in XLSX as numbers when
Excel can hold them exactly (15 significant digits), else as text.
Responses are attachments that no cache keeps.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from flask import Response, has_request_context, stream_with_context

DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")
CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BAD_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
_BAD_SHEET_TITLE = re.compile(r"[\[\]:*?/\\]")


#: A negative amount such as ``-3.00`` is a number to a spreadsheet, never a formula.
_PLAIN_NUMBER = re.compile(r"-[0-9]+(\.[0-9]+)?")


def neutralise(value):
    """``value`` with a ``'`` in front when it is text a spreadsheet could run as a formula."""
    if isinstance(value, str) and value.startswith(DANGEROUS_FIRST) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(value) -> str:
    """The exact text of one CSV cell: Decimals as written (``1250.50``), dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return str(value)
    return neutralise(str(value))


def csv_response(filename: str, header: list[str], rows: Iterable[Sequence], *, bom: bool = True) -> Response:
    """Stream ``header`` and ``rows`` as a CSV attachment.

    The file starts with a UTF-8 byte-order mark by default so that Excel
    reads accents right; the tracker's own import accepts it.
    """

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        if bom:
            yield "\ufeff"
        writer.writerow([csv_text(v) for v in header])
        for n, row in enumerate(rows, 1):
            writer.writerow([csv_text(v) for v in row])
            if n % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    body = stream_with_context(generate()) if has_request_context() else generate()
    return _attachment(Response(body, mimetype=CSV_MIMETYPE), filename, ".csv")


def xlsx_bytes(header: list[str], rows: Iterable[Sequence], *, sheet_title: str = "data",
               more_sheets: Iterable[tuple[str, list[str], Iterable[Sequence]]] = ()) -> bytes:
    """An XLSX workbook: one sheet of ``header`` and ``rows``, then ``more_sheets`` (title, header, rows)."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for title, sheet_header, sheet_rows in ((sheet_title, header, rows), *more_sheets):
        sheet = workbook.create_sheet(title=_sheet_title(title))
        sheet.append([_xlsx_cell(sheet, v, bold=True) for v in sheet_header])
        for row in sheet_rows:
            sheet.append([_xlsx_cell(sheet, v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xlsx_response(filename: str, header: list[str], rows: Iterable[Sequence], *, sheet_title: str = "data",
                  more_sheets: Iterable[tuple[str, list[str], Iterable[Sequence]]] = ()) -> Response:
    """``header`` and ``rows`` as an XLSX attachment (built in memory: XLSX is a ZIP)."""
    data = xlsx_bytes(header, rows, sheet_title=sheet_title, more_sheets=more_sheets)
    return _attachment(Response(data, mimetype=XLSX_MIMETYPE), filename, ".xlsx")


def _xlsx_cell(sheet, value, bold: bool = False):
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    if isinstance(value, Decimal) and not _exact_in_excel(value):
        cell = WriteOnlyCell(sheet, value=format(value, "f"))
        cell.data_type = "s"
    elif isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        places = max(-value.as_tuple().exponent, 0) if value.is_finite() else 0
        cell.number_format = "#,##0" + ("." + "0" * places if places else "")
    elif isinstance(value, dt.datetime):
        if value.tzinfo is not None:  # Excel has no time zones: write UTC
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    elif isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
    elif value is None or isinstance(value, (bool, int, float)):
        cell = WriteOnlyCell(sheet, value=value)
    else:
        cell = WriteOnlyCell(sheet, value=neutralise(_ILLEGAL_XML.sub("", str(value))))
        # openpyxl makes text that begins with "=" a formula; text is text.
        cell.data_type = "s"
    if bold:
        cell.font = Font(bold=True)
    return cell


def _exact_in_excel(value: Decimal) -> bool:
    """Excel keeps 15 significant digits; a Decimal with more is written as text."""
    return value.is_finite() and len(value.normalize().as_tuple().digits) <= 15


def _sheet_title(title: str) -> str:
    return (_BAD_SHEET_TITLE.sub("_", str(title)).strip("'") or "data")[:31]


def _attachment(response: Response, filename: str, extension: str) -> Response:
    name = _BAD_FILENAME.sub("_", filename or "").strip("._") or "export"
    if not name.lower().endswith(extension):
        name += extension
    response.headers.set("Content-Disposition", "attachment", filename=name)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def write_output(text: str, output: str | None) -> None:
    """A command's text to the file ``output`` (saying so on stderr), or to stdout when there is none."""
    import click

    if output:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
