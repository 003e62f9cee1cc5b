"""CSV and XLSX downloads: no formula can run, money stays exact, nothing is cached."""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tracker.exports import csv_response, neutralise, xlsx_response

DANGEROUS = ["=1+1", "+41 22 917 1234", "-2+3", "@SUM(A1:A2)", "\tTAB", "\rCR"]


@pytest.fixture
def rctx(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize("text", DANGEROUS)
def test_neutralise_prefixes_text_that_could_run(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["plain", "", "CD-M-00042", "1250.50", "'=already quoted", " =space first",
                                   Decimal("-5.00"), -5, None, dt.date(2025, 1, 31)])
def test_neutralise_leaves_everything_else(value):
    assert neutralise(value) == value


def read_csv(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_csv_neutralises_every_dangerous_first_character(rctx):
    response = csv_response("people.csv", ["text"], [[t] for t in DANGEROUS])

    assert read_csv(response) == [["text"], ["'=1+1"], ["'+41 22 917 1234"], ["'-2+3"], ["'@SUM(A1:A2)"],
                                  ["'\tTAB"], ["'\rCR"]]


def test_csv_neutralises_the_header_too(rctx):
    response = csv_response("x.csv", ["=cmd|' /C calc'!A0"], [])

    assert read_csv(response) == [["'=cmd|' /C calc'!A0"]]


def test_csv_writes_decimals_and_dates_as_exact_text(rctx):
    rows = [[Decimal("1250.50"), Decimal("0.10"), Decimal("-3.00"), dt.date(2025, 1, 31), None, 7, True,
             dt.datetime(2025, 1, 31, 8, 30, tzinfo=dt.UTC)]]

    response = csv_response("money.csv", list("abcdefgh"), rows)

    assert read_csv(response)[1] == ["1250.50", "0.10", "-3.00", "2025-01-31", "", "7", "true",
                                     "2025-01-31T08:30:00+00:00"]


def test_csv_streams_many_rows(rctx):
    response = csv_response("many.csv", ["n"], ([n] for n in range(1234)))

    rows = read_csv(response)
    assert len(rows) == 1235 and rows[-1] == ["1233"]


def test_csv_response_is_an_uncached_attachment(rctx):
    response = csv_response("funding gap/2025.csv", ["a"], [["b"]])

    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=funding_gap_2025.csv"
    assert response.headers["Cache-Control"] == "no-store"


def test_csv_without_byte_order_mark(rctx):
    assert csv_response("x.csv", ["a"], [["b"]], bom=False).get_data() == b"a\r\nb\r\n"


def open_xlsx(response):
    return load_workbook(io.BytesIO(response.get_data()))


def test_xlsx_neutralises_and_writes_no_formula(rctx):
    response = xlsx_response("people.xlsx", ["=HEADER()"], [[t] for t in DANGEROUS], sheet_title="people")

    workbook = open_xlsx(response)
    sheet = workbook["people"]
    cells = [row[0] for row in sheet.iter_rows()]
    # (XML reads a carriage return back as a line feed; what matters is the quote in front.)
    assert [c.value for c in cells] == ["'=HEADER()", "'=1+1", "'+41 22 917 1234", "'-2+3", "'@SUM(A1:A2)",
                                        "'\tTAB", "'\nCR"]
    assert {c.data_type for c in cells} == {"s"}
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")


def test_xlsx_keeps_money_exact_and_dates_as_dates(rctx):
    rows = [[Decimal("1250.50"), Decimal("0.10"), dt.date(2025, 1, 31), Decimal("12345678901234567.89"), 3, None]]

    workbook = open_xlsx(xlsx_response("money.xlsx", list("abcdef"), rows))

    a, b, c, d, e, f = next(workbook.active.iter_rows(min_row=2))
    assert Decimal(str(a.value)) == Decimal("1250.50") and a.number_format == "#,##0.00"
    assert Decimal(str(b.value)) == Decimal("0.10")
    assert c.value == dt.datetime(2025, 1, 31) and c.is_date
    # More digits than Excel keeps (15): written as text, never rounded.
    assert d.value == "12345678901234567.89" and d.data_type == "s"
    assert e.value == 3 and f.value is None


def test_xlsx_response_is_an_uncached_attachment_with_more_sheets(rctx):
    response = xlsx_response("../report", ["a"], [["b"]], sheet_title="data",
                             more_sheets=[("help", ["column"], [["a"]])])

    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"] == "attachment; filename=report.xlsx"
    assert response.headers["Cache-Control"] == "no-store"
    assert open_xlsx(response).sheetnames == ["data", "help"]


def test_xlsx_drops_characters_xml_cannot_hold(rctx):
    workbook = open_xlsx(xlsx_response("x.xlsx", ["a"], [["bell\x07 and nul\x00"]]))

    assert workbook.active["A2"].value == "bell and nul"
