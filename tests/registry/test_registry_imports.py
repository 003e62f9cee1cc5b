"""Spreadsheet imports of the registry (DESIGN section 7): all rows or nothing, every bad row reported.

Files are built in the tests. Most run ``parse_upload`` + ``run_import``
inside a test *request* context: a refused row formats its (lazy,
translated) message, and the app's locale selector reads the request, so in
a bare app context it raises RuntimeError (the ``flask import`` command
forces the default locale itself; its tests are at the end).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from tests import factories
from tracker.extensions import db as _db
from tracker.imports.kinds import FileProblem, get_kind
from tracker.imports.reading import parse_upload
from tracker.imports.running import run_import
from tracker.models import (
    AuditEvent,
    Beneficiary,
    Child,
    ClaimStep,
    Enrolment,
    IncomeProject,
    IncomeReport,
    PaternityClaim,
)
from tracker.models.base import today

CD, CF = "TF-CD-2025-01", "TF-CF-2025-01"
NEXT_YEAR = str(today().year + 1)

BENEFICIARY_COLUMNS = ["code", "project_code", "full_name", "phone", "village", "year_of_birth", "enrolled_on",
                       "consent_services", "consent_reporting"]
CHILD_COLUMNS = ["code", "mother_code", "first_name", "year_of_birth", "sex"]
ENROLMENT_COLUMNS = ["child_code", "school", "academic_year", "grade", "fee_per_term", "currency", "terms"]
CLAIM_COLUMNS = ["child_code", "member_state", "personnel_category", "status", "received_on", "notified_on",
                 "dna_sample_on", "dna_result_on", "outcome_on"]
INCOME_COLUMNS = ["reference", "mother_code", "activity", "started_on", "planned_grant", "currency", "status"]
REPORT_COLUMNS = ["income_project_reference", "month", "revenue", "costs", "currency"]


def csv_file(header: list[str], *rows: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def do_import(kind_name: str, data: bytes, *, filename: str = "file.csv", user=None):
    kind = get_kind(kind_name)
    parsed = parse_upload(data, filename, kind)
    return run_import(kind, parsed, read_errors=parsed.errors, user=user, dry_run=False, history=False)


def problems(result) -> list[tuple[int, str]]:
    return [(e.row, e.column) for e in result.errors]


def messages(result) -> dict[int, str]:
    return {e.row: e.message for e in result.errors}


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


def counts(*models) -> tuple[int, ...]:
    return tuple(count(m) for m in models)


def import_events() -> int:
    return _db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "import"))


@pytest.fixture
def cd_project(rq):
    return factories.ProjectFactory(code=CD, country="CD")


@pytest.fixture
def mother(cd_project):
    """CD-M-00042, born 1990, with no child yet."""
    return factories.BeneficiaryFactory(project=cd_project, number=42, year_of_birth=1990, children_seq=0)


@pytest.fixture
def cd_staff(rq):
    return factories.UserFactory(role="staff", countries=["CD"])


# --- beneficiaries ---------------------------------------------------------------------------------------------------

GOOD_MOTHERS = csv_file(
    BENEFICIARY_COLUMNS,
    ["", CD, "Amani Kahindo", "+243 810 000 001", "Kavumu", "1994", "2025-02-03", "yes", "no"],
    ["", CD, "Neema Bahati", "", "", "1998", "2025-02-10", "oui", "2025-03-01"],
    ["CD-M-00042", CD, "Furaha Mwamini", "", "Ibanda", "1990", "2025-01-15", "1", "yes"],
)


def test_beneficiaries_file_creates_mothers_with_codes_and_values(cd_project):
    result = do_import("beneficiaries", GOOD_MOTHERS)
    assert (result.ok, result.committed, result.total, result.created) == (True, True, 3, 3)
    mothers = {m.code: m for m in _db.session.scalars(select(Beneficiary))}
    assert sorted(mothers) == ["CD-M-00001", "CD-M-00002", "CD-M-00042"]
    amani, neema, furaha = mothers["CD-M-00001"], mothers["CD-M-00002"], mothers["CD-M-00042"]
    assert (amani.full_name, amani.phone, amani.village, amani.year_of_birth, amani.enrolled_on) == (
        "Amani Kahindo", "+243 810 000 001", "Kavumu", 1994, dt.date(2025, 2, 3))
    assert (amani.consent_services_on, amani.consent_reporting_on) == (dt.date(2025, 2, 3), None)
    assert (neema.full_name, neema.phone, neema.village) == ("Neema Bahati", None, None)
    assert (neema.consent_services_on, neema.consent_reporting_on) == (dt.date(2025, 2, 10), dt.date(2025, 3, 1))
    assert (furaha.full_name, furaha.project.code, furaha.status) == ("Furaha Mwamini", CD, "active")
    assert (furaha.consent_services_on, furaha.consent_reporting_on) == (dt.date(2025, 1, 15), dt.date(2025, 1, 15))
    assert import_events() == 1


def test_a_code_given_in_a_file_keeps_later_codes_above_it(cd_project):
    do_import("beneficiaries", GOOD_MOTHERS)
    do_import("beneficiaries", csv_file(BENEFICIARY_COLUMNS,
                                        ["", CD, "Zawadi Later", "", "", "1999", "2025-04-01", "yes", "yes"]))
    assert _db.session.scalar(select(Beneficiary.code).where(Beneficiary.year_of_birth == 1999)) == "CD-M-00043"


def test_a_code_given_before_rows_without_codes_in_the_same_file_is_not_handed_out_again(cd_project):
    result = do_import("beneficiaries", csv_file(
        BENEFICIARY_COLUMNS,
        ["CD-M-00042", CD, "Furaha Mwamini", "", "", "1990", "2025-01-15", "yes", "yes"],
        ["", CD, "Amani Kahindo", "", "", "1994", "2025-02-03", "yes", "no"],
    ))
    assert (result.ok, result.created) == (True, 2)
    assert _db.session.scalars(select(Beneficiary.code).order_by(Beneficiary.code)).all() == [
        "CD-M-00042", "CD-M-00043"]


def test_the_same_woman_twice_in_one_file_is_registered_once(cd_project):
    result = do_import("beneficiaries", csv_file(
        BENEFICIARY_COLUMNS,
        ["", CD, "Amani Kahindo", "", "", "1994", "2025-02-03", "yes", "no"],
        ["", CD, "AMANI KAHINDO", "", "", "1994", "2025-02-03", "yes", "no"],
    ))
    assert (result.created, result.unchanged) == (1, 1)
    assert count(Beneficiary) == 1


def test_beneficiaries_file_imported_twice_adds_nothing_the_second_time(cd_project):
    do_import("beneficiaries", GOOD_MOTHERS)
    before = count(Beneficiary)
    again = do_import("beneficiaries", GOOD_MOTHERS)
    assert (again.ok, again.created, again.updated, again.unchanged) == (True, 0, 0, 3)
    assert count(Beneficiary) == before == 3


def test_a_new_phone_or_village_in_a_second_file_corrects_hers_and_an_empty_cell_keeps_it(cd_project):
    do_import("beneficiaries", GOOD_MOTHERS)
    again = do_import("beneficiaries", csv_file(
        BENEFICIARY_COLUMNS,
        # Amani (matched by name and year): a new phone, the same village.
        ["", CD, "Amani Kahindo", "+243 810 000 009", "Kavumu", "1994", "2025-02-03", "yes", "no"],
        # Neema: a village where she had none; no phone given.
        ["", CD, "Neema Bahati", "", "Mugunga", "1998", "2025-02-10", "yes", "no"],
        # Furaha (by code): empty phone and village: what is stored stays.
        ["CD-M-00042", CD, "Furaha Mwamini", "", "", "1990", "2025-01-15", "yes", "yes"],
    ))
    assert (again.ok, again.created, again.updated, again.unchanged) == (True, 0, 2, 1)
    mothers = {m.code: m for m in _db.session.scalars(select(Beneficiary))}
    assert (mothers["CD-M-00001"].phone, mothers["CD-M-00001"].village) == ("+243 810 000 009", "Kavumu")
    assert (mothers["CD-M-00002"].phone, mothers["CD-M-00002"].village) == (None, "Mugunga")
    assert (mothers["CD-M-00042"].phone, mothers["CD-M-00042"].village) == (None, "Ibanda")


def test_a_file_without_codes_matches_mothers_by_project_exact_name_and_year(cd_project):
    do_import("beneficiaries", GOOD_MOTHERS)
    result = do_import("beneficiaries", csv_file(
        BENEFICIARY_COLUMNS,
        ["", CD, "  amani   KAHINDO ", "", "", "1994", "2025-02-03", "yes", "no"],  # same: spacing and case
        ["", CD, "Néema Bahati", "", "", "1998", "2025-02-10", "yes", "no"],  # same: accents are folded
        ["", CD, "Amani Kahindo", "", "", "1995", "2025-02-03", "yes", "no"],  # another year: another woman
    ))
    assert (result.created, result.unchanged) == (1, 2)
    assert count(Beneficiary) == 4


def test_beneficiaries_file_with_bad_rows_saves_nothing_and_reports_every_row(cd_project, cd_staff):
    factories.ProjectFactory(code=CF, country="CF")
    rows = [
        ["", CD, "Good Mother", "", "", "1994", "2025-02-03", "yes", "no"],  # row 2: good
        ["", "TF-ZZ-2025-99", "Unknown Project", "", "", "1994", "2025-02-03", "yes", "no"],  # 3
        ["", CD, "", "", "", "1994", "2025-02-03", "yes", "no"],  # 4: empty name
        ["", CD, "Future Born", "", "", NEXT_YEAR, "2025-02-03", "yes", "no"],  # 5
        ["", CD, "Bad Date", "", "", "1994", "03/02/2025", "yes", "no"],  # 6
        ["", CD, "Long Village", "", "v" * 10_000, "1994", "2025-02-03", "yes", "no"],  # 7
        ["", CD, "Too Many", "", "", "1994", "2025-02-03", "yes", "no", "extra"],  # 8
        ["", CD, "N" * 300, "", "", "1994", "2025-02-03", "yes", "no"],  # 9: over 200 characters
        ["", CF, "Other Country", "", "", "1994", "2025-02-03", "yes", "no"],  # 10: not hers
        ["", CD, "Bad Consent", "", "", "1994", "2025-02-03", "maybe", "no"],  # 11
    ]
    before = counts(Beneficiary, AuditEvent)
    result = do_import("beneficiaries", csv_file(BENEFICIARY_COLUMNS, *rows), user=cd_staff)
    assert not result.committed
    assert problems(result) == [(3, "project_code"), (4, "full_name"), (5, "year_of_birth"), (6, "enrolled_on"),
                                (7, "village"), (8, ""), (9, "full_name"), (10, "project_code"),
                                (11, "consent_services")]
    said = messages(result)
    assert said[3] == "TF-ZZ-2025-99 is not known in your countries"
    assert said[4] == "is required"
    assert said[5] == f"must be at most {today().year}"
    assert said[6] == "03/02/2025 is not a date in the form YYYY-MM-DD"
    assert said[7] == "too long (max 1000 characters)"
    assert said[8] == "the row has 10 cells, the header has 9"
    assert said[9] == "is too long (at most 200 characters)"
    assert said[10] == f"{CF} is not known in your countries"
    assert "maybe" in said[11]
    assert counts(Beneficiary, AuditEvent) == before
    # no message repeats a name from the file
    names = [r[2] for r in rows if r[2]]
    assert not [m for m in said.values() for n in names if n in m]


def test_a_code_that_exists_with_other_details_is_refused(cd_project):
    do_import("beneficiaries", GOOD_MOTHERS)
    result = do_import("beneficiaries", csv_file(
        BENEFICIARY_COLUMNS, ["CD-M-00042", CD, "Somebody Else", "", "", "1990", "2025-01-15", "yes", "yes"]))
    assert problems(result) == [(2, "code")]
    assert messages(result)[2] == "CD-M-00042 exists already with other details"


def test_an_xlsx_file_is_read_like_a_csv(cd_project, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(BENEFICIARY_COLUMNS)
    sheet.append([None, CD, "Amani Kahindo", "+243 810 000 001", "Kavumu", 1994, dt.datetime(2025, 2, 3), True,
                  False])
    sheet.append([])  # a blank row is skipped but counted
    sheet.append([None, CD, "Neema Bahati", None, None, 1998, dt.date(2025, 2, 10), "yes", "2025-03-01"])
    path = tmp_path / "mothers.xlsx"
    workbook.save(path)
    result = do_import("beneficiaries", path.read_bytes(), filename="mothers.xlsx")
    assert (result.ok, result.created) == (True, 2)
    amani, neema = _db.session.scalars(select(Beneficiary).order_by(Beneficiary.code)).all()
    assert (amani.code, amani.phone, amani.year_of_birth, amani.enrolled_on) == (
        "CD-M-00001", "+243 810 000 001", 1994, dt.date(2025, 2, 3))
    assert (amani.consent_services_on, amani.consent_reporting_on) == (dt.date(2025, 2, 3), None)
    assert (neema.code, neema.enrolled_on, neema.consent_reporting_on) == (
        "CD-M-00002", dt.date(2025, 2, 10), dt.date(2025, 3, 1))


def test_xlsx_rows_are_numbered_as_in_the_spreadsheet(cd_project, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(BENEFICIARY_COLUMNS)
    sheet.append([None, CD, "Amani Kahindo", None, None, 1994, dt.date(2025, 2, 3), "yes", "no"])
    sheet.append([])
    sheet.append([None, CD, None, None, None, 1994, dt.date(2025, 2, 3), "yes", "no"])
    path = tmp_path / "mothers.xlsx"
    workbook.save(path)
    result = do_import("beneficiaries", path.read_bytes(), filename="mothers.xlsx")
    assert problems(result) == [(4, "full_name")]
    assert count(Beneficiary) == 0


# --- files that cannot be read ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("data, filename, says", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "mothers.csv", "This file is a PDF document, not a spreadsheet."),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "mothers.png", "This file is a PNG image, not a spreadsheet."),
    (b"code,project_code\n", "mothers.xlsx", "The file is named like an Excel workbook but is not one."),
    (b"", "mothers.csv", "The file is empty."),
    (b"\xef\xbb\xbf  \r\n", "mothers.csv", "The file is empty."),
])
def test_a_file_that_is_not_a_csv_or_xlsx_is_refused_whole(rq, data, filename, says):
    with pytest.raises(FileProblem) as excinfo:
        parse_upload(data, filename, get_kind("beneficiaries"))
    assert says in excinfo.value.message


def test_a_latin1_csv_is_refused_with_the_byte_and_line(rq):
    header = ",".join(BENEFICIARY_COLUMNS).encode()
    row = f",{CD},Am".encode() + b"\xe9lie Kahindo,,,1994,2025-02-03,yes,no\n"
    offset = len(header) + 1 + len(f",{CD},Am")  # the é, counted from 0
    with pytest.raises(FileProblem) as excinfo:
        parse_upload(header + b"\n" + row, "mothers.csv", get_kind("beneficiaries"))
    assert f"byte {offset} (line 2) is 0xE9" in excinfo.value.message
    assert "UTF-8" in excinfo.value.message


def test_a_header_without_required_columns_is_refused(rq):
    with pytest.raises(FileProblem) as excinfo:
        parse_upload(b"code,project_code,full_name\n,TF,X\n", "m.csv", get_kind("beneficiaries"))
    assert "year_of_birth, enrolled_on, consent_services, consent_reporting" in excinfo.value.message


def test_a_first_row_of_data_is_not_echoed_in_the_message(rq):
    with pytest.raises(FileProblem) as excinfo:
        parse_upload(b",TF-CD-2025-01,Amani Kahindo,,,1994\n", "m.csv", get_kind("beneficiaries"))
    assert "Amani" not in excinfo.value.message


def test_a_semicolon_separated_file_from_french_excel_is_read(cd_project):
    data = (";".join(BENEFICIARY_COLUMNS) + f"\r\n;{CD};Amani Kahindo;;;1994;2025-02-03;oui;non\r\n").encode()
    assert do_import("beneficiaries", data).created == 1


# --- children --------------------------------------------------------------------------------------------------------

GOOD_CHILDREN = csv_file(
    CHILD_COLUMNS,
    ["", "CD-M-00042", "Neema", "2016", "F"],
    ["", "CD-M-00042", "Baraka", "2018", "m"],
    ["CD-C-00042-5", "CD-M-00042", "Imani", "2020", "F"],
)


def test_children_file_creates_children_with_codes_and_values(mother):
    result = do_import("children", GOOD_CHILDREN)
    assert (result.ok, result.created) == (True, 3)
    children = {c.code: (c.first_name, c.year_of_birth, c.sex, c.mother.code)
                for c in _db.session.scalars(select(Child))}
    assert children == {
        "CD-C-00042-1": ("Neema", 2016, "F", "CD-M-00042"),
        "CD-C-00042-2": ("Baraka", 2018, "M", "CD-M-00042"),
        "CD-C-00042-5": ("Imani", 2020, "F", "CD-M-00042"),
    }
    later = do_import("children", csv_file(CHILD_COLUMNS, ["", "CD-M-00042", "Zawadi", "2021", "F"]))
    assert later.created == 1
    assert _db.session.scalar(select(Child.code).where(Child.year_of_birth == 2021)) == "CD-C-00042-6"


def test_children_file_imported_twice_adds_nothing_the_second_time(mother):
    do_import("children", GOOD_CHILDREN)
    again = do_import("children", GOOD_CHILDREN)
    assert (again.ok, again.created, again.unchanged) == (True, 0, 3)
    assert count(Child) == 3


def test_children_file_with_bad_rows_saves_nothing_and_reports_every_row(mother):
    before = counts(Child, AuditEvent)
    result = do_import("children", csv_file(
        CHILD_COLUMNS,
        ["", "CD-M-00042", "Neema", "2016", "F"],  # row 2: good
        ["", "CD-M-09999", "Neema", "2016", "F"],  # 3: unknown mother
        ["", "CD-M-00042", "Early", "1985", "F"],  # 4: born before the mother (1990)
        ["", "CD-M-00042", "Future", NEXT_YEAR, "F"],  # 5
        ["", "CD-M-00042", "", "2016", "F"],  # 6: empty name
        ["", "CD-M-00042", "Neema", "2016", "X"],  # 7
        ["", "CD-M-00042", "Neema", "2016", "F", "extra"],  # 8
        ["", "CD-M-00042", "Neema", "twenty", "F"],  # 9
        ["CD-C-00777-1", "CD-M-00042", "Other", "2016", "F"],  # 10: not a code of hers
    ))
    assert problems(result) == [(3, "mother_code"), (4, "year_of_birth"), (5, "year_of_birth"), (6, "first_name"),
                                (7, "sex"), (8, ""), (9, "year_of_birth"), (10, "code")]
    said = messages(result)
    assert said[3] == "CD-M-09999 is not known in your countries"
    assert said[4] == "is too early: the mother was born in 1990"
    assert said[6] == "is required"
    assert said[7] == "X is not one of: F, M"
    assert said[9] == "twenty is not a whole number"
    assert counts(Child, AuditEvent) == before


# --- enrolments ------------------------------------------------------------------------------------------------------


@pytest.fixture
def children(mother):
    """CD-C-00042-1 (born 2016) in CD, and CF-C-00007-1 in CF."""
    cd = factories.ChildFactory(mother=mother, number=1, year_of_birth=2016)
    cf_mother = factories.BeneficiaryFactory(project__country="CF", project__code=CF, number=7)
    cf = factories.ChildFactory(mother=cf_mother, number=1, year_of_birth=2016)
    return cd.code, cf.code


GOOD_ENROLMENTS = csv_file(
    ENROLMENT_COLUMNS,
    ["CD-C-00042-1", "EP Mapendo", "2025-2026", "P3", "45000.50", "CDF", "3"],
    ["CD-C-00042-1", "EP Mapendo", "2024-2025", "P2", "40000", "cdf", "2"],
)


def test_enrolments_file_creates_enrolments_with_values(children, cd_staff):
    result = do_import("enrolments", GOOD_ENROLMENTS, user=cd_staff)
    assert (result.ok, result.created) == (True, 2)
    rows = _db.session.execute(select(Enrolment.academic_year, Enrolment.school, Enrolment.grade,
                                      Enrolment.fee_per_term, Enrolment.currency, Enrolment.terms)
                               .order_by(Enrolment.academic_year)).all()
    assert [tuple(r) for r in rows] == [("2024-2025", "EP Mapendo", "P2", Decimal("40000.00"), "CDF", 2),
                                        ("2025-2026", "EP Mapendo", "P3", Decimal("45000.50"), "CDF", 3)]


def test_enrolments_file_imported_twice_adds_nothing_and_a_changed_fee_updates(children, cd_staff):
    do_import("enrolments", GOOD_ENROLMENTS, user=cd_staff)
    again = do_import("enrolments", GOOD_ENROLMENTS, user=cd_staff)
    assert (again.ok, again.created, again.unchanged) == (True, 0, 2)
    changed = do_import("enrolments", csv_file(
        ENROLMENT_COLUMNS, ["CD-C-00042-1", "EP Mapendo", "2025-2026", "P3", "47000", "CDF", "3"]), user=cd_staff)
    assert (changed.created, changed.updated) == (0, 1)
    assert count(Enrolment) == 2
    assert _db.session.scalar(select(Enrolment.fee_per_term).where(Enrolment.academic_year == "2025-2026")) == \
        Decimal("47000.00")


def test_enrolments_file_with_bad_rows_saves_nothing_and_reports_every_row(children, cd_staff):
    before = counts(Enrolment, AuditEvent)
    result = do_import("enrolments", csv_file(
        ENROLMENT_COLUMNS,
        ["CD-C-00042-1", "EP Mapendo", "2025-2026", "P3", "45000", "CDF", "3"],  # row 2: good
        ["CD-C-00042-9", "EP Mapendo", "2024-2025", "P3", "45000", "CDF", "3"],  # 3: unknown child
        ["CF-C-00007-1", "EP Bangui", "2024-2025", "P3", "45000", "XAF", "3"],  # 4: outside her countries
        ["CD-C-00042-1", "EP Mapendo", "2024/2025", "P3", "45000", "CDF", "3"],  # 5
        ["CD-C-00042-1", "EP Mapendo", "2024-2025", "P3", "45,000", "CDF", "3"],  # 6
        ["CD-C-00042-1", "EP Mapendo", "2024-2025", "P3", "45000", "CDF", "5"],  # 7
        ["CD-C-00042-1", "S" * 10_000, "2024-2025", "P3", "45000", "CDF", "3"],  # 8
        ["CD-C-00042-1", "EP Mapendo", "2024-2025", "P3", "45000", "ZZZ", "3"],  # 9
        ["CD-C-00042-1", "EP Mapendo", "2014-2015", "P3", "45000", "CDF", "3"],  # 10: before the child could go
    ), user=cd_staff)
    assert problems(result) == [(3, "child_code"), (4, "child_code"), (5, "academic_year"), (6, "fee_per_term"),
                                (7, "terms"), (8, "school"), (9, "currency"), (10, "academic_year")]
    said = messages(result)
    assert said[3] == "CD-C-00042-9 is not known in your countries"
    assert said[4] == "CF-C-00007-1 is not known in your countries"
    assert said[7] == "must be at most 4"
    assert said[8] == "too long (max 1000 characters)"
    assert counts(Enrolment, AuditEvent) == before


def test_without_a_user_the_command_line_knows_every_country(children):
    result = do_import("enrolments", csv_file(
        ENROLMENT_COLUMNS, ["CF-C-00007-1", "EP Bangui", "2025-2026", "CP", "15000", "XAF", "3"]), user=None)
    assert (result.ok, result.created) == (True, 1)


# --- claims ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def three_children(mother):
    for number in (1, 2, 3):
        factories.ChildFactory(mother=mother, number=number, year_of_birth=2016)


GOOD_CLAIMS = csv_file(
    CLAIM_COLUMNS,
    ["CD-C-00042-1", "UY", "military", "dna_sample_collected", "2024-03-04", "2024-04-10", "2024-09-02", "", ""],
    ["CD-C-00042-2", "za", "police", "support_ordered", "2023-01-10", "2023-02-01", "2023-05-01", "2023-08-01",
     "2024-01-15"],
    ["CD-C-00042-3", "UY", "civilian", "withdrawn", "2024-06-01", "", "", "", "2024-07-01"],
)


def steps_of(child_code: str) -> list[tuple[str, dt.date]]:
    claim = _db.session.scalar(select(PaternityClaim).join(PaternityClaim.child).where(Child.code == child_code))
    return [(s.step, s.occurred_on) for s in claim.steps if s.superseded_at is None]


def claim_of(child_code: str):
    return _db.session.scalar(select(PaternityClaim).join(PaternityClaim.child).where(Child.code == child_code))


def test_claims_file_creates_claims_with_their_dated_steps(three_children):
    result = do_import("claims", GOOD_CLAIMS)
    assert (result.ok, result.created) == (True, 3)
    first, second, third = (claim_of(f"CD-C-00042-{n}") for n in (1, 2, 3))
    assert (first.member_state, first.personnel_category, first.status, first.status_on) == (
        "UY", "military", "dna_sample_collected", dt.date(2024, 9, 2))
    assert steps_of("CD-C-00042-1") == [("received", dt.date(2024, 3, 4)),
                                        ("notified_to_member_state", dt.date(2024, 4, 10)),
                                        ("dna_sample_collected", dt.date(2024, 9, 2))]
    assert (second.member_state, second.status, second.status_on) == ("ZA", "support_ordered", dt.date(2024, 1, 15))
    assert steps_of("CD-C-00042-2") == [("received", dt.date(2023, 1, 10)),
                                        ("notified_to_member_state", dt.date(2023, 2, 1)),
                                        ("dna_sample_collected", dt.date(2023, 5, 1)),
                                        ("dna_result_received", dt.date(2023, 8, 1)),
                                        ("paternity_established", dt.date(2024, 1, 15)),
                                        ("support_ordered", dt.date(2024, 1, 15))]
    assert steps_of("CD-C-00042-3") == [("received", dt.date(2024, 6, 1)), ("withdrawn", dt.date(2024, 7, 1))]
    assert third.status == "withdrawn"


def test_claims_file_imported_twice_adds_nothing_the_second_time(three_children):
    do_import("claims", GOOD_CLAIMS)
    before = counts(PaternityClaim, ClaimStep)
    again = do_import("claims", GOOD_CLAIMS)
    assert (again.ok, again.created, again.updated, again.unchanged) == (True, 0, 0, 3)
    assert counts(PaternityClaim, ClaimStep) == before == (3, 11)


def test_a_later_file_moves_a_claim_on(three_children):
    do_import("claims", GOOD_CLAIMS)
    result = do_import("claims", csv_file(CLAIM_COLUMNS, [
        "CD-C-00042-1", "UY", "military", "dna_result_received", "2024-03-04", "2024-04-10", "2024-09-02",
        "2024-12-01", ""]))
    assert (result.ok, result.updated) == (True, 1)
    assert (claim_of("CD-C-00042-1").status, claim_of("CD-C-00042-1").status_on) == (
        "dna_result_received", dt.date(2024, 12, 1))


def test_a_file_cannot_move_a_claim_backwards(three_children):
    do_import("claims", GOOD_CLAIMS)
    before = counts(ClaimStep)
    result = do_import("claims", csv_file(CLAIM_COLUMNS, [
        "CD-C-00042-1", "UY", "military", "notified_to_member_state", "2024-03-04", "2024-04-10", "", "", ""]))
    assert problems(result) == [(2, "status")]
    assert "correct them on the claim's page" in messages(result)[2]
    assert counts(ClaimStep) == before
    assert claim_of("CD-C-00042-1").status == "dna_sample_collected"


def test_claims_file_with_bad_rows_saves_nothing_and_reports_every_row(three_children):
    before = counts(PaternityClaim, ClaimStep, AuditEvent)
    b = "CD-C-00042-2"
    result = do_import("claims", csv_file(
        CLAIM_COLUMNS,
        ["CD-C-00042-1", "UY", "military", "received", "2024-03-04", "", "", "", ""],  # row 2: good
        [b, "UY", "military", "notified_to_member_state", "2025-03-01", "2025-02-01", "", "", ""],  # 3: backwards
        [b, "UY", "military", "received", "2025-03-01", "", "2025-04-01", "", ""],  # 4: step beyond the status
        [b, "UY", "military", "received", "1 March 2025", "", "", "", ""],  # 5
        ["CD-C-09999-1", "UY", "military", "received", "2025-03-01", "", "", "", ""],  # 6
        [b, "UY", "military", "approved", "2025-03-01", "", "", "", ""],  # 7
        [b, "ZZ", "military", "received", "2025-03-01", "", "", "", ""],  # 8
        [b, "UY", "military", "paternity_established", "2025-03-01", "", "", "", ""],  # 9: no outcome date
        [b, "UY", "military", "received", "", "", "", "", ""],  # 10: no received date
        [b, "UY", "military", "dna_result_received", "2025-03-01", "", "", "2025-04-01", "2025-05-01"],  # 11
        [b, "UY", "army", "received", "2025-03-01", "", "", "", ""],  # 12
    ))
    assert problems(result) == [(3, "notified_on"), (4, "dna_sample_on"), (5, "received_on"), (6, "child_code"),
                                (7, "status"), (8, "member_state"), (9, "outcome_on"), (10, "received_on"),
                                (11, "outcome_on"), (12, "personnel_category")]
    said = messages(result)
    assert said[3] == "is before the previous step (2025-03-01)"
    assert said[4] == "is given but the status is received"
    assert said[5] == "1 March 2025 is not a date in the form YYYY-MM-DD"
    assert said[9] == said[10] == "is required"
    assert counts(PaternityClaim, ClaimStep, AuditEvent) == before


# --- income projects -------------------------------------------------------------------------------------------------


@pytest.fixture
def two_mothers(mother):
    """CD-M-00042 and CD-M-00043; IGA-CD-00043-1 is the second one's."""
    other = factories.BeneficiaryFactory(project=mother.project, number=43)
    factories.IncomeProjectFactory(beneficiary=other, reference="IGA-CD-00043-1")


