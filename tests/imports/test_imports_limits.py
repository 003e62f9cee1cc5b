"""Spreadsheet limits: hostile workbooks are refused quickly, by name of the limit, on the command line and the
upload page; normal files still import; the preview's rows are imported on confirmation without reading again.

The hostile workbooks are written by hand (tests/xlsx_builders.py) and stay small on disk. Each is refused
before it costs much: tracemalloc shows what parsing it allocated, and the web and command tests time it.
"""
from __future__ import annotations

import io
import json
import time
import tracemalloc
import zipfile

import pytest
from sqlalchemy import func, select

from tests import xlsx_builders as build
from tracker.imports import reading, xlsx, xlsx_xml
from tracker.imports.kinds import KINDS, FileProblem
from tracker.imports.reading import parse_upload
from tracker.models import Donor

#: Seconds within which a hostile file must be refused, even on a busy test machine (the old reader took minutes).
QUICKLY = 20


@pytest.fixture(scope="module")
def shared_strings_bomb() -> bytes:
    return build.shared_strings_bomb(390)


@pytest.fixture(scope="module")
def bomb_in_another_part() -> bytes:
    return build.bomb_in_another_part(300)


@pytest.fixture(scope="module")
def column_xfd() -> bytes:
    return build.cells_in_column_xfd(50_000)


@pytest.fixture(scope="module")
def lying_dimension() -> bytes:
    return build.lying_dimension(60_000, dimension="A1:B2")


@pytest.fixture
def upload_dir(app, tmp_path):
    directory = tmp_path / "uploads"
    app.config["IMPORT_UPLOAD_DIR"] = str(directory)
    return directory


@pytest.fixture
def write(tmp_path):
    def write(data: bytes, name: str) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return write


def refusal(app, data: bytes, kind: str = "claims", filename: str = "claims.xlsx", *,
            trace: bool = True) -> tuple[str, int]:
    """The message refusing ``data``, and the peak of memory parsing allocated (bytes; traced only with ``trace``,
    which slows parsing several times over)."""
    with app.test_request_context():
        if trace:
            tracemalloc.start()
        try:
            with pytest.raises(FileProblem) as caught:
                parse_upload(data, filename, KINDS[kind])
            _size, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return caught.value.message, peak


def parsed(app, data: bytes, kind: str = "claims", filename: str = "claims.xlsx") -> reading.ParsedFile:
    with app.test_request_context():
        return parse_upload(data, filename, KINDS[kind])


def command(runner, write, data: bytes, kind="claims", name="claims.xlsx"):
    started = time.monotonic()
    result = runner.invoke(args=["import", kind, write(data, name)])
    return result, time.monotonic() - started


