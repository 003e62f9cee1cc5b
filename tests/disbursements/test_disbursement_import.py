"""The ``disbursements`` import kind (DESIGN section 7): all rows or nothing, every bad row reported.

New rows are entered and submitted for approval; with ``--history``
(administrators only) rows are past payments, loaded as ``paid`` with their
USD value frozen at the rate in force on ``entered_on`` and marked as
imported history. ``reference`` is the key: a file imported twice adds nothing.

Most tests run ``parse_upload`` + ``run_import`` inside a test request
context (refused rows format lazily translated messages); the command's
tests are at the end.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tracker.extensions import db as _db
from tracker.imports.kinds import get_kind
from tracker.imports.reading import parse_upload
from tracker.imports.running import run_import
from tracker.models import AuditEvent, Disbursement

COLUMNS = ["reference", "project_code", "category", "mother_code", "child_code", "academic_year", "term",
           "income_project_reference", "payee", "amount", "currency", "entered_on", "paid_on", "payment_reference"]
CD = "TF-CD-2025-01"
MOTHER, CHILD = "CD-M-00001", "CD-C-00001-1"


# ``rq`` (a request context) and ``people`` (who and what the files name): tests/disbursements/conftest.py.


def line(reference, category="medical", *, project=CD, mother=MOTHER, child="", year="", term="", income="",
         payee="Centre Kavumu", amount="30000", currency="CDF", entered_on="2025-09-15", paid_on="",
         payment_reference="") -> list[str]:
    return [reference, project, category, mother, child, year, term, income, payee, amount, currency, entered_on,
            paid_on, payment_reference]


def fees_line(reference, term="1", **changes) -> list[str]:
    values = dict(child=CHILD, year="2025-2026", term=term, payee="EP Mapendo", amount="45000")
    values.update(changes)
    return line(reference, "school_fees", **values)


GOOD = [
    fees_line("PAY-0001"),
    line("PAY-0002", "iga", income="IGA-CD-0001", payee="Tailoring supplies", amount="350000"),
    line("PAY-0003", "medical", child=CHILD, amount="120.50", currency="USD"),
]


def csv_bytes(*rows: list[str], header=COLUMNS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def run(data: bytes, *, user=None, history=False, dry_run=False):
    kind = get_kind("disbursements")
    parsed = parse_upload(data, "disbursements.csv", kind)
    return run_import(kind, parsed, read_errors=parsed.errors, user=user, dry_run=dry_run, history=history)


def stored() -> dict[str, dict]:
    table = Disbursement.__table__
    return {r["reference"]: dict(r) for r in _db.session.execute(select(table).order_by(table.c.id)).mappings()}


def count() -> int:
    return _db.session.scalar(select(func.count(Disbursement.id)))


def import_events() -> int:
    return _db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "import",
                                                                      AuditEvent.entity == "disbursements"))


# --- new payments -----------------------------------------------------------------------------------------------------

def test_good_file_enters_submitted_disbursements_under_its_references(people):
    result = run(csv_bytes(*GOOD), user=people["staff"])
    assert result.ok and result.committed
    assert (result.total, result.created) == (3, 3)
    rows = stored()
    assert list(rows) == ["PAY-0001", "PAY-0002", "PAY-0003"]
    assert {(r["status"], r["entered_by_id"], r["submitted_by_id"], r["imported_history"]) for r in rows.values()} \
        == {("submitted", people["staff"].id, people["staff"].id, False)}
    fees = rows["PAY-0001"]
    assert (fees["category"], fees["term"], fees["amount"], fees["currency"], fees["entered_on"], fees["payee"]) == \
        ("school_fees", 1, Decimal("45000.00"), "CDF", dt.date(2025, 9, 15), "EP Mapendo")
    assert fees["usd_amount"] is None  # frozen only when approved
    assert rows["PAY-0002"]["income_project_id"] is not None
    assert rows["PAY-0003"]["amount"] == Decimal("120.50") and rows["PAY-0003"]["child_id"] is not None
    assert import_events() == 1


def test_xlsx_file_with_numbers_and_dates_as_cells_is_imported(people):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(COLUMNS)
    sheet.append(["PAY-0001", CD, "school_fees", MOTHER, CHILD, "2025-2026", 1, None, "EP Mapendo", 45000, "CDF",
                  dt.date(2025, 9, 15), None, None])
    sheet.append(["PAY-0002", CD, "medical", MOTHER, None, None, None, None, "Clinic", 120.5, "USD",
                  dt.datetime(2025, 9, 16), None, None])
    out = io.BytesIO()
    workbook.save(out)
    kind = get_kind("disbursements")
    parsed = parse_upload(out.getvalue(), "disbursements.xlsx", kind)
    result = run_import(kind, parsed, read_errors=parsed.errors, user=people["staff"], dry_run=False, history=False)
    assert result.ok and result.created == 2, [str(e) for e in result.errors]
    rows = stored()
    assert (rows["PAY-0001"]["term"], rows["PAY-0001"]["amount"], rows["PAY-0001"]["entered_on"]) == \
        (1, Decimal("45000.00"), dt.date(2025, 9, 15))
    assert (rows["PAY-0002"]["amount"], rows["PAY-0002"]["entered_on"]) == (Decimal("120.50"), dt.date(2025, 9, 16))


def test_same_file_twice_adds_nothing_the_second_time(people):
    data = csv_bytes(*GOOD)
    assert run(data, user=people["staff"]).created == 3
    again = run(data, user=people["staff"])
    assert again.ok and (again.created, again.unchanged) == (0, 3)
    assert count() == 3


def test_dry_run_saves_nothing(people):
    result = run(csv_bytes(*GOOD), user=people["staff"], dry_run=True)
    assert result.ok and result.created == 3 and not result.committed
    assert count() == 0


BAD = [
    (line("BAD-01", amount="1,000"), "amount", "no commas"),
    (line("BAD-02", amount="NaN"), "amount", "not a plain amount"),
    (line("BAD-03", amount="12.5", currency="XAF"), "amount", "XAF amounts have no decimals"),
    (line("BAD-04", amount="0"), "amount", "greater than zero"),
    (line("BAD-05", currency="XYZ"), "currency", "not an ISO 4217 currency code"),
    (line("BAD-06", mother="CD-M-09999"), "mother_code", "CD-M-09999 is not known in your countries"),
    (fees_line("BAD-07", term="4"), "term", "the enrolment for 2025-2026 has 3 terms"),
    (line("BAD-08", "school_fees"), "child_code", "school fees need the child"),
    (line("BAD-09", "iga"), "income_project_reference", "needs the income activity"),
    (line("BAD-10", child="CD-C-00002-1"), "child_code", "CD-C-00002-1 is not a child of CD-M-00001"),
    (line("BAD-11", paid_on="2025-09-20", payment_reference="B-1"), "paid_on", "--history"),
    (line("BAD-12", entered_on="2025-09-31"), "entered_on", "not a date"),
    (line("BAD-13", category="cash"), "category", "not one of"),
    (fees_line("BAD-14", year="2024-2025"), "academic_year", "not enrolled for 2024-2025"),
    (line("BAD-15", project="TF-CF-2025-01", mother="CF-M-00001"), "project_code", "not known in your countries"),
    (line(""), "reference", "is required"),
]


def test_bad_rows_save_nothing_and_each_is_reported_by_row_and_column(people):
    data = csv_bytes(GOOD[0], *[r for r, _c, _m in BAD], GOOD[1])
    result = run(data, user=people["staff"])
    assert not result.committed
    assert count() == 0 and import_events() == 0
    reported: dict[int, list] = {}
    for e in result.errors:
        reported.setdefault(e.row, []).append(e)
    # The header is row 1, the good row row 2; the bad rows are rows 3.. in order.
    assert sorted(reported) == list(range(3, 3 + len(BAD)))
    for row_number, (_row, column, message) in enumerate(BAD, start=3):
        errors = reported[row_number]
        # One problem each, but BAD-15, which names a project and a mother both unknown: both are reported.
        expected_columns = ["project_code", "mother_code"] if _row[0] == "BAD-15" else [column]
        assert [e.column for e in errors] == expected_columns, [str(e) for e in errors]
        error = errors[0]
        assert message in error.message, str(error)
        assert str(error).startswith(f"row {row_number}: {column}: ")


def test_second_payment_for_a_held_term_is_refused_in_a_file(people):
    assert run(csv_bytes(GOOD[0]), user=people["staff"]).committed
    result = run(csv_bytes(fees_line("PAY-0009")), user=people["staff"])
    [error] = result.errors
    assert (error.row, error.column) == (2, "term") and "PAY-0001" in error.message
    assert count() == 1


def test_same_term_twice_in_one_file_is_refused(people):
    result = run(csv_bytes(fees_line("PAY-0001"), fees_line("PAY-0002")), user=people["staff"])
    assert [(e.row, e.column) for e in result.errors] == [(3, "term")]
    assert count() == 0


def test_reference_twice_in_one_file_is_refused(people):
    result = run(csv_bytes(line("PAY-0001"), line("PAY-0001", amount="5")), user=people["staff"])
    assert [(e.row, e.column) for e in result.errors] == [(3, "reference")]
    assert count() == 0


def test_reference_that_exists_with_other_details_is_refused(people):
    run(csv_bytes(line("PAY-0001")), user=people["staff"])
    before = stored()
    result = run(csv_bytes(line("PAY-0001", mother="CD-M-00002")), user=people["staff"])
    [error] = result.errors
    assert (error.row, error.column) == (2, "reference") and "other details" in error.message
    assert stored() == before


# --- history (--history) ----------------------------------------------------------------------------------------------

HISTORY = [
    fees_line("OLD-0001", paid_on="2025-09-20", payment_reference="BANK-1"),
    line("OLD-0002", amount="30000", entered_on="2025-10-01", paid_on="2025-10-02", payment_reference="BANK-2"),
    line("OLD-0003", amount="75.25", currency="USD", paid_on="2025-09-16", payment_reference="CASH-3"),
]


def test_history_rows_are_loaded_as_paid_with_usd_frozen_at_the_entry_date_rate(people):
    result = run(csv_bytes(*HISTORY), user=people["admin"], history=True)
    assert result.ok and result.committed and result.created == 3
    rows = stored()
    assert {(r["status"], r["imported_history"], r["approved_by_id"], r["paid_by_id"]) for r in rows.values()} == \
        {("paid", True, None, people["admin"].id)}
    # Entered 15 September: 45,000 CDF × 0.00035 = 15.75 (the 1 October rate is not yet in force).
    assert (rows["OLD-0001"]["usd_amount"], rows["OLD-0001"]["usd_rate"]) == (Decimal("15.75"), Decimal("0.00035"))
    assert (rows["OLD-0001"]["paid_on"], rows["OLD-0001"]["payment_reference"]) == (dt.date(2025, 9, 20), "BANK-1")
    # Entered 1 October: 30,000 CDF × 0.0004 = 12.00.
    assert (rows["OLD-0002"]["usd_amount"], rows["OLD-0002"]["usd_rate"]) == (Decimal("12.00"), Decimal("0.0004"))
    # USD at rate 1.
    assert (rows["OLD-0003"]["usd_amount"], rows["OLD-0003"]["usd_rate"]) == (Decimal("75.25"), Decimal("1"))


def test_history_file_twice_adds_nothing(people):
    data = csv_bytes(*HISTORY)
    run(data, user=people["admin"], history=True)
    again = run(data, user=people["admin"], history=True)
    assert again.ok and (again.created, again.unchanged) == (0, 3)
    assert count() == 3


@pytest.mark.parametrize("changes, column, message", [
    ({"paid_on": ""}, "paid_on", "is required"),
    ({"payment_reference": ""}, "payment_reference", "is required"),
    ({"paid_on": "2025-09-14"}, "paid_on", "before entered_on"),
    ({"paid_on": "2999-01-01"}, "paid_on", "in the future"),
    ({"currency": "XAF", "amount": "25000"}, "currency", "no exchange rate for XAF on 2025-09-15"),
])
def test_history_row_needs_its_payment_and_a_rate(people, changes, column, message):
    values = dict(paid_on="2025-09-20", payment_reference="BANK-1")
    values.update(changes)
    result = run(csv_bytes(line("OLD-0001", **values)), user=people["admin"], history=True)
    [error] = result.errors
    assert (error.row, error.column) == (2, column) and message in error.message, str(error)
    assert count() == 0


def test_history_payment_reference_twice_in_a_project_is_refused(people):
    data = csv_bytes(line("OLD-0001", paid_on="2025-09-20", payment_reference="BANK-1"),
                     line("OLD-0002", paid_on="2025-09-21", payment_reference="BANK-1"))
    result = run(data, user=people["admin"], history=True)
    [error] = result.errors
    assert (error.row, error.column) == (3, "payment_reference") and "OLD-0001" in error.message
    assert count() == 0


def test_history_rows_hold_their_term_like_any_payment(people):
    run(csv_bytes(HISTORY[0]), user=people["admin"], history=True)
    result = run(csv_bytes(fees_line("PAY-0001")), user=people["staff"])
    assert [(e.row, e.column) for e in result.errors] == [(2, "term")]


# --- the command ------------------------------------------------------------------------------------------------------

# ``cli`` (the command on a file of rows): tests/disbursements/conftest.py.


def test_command_imports_a_good_file_attributed_to_the_first_administrator(app, cli, people):
    admin_id = people["admin"].id
    result = cli(GOOD)
    assert result.exit_code == 0, result.output
    assert "3 rows: 3 created" in result.output
    with app.app_context():
        assert {(r["status"], r["entered_by_id"]) for r in stored().values()} == {("submitted", admin_id)}


def test_command_imports_as_the_user_named(app, cli, people):
    staff_id = people["staff"].id
    result = cli(GOOD, "--as", "staff@example.org")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert {r["entered_by_id"] for r in stored().values()} == {staff_id}


def test_command_twice_adds_nothing_the_second_time(app, cli):
    assert cli(GOOD).exit_code == 0
    again = cli(GOOD)
    assert again.exit_code == 0, again.output
    assert "3 rows: 3 unchanged" in again.output
    with app.app_context():
        assert count() == 3


def test_command_reports_every_bad_row_and_saves_nothing(app, cli):
    result = cli([GOOD[0], line("BAD-1", amount="1,000"), line("BAD-2", currency="XYZ"), GOOD[1]])
    assert result.exit_code == 1
    assert ("row 3: amount: '1,000' is not a plain amount like 1250.50 (digits and one dot only: no spaces, "
            "no commas)") in result.output
    assert "row 4: currency: XYZ is not an ISO 4217 currency code such as USD" in result.output
    assert "nothing saved: 2 rows with errors" in result.output
    with app.app_context():
        assert count() == 0


def test_command_loads_history_as_an_administrator(app, cli):
    result = cli(HISTORY, "--history", "--as", "admin@example.org")
    assert result.exit_code == 0, result.output
    assert "3 rows: 3 created" in result.output
    with app.app_context():
        rows = stored()
        assert {(r["status"], r["imported_history"]) for r in rows.values()} == {("paid", True)}
        assert rows["OLD-0001"]["usd_amount"] == Decimal("15.75")


def test_command_history_needs_a_named_user(app, cli):
    result = cli(HISTORY, "--history")
    assert result.exit_code == 1
    assert "--history needs --as EMAIL" in result.output
    with app.app_context():
        assert count() == 0


@pytest.mark.parametrize("email", ["staff@example.org", "manager@example.org"])
def test_command_refuses_history_for_non_administrators(app, cli, email):
    result = cli(HISTORY, "--history", "--as", email)
    assert result.exit_code == 1
    assert f"{email} may not load disbursements as history" in result.output
    with app.app_context():
        assert count() == 0


def test_command_history_without_the_payment_columns_is_refused_row_by_row(app, cli):
    result = cli([line("OLD-0001"), line("OLD-0002", paid_on="2025-09-20")], "--history", "--as",
                 "admin@example.org")
    assert result.exit_code == 1
    assert "row 2: paid_on: is required" in result.output
    assert "row 3: payment_reference: is required" in result.output
    with app.app_context():
        assert count() == 0