GOOD_INCOME = csv_file(
    INCOME_COLUMNS,
    ["IGA-CD-00042-1", "CD-M-00042", "tailoring", "2025-03-01", "350000", "CDF", "active"],
    ["IGA-CD-00042-2", "CD-M-00042", "small trade", "2025-06-15", "120.50", "usd", "planned"],
)


def test_income_projects_file_creates_activities_with_values(two_mothers):
    result = do_import("income_projects", GOOD_INCOME)
    assert (result.ok, result.created) == (True, 2)
    rows = _db.session.execute(
        select(IncomeProject.reference, Beneficiary.code, IncomeProject.activity, IncomeProject.started_on,
               IncomeProject.planned_grant, IncomeProject.currency, IncomeProject.status)
        .join(IncomeProject.beneficiary).where(Beneficiary.code == "CD-M-00042").order_by(IncomeProject.reference)
    ).all()
    assert [tuple(r) for r in rows] == [
        ("IGA-CD-00042-1", "CD-M-00042", "tailoring", dt.date(2025, 3, 1), Decimal("350000.00"), "CDF", "active"),
        ("IGA-CD-00042-2", "CD-M-00042", "small trade", dt.date(2025, 6, 15), Decimal("120.50"), "USD", "planned"),
    ]


def test_income_projects_file_imported_twice_adds_nothing_the_second_time(two_mothers):
    do_import("income_projects", GOOD_INCOME)
    again = do_import("income_projects", GOOD_INCOME)
    assert (again.ok, again.created, again.unchanged) == (True, 0, 2)
    assert count(IncomeProject) == 3


