"""The import framework: reading files, the all-or-nothing run, the command and the upload pages.

The kinds used here are defined in this module and registered only for the
tests that need them; they create ``Partner`` rows (name unique, kind one of
PARTNER_KINDS, name at most 200 characters).
"""
from __future__ import annotations

import datetime as dt
import io
import os
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from tests import factories
from tests.conftest import AuthActions
from tracker.errors import Invalid
from tracker.imports import kinds, pending
from tracker.imports.kinds import Column, FileProblem, Kind, RowError
from tracker.imports.reading import parse_upload
from tracker.imports.running import run_import
from tracker.models import PARTNER_KINDS, AuditEvent, Partner

# --- the kinds of these tests -----------------------------------------------------------------------------------------

#: (row number, values, context, e-mail of ctx.user) of every row a test kind was given.
SEEN: list[tuple[int, dict, object, str | None]] = []


def apply_partner(values: dict[str, str], ctx: kinds.RowContext) -> str:
    """Creates a partner; "unchanged" when the name exists with the same kind, "updated" with another."""
    SEEN.append((ctx.row_number, dict(values), ctx, ctx.user.email if ctx.user else None))
    errors = {}
    if not values["name"]:
        errors["name"] = "is required"
    if values["kind"] not in PARTNER_KINDS:
        errors["kind"] = "must be one of un_entity, ngo, government, other"
    if errors:
        raise Invalid(errors)
    existing = ctx.cache.get(values["name"])
    if existing is None:
        from tracker.extensions import db

        existing = db.session.scalars(select(Partner).where(Partner.name == values["name"])).one_or_none()
    if existing is None:
        from tracker.extensions import db

        db.session.add(Partner(name=values["name"], kind=values["kind"]))
        return "created"
    if existing.kind != values["kind"]:
        existing.kind = values["kind"]
        return "updated"
    return "unchanged"


def apply_blindly(values: dict[str, str], ctx: kinds.RowContext) -> str:
    """Inserts without looking: the database is the only check."""
    from tracker.extensions import db

    db.session.add(Partner(name=values["name"], kind=values["kind"]))
    return "created"


PARTNERS = Kind(
    name="partners-test",
    label="Partners (test)",
    columns=(Column("name", help="The partner's name"), Column("kind", help="un_entity, ngo, government or other"),
             Column("note", required=False, help="Anything")),
    permission="records.import",
    apply_row=apply_partner,
    history_permission="records.import_history",
    example_rows=({"name": "Alpha Aid", "kind": "ngo"}, {"name": "=HYPERLINK(1)", "kind": "other", "note": "n"}),
)
BLIND = Kind(name="partners-blind", label="Partners, unchecked", columns=(Column("name"), Column("kind")),
             permission="records.import", apply_row=apply_blindly)
#: History that staff may load (no real kind does: it only shows the option works).
STAFF_HISTORY = Kind(name="partners-history", label="Partners with history", columns=PARTNERS.columns,
                     permission="records.import", apply_row=apply_partner, history_permission="records.edit")
FUNDING_ONLY = Kind(name="funding-test", label="Funding only", columns=(Column("name"),),
                    permission="funding.manage", apply_row=apply_blindly)


@pytest.fixture
def db(app):
    """The session, in a request context: messages are translated for a request."""
    from tracker.extensions import db as _db

    with app.test_request_context():
        yield _db
        _db.session.remove()


@pytest.fixture(autouse=True)
def test_kinds():
    SEEN.clear()
    added = [k for k in (PARTNERS, BLIND, STAFF_HISTORY, FUNDING_ONLY) if k.name not in kinds.KINDS]
    for kind in added:
        kinds.register(kind)
    yield
    for kind in added:
        kinds.KINDS.pop(kind.name, None)
    SEEN.clear()


def partner_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Partner))


def committed_partner_count(db) -> int:
    """Counted on a connection of its own: what another request would see."""
    with db.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Partner))


def csv_bytes(text: str) -> bytes:
    return text.encode("utf-8")


def parse(text: str, kind=PARTNERS):
    return parse_upload(csv_bytes(text), "partners.csv", kind)


