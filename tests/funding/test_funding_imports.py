"""Spreadsheet imports of the Fund's money (DESIGN section 7): projects, budget lines, donors, pledges,
contributions and allocations.

Each kind: a good file, a file with bad rows (nothing saved, every error as
``row N: column: message``; the header is row 1) and the same file twice
(nothing new). Imports run as a manager of CD and CF, inside a test request
context (the refused rows' messages are translated). A pledges or allocations
row that repeats an earlier row of its file is refused: two equal allocations
on one day need two references.
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
from tracker.imports.kinds import KINDS, get_kind
from tracker.imports.reading import parse_upload
from tracker.imports.running import run_import
from tracker.models import Allocation, AuditEvent, BudgetLine, Contribution, Donor, Partner, Pledge, Project

PROJECT_COLUMNS = ["code", "title", "country", "partner", "start_date", "end_date", "status"]
BUDGET_COLUMNS = ["project_code", "year", "category", "amount_usd"]
DONOR_COLUMNS = ["name", "kind", "country"]
PLEDGE_COLUMNS = ["reference", "donor", "amount", "currency", "pledged_on", "project_code", "country"]
CONTRIBUTION_COLUMNS = ["reference", "donor", "amount", "currency", "received_on", "pledge_reference"]
ALLOCATION_COLUMNS = ["project_code", "amount_usd", "allocated_on", "reference"]
#: Allocation files made before the reference column keep importing as they did.
ALLOCATION_COLUMNS_BEFORE_REFERENCES = ALLOCATION_COLUMNS[:3]
CD, CF, SS = "TF-CD-2025-01", "TF-CF-2025-01", "TF-SS-2025-01"


@pytest.fixture
def manager(rq):
    """A manager of CD and CF; projects TF-CD-2025-01, TF-CF-2025-01 (2025–2026) and TF-SS-2025-01 exist."""
    for code, country in ((CD, "CD"), (CF, "CF"), (SS, "SS")):
        factories.ProjectFactory(code=code, country=country, partner=factories.PartnerFactory(name=f"NGO {country}"))
    return factories.UserFactory(role="manager", countries=["CD", "CF"])


@pytest.fixture
def donors(manager):
    factories.DonorFactory(name="Japan")
    factories.DonorFactory(name="Sweden")
    factories.ExchangeRateFactory(currency="JPY", valid_from=dt.date(2025, 1, 1), usd_per_unit=Decimal("0.0067"))


def csv_file(header: list[str], *rows: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def do_import(kind_name: str, data: bytes, user):
    kind = get_kind(kind_name)
    parsed = parse_upload(data, "file.csv", kind)
    return run_import(kind, parsed, read_errors=parsed.errors, user=user, dry_run=False, history=False)


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


def outcome(result) -> tuple[bool, int, int, int]:
    return result.committed, result.created, result.updated, result.unchanged


def errors(result) -> list[str]:
    return [str(e) for e in result.errors]


def test_the_six_kinds_need_funding_manage(app):
    for name in ("projects", "budget_lines", "donors", "pledges", "contributions", "allocations"):
        assert KINDS[name].permission == "funding.manage", name


def test_the_kinds_have_exactly_the_columns_of_the_design(app):
    # The files below are written without the optional French names, as files made before them were.
    assert list(KINDS["projects"].column_names) == [*PROJECT_COLUMNS, "title_fr"]
    assert list(KINDS["budget_lines"].column_names) == BUDGET_COLUMNS
    assert list(KINDS["donors"].column_names) == [*DONOR_COLUMNS, "name_fr"]
    assert KINDS["projects"].required_columns == tuple(PROJECT_COLUMNS)
    assert list(KINDS["pledges"].column_names) == PLEDGE_COLUMNS
    assert list(KINDS["contributions"].column_names) == CONTRIBUTION_COLUMNS
    assert list(KINDS["allocations"].column_names) == ALLOCATION_COLUMNS
    assert KINDS["donors"].required_columns == ("name", "kind")
    assert KINDS["pledges"].required_columns == ("reference", "donor", "amount", "currency", "pledged_on")
    assert KINDS["contributions"].required_columns == ("reference", "donor", "amount", "currency", "received_on")
    assert KINDS["allocations"].required_columns == ("project_code", "amount_usd", "allocated_on")


def test_staff_cannot_open_the_funding_imports(staff_client):
    assert staff_client.get("/imports/pledges").status_code == 403


# --- projects --------------------------------------------------------------------------------------------------------

NEW_PROJECTS = csv_file(
    PROJECT_COLUMNS,
    ["TF-CD-2025-02", "Assistance in Bunia", "CD", "Bunia Women", "2025-03-01", "2026-12-31", "active"],
    ["TF-CF-2025-02", "Assistance in Bambari", "CF", "NGO CF", "2025-01-01", "2025-12-31", "pipeline"],
)


def test_projects_file_creates_projects_then_adds_nothing(manager):
    result = do_import("projects", NEW_PROJECTS, manager)
    assert errors(result) == []
    assert outcome(result) == (True, 2, 0, 0)
    made = {p.code: p for p in _db.session.scalars(select(Project).where(Project.code.in_(
        ["TF-CD-2025-02", "TF-CF-2025-02"])))}
    bunia, bambari = made["TF-CD-2025-02"], made["TF-CF-2025-02"]
    assert (bunia.title, bunia.country, bunia.partner.name, bunia.start_date, bunia.end_date, bunia.status) == (
        "Assistance in Bunia", "CD", "Bunia Women", dt.date(2025, 3, 1), dt.date(2026, 12, 31), "active")
    assert (bambari.partner.name, bambari.status) == ("NGO CF", "pipeline")
    assert count(Partner) == 4  # NGO CD, NGO CF, NGO SS and the new Bunia Women
    assert outcome(do_import("projects", NEW_PROJECTS, manager)) == (True, 0, 0, 2)


def test_projects_file_updates_a_known_project_and_leaves_a_same_one_unchanged(manager):
    data = csv_file(
        PROJECT_COLUMNS,
        [CD, "Assistance project renamed", "CD", "Other NGO", "2025-01-01", "2027-12-31", "active"],
        [CF, "Assistance project 2", "CF", "NGO CF", "2025-01-01", "2026-12-31", "active"],
    )
    _db.session.scalars(select(Project).where(Project.code == CF)).one().title = "Assistance project 2"
    _db.session.commit()
    result = do_import("projects", data, manager)
    assert errors(result) == []
    assert outcome(result) == (True, 0, 1, 1)
    cd = _db.session.scalars(select(Project).where(Project.code == CD)).one()
    assert (cd.title, cd.partner.name, cd.end_date) == (
        "Assistance project renamed", "Other NGO", dt.date(2027, 12, 31))
    # the same file again changes nothing
    assert outcome(do_import("projects", data, manager)) == (True, 0, 0, 2)


def test_projects_file_with_bad_rows_saves_nothing(manager):
    data = csv_file(
        PROJECT_COLUMNS,
        [CD, "Renamed", "CD", "NGO CD", "2025-01-01", "2026-12-31", "active"],
        ["TF-SS-2025-09", "Juba", "SS", "NGO SS", "2025-01-01", "2026-12-31", "active"],
        ["TF-CD-2025-09", "Goma", "XX", "NGO CD", "2025-01-01", "2026-12-31", "active"],
        [CF, "Bangui", "CF", "NGO CF", "2025-01-01", "2024-12-31", "active"],
        [CF, "Bangui", "CF", "NGO CF", "2025-01-01", "2026-12-31", "running"],
        [SS, "Juba", "CF", "NGO SS", "2025-01-01", "2026-12-31", "active"],
    )
    result = do_import("projects", data, manager)
    assert errors(result) == [
        "row 3: country: SS is not one of your countries",
        "row 4: country: XX is not an ISO 3166 country code such as CD",
        "row 5: end_date: is before the start date",
        "row 6: status: running is not one of: pipeline, active, closed",
        f"row 7: code: {SS} exists already",
    ]
    assert result.committed is False
    _db.session.expire_all()
    assert _db.session.scalars(select(Project.title).where(Project.code == CD)).one() != "Renamed"


# --- budget lines ----------------------------------------------------------------------------------------------------

GOOD_BUDGET = csv_file(
    BUDGET_COLUMNS,
    [CD, "2025", "school_fees", "24000.00"],
    [CD, "2026", "school_fees", "26000"],
    [CF, "2025", "medical", "8000.50"],
)


def test_budget_lines_file_creates_lines_then_adds_nothing(manager):
    result = do_import("budget_lines", GOOD_BUDGET, manager)
    assert errors(result) == []
    assert outcome(result) == (True, 3, 0, 0)
    lines = {(p, y, c): a for p, y, c, a in _db.session.execute(
        select(Project.code, BudgetLine.year, BudgetLine.category, BudgetLine.amount_usd).join(BudgetLine.project))}
    assert lines == {(CD, 2025, "school_fees"): Decimal("24000.00"), (CD, 2026, "school_fees"): Decimal("26000.00"),
                     (CF, 2025, "medical"): Decimal("8000.50")}
    again = do_import("budget_lines", GOOD_BUDGET, manager)
    assert outcome(again) == (True, 0, 0, 3)
    assert count(BudgetLine) == 3


def test_budget_lines_file_with_another_amount_updates_the_line(manager):
    do_import("budget_lines", GOOD_BUDGET, manager)
    result = do_import("budget_lines", csv_file(BUDGET_COLUMNS, [CD, "2025", "school_fees", "30000"],
                                                [CF, "2025", "medical", "8000.50"]), manager)
    assert outcome(result) == (True, 0, 1, 1)
    assert _db.session.scalar(select(func.sum(BudgetLine.amount_usd))) == Decimal("64000.50")  # 30,000+26,000+8,000.50


def test_budget_lines_file_with_bad_rows_saves_nothing(manager):
    data = csv_file(
        BUDGET_COLUMNS,
        [CD, "2025", "school_fees", "24000.00"],
        [CD, "2027", "medical", "100"],
        [SS, "2025", "medical", "100"],
        ["TF-XX-0000-00", "2025", "medical", "100"],
        [CF, "2025", "travel", "100"],
        [CF, "2025", "legal", "1,000"],
        [CF, "twenty", "legal", "100"],
    )
    result = do_import("budget_lines", data, manager)
    assert errors(result) == [
        "row 3: year: 2027 is outside the project's dates (2025–2026)",
        f"row 4: project_code: {SS} is not known in your countries",
        "row 5: project_code: TF-XX-0000-00 is not known in your countries",
        "row 6: category: travel is not one of: school_fees, iga, medical, psychosocial, legal, material, "
        "outreach, admin",
        "row 7: amount_usd: '1,000' is not a plain amount like 1250.50 (digits and one dot only: no spaces, no commas)",
        "row 8: year: twenty is not a whole number",
    ]
    assert result.committed is False
    assert count(BudgetLine) == 0


# --- donors ----------------------------------------------------------------------------------------------------------

GOOD_DONORS = csv_file(
    DONOR_COLUMNS,
    ["Kingdom of Norway", "member_state", "NO"],
    ["African Union", "intergovernmental", ""],
    ["Withheld payments", "withheld_payments", ""],
)


def test_donors_file_creates_donors_then_adds_nothing(manager):
    result = do_import("donors", GOOD_DONORS, manager)
    assert errors(result) == []
    assert outcome(result) == (True, 3, 0, 0)
    assert dict(_db.session.execute(select(Donor.name, Donor.country)).all()) == {
        "Kingdom of Norway": "NO", "African Union": None, "Withheld payments": None}
    assert outcome(do_import("donors", GOOD_DONORS, manager)) == (True, 0, 0, 3)
    assert count(Donor) == 3


def test_donors_file_with_another_kind_updates_the_donor(manager):
    do_import("donors", GOOD_DONORS, manager)
    result = do_import("donors", csv_file(DONOR_COLUMNS, ["African Union", "intergovernmental", "ET"]), manager)
    assert outcome(result) == (True, 0, 1, 0)
    assert _db.session.scalar(select(Donor.country).where(Donor.name == "African Union")) == "ET"


def test_donors_file_with_bad_rows_saves_nothing(manager):
    data = csv_file(
        DONOR_COLUMNS,
        ["Kingdom of Norway", "member_state", "NO"],
        ["Foundation X", "foundation", ""],
        ["Republic of Nowhere", "member_state", "QQ"],
        ["", "private", ""],
    )
    result = do_import("donors", data, manager)
    assert errors(result) == [
        "row 3: kind: foundation is not one of: member_state, intergovernmental, ngo, private, withheld_payments",
        "row 4: country: QQ is not an ISO 3166 country code such as CD",
        "row 5: name: is required",
    ]
    assert count(Donor) == 0


# --- pledges ---------------------------------------------------------------------------------------------------------

GOOD_PLEDGES = csv_file(
    PLEDGE_COLUMNS,
    ["PL-JP-1", "Japan", "1000000", "JPY", "2025-03-01", "", ""],
    ["PL-JP-2", "Japan", "25000.50", "USD", "2025-04-01", CD, ""],
    ["PL-SE-1", "Sweden", "10000", "USD", "2025-05-01", "", "CF"],
)


def test_pledges_file_records_pledges_with_frozen_usd_then_adds_nothing(donors, manager):
    result = do_import("pledges", GOOD_PLEDGES, manager)
    assert errors(result) == []
    assert outcome(result) == (True, 3, 0, 0)
    rows = {r.reference: r for r in _db.session.execute(
        select(Pledge.reference, Donor.name, Pledge.usd_amount, Pledge.usd_rate, Pledge.country, Project.code)
        .join(Pledge.donor).outerjoin(Pledge.project))}
    # 1,000,000 JPY × 0.0067 = 6,700.00 USD
    assert (rows["PL-JP-1"].name, rows["PL-JP-1"].usd_amount, rows["PL-JP-1"].usd_rate) == (
        "Japan", Decimal("6700.00"), Decimal("0.00670000"))
    assert (rows["PL-JP-2"].usd_amount, rows["PL-JP-2"].code, rows["PL-JP-2"].country) == (
        Decimal("25000.50"), CD, "CD")
    assert (rows["PL-SE-1"].name, rows["PL-SE-1"].code, rows["PL-SE-1"].country) == ("Sweden", None, "CF")
    again = do_import("pledges", GOOD_PLEDGES, manager)
    assert outcome(again) == (True, 0, 0, 3)
    assert count(Pledge) == 3


def test_pledge_reference_with_other_data_is_an_error_on_that_row(donors, manager):
    do_import("pledges", GOOD_PLEDGES, manager)
    data = csv_file(
        PLEDGE_COLUMNS,
        ["PL-JP-1", "Japan", "1000000", "JPY", "2025-03-01", "", ""],
        ["PL-JP-2", "Japan", "25000.51", "USD", "2025-04-01", CD, ""],
        ["PL-SE-1", "Japan", "10000", "USD", "2025-05-01", "", "CF"],
        ["PL-SE-9", "Sweden", "5", "USD", "2025-05-01", "", ""],
    )
    result = do_import("pledges", data, manager)
    assert errors(result) == [
        "row 3: amount: differs from the recorded PL-JP-2",
        "row 4: donor: differs from the recorded PL-SE-1",
    ]
    assert count(Pledge) == 3


def test_pledges_file_with_bad_rows_saves_nothing(donors, manager):
    data = csv_file(
        PLEDGE_COLUMNS,
        ["PL-JP-1", "Japan", "1000000", "JPY", "2025-03-01", "", ""],
        ["PL-JP-3", "Japan", "1000", "XYZ", "2025-03-01", "", ""],
        ["PL-JP-4", "Japan", "1000", "EUR", "2025-03-01", "", ""],
        ["PL-JP-5", "Japan", "1000000", "JPY", "2024-12-31", "", ""],
        ["PL-XX-1", "Atlantis", "1000", "USD", "2025-03-01", "", ""],
        ["PL-SE-2", "Sweden", "1000", "USD", "2025-03-01", SS, ""],
        ["PL-SE-3", "Sweden", "1000", "USD", "2025-03-01", CD, "CF"],
        ["PL-SE-4", "Sweden", "1000000000.01", "USD", "2025-03-01", "", ""],
        ["PL-JP-1", "Japan", "1000000", "JPY", "2025-03-01", "", ""],
    )
    result = do_import("pledges", data, manager)
    assert errors(result) == [
        "row 3: currency: XYZ is not an ISO 4217 currency code such as USD",
        "row 4: currency: there is no exchange rate for EUR on 2025-03-01; an administrator must add one",
        "row 5: currency: there is no exchange rate for JPY on 2024-12-31; an administrator must add one",
        "row 6: donor: Atlantis is not a known donor",
        f"row 7: project_code: {SS} is not known in your countries",
        f"row 8: country: project {CD} is not in CF",
        "row 9: amount: is larger than any amount the Fund handles (1,000,000,000 USD)",
        "row 10: same as row 2",
    ]
    assert result.committed is False
    assert count(Pledge) == 0


def test_a_pledge_row_repeated_in_the_file_is_refused_even_written_differently(donors, manager):
    data = csv_file(
        PLEDGE_COLUMNS,
        ["PL-JP-1", "Japan", "1000000", "JPY", "2025-03-01", "", ""],
        ["PL-JP-2", "Japan", "25000.5", "USD", "2025-04-01", CD, "cd"],
        [" PL-JP-1 ", "Japan", "1000000.00", "jpy", "2025-03-01", "", " "],
        ["PL-JP-2", " Japan", "25000.50", "USD", "2025-04-01", CD, "CD"],
        ["PL-JP-1", "Japan", "1000000", "JPY", "2025-03-01", "", ""],
    )
    result = do_import("pledges", data, manager)
    assert errors(result) == ["row 4: same as row 2", "row 5: same as row 3", "row 6: same as row 2"]
    assert result.committed is False
    assert count(Pledge) == 0


def test_a_pledge_reference_given_twice_in_a_file_with_other_data_names_the_first_row(donors, manager):
    data = csv_file(
        PLEDGE_COLUMNS,
        ["PL-JP-1", "Japan", "1000000", "JPY", "2025-03-01", "", ""],
        ["PL-JP-1", "Japan", "2000000", "JPY", "2025-03-01", "", ""],
        ["PL-SE-1", "Sweden", "10000", "USD", "2025-05-01", "", "CF"],
        ["PL-SE-1", "Sweden", "10000", "USD", "2025-05-01", CD, ""],
    )
    result = do_import("pledges", data, manager)
    assert errors(result) == [
        "row 3: amount: differs from row 2, which has the same reference",
        "row 5: project_code: differs from row 4, which has the same reference",
    ]
    assert count(Pledge) == 0


def test_two_pledges_of_a_new_donor_in_one_file_depend_on_earlier_rows(manager):
    """A donors file, then a pledges file naming that donor twice: rows run in order."""
    do_import("donors", csv_file(DONOR_COLUMNS, ["Kingdom of Norway", "member_state", "NO"]), manager)
    result = do_import("pledges", csv_file(
        PLEDGE_COLUMNS,
        ["PL-NO-1", "Kingdom of Norway", "1000", "USD", "2025-03-01", "", ""],
        ["PL-NO-2", "Kingdom of Norway", "2000", "USD", "2025-04-01", "", ""],
    ), manager)
    assert outcome(result) == (True, 2, 0, 0)


# --- contributions ---------------------------------------------------------------------------------------------------

@pytest.fixture
def pledged(donors, manager):
    do_import("pledges", GOOD_PLEDGES, manager)


GOOD_CONTRIBUTIONS = csv_file(
    CONTRIBUTION_COLUMNS,
    ["CT-JP-1", "Japan", "500000", "JPY", "2025-06-30", "PL-JP-1"],
    ["CT-JP-2", "Japan", "1200", "USD", "2025-07-01", ""],
    ["CT-SE-1", "Sweden", "4000", "USD", "2025-07-15", "PL-SE-1"],
)


def test_contributions_file_records_money_then_adds_nothing(pledged, manager):
    result = do_import("contributions", GOOD_CONTRIBUTIONS, manager)
    assert errors(result) == []
    assert outcome(result) == (True, 3, 0, 0)
    rows = {r[0]: r[1:] for r in _db.session.execute(
        select(Contribution.reference, Contribution.usd_amount, Pledge.reference).outerjoin(Contribution.pledge))}
    # 500,000 JPY × 0.0067 = 3,350.00 USD
    assert rows == {"CT-JP-1": (Decimal("3350.00"), "PL-JP-1"), "CT-JP-2": (Decimal("1200.00"), None),
                    "CT-SE-1": (Decimal("4000.00"), "PL-SE-1")}
    assert outcome(do_import("contributions", GOOD_CONTRIBUTIONS, manager)) == (True, 0, 0, 3)
    assert count(Contribution) == 3


def test_contributions_file_with_bad_rows_saves_nothing(pledged, manager):
    do_import("contributions", csv_file(CONTRIBUTION_COLUMNS, ["CT-JP-1", "Japan", "500000", "JPY", "2025-06-30",
                                                               "PL-JP-1"]), manager)
    data = csv_file(
        CONTRIBUTION_COLUMNS,
        ["CT-JP-2", "Japan", "1200", "USD", "2025-07-01", ""],
        ["CT-JP-3", "Japan", "1000000000.01", "USD", "2025-07-01", ""],
        ["CT-JP-4", "Japan", "1000", "USD", "2025-07-01", "PL-SE-1"],
        ["CT-JP-5", "Japan", "1000", "USD", "2025-07-01", "PL-NONE"],
        ["CT-JP-1", "Japan", "500000", "JPY", "2025-06-29", "PL-JP-1"],
        ["CT-JP-6", "Japan", "1000", "NOK", "2025-07-01", ""],
    )
    result = do_import("contributions", data, manager)
    assert errors(result) == [
        "row 3: amount: is larger than any amount the Fund handles (1,000,000,000 USD)",
        "row 4: pledge_reference: pledge PL-SE-1 is not of Japan",
        "row 5: pledge_reference: PL-NONE is not a known pledge",
        "row 6: received_on: differs from the recorded CT-JP-1",
        "row 7: currency: there is no exchange rate for NOK on 2025-07-01; an administrator must add one",
    ]
    assert count(Contribution) == 1


# --- allocations -----------------------------------------------------------------------------------------------------

@pytest.fixture
def received(manager):
    """10,000.00 USD received on 2025-03-01."""
    donor = factories.DonorFactory(name="Japan")
    _db.session.add(Contribution(donor=donor, reference="CT-1", amount=Decimal("10000.00"), currency="USD",
                                 received_on=dt.date(2025, 3, 1), usd_amount=Decimal("10000.00"),
                                 usd_rate=Decimal("1")))
    _db.session.commit()


GOOD_ALLOCATIONS = csv_file(
    ALLOCATION_COLUMNS_BEFORE_REFERENCES,
    [CD, "4000.00", "2025-04-01"],
    [CF, "2500.50", "2025-04-01"],
)


def test_allocations_file_allocates_then_adds_nothing(received, manager):
    result = do_import("allocations", GOOD_ALLOCATIONS, manager)
    assert errors(result) == []
    assert outcome(result) == (True, 2, 0, 0)
    assert sorted(_db.session.execute(select(Project.code, Allocation.amount_usd, Allocation.created_by_id)
                                      .join(Allocation.project))) == [
        (CD, Decimal("4000.00"), manager.id), (CF, Decimal("2500.50"), manager.id)]
    # the same project, amount and date is the same allocation
    assert outcome(do_import("allocations", GOOD_ALLOCATIONS, manager)) == (True, 0, 0, 2)
    assert count(Allocation) == 2


def test_allocations_file_beyond_what_is_unallocated_saves_nothing(received, manager):
    data = csv_file(
        ALLOCATION_COLUMNS_BEFORE_REFERENCES,
        [CD, "10", "2025-02-28"],  # nothing had been received yet
        [CD, "4000.00", "2025-04-01"],
        [CF, "6000.01", "2025-04-02"],  # 10,000.00 − 4,000.00 (row 3) = 6,000.00 left
        [SS, "10", "2025-04-02"],
        [CD, "ten", "2025-04-02"],
    )
    result = do_import("allocations", data, manager)
    assert errors(result) == [
        "row 2: amount_usd: only $0.00 received is not yet allocated",
        "row 4: amount_usd: only $6,000.00 received is not yet allocated",
        f"row 5: project_code: {SS} is not known in your countries",
        "row 6: amount_usd: 'ten' is not a plain amount like 1250.50 (digits and one dot only: no spaces, no commas)",
    ]
    assert result.committed is False
    assert count(Allocation) == 0


def test_allocation_to_a_closed_project_is_refused_on_its_row(received, manager):
    factories.ProjectFactory(code="TF-CD-2020-01", country="CD", status="closed")
    result = do_import("allocations", csv_file(ALLOCATION_COLUMNS_BEFORE_REFERENCES,
                                               ["TF-CD-2020-01", "10", "2025-04-01"]), manager)
    assert errors(result) == ["row 2: project_code: project TF-CD-2020-01 is closed"]


def stored_allocations() -> list[tuple]:
    return sorted(_db.session.execute(select(Project.code, Allocation.amount_usd, Allocation.allocated_on,
                                             Allocation.reference).join(Allocation.project)),
                  key=lambda r: (r[0], r[1], r[2], r[3] or ""))


def test_two_equal_allocation_rows_are_refused_and_nothing_is_saved(received, manager):
    """Two genuine equal allocations and one row pasted twice look alike: the file must tell them apart."""
    data = csv_file(
        ALLOCATION_COLUMNS,
        [CD, "4000.00", "2025-04-01", ""],
        [CD, "4000.00", "2025-04-01", ""],
        [CF, "1000.00", "2025-04-01", ""],
        [CD, "4000.00", "2025-04-01", ""],
    )
    result = do_import("allocations", data, manager)
    assert errors(result) == ["row 3: same as row 2", "row 5: same as row 2"]
    assert result.committed is False
    assert count(Allocation) == 0


def test_allocation_rows_are_compared_as_read_not_as_typed(received, manager):
    data = csv_file(
        ALLOCATION_COLUMNS,
        [CD, "1250.5", "2025-04-01"],
        [f" {CD} ", "1250.50", " 2025-04-01 ", " "],
    )
    assert errors(do_import("allocations", data, manager)) == ["row 3: same as row 2"]
    assert count(Allocation) == 0


def test_two_equal_allocations_with_different_references_are_both_saved_then_nothing_is_added(received, manager):
    data = csv_file(
        ALLOCATION_COLUMNS,
        [CD, "3000.00", "2025-04-01", "AL-CD-1"],
        [CD, "3000.00", "2025-04-01", "AL-CD-2"],
        [CD, "3000.00", "2025-04-01", ""],
    )
    result = do_import("allocations", data, manager)
    assert errors(result) == []
    assert outcome(result) == (True, 3, 0, 0)
    day = dt.date(2025, 4, 1)
    assert stored_allocations() == [(CD, Decimal("3000.00"), day, None), (CD, Decimal("3000.00"), day, "AL-CD-1"),
                                    (CD, Decimal("3000.00"), day, "AL-CD-2")]
    # 10,000.00 received − 3 × 3,000.00
    assert _db.session.scalar(select(func.sum(Allocation.amount_usd))) == Decimal("9000.00")
    assert outcome(do_import("allocations", data, manager)) == (True, 0, 0, 3)
    assert count(Allocation) == 3


def test_an_allocation_reference_given_twice_in_a_file_with_other_data_names_the_first_row(received, manager):
    data = csv_file(
        ALLOCATION_COLUMNS,
        [CD, "3000.00", "2025-04-01", "AL-CD-1"],
        [CD, "3000.00", "2025-04-02", "AL-CD-1"],
    )
    result = do_import("allocations", data, manager)
    assert errors(result) == ["row 3: allocated_on: differs from row 2, which has the same reference"]
    assert count(Allocation) == 0


def test_a_recorded_allocation_reference_with_other_data_is_an_error_on_that_row(received, manager):
    do_import("allocations", csv_file(ALLOCATION_COLUMNS, [CD, "3000.00", "2025-04-01", "AL-CD-1"]), manager)
    result = do_import("allocations", csv_file(ALLOCATION_COLUMNS, [CD, "3000.00", "2025-04-01", "AL-CD-9"],
                                               [CF, "3000.00", "2025-04-01", "AL-CD-1"]), manager)
    assert errors(result) == ["row 3: project_code: differs from the recorded AL-CD-1"]
    assert count(Allocation) == 1


def test_references_added_to_a_file_imported_before_name_its_allocations_without_doubling_them(received, manager):
    """The old file lost its second equal row; with references, the first is named and the second added."""
    do_import("allocations", csv_file(ALLOCATION_COLUMNS_BEFORE_REFERENCES, [CD, "3000.00", "2025-04-01"]), manager)
    with_references = csv_file(
        ALLOCATION_COLUMNS,
        [CD, "3000.00", "2025-04-01", "AL-CD-1"],
        [CD, "3000.00", "2025-04-01", "AL-CD-2"],
    )
    result = do_import("allocations", with_references, manager)
    assert errors(result) == []
    assert outcome(result) == (True, 1, 1, 0)
    day = dt.date(2025, 4, 1)
    assert stored_allocations() == [(CD, Decimal("3000.00"), day, "AL-CD-1"), (CD, Decimal("3000.00"), day, "AL-CD-2")]
    assert outcome(do_import("allocations", with_references, manager)) == (True, 0, 0, 2)


def test_equal_rows_of_an_xlsx_file_are_refused_however_the_cells_hold_them(received, manager):
    """Excel keeps a typed amount as a number and a date as a date; a text cell holds the same values."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(ALLOCATION_COLUMNS)
    sheet.append([CD, 4000.5, dt.date(2025, 4, 1), None])
    sheet.append([CD, "4000.50", "2025-04-01", None])
    sheet.append([CD, 4000.5, dt.date(2025, 4, 1), "AL-CD-1"])
    out = io.BytesIO()
    workbook.save(out)
    result = do_import("allocations", out.getvalue(), manager)
    assert errors(result) == ["row 3: same as row 2"]
    assert count(Allocation) == 0