def test_income_projects_file_with_bad_rows_saves_nothing_and_reports_every_row(two_mothers):
    before = counts(IncomeProject, AuditEvent)
    m = "CD-M-00042"
    result = do_import("income_projects", csv_file(
        INCOME_COLUMNS,
        ["IGA-CD-00042-1", m, "tailoring", "2025-03-01", "350000", "CDF", "active"],  # row 2: good
        ["IGA-CD-00043-1", m, "farming", "2025-03-01", "1000", "CDF", "active"],  # 3: another mother's reference
        ["IGA-X-1", "CD-M-09999", "farming", "2025-03-01", "1000", "CDF", "active"],  # 4
        ["IGA-X-2", m, "farming", "2025-02-30", "1000", "CDF", "active"],  # 5
        ["IGA-X-3", m, "farming", "2025-03-01", "abc", "CDF", "active"],  # 6
        ["IGA-X-4", m, "farming", "2025-03-01", "1000", "CDF", "finished"],  # 7
        ["IGA-X-5", m, "", "2025-03-01", "1000", "CDF", "active"],  # 8
        ["IGA-X-6", m, "farming", "2025-03-01", "1000", "ZZZ", "active"],  # 9
        ["IGA-CD-00042-1", "CD-M-00043", "tailoring", "2025-03-01", "350000", "CDF", "active"],  # 10: row 2's
        ["", m, "farming", "2025-03-01", "1000", "CDF", "active"],  # 11
    ))
    assert problems(result) == [(3, "reference"), (4, "mother_code"), (5, "started_on"), (6, "planned_grant"),
                                (7, "status"), (8, "activity"), (9, "currency"), (10, "reference"),
                                (11, "reference")]
    said = messages(result)
    assert said[3] == "IGA-CD-00043-1 belongs to another mother"
    assert said[10] == "IGA-CD-00042-1 belongs to another mother"
    assert said[5] == "2025-02-30 is not a date in the form YYYY-MM-DD"
    assert counts(IncomeProject, AuditEvent) == before