def xlsx(rows, raw_numbers: dict[str, str] | None = None) -> bytes:
    """A workbook of ``rows``; ``raw_numbers`` rewrites numbers in the sheet's XML as Excel may store them."""
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    if not raw_numbers:
        return out.getvalue()
    patched = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as source, zipfile.ZipFile(patched, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                for written, raw in raw_numbers.items():
                    content = content.replace(f"<v>{written}</v>".encode(), f"<v>{raw}</v>".encode())
            target.writestr(item, content)
    return patched.getvalue()


# --- run_import -------------------------------------------------------------------------------------------------------

def test_good_csv_creates_rows_and_commits(db):
    result = run_import(PARTNERS, parse("name,kind\nAlpha Aid,ngo\nBeta Relief,un_entity\n"),
                        user=None, dry_run=False, history=False)

    assert (result.total, result.created, result.updated, result.unchanged) == (2, 2, 0, 0)
    assert result.errors == [] and result.committed
    assert committed_partner_count(db) == 2
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).one()
    assert event.entity == "partners-test"
    assert event.changes == {"file_rows": 2, "created": 2, "updated": 0, "unchanged": 0, "history": False}


def test_importing_the_same_file_twice_adds_nothing(db):
    text = "name,kind\nAlpha Aid,ngo\nBeta Relief,un_entity\n"
    run_import(PARTNERS, parse(text), user=None, dry_run=False, history=False)

    again = run_import(PARTNERS, parse(text), user=None, dry_run=False, history=False)

    assert (again.total, again.created, again.updated, again.unchanged) == (2, 0, 0, 2)
    assert again.committed
    assert committed_partner_count(db) == 2