def test_a_good_import_writes_one_audit_event(received, manager):
    before = _db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "import"))
    do_import("allocations", GOOD_ALLOCATIONS, manager)
    after = _db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "import"))
    assert after == before + 1


# --- the command line (no user: every country) -----------------------------------------------------------------------

def test_command_imports_the_funding_files_in_order_then_adds_nothing(runner, app, tmp_path):
    with app.app_context():
        factories.ExchangeRateFactory(currency="JPY", valid_from=dt.date(2025, 1, 1), usd_per_unit=Decimal("0.0067"))
    files = [
        ("projects", csv_file(PROJECT_COLUMNS, [SS, "Assistance in Juba", "SS", "Juba NGO", "2025-01-01",
                                                "2026-12-31", "active"])),
        ("budget_lines", csv_file(BUDGET_COLUMNS, [SS, "2025", "medical", "9000"])),
        ("donors", csv_file(DONOR_COLUMNS, ["Japan", "member_state", "JP"])),
        ("pledges", csv_file(PLEDGE_COLUMNS, ["PL-JP-1", "Japan", "1000000", "JPY", "2025-03-01", SS, ""])),
        ("contributions", csv_file(CONTRIBUTION_COLUMNS, ["CT-JP-1", "Japan", "1000000", "JPY", "2025-04-01",
                                                          "PL-JP-1"])),
        ("allocations", csv_file(ALLOCATION_COLUMNS_BEFORE_REFERENCES, [SS, "6700.00", "2025-04-02"])),
    ]
    for kind, data in files:
        path = tmp_path / f"{kind}.csv"
        path.write_bytes(data)
        result = runner.invoke(args=["import", kind, str(path)])
        assert (kind, result.exit_code) == (kind, 0), result.output
        assert "1 row: 1 created" in result.output, result.output
        again = runner.invoke(args=["import", kind, str(path)])
        assert "1 row: 1 unchanged" in again.output, again.output
    with app.app_context():
        # 1,000,000 JPY × 0.0067 = 6,700.00 received, all of it allocated
        assert _db.session.scalar(select(Allocation.amount_usd)) == Decimal("6700.00")
        assert (count(Project), count(BudgetLine), count(Donor), count(Pledge), count(Contribution),
                count(Allocation)) == (1, 1, 1, 1, 1, 1)