# --- income reports --------------------------------------------------------------------------------------------------


@pytest.fixture
def activity(mother):
    return factories.IncomeProjectFactory(beneficiary=mother, reference="IGA-CD-00042-1", currency="CDF",
                                          started_on=dt.date(2025, 3, 1))


GOOD_REPORTS = csv_file(
    REPORT_COLUMNS,
    ["IGA-CD-00042-1", "2025-04", "180000", "95000", "CDF"],
    ["IGA-CD-00042-1", "2025-05", "150000.50", "160000", "cdf"],
)


def test_income_reports_file_creates_reports_with_values(activity):
    result = do_import("income_reports", GOOD_REPORTS)
    assert (result.ok, result.created) == (True, 2)
    rows = _db.session.execute(select(IncomeReport.month, IncomeReport.revenue, IncomeReport.costs,
                                      IncomeReport.currency).order_by(IncomeReport.month)).all()
    assert [tuple(r) for r in rows] == [
        (dt.date(2025, 4, 1), Decimal("180000.00"), Decimal("95000.00"), "CDF"),
        (dt.date(2025, 5, 1), Decimal("150000.50"), Decimal("160000.00"), "CDF"),
    ]


def test_income_reports_file_imported_twice_adds_nothing_and_a_correction_updates(activity):
    do_import("income_reports", GOOD_REPORTS)
    again = do_import("income_reports", GOOD_REPORTS)
    assert (again.ok, again.created, again.unchanged) == (True, 0, 2)
    corrected = do_import("income_reports", csv_file(REPORT_COLUMNS,
                                                     ["IGA-CD-00042-1", "2025-04", "185000", "95000", "CDF"]))
    assert (corrected.created, corrected.updated) == (0, 1)
    assert count(IncomeReport) == 2