@pytest.fixture
def statements(db):
    """The SQL statements the engine runs during the test."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.strip().upper())

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_a_large_import_refreshes_postgresqls_planner_statistics(app, db, dialect, statements):
    app.config["IMPORT_ANALYZE_ROWS"] = 3
    two = run_import(PARTNERS, parse("name,kind\nAlpha Aid,ngo\nBeta Relief,ngo\n"), user=None, dry_run=False,
                     history=False)
    assert two.committed and "ANALYZE" not in statements  # 2 rows < 3
    # 1 updated (Beta Relief: ngo -> other) + 2 created = 3 rows: the threshold.
    three = run_import(PARTNERS, parse("name,kind\nAlpha Aid,ngo\nBeta Relief,other\nGamma,ngo\nDelta,ngo\n"),
                       user=None, dry_run=False, history=False)
    assert (three.created, three.updated, three.unchanged) == (2, 1, 1)
    assert statements.count("ANALYZE") == (1 if dialect == "postgresql" else 0)
    dry = run_import(PARTNERS, parse("name,kind\nE,ngo\nF,ngo\nG,ngo\n"), user=None, dry_run=True, history=False)
    assert dry.created == 3 and statements.count("ANALYZE") == (1 if dialect == "postgresql" else 0)


def test_changed_rows_count_as_updated(db):
    run_import(PARTNERS, parse("name,kind\nAlpha Aid,ngo\n"), user=None, dry_run=False, history=False)

    result = run_import(PARTNERS, parse("name,kind\nAlpha Aid,other\n"), user=None, dry_run=False, history=False)

    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert db.session.scalars(select(Partner.kind)).one() == "other"


def test_a_file_with_bad_rows_saves_nothing_and_reports_every_bad_row(db):
    before = partner_count(db)
    text = ("name,kind\n"
            "Alpha Aid,ngo\n"        # row 2: good, applied first, must still be undone
            "Beta Relief,charity\n"  # row 3: bad kind
            "Gamma Care,ngo\n"       # row 4: good
            ",x\n"                   # row 5: two problems
            "Delta Help,other\n")    # row 6: good

    result = run_import(PARTNERS, parse(text), user=None, dry_run=False, history=False)

    assert result.errors == [
        RowError(3, "kind", "must be one of un_entity, ngo, government, other"),
        RowError(5, "name", "is required"),
        RowError(5, "kind", "must be one of un_entity, ngo, government, other"),
    ]
    assert not result.committed
    assert result.total == 5 and result.rows_with_errors == 2
    assert [row for row, *_ in SEEN] == [2, 3, 4, 5, 6]  # every row was checked
    assert committed_partner_count(db) == before == 0
    assert partner_count(db) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import")) == 0


def test_a_duplicate_the_kind_does_not_catch_becomes_a_row_error(db):
    text = "name,kind\nAlpha Aid,ngo\nBeta Relief,ngo\nAlpha Aid,ngo\nGamma Care,ngo\n"

    result = run_import(BLIND, parse(text, BLIND), user=None, dry_run=False, history=False)

    assert result.errors == [
        RowError(4, "name", "a record with the same value exists already (perhaps earlier in this file)"),
    ]
    assert "Alpha" not in result.errors[0].message  # the database's text (with the value) is never shown
    assert result.created == 3  # rows 2, 3 and 5 went through on their own savepoints
    assert not result.committed
    assert committed_partner_count(db) == 0


def test_a_check_constraint_names_its_column(db):
    result = run_import(BLIND, parse("name,kind\nAlpha Aid,charity\n", BLIND), user=None, dry_run=False,
                        history=False)

    assert result.errors == [RowError(2, "kind", "a value is not allowed by the database rules")]
    assert committed_partner_count(db) == 0


def test_a_value_too_long_for_postgresql_becomes_a_row_error(db, dialect):
    if dialect != "postgresql":
        pytest.skip("SQLite does not enforce string lengths")
    text = f"name,kind\nAlpha Aid,ngo\n{'x' * 201},ngo\nBeta Relief,ngo\n"

    result = run_import(BLIND, parse(text, BLIND), user=None, dry_run=False, history=False)

    assert result.errors == [RowError(3, "", "a value is too long for the database")]
    assert result.created == 2
    assert committed_partner_count(db) == 0


def test_dry_run_counts_but_saves_nothing(db):
    factories.PartnerFactory(name="Alpha Aid", kind="ngo")

    result = run_import(PARTNERS, parse("name,kind\nAlpha Aid,ngo\nBeta Relief,ngo\n"), user=None, dry_run=True,
                        history=False)

    assert (result.total, result.created, result.unchanged) == (2, 1, 1)
    assert result.errors == [] and not result.committed and result.dry_run
    assert committed_partner_count(db) == 1


def test_a_bug_in_a_kind_propagates_and_saves_nothing(db):
    def explode(values, ctx):
        if ctx.row_number == 3:
            raise RuntimeError("bug")
        return apply_partner(values, ctx)

    kind = Kind(name="exploding", label="x", columns=PARTNERS.columns, permission="records.import",
                apply_row=explode)

    with pytest.raises(RuntimeError):
        run_import(kind, parse("name,kind\nAlpha Aid,ngo\nBeta Relief,ngo\n", kind), user=None, dry_run=False,
                   history=False)

    assert committed_partner_count(db) == 0


def test_an_unknown_outcome_is_a_bug(db):
    kind = Kind(name="odd", label="x", columns=PARTNERS.columns, permission="records.import",
                apply_row=lambda values, ctx: "done")

    with pytest.raises(ValueError):
        run_import(kind, parse("name,kind\nAlpha Aid,ngo\n", kind), user=None, dry_run=False, history=False)


def test_kinds_get_every_column_with_context_and_a_shared_cache(db):
    user = factories.UserFactory(role="staff")

    run_import(PARTNERS, parse("Kind,NAME\nngo,Alpha Aid\n\nother,Beta Relief\n"), user=user, dry_run=True,
               history=True)

    assert [(row, values) for row, values, *_ in SEEN] == [
        (2, {"name": "Alpha Aid", "kind": "ngo", "note": ""}),
        (4, {"name": "Beta Relief", "kind": "other", "note": ""}),  # row 3 is blank, and skipped
    ]
    first, second = SEEN[0][2], SEEN[1][2]
    assert first.user is user and first.history is True
    assert first.cache is second.cache


def test_progress_is_reported_every_hundred_rows(db):
    text = "name,kind\n" + "".join(f"Partner {n},ngo\n" for n in range(250))
    calls = []

    run_import(PARTNERS, parse(text), user=None, dry_run=True, history=False,
               progress=lambda done, total: calls.append((done, total)))

    assert calls == [(100, 250), (200, 250), (250, 250)]


def test_row_errors_found_while_reading_are_reported_with_the_others(db):
    text = "name,kind\nAlpha Aid,ngo,extra\nBeta Relief,charity\nGamma Care,ngo\n"
    parsed = parse(text)

    result = run_import(PARTNERS, parsed, read_errors=parsed.errors, user=None, dry_run=False, history=False)

    assert result.errors == [
        RowError(2, "", "the row has 3 cells, the header has 2"),
        RowError(3, "kind", "must be one of un_entity, ngo, government, other"),
    ]
    assert result.total == 3
    assert [row for row, *_ in SEEN] == [3, 4]
    assert committed_partner_count(db) == 0


def test_register_refuses_a_second_kind_of_the_same_name():
    with pytest.raises(ValueError):
        kinds.register(Kind(name="partners-test", label="x", columns=(Column("name"),), permission="records.import",
                           apply_row=apply_blindly))


# --- reading files ----------------------------------------------------------------------------------------------------

def test_csv_rows_are_stripped_text_numbered_like_the_spreadsheet(app):
    with app.test_request_context():
        parsed = parse(' Name , KIND \n  Alpha Aid  , ngo \n\n\nBeta Relief,other\n')

    assert parsed.format == "csv"
    assert list(parsed) == [(2, {"name": "Alpha Aid", "kind": "ngo"}), (5, {"name": "Beta Relief", "kind": "other"})]
    assert parsed.total == 2


def test_a_utf8_byte_order_mark_and_semicolons_are_accepted(app):
    data = "\ufeffname;kind\nBénédicte Aid;ngo\n".encode("utf-8")

    with app.test_request_context():
        parsed = parse_upload(data, "partners.csv", PARTNERS)

    assert list(parsed) == [(2, {"name": "Bénédicte Aid", "kind": "ngo"})]


def test_a_quoted_cell_may_hold_a_comma_and_a_line_break(app):
    with app.test_request_context():
        parsed = parse('name,kind,note\n"Alpha, Aid",ngo,"two\nlines"\nBeta,bad\n')

    assert list(parsed) == [(2, {"name": "Alpha, Aid", "kind": "ngo", "note": "two\nlines"}),
                            (3, {"name": "Beta", "kind": "bad", "note": ""})]


def test_xlsx_cells_become_exact_text(app):
    data = xlsx([
        ["name", "kind", "note"],
        ["Alpha Aid", "ngo", dt.date(2025, 3, 1)],
        ["Beta", 1250, 1250.5],
        [None, None, None],
        ["Gamma", dt.datetime(2025, 3, 1, 0, 0), 1111.25],
        ["Delta", 2222.25, -0.5],
        ["Epsilon", True, 1e20],
        ["Zeta", dt.datetime(2025, 3, 1, 14, 30), 3],
    ], raw_numbers={"1111.25": "0.30000000000000004", "2222.25": "1250.4999999999998"})

    with app.test_request_context():
        parsed = parse_upload(data, "partners.xlsx", PARTNERS)

    assert parsed.format == "xlsx"
    assert list(parsed) == [
        (2, {"name": "Alpha Aid", "kind": "ngo", "note": "2025-03-01"}),
        (3, {"name": "Beta", "kind": "1250", "note": "1250.5"}),
        (5, {"name": "Gamma", "kind": "2025-03-01", "note": "0.3"}),
        (6, {"name": "Delta", "kind": "1250.5", "note": "-0.5"}),
        (7, {"name": "Epsilon", "kind": "TRUE", "note": "100000000000000000000"}),
        (8, {"name": "Zeta", "kind": "2025-03-01 14:30:00", "note": "3"}),  # a time is not dropped silently
    ]


def test_xlsx_is_told_by_its_content_not_its_name(app):
    data = xlsx([["name", "kind"], ["Alpha Aid", "ngo"]])

    with app.test_request_context():
        parsed = parse_upload(data, "partners.csv", PARTNERS)

    assert list(parsed) == [(2, {"name": "Alpha Aid", "kind": "ngo"})]


def problem(app, data: bytes, filename="partners.csv", kind=PARTNERS) -> str:
    with app.test_request_context():
        with pytest.raises(FileProblem) as caught:
            parse_upload(data, filename, kind)
    return caught.value.message


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"


def test_images_and_documents_are_refused(app):
    assert "PNG image" in problem(app, PNG, "partners.csv")
    assert "PDF document" in problem(app, PDF, "partners.xlsx")
    assert "binary" in problem(app, b"name,kind\n\x01\x02\x03,ngo\n")
    assert "old Excel (.xls)" in problem(app, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "partners.xls")


def test_a_zip_that_is_not_a_workbook_is_refused(app):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")

    assert "ZIP archive, not an XLSX" in problem(app, out.getvalue(), "partners.xlsx")
    assert "damaged" in problem(app, b"PK\x03\x04 this is not really a zip", "partners.xlsx")


def test_text_named_xlsx_is_refused(app):
    assert "not one" in problem(app, b"name,kind\nAlpha,ngo\n", "partners.xlsx")


def test_latin1_csv_is_refused_with_where_and_what_to_do(app):
    message = problem(app, "name,kind\nAndré Aid,ngo\n".encode("latin-1"))

    # "name,kind\n" is 10 bytes, "Andr" 4 more: the é (0xE9) is byte 14, on line 2.
    assert "not UTF-8" in message
    assert "byte 14 (line 2) is 0xE9" in message
    assert "CSV UTF-8" in message


def test_utf16_csv_is_refused_by_name(app):
    message = problem(app, "name,kind\nAlpha,ngo\n".encode("utf-16"))

    assert "UTF-16" in message and "CSV UTF-8" in message


def test_empty_files_are_refused(app):
    assert problem(app, b"") == "The file is empty."
    assert problem(app, b"\xef\xbb\xbf\r\n \n") == "The file is empty."
    assert problem(app, b"name,kind\n\n") == "The file has a header but no data rows."
    assert "Row 1 must hold the column names, and it is empty" in problem(app, b"\nname,kind\nAlpha,ngo\n")


def test_header_problems_name_the_columns(app):
    assert "Unknown columns: colour, size." in problem(app, b"name,kind,colour,size\nA,ngo,red,L\n")
    assert "lacks the required columns: kind." in problem(app, b"name,note\nA,x\n")
    assert "more than once: name." in problem(app, b"name,kind,Name\nA,ngo,B\n")
    assert "no name in column 2" in problem(app, b"name,,kind\nA,,ngo\n")


def test_a_row_of_data_in_place_of_the_header_is_not_echoed(app):
    message = problem(app, b"Marie Ngoyi,CD-M-00042\n")

    assert "none of them was found" in message
    assert "Marie" not in message


def test_a_cell_over_1000_characters_is_a_row_error(app):
    with app.test_request_context():
        parsed = parse(f"name,kind\nAlpha,ngo\n{'x' * 10_000},ngo\n{'y' * 1000},ngo\n")

    assert parsed.errors == [RowError(3, "name", "too long (max 1000 characters)")]
    assert [row for row, _ in parsed] == [2, 4]  # exactly 1,000 is allowed
    assert parsed.total == 3


def test_too_many_rows_or_bytes_are_refused(app):
    rows = "name,kind\n" + "a,ngo\n" * 50_001
    assert "more than 50,000 data rows" in problem(app, rows.encode())
    assert "larger than 20 MB" in problem(app, b"x" * (20 * 1024 * 1024 + 1))


def test_50000_rows_are_accepted(app):
    rows = "name,kind\n" + "a,ngo\n" * 50_000
    with app.test_request_context():
        assert parse(rows).total == 50_000


def test_broken_quotes_are_a_file_problem_with_the_row(app):
    assert problem(app, b'name,kind\nAlpha,ngo\n"Beta,ngo\n').startswith("row 3: the CSV cannot be read")


# --- the command ------------------------------------------------------------------------------------------------------

@pytest.fixture
def write(tmp_path):
    def write(text: str | bytes, name="partners.csv"):
        path = tmp_path / name
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return str(path)

    return write


def test_command_imports_a_good_file(app, runner, write):
    result = runner.invoke(args=["import", "partners-test", write("name,kind\nAlpha Aid,ngo\nBeta Relief,ngo\n")])

    assert result.exit_code == 0, result.output
    assert result.stdout == "2 rows: 2 created\n"
    with app.app_context():
        from tracker.extensions import db

        assert committed_partner_count(db) == 2
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).one()
        assert event.user_id is None and event.ip == "cli"


def test_command_prints_every_bad_row_and_exits_1(app, runner, write):
    path = write("name,kind\nAlpha Aid,ngo\nBeta Relief,charity\n,ngo\n")

    result = runner.invoke(args=["import", "partners-test", path])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "row 3: kind: must be one of un_entity, ngo, government, other",
        "row 4: name: is required",
    ]
    assert result.stdout == "nothing saved: 2 rows with errors\n"
    with app.app_context():
        from tracker.extensions import db

        assert committed_partner_count(db) == 0


def test_command_dry_run_saves_nothing(app, runner, write):
    result = runner.invoke(args=["import", "partners-test", write("name,kind\nAlpha Aid,ngo\n"), "--dry-run"])

    assert result.exit_code == 0
    assert result.stdout == "dry run: nothing saved (1 row: 1 created)\n"
    with app.app_context():
        from tracker.extensions import db

        assert committed_partner_count(db) == 0


def test_command_refuses_an_unknown_kind_and_lists_the_kinds(runner, write):
    result = runner.invoke(args=["import", "partnerz", write("name,kind\nA,ngo\n")])

    assert result.exit_code == 1
    assert "unknown kind 'partnerz'" in result.stderr
    assert "partners-test" in result.stderr


def test_command_reports_a_file_problem(runner, write):
    result = runner.invoke(args=["import", "partners-test", write(PNG, "logo.png")])

    assert result.exit_code == 1
    assert "PNG image" in result.stderr


def test_command_history_needs_a_kind_that_allows_it_and_an_allowed_user(app, runner, write):
    with app.app_context():
        factories.UserFactory(role="admin", email="admin@example.org")
        factories.UserFactory(role="staff", email="staff@example.org")
    path = write("name,kind\nAlpha Aid,ngo\n")

    assert runner.invoke(args=["import", "partners-blind", path, "--history"]).exit_code == 1
    no_user = runner.invoke(args=["import", "partners-test", path, "--history"])
    assert no_user.exit_code == 1 and "--as" in no_user.stderr
    staff = runner.invoke(args=["import", "partners-test", path, "--history", "--as", "staff@example.org"])
    assert staff.exit_code == 1 and "may not load" in staff.stderr
    assert SEEN == []

    admin = runner.invoke(args=["import", "partners-test", path, "--history", "--as", "Admin@Example.org"])

    assert admin.exit_code == 0, admin.output
    assert SEEN[0][2].history is True and SEEN[0][3] == "admin@example.org"


def test_command_attributes_the_import_to_as(app, runner, write):
    with app.app_context():
        staff_id = factories.UserFactory(role="staff", email="staff@example.org").id

    result = runner.invoke(args=["import", "partners-test", write("name,kind\nAlpha Aid,ngo\n"),
                                 "--as", "staff@example.org"])

    assert result.exit_code == 0, result.output
    assert SEEN[0][3] == "staff@example.org" and SEEN[0][2].history is False
    with app.app_context():
        from tracker.extensions import db

        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).one()
        assert event.user_id == staff_id
        created = db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "partners")).one()
        assert created.user_id == staff_id


def test_command_refuses_an_unknown_or_unallowed_user(app, runner, write):
    with app.app_context():
        factories.UserFactory(role="admin", email="admin@example.org")
    path = write("name,kind\nAlpha Aid,ngo\n")

    assert runner.invoke(args=["import", "partners-test", path, "--as", "nobody@example.org"]).exit_code == 1
    refused = runner.invoke(args=["import", "partners-test", path, "--as", "admin@example.org"])
    assert refused.exit_code == 1 and "may not import" in refused.stderr


def test_command_shows_progress_for_large_files(app, runner, write):
    text = "name,kind\n" + "".join(f"Partner {n},ngo\n" for n in range(250))

    result = runner.invoke(args=["import", "partners-test", write(text)])

    assert result.exit_code == 0
    assert result.stdout == "250 rows: 250 created\n"
    assert "partners-test" in result.stderr  # the progress bar's label
    with app.app_context():
        from tracker.extensions import db

        assert committed_partner_count(db) == 250


# --- the upload pages -------------------------------------------------------------------------------------------------

@pytest.fixture
def upload_dir(app, tmp_path):
    directory = tmp_path / "uploads"
    app.config["IMPORT_UPLOAD_DIR"] = str(directory)
    return directory


def upload(client, data: bytes, filename="partners.csv", kind="partners-test", **extra):
    return client.post(f"/imports/{kind}", data={"file": (io.BytesIO(data), filename), **extra},
                       content_type="multipart/form-data")


def token_of(response) -> str:
    html = response.get_data(as_text=True)
    marker = 'name="token" type="hidden" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def signed_in_client(app, **user):
    with app.app_context():
        email = factories.UserFactory(**user).email
    client = app.test_client()
    assert AuthActions(client).login(email).status_code == 302
    return client


def db_partner_count(app) -> int:
    with app.app_context():
        from tracker.extensions import db

        return committed_partner_count(db)


def test_import_index_lists_the_kinds_the_user_may_import(staff_client):
    html = staff_client.get("/imports/").get_data(as_text=True)

    assert "Partners (test)" in html
    assert "/imports/partners-test/template.csv" in html
    assert "/imports/partners-test/template.xlsx" in html
    assert "Funding only" not in html  # staff lack funding.manage


def test_import_pages_refuse_who_may_not_import(admin_client, donor_client, staff_client):
    # Administrators reach the list, which offers only what they may import (rates, past payments).
    assert admin_client.get("/imports/").status_code == 200
    assert donor_client.get("/imports/").status_code == 404
    assert donor_client.get("/imports/partners-test").status_code == 404
    assert staff_client.get("/imports/funding-test").status_code == 403
    assert staff_client.get("/imports/funding-test/template.csv").status_code == 403
    assert staff_client.get("/imports/nothing-such").status_code == 404


def test_upload_page_shows_columns_and_no_history_option_without_the_permission(staff_client):
    html = staff_client.get("/imports/partners-test").get_data(as_text=True)

    assert 'type="file"' in html
    assert "The partner&#39;s name" in html
    assert 'name="history"' not in html


def test_preview_shows_every_bad_row_without_cell_values(app, staff_client, upload_dir):
    data = b"name,kind\nZed Person Aid,charity\nAlpha Aid,ngo\n,ngo\n"

    response = upload(staff_client, data)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nothing saved" in html
    assert "<td class=\"nowrap\">2</td><td><code>kind</code></td><td>must be one of" in html
    assert "<td class=\"nowrap\">4</td><td><code>name</code></td><td>is required</td>" in html
    assert "Zed Person" not in html
    assert 'name="token"' not in html
    assert db_partner_count(app) == 0
    assert not upload_dir.exists() or not os.listdir(upload_dir)


def test_a_good_upload_waits_encrypted_and_is_imported_on_confirmation(app, staff_client, upload_dir):
    data = b"name,kind\nAlpha Aid,ngo\nBeta Relief,other\n"

    preview = upload(staff_client, data)

    html = preview.get_data(as_text=True)
    assert "Import 2 rows" in html
    assert db_partner_count(app) == 0
    token = token_of(preview)
    stored = upload_dir / token
    assert stored.exists()
    assert stored.stat().st_mode & 0o777 == 0o600 and upload_dir.stat().st_mode & 0o777 == 0o700
    assert b"Alpha" not in stored.read_bytes()

    done = staff_client.post("/imports/partners-test/confirm", data={"token": token})

    assert done.status_code == 302
    assert db_partner_count(app) == 2
    assert not stored.exists() and os.listdir(upload_dir) == []
    page = staff_client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Imported 2 rows: 2 created, 0 updated, 0 unchanged." in page

    twice = staff_client.post("/imports/partners-test/confirm", data={"token": token})
    assert twice.status_code == 302
    assert "no longer waiting" in staff_client.get(twice.headers["Location"]).get_data(as_text=True)
    assert db_partner_count(app) == 2


def test_another_user_cannot_use_someones_token(app, staff_client, upload_dir):
    token = token_of(upload(staff_client, b"name,kind\nAlpha Aid,ngo\n"))
    other = signed_in_client(app, role="staff", email="other.staff@example.org", countries=["CD"])

    response = other.post("/imports/partners-test/confirm", data={"token": token})

    assert response.status_code == 404
    assert db_partner_count(app) == 0
    assert (upload_dir / token).exists()  # still the owner's to confirm
    assert staff_client.post("/imports/partners-blind/confirm", data={"token": token}).status_code == 404
    assert staff_client.post("/imports/partners-test/confirm", data={"token": "../../etc/passwd"}).status_code == 404


def test_an_expired_upload_is_refused_and_deleted(app, staff_client, upload_dir, monkeypatch):
    token = token_of(upload(staff_client, b"name,kind\nAlpha Aid,ngo\n"))
    real_now = pending._now()
    monkeypatch.setattr(pending, "_now", lambda: real_now + 3601)

    response = staff_client.post("/imports/partners-test/confirm", data={"token": token})

    assert response.status_code == 302
    assert "no longer waiting" in staff_client.get(response.headers["Location"]).get_data(as_text=True)
    assert db_partner_count(app) == 0
    assert not (upload_dir / token).exists()


def test_confirmation_shows_errors_when_the_data_changed_meanwhile(app, staff_client, upload_dir):
    token = token_of(upload(staff_client, b"name,kind\nAlpha Aid,ngo\nBeta Relief,ngo\n", kind="partners-blind"))
    with app.app_context():
        factories.PartnerFactory(name="Beta Relief")

    response = staff_client.post("/imports/partners-blind/confirm", data={"token": token})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nothing saved" in html and "a record with the same value exists already" in html
    assert db_partner_count(app) == 1
    assert os.listdir(upload_dir) == []


def test_the_history_option_shows_to_who_may_use_it_and_reaches_the_kind(app, staff_client, upload_dir):
    assert 'name="history"' in staff_client.get("/imports/partners-history").get_data(as_text=True)

    preview = upload(staff_client, b"name,kind\nAlpha Aid,ngo\n", kind="partners-history", history="y")
    staff_client.post("/imports/partners-history/confirm", data={"token": token_of(preview)})

    assert [(row, ctx.history) for row, _, ctx, _ in SEEN] == [(2, True), (2, True)]  # dry run, then for real
    assert db_partner_count(app) == 1


def test_history_asked_without_the_permission_is_ignored(app, staff_client, upload_dir):
    upload(staff_client, b"name,kind\nAlpha Aid,ngo\n", history="y")

    assert [ctx.history for _, _, ctx, _ in SEEN] == [False]


def test_an_xlsx_upload_is_previewed(staff_client, upload_dir):
    data = xlsx([["name", "kind"], ["Alpha Aid", "ngo"], ["Beta Relief", "charity"]])

    html = upload(staff_client, data, filename="partners.xlsx").get_data(as_text=True)

    assert "<td class=\"nowrap\">3</td><td><code>kind</code></td><td>must be one of" in html


def test_a_file_problem_is_shown_on_the_form_escaped(staff_client, upload_dir):
    response = upload(staff_client, b"name,kind,<script>x</script>\nA,ngo,1\n")

    html = response.get_data(as_text=True)
    assert "Unknown columns: &lt;script&gt;x&lt;/script&gt;" in html
    assert "<script>x" not in html


def test_a_missing_file_is_asked_for(staff_client, upload_dir):
    response = staff_client.post("/imports/partners-test", data={}, content_type="multipart/form-data")

    assert "Choose a file." in response.get_data(as_text=True)


def test_templates_download_as_csv_and_xlsx(staff_client):
    csv_response = staff_client.get("/imports/partners-test/template.csv")

    assert csv_response.status_code == 200
    assert csv_response.headers["Cache-Control"] == "no-store"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    assert csv_response.get_data(as_text=True) == (
        "\ufeffname,kind,note\r\nAlpha Aid,ngo,\r\n'=HYPERLINK(1),other,n\r\n")

    xlsx_response = staff_client.get("/imports/partners-test/template.xlsx")

    workbook = load_workbook(io.BytesIO(xlsx_response.data))
    assert workbook.sheetnames == ["partners-test", "help"]
    assert [[c.value for c in row] for row in workbook["partners-test"].iter_rows()] == [
        ["name", "kind", "note"], ["Alpha Aid", "ngo", None], ["'=HYPERLINK(1)", "other", "n"]]
    assert [[c.value for c in row] for row in workbook["help"].iter_rows()] == [
        ["column", "required or optional", "help"],
        ["name", "required", "The partner's name"],
        ["kind", "required", "un_entity, ngo, government or other"],
        ["note", "optional", "Anything"],
    ]


def test_the_downloaded_template_imports_back(app, staff_client, upload_dir):
    data = staff_client.get("/imports/partners-test/template.csv").data

    preview = upload(staff_client, data)

    assert "Import 2 rows" in preview.get_data(as_text=True)