def test_command_prints_each_bad_funding_row_and_saves_nothing(runner, app, tmp_path):
    with app.app_context():
        factories.DonorFactory(name="Japan")
    path = tmp_path / "pledges.csv"
    path.write_bytes(csv_file(PLEDGE_COLUMNS, ["PL-1", "Japan", "100", "USD", "2025-03-01", "", ""],
                              ["PL-2", "Japan", "100", "EUR", "2025-03-01", "", ""]))
    result = runner.invoke(args=["import", "pledges", str(path)])
    assert result.exit_code == 1
    assert ("row 3: currency: there is no exchange rate for EUR on 2025-03-01; an administrator must add one"
            in result.output)
    with app.app_context():
        assert count(Pledge) == 0


def test_command_prints_a_repeated_allocation_row_and_saves_nothing(runner, app, tmp_path):
    with app.app_context():
        factories.ProjectFactory(code=CD, country="CD")
        donor = factories.DonorFactory(name="Japan")
        _db.session.add(Contribution(donor=donor, reference="CT-1", amount=Decimal("10000.00"), currency="USD",
                                     received_on=dt.date(2025, 3, 1), usd_amount=Decimal("10000.00"),
                                     usd_rate=Decimal("1")))
        _db.session.commit()
    path = tmp_path / "allocations.csv"
    path.write_bytes(csv_file(ALLOCATION_COLUMNS, [CD, "100", "2025-04-01"], [CD, "100.00", "2025-04-01"]))
    result = runner.invoke(args=["import", "allocations", str(path)])
    assert result.exit_code == 1
    assert "row 3: same as row 2\n" in result.output
    assert "nothing saved: 1 row with errors" in result.output
    with app.app_context():
        assert count(Allocation) == 0