def _next_month() -> str:
    now = today()
    return f"{now.year + 1}-01" if now.month == 12 else f"{now.year}-{now.month + 1:02d}"


def test_income_reports_file_with_bad_rows_saves_nothing_and_reports_every_row(activity):
    before = counts(IncomeReport, AuditEvent)
    ref = "IGA-CD-00042-1"
    result = do_import("income_reports", csv_file(
        REPORT_COLUMNS,
        [ref, "2025-04", "180000", "95000", "CDF"],  # row 2: good
        ["IGA-NOPE", "2025-04", "1", "0", "CDF"],  # 3
        [ref, "2025-13", "1", "0", "CDF"],  # 4
        [ref, _next_month(), "1", "0", "CDF"],  # 5: in the future
        [ref, "2025-06", "1", "0", "USD"],  # 6: not the activity's currency
        [ref, "2025-07", "-5", "0", "CDF"],  # 7
        [ref, "2025-02", "1", "0", "CDF"],  # 8: before the activity started
        [ref, "2025-04", "1", "0", "CDF"],  # 9: row 2's month again, other figures: an update, fine
        [ref, "April 2025", "1", "0", "CDF"],  # 10
    ))
    assert problems(result) == [(3, "income_project_reference"), (4, "month"), (5, "month"), (6, "currency"),
                                (7, "revenue"), (8, "month"), (10, "month")]
    said = messages(result)
    assert said[3] == "IGA-NOPE is not known in your countries"
    assert said[5] == "is in the future"
    assert said[6] == "reports of IGA-CD-00042-1 are in CDF"
    assert said[8] == "is before the activity started"
    assert counts(IncomeReport, AuditEvent) == before