def web(client, data: bytes, kind="claims", name="claims.xlsx"):
    started = time.monotonic()
    response = client.post(f"/imports/{kind}", data={"file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")
    response.close()  # closes the temporary file the test client wrote a large upload to
    return response, time.monotonic() - started


def page(response) -> str:
    return response.get_data(as_text=True).replace("&#34;", '"').replace("&#39;", "'").replace("&quot;", '"')


# --- the workbooks --------------------------------------------------------------------------------------------

def test_cells_in_column_xfd_are_refused_row_by_row_without_building_the_rows(app, runner, write, staff_client,
                                                                              upload_dir, column_xfd):
    assert len(column_xfd) < 300 * 1024
    message = "column XFD holds a value, but the header ends at column D"

    with app.test_request_context():
        limits = xlsx.Limits(unpacked=64 << 20, parts=100, shared_strings_bytes=1 << 20, shared_strings=10)
        rows = xlsx.read_rows(column_xfd, limits, lambda: None)
        assert next(rows)[0] == 1
        assert next(rows) == (2, {16_384: "1"})  # one entry for the one cell: no 16,384-wide row
    result, seconds = command(runner, write, column_xfd)

    assert result.exit_code == 1
    assert seconds < QUICKLY
    lines = result.stderr.splitlines()
    assert lines[0] == f"row 2: {message}" and lines[-1] == f"row 50001: {message}"
    assert len([line for line in lines if message in line]) == 50_000
    assert result.stdout == "nothing saved: 50000 rows with errors\n"

    response, seconds = web(staff_client, column_xfd)

    assert seconds < QUICKLY
    html = page(response)
    assert response.status_code == 200
    assert "Nothing saved: the file has problems" in html
    assert "50,000</dd>" in html  # rows with problems
    # The page lists the first thousand problems (rows 2 to 1001) and says there are more.
    assert f"<td class=\"nowrap\">1001</td><td>—</td><td>{message}</td>" in html
    assert "<td class=\"nowrap\">1002</td>" not in html
    assert "Only the first 1,000 problems are listed." in html
    assert not upload_dir.exists() or not list(upload_dir.iterdir())


def test_a_shared_strings_bomb_is_refused_before_its_strings_are_read(app, runner, write, staff_client,
                                                                      shared_strings_bomb):
    assert len(shared_strings_bomb) < 1024 * 1024  # 390 MB of text once unpacked
    expected = ("The workbook's shared strings (the text of its cells) take 390 MB once unpacked, more than the "
                "20 MB allowed. Save it as \"CSV UTF-8\", or remove unused text and sheets.")

    message, peak = refusal(app, shared_strings_bomb)

    assert message == expected
    assert peak < 20 * 1024 * 1024
    result, seconds = command(runner, write, shared_strings_bomb)
    assert (result.exit_code, result.stderr, seconds < QUICKLY) == (1, f"Error: {expected}\n", True)
    response, seconds = web(staff_client, shared_strings_bomb)
    assert seconds < QUICKLY
    assert expected in page(response)


def test_a_zip_bomb_in_another_part_is_refused_unread(app, runner, write, staff_client, bomb_in_another_part):
    assert len(bomb_in_another_part) < 1024 * 1024
    expected = ("The workbook would take 300 MB once unpacked, more than the 64 MB allowed. Save it as \"CSV "
                "UTF-8\", or split it into several files.")

    message, peak = refusal(app, bomb_in_another_part)

    assert message == expected
    assert peak < 20 * 1024 * 1024
    result, seconds = command(runner, write, bomb_in_another_part)
    assert (result.exit_code, result.stderr, seconds < QUICKLY) == (1, f"Error: {expected}\n", True)
    response, seconds = web(staff_client, bomb_in_another_part)
    assert seconds < QUICKLY
    assert expected in page(response)


def test_a_sheet_whose_dimension_hides_its_rows_is_refused_by_the_row_limit(app, runner, write, staff_client,
                                                                           lying_dimension):
    expected = "The file has more than 50,000 data rows. Split it into several files."

    result, seconds = command(runner, write, lying_dimension)

    assert (result.exit_code, result.stderr, seconds < QUICKLY) == (1, f"Error: {expected}\n", True)
    response, seconds = web(staff_client, lying_dimension)
    assert seconds < QUICKLY
    assert expected in page(response)


def test_a_dimension_claiming_the_whole_sheet_costs_nothing(app):
    data = build.workbook(build.sheet([build.row(1, ("name", "kind")), build.row(3, ("Alpha Aid", "ngo"))],
                                      dimension="A1:XFD1048576"))

    rows = parsed(app, data, kind="donors")

    assert list(rows) == [(3, {"name": "Alpha Aid", "kind": "ngo"})]


# --- the other limits of a workbook -----------------------------------------------------------------------------------

def test_too_many_shared_strings_are_refused_as_they_are_read(app, runner, write):
    data = build.many_shared_strings(1_000_001)  # 5 MB of "<si/>": under the size limit
    expected = ("The workbook holds more than 1,000,000 different texts (shared strings). Save it as \"CSV "
                "UTF-8\", or remove unused text and sheets.")

    message, _peak = refusal(app, data, trace=False)

    assert message == expected
    result, _seconds = command(runner, write, data)
    assert result.stderr == f"Error: {expected}\n"


def test_the_limits_are_settings(app):
    app.config.update(IMPORT_MAX_UNPACKED_BYTES=500_000, IMPORT_MAX_SHARED_STRINGS_BYTES=100_000,
                      IMPORT_MAX_SHARED_STRINGS=3)
    four = build.shared_strings(["child_code", "member_state", "personnel_category", "status"])
    long_text = build.shared_strings(["x" * 200_000])

    assert "would take 1.0 MB once unpacked, more than the 0.5 MB allowed" in refusal(
        app, build.bomb_in_another_part(1))[0]
    assert "more than 3 different texts" in refusal(app, build.workbook(build.sheet([]), strings=four))[0]
    assert "take 0.2 MB once unpacked, more than the 0.1 MB allowed" in refusal(
        app, build.workbook(build.sheet([]), strings=long_text))[0]


def test_one_long_text_in_every_cell_is_refused_by_the_text_limit(app):
    data = build.one_long_text_everywhere(rows=50_000, length=1000)  # 200 million characters once read
    assert len(data) < 1024 * 1024

    message, peak = refusal(app, data)

    assert message == ("The cells of the file hold more than 20,000,000 characters of text. Split it into "
                       "several files.")
    assert peak < 100 * 1024 * 1024


def test_entity_declarations_are_refused(app):
    message, _peak = refusal(app, build.entity_expansion())

    assert message.startswith("The XLSX workbook cannot be read; it may be damaged.")


def test_a_part_that_unpacks_to_more_than_it_declares_is_refused(app):
    message, _peak = refusal(app, build.understated_part())

    assert message.startswith("The XLSX workbook cannot be read; it may be damaged.")


def test_a_zip_of_thousands_of_parts_is_refused_before_it_is_listed(app):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for number in range(10_001):
            archive.writestr(f"p/{number}", b"")

    message, _peak = refusal(app, out.getvalue())

    assert message.startswith("The workbook is made of more than 10,000 parts;")


def test_cells_and_rows_out_of_order_or_outside_a_worksheet_are_refused_as_damaged(app):
    header = build.row(1, ("name", "kind"))
    beyond_xfd = build.workbook(build.sheet([header, '<row r="2"><c r="XFE2"><v>1</v></c></row>']))
    beyond_last_row = build.workbook(build.sheet([header, '<row r="1048577"><c r="A1"><v>1</v></c></row>']))
    backwards = build.workbook(build.sheet([build.row(3, ("name", "kind")), build.row(2, ("Alpha", "ngo"))]))
    one_cell_over_and_over = build.workbook(build.sheet([header, '<row r="2">' + '<c r="A2"><v>1</v></c>' * 3
                                                         + "</row>"]))

    for data in (beyond_xfd, beyond_last_row, backwards, one_cell_over_and_over):
        assert refusal(app, data, kind="donors")[0].startswith("The XLSX workbook cannot be read")


def test_a_part_of_too_many_elements_is_refused_as_it_is_read(app, monkeypatch):
    monkeypatch.setattr(xlsx_xml, "MAX_ELEMENTS", 1000)
    empty_cells = build.workbook(build.sheet([build.row(1, ("name", "kind")), "<row>" + "<c/>" * 2000 + "</row>"]))
    styles = build.workbook(build.sheet([build.row(1, ("name", "kind"))]),
                            parts={"xl/styles.xml": f'<styleSheet xmlns="{build.MAIN}">{"<xf/>" * 2000}</styleSheet>'
                                   .encode()})

    for data in (empty_cells, styles):
        assert refusal(app, data, kind="donors")[0] == (
            "A part of the workbook holds more than 1,000 XML elements (cells, formats...); a sheet of 50,000 rows "
            "needs about 2 million. Delete the empty rows and columns past the data, or save it as \"CSV UTF-8\".")


def test_a_cell_longer_than_excel_allows_is_refused_as_damaged(app):
    longest = build.workbook(build.sheet([build.row(1, ("name", "kind")), build.row(2, ("x" * 32_767, "ngo"))]))
    longer = build.workbook(build.sheet([build.row(1, ("name", "kind")), build.row(2, ("x" * 32_768, "ngo"))]))

    assert parsed(app, longest, kind="donors").errors[0].message == "too long (max 1000 characters)"
    assert refusal(app, longer, kind="donors")[0].startswith("The XLSX workbook cannot be read")


def test_a_header_thousands_of_cells_wide_is_not_listed_in_full(app):
    header = ",".join(f"c{n}" for n in range(5000))

    message, _peak = refusal(app, f"name,kind,{header}\nA,ngo\n".encode(), kind="donors", filename="d.csv")

    assert message.startswith("Unknown columns: c0, c1, c2,")
    assert "c19, …. The columns are: name, kind, country, name_fr." in message


# --- the time budget --------------------------------------------------------------------------------------------------

@pytest.fixture
def slow_clock(monkeypatch):
    """A clock that moves 10 seconds each time the budget looks at it."""
    ticks = iter(range(0, 10**6, 10))
    monkeypatch.setattr(reading, "_clock", lambda: next(ticks))


@pytest.mark.parametrize("name, data", [
    ("claims.xlsx", build.lying_dimension(3_000, dimension="A1:D3001")),
    ("claims.csv", ("child_code,member_state,personnel_category,status\n" + "CD-C-1,UY,military,received\n" * 3000)
     .encode()),
], ids=["xlsx", "csv"])
def test_reading_stops_when_the_time_budget_is_spent(app, slow_clock, name, data):
    message, _peak = refusal(app, data, filename=name)

    assert message == "Reading the file took longer than the 15 seconds allowed. Split it into several smaller files."


def test_the_time_budget_is_a_setting(app, runner, write, monkeypatch):
    app.config["IMPORT_PARSE_SECONDS"] = 25
    ticks = iter(range(0, 10**6, 10))
    monkeypatch.setattr(reading, "_clock", lambda: next(ticks))
    data = build.lying_dimension(3_000, dimension="A1:D3001")

    result, _seconds = command(runner, write, data)

    assert result.stderr == ("Error: Reading the file took longer than the 25 seconds allowed. Split it into several "
                             "smaller files.\n")


# --- CSV: the same limits, read as a stream ---------------------------------------------------------------------------

def test_a_csv_of_blank_lines_is_refused_at_the_worksheet_row_limit(app):
    data = b"name,kind\n" + b"\n" * 1_048_576 + b"Alpha,ngo\n"

    message, _peak = refusal(app, data, kind="donors", filename="donors.csv", trace=False)

    assert message == ("The file has more than 1,048,576 rows, blank rows included. Remove the blank rows, or split "
                       "it into several files.")


def test_a_csv_row_of_a_million_characters_is_refused_without_being_split(app):
    wide = b"name,kind\n" + b"Alpha,ngo\n" + b"," * 2_000_000 + b"\n"
    open_quote = b"name,kind\n" + b'"Alpha,ngo\n' + (b"x" * 100_000 + b"\n") * 12

    message, peak = refusal(app, wide, kind="donors", filename="donors.csv")

    assert message.startswith("row 3: the row is longer than 1,000,000 characters. Check the quotes")
    assert peak < 20 * 1024 * 1024  # never two million cells
    assert refusal(app, open_quote, kind="donors", filename="donors.csv")[0].startswith(
        "row 2: a cell is far longer than 1000 characters.")


def test_a_csv_with_empty_cells_far_past_the_header_is_read(app):
    rows = parsed(app, b"name,kind\nAlpha Aid,ngo" + b"," * 500_000 + b"\n", kind="donors", filename="d.csv")

    assert list(rows) == [(2, {"name": "Alpha Aid", "kind": "ngo"})]


def test_a_csv_is_decoded_line_by_line_and_a_bad_byte_still_named(app):
    text = "name,kind\n" + "Bénédicte Aid 😀,ngo\n" + "Alpha,ngo\n" * 3000
    rows = parsed(app, text.encode(), kind="donors", filename="d.csv")

    assert next(iter(rows)) == (2, {"name": "Bénédicte Aid 😀", "kind": "ngo"})
    latin1 = ("name,kind\n" + "Alpha,ngo\n" * 200_000 + "André,ngo\n").encode("latin-1")
    message, _peak = refusal(app, latin1, kind="donors", filename="d.csv")
    # 10 bytes of header, 200,000 lines of 10 bytes, then "Andr": the é is byte 2,000,014, on line 200,002.
    assert "byte 2000014 (line 200002) is 0xE9" in message


# --- normal files -----------------------------------------------------------------------------------------------------

def excel_like_workbook() -> bytes:
    """A workbook laid out as Excel saves one: shared strings (one with a rich run and a phonetic hint), styles with
    a built-in date format (14) and a custom one, a formula's cached value, a boolean, an error, a 1904 epoch."""
    styles = (f'<styleSheet xmlns="{build.MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/>'
              '</numFmts><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/>'
              '<xf numFmtId="4"/></cellXfs></styleSheet>')
    strings = (f'<sst xmlns="{build.MAIN}"><si><t>name</t></si><si><t>kind</t></si><si><t>country</t></si>'
               '<si><r><t>Alpha </t></r><r><rPr><b/></rPr><t>Aid</t></r><rPh sb="0" eb="1"><t>ALPHA</t></rPh></si>'
               '<si><t xml:space="preserve"> ngo </t></si></sst>')
    sheet = ('<row r="1" spans="1:3"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
             '<c r="C1" t="s"><v>2</v></c></row>'
             '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>4</v></c><c r="C2" s="1"><v>45000</v></c>'
             '<c r="D2" s="3"/></row>'
             '<row r="4"><c r="A4" t="str"><f>UPPER("beta")</f><v>BETA</v></c><c r="B4" t="b"><v>1</v></c>'
             '<c r="C4" s="2"><v>1.5</v></c></row>'
             '<row r="5"><c r="A5" t="e"><v>#N/A</v></c><c r="B5"><v>1250.4999999999998</v></c>'
             '<c r="C5" t="inlineStr"><is><t>NO</t></is></c></row>')
    data = build.workbook(build.sheet([sheet]), strings=strings.encode(),
                          parts={"xl/styles.xml": styles.encode()})
    # Excel names the styles part in the workbook's relationships and, for a Mac workbook, the 1904 epoch.
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(b"</Relationships>", (
                    f'<Relationship Id="rId3" Type="{build.RELATIONSHIPS}/styles" Target="styles.xml"/>'
                    '</Relationships>').encode())
            if item.filename == "xl/workbook.xml":
                content = content.replace(b"<sheets>", b'<workbookPr date1904="1"/><sheets>')
            target.writestr(item, content)
    return out.getvalue()


def test_a_workbook_as_excel_writes_it_reads_as_openpyxl_did(app):
    rows = parsed(app, excel_like_workbook(), kind="donors")

    # 45000 days after 1 January 1904 is 16 March 2027; 1.5 days after it is noon on 2 January 1904.
    assert list(rows) == [
        (2, {"name": "Alpha Aid", "kind": "ngo", "country": "2027-03-16"}),
        (4, {"name": "BETA", "kind": "TRUE", "country": "1904-01-02 12:00:00"}),
        (5, {"name": "#N/A", "kind": "1250.5", "country": "NO"}),
    ]


def donor_count(app) -> int:
    with app.app_context():
        from tracker.extensions import db

        return db.session.scalar(select(func.count()).select_from(Donor))


def donors_workbook() -> bytes:
    """Two donors, their texts in shared strings as Excel keeps them."""
    shared: dict[str, int] = {}
    rows = [build.row(1, ("name", "kind", "country"), shared=shared),
            build.row(2, ("Kingdom of Norway", "member_state", "NO"), shared=shared),
            build.row(3, ("Fondation Alpha", "private"), shared=shared)]
    return build.workbook(build.sheet(rows), strings=build.shared_strings(shared))


@pytest.mark.parametrize("name, data", [
    ("donors.xlsx", donors_workbook()),
    ("donors.csv", b"name,kind,country\nKingdom of Norway,member_state,NO\nFondation Alpha,private,\n"),
], ids=["xlsx", "csv"])
def test_a_normal_file_is_previewed_then_imported_reading_it_once(app, manager_client, upload_dir, monkeypatch,
                                                                  name, data):
    calls = []
    real = reading.parse_upload

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr("tracker.imports.routes.parse_upload", counting)

    preview, _seconds = web(manager_client, data, kind="donors", name=name)

    assert "Import 2 rows" in preview.get_data(as_text=True)
    token = _token(preview)
    stored = (upload_dir / token).read_bytes()
    assert b"Norway" not in stored
    done = manager_client.post("/imports/donors/confirm", data={"token": token})

    assert done.status_code == 302
    assert calls == [name]
    assert donor_count(app) == 2
    assert "Imported 2 rows: 2 created" in manager_client.get(done.headers["Location"]).get_data(as_text=True)


def test_confirmation_imports_the_rows_previewed_without_reading_the_file_again(app, manager_client, upload_dir):
    data = b"name,kind\nKingdom of Norway,member_state\n"
    token = _token(web(manager_client, data, kind="donors", name="donors.csv")[0])
    # Were the file read again, these limits would refuse it now.
    app.config.update(IMPORT_PARSE_SECONDS=0, IMPORT_MAX_UNPACKED_BYTES=0)

    done = manager_client.post("/imports/donors/confirm", data={"token": token})

    assert done.status_code == 302
    assert donor_count(app) == 1


def test_an_upload_kept_by_the_previous_version_must_be_uploaded_again(app, manager_client, upload_dir):
    token = _token(web(manager_client, b"name,kind\nKingdom of Norway,member_state\n", kind="donors",
                       name="donors.csv")[0])
    with app.app_context():
        from tracker.crypto import keyring

        path = upload_dir / token
        payload = json.loads(keyring().decrypt(path.read_text()))
        payload["data"] = payload.pop("rows")  # what the previous version stored: the file itself
        path.write_text(keyring().encrypt(json.dumps(payload)))

    done = manager_client.post("/imports/donors/confirm", data={"token": token})

    assert "no longer waiting" in manager_client.get(done.headers["Location"]).get_data(as_text=True)
    assert donor_count(app) == 0
    assert not list(upload_dir.iterdir())


def _token(response) -> str:
    html = response.get_data(as_text=True)
    marker = 'name="token" type="hidden" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]