# --- the command line ------------------------------------------------------------------------------------------------

@pytest.fixture
def cli_project(app):
    with app.app_context():
        factories.ProjectFactory(code=CD, country="CD")


def _beneficiaries(app) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count(Beneficiary.id)))


def test_command_imports_a_good_file(runner, app, cli_project, tmp_path):
    path = tmp_path / "mothers.csv"
    path.write_bytes(GOOD_MOTHERS)
    result = runner.invoke(args=["import", "beneficiaries", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 rows: 3 created" in result.output
    assert _beneficiaries(app) == 3
    again = runner.invoke(args=["import", "beneficiaries", str(path)])
    assert again.exit_code == 0 and "3 rows: 3 unchanged" in again.output
    assert _beneficiaries(app) == 3


def test_command_dry_run_saves_nothing(runner, app, cli_project, tmp_path):
    path = tmp_path / "mothers.csv"
    path.write_bytes(GOOD_MOTHERS)
    result = runner.invoke(args=["import", "beneficiaries", str(path), "--dry-run"])
    assert result.exit_code == 0
    assert "dry run: nothing saved (3 rows: 3 created)" in result.output
    assert _beneficiaries(app) == 0


BAD_MOTHERS = csv_file(
    BENEFICIARY_COLUMNS,
    ["", CD, "Good Mother", "", "", "1994", "2025-02-03", "yes", "no"],
    ["", CD, "", "", "", "1994", "2025-02-03", "yes", "no"],
    ["", CD, "Bad Date", "", "", "1994", "2025-02-31", "yes", "no"],
)


def test_command_prints_each_bad_row_with_its_number_and_column_and_saves_nothing(runner, app, cli_project,
                                                                                  tmp_path):
    path = tmp_path / "mothers.csv"
    path.write_bytes(BAD_MOTHERS)
    result = runner.invoke(args=["import", "beneficiaries", str(path)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "row 3: full_name: is required" in result.output
    assert "row 4: enrolled_on: 2025-02-31 is not a date in the form YYYY-MM-DD" in result.output
    assert "nothing saved: 2 rows with errors" in result.output
    assert "Good Mother" not in result.output
    assert _beneficiaries(app) == 0


def test_command_refuses_a_file_that_is_not_a_spreadsheet_with_a_message(runner, app, cli_project, tmp_path):
    path = tmp_path / "mothers.csv"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    result = runner.invoke(args=["import", "beneficiaries", str(path)])
    assert result.exit_code == 1
    assert "Error: This file is a PDF document, not a spreadsheet." in result.output


def test_command_refuses_an_unknown_kind(runner, app, tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"a\n1\n")
    result = runner.invoke(args=["import", "mothers", str(path)])
    assert result.exit_code == 1
    assert "unknown kind 'mothers'" in result.output
