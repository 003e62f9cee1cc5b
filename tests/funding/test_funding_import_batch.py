"""The funding imports in batches give what row by row gives (``Kind.apply_batch`` beside ``apply_row``): exchange
rates, donors, projects and budget lines (pledges, contributions and allocations: test_funding_import_batch_money).

Each kind: a file mixing good rows, bad rows of every message, rows repeating earlier rows and rows naming recorded
records gives the same errors in the same order both ways (and saves nothing); a good file of the same kinds of rows
gives the same records and the same audit events both ways, then adds nothing when imported again. Batches of 2
rows check that what a batch learns reaches the next one; batches of 500 hold the whole file.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests import factories
from tests.funding.batch_helpers import CD, CF, SS, both, csv_file, event_kinds

RATE_COLUMNS = ["currency", "valid_from", "usd_per_unit"]
DONOR_COLUMNS = ["name", "kind", "country"]
PROJECT_COLUMNS = ["code", "title", "country", "partner", "start_date", "end_date", "status"]
BUDGET_COLUMNS = ["project_code", "year", "category", "amount_usd"]


def projects():
    """TF-CD-2025-01 and TF-CF-2025-01 (2025–2026), TF-SS-2025-01 outside the manager's countries."""
    for code, country in ((CD, "CD"), (CF, "CF"), (SS, "SS")):
        factories.ProjectFactory(code=code, country=country, title=f"Assistance in {country}",
                                 partner=factories.PartnerFactory(name=f"NGO {country}"))


# --- exchange rates --------------------------------------------------------------------------------------------------

def recorded_rate():
    factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1), usd_per_unit=Decimal("0.00035"))


GOOD_RATES = [
    ["CDF", "2025-01-01", "0.00035"],       # recorded
    ["CDF", "2025-02-01", "0.0004"],        # new
    ["CDF", "2025-02-01", "0.00040000"],    # the rate of the row before, written otherwise
    ["xaf", "2025-03-01", "0.0017"],        # new, the currency in small letters
    [" XAF ", "2025-03-01", "0.00170"],
    ["CDF", "2024-06-30", "0.00036"],       # new, before the recorded one
]


def test_rates_in_batches_refuse_what_rows_refuse(rq, batch_rows):
    data = csv_file(
        RATE_COLUMNS,
        *GOOD_RATES[:2],
        ["CDF", "2025-02-01", "0.00041"],
        ["CDF", "2025-01-01", "0.0005"],
        ["USD", "2025-01-01", "1"],
        ["XYZ", "2025-01-01", "0.1"],
        ["XAF", "2025-13-01", "0.0017"],
        ["XAF", "2025-01-01", "abc"],
        ["XAF", "2025-01-01", "0"],
        ["XAF", "2025-01-01", "0.000000001"],
        ["CDF", "2025-01-01", "abc"],
    )
    row_by_row, in_batches = both("exchange_rates", data, None, recorded_rate)
    assert in_batches[0] == row_by_row[0]
    assert row_by_row[0] == ([
        # 0.0004 is kept to 8 decimals: 0.00040000
        "row 4: usd_per_unit: a different rate for CDF from 2025-02-01 exists already (0.00040000)",
        "row 5: usd_per_unit: a different rate for CDF from 2025-01-01 exists already (0.00035000)",
        "row 6: currency: USD is always 1",
        "row 7: currency: XYZ is not an ISO 4217 currency code such as USD",
        "row 8: valid_from: 2025-13-01 is not a date in the form YYYY-MM-DD",
        "row 9: usd_per_unit: 'abc' is not a plain rate like 0.00036",
        "row 10: usd_per_unit: the rate must be greater than zero",
        "row 11: usd_per_unit: rates have at most 8 decimal places",
        "row 12: usd_per_unit: 'abc' is not a plain rate like 0.00036",
    ], (1, 0, 1), False)


def test_rates_in_batches_write_the_rates_and_events_rows_write(rq, batch_rows):
    row_by_row, in_batches = both("exchange_rates", csv_file(RATE_COLUMNS, *GOOD_RATES), None,
                                   recorded_rate)
    assert in_batches == row_by_row
    (summary, (records, events), again) = in_batches
    assert summary == ([], (3, 0, 3), True)
    assert again == ([], (0, 0, 6), True)
    assert [(r["currency"], r["valid_from"], r["usd_per_unit"]) for r in records["exchange_rates"]] == [
        ("CDF", dt.date(2024, 6, 30), Decimal("0.00036")), ("CDF", dt.date(2025, 1, 1), Decimal("0.00035")),
        ("CDF", dt.date(2025, 2, 1), Decimal("0.0004")), ("XAF", dt.date(2025, 3, 1), Decimal("0.0017"))]
    assert events == [
        ("create", "exchange_rates", "CDF 2025-02-01", False, {
            "id": [None, "CDF 2025-02-01"], "currency": [None, "CDF"], "valid_from": [None, "2025-02-01"],
            "usd_per_unit": [None, "0.0004"]}),
        ("create", "exchange_rates", "XAF 2025-03-01", False, {
            "id": [None, "XAF 2025-03-01"], "currency": [None, "XAF"], "valid_from": [None, "2025-03-01"],
            "usd_per_unit": [None, "0.0017"]}),
        ("create", "exchange_rates", "CDF 2024-06-30", False, {
            "id": [None, "CDF 2024-06-30"], "currency": [None, "CDF"], "valid_from": [None, "2024-06-30"],
            "usd_per_unit": [None, "0.00036"]}),
        ("import", "exchange_rates", None, False,
         {"file_rows": 6, "created": 3, "updated": 0, "unchanged": 3, "history": False}),
    ]


# --- donors ----------------------------------------------------------------------------------------------------------

def recorded_donors():
    factories.DonorFactory(name="Japan", kind="member_state", country="JP")
    factories.DonorFactory(name="Sweden", kind="member_state", country="SE")


GOOD_DONORS = [
    ["Japan", "member_state", "JP"],                  # as recorded
    ["Japan", "member_state", "jp"],                  # as recorded, written otherwise
    ["Sweden", "member_state", ""],                   # its country is removed
    ["Kingdom of Norway", "member_state", "NO"],      # new
    ["Kingdom of Norway", "member_state", "NO"],      # as the row before added it
    ["Kingdom of Norway", "intergovernmental", "NO"],  # changes the donor the file added
    ["African Union", "intergovernmental", ""],       # new
]


def test_donors_in_batches_refuse_what_rows_refuse(rq, funding_manager, batch_rows):
    data = csv_file(DONOR_COLUMNS, *GOOD_DONORS[:6],
                    ["Foundation X", "foundation", ""],
                    ["Republic of Nowhere", "member_state", "QQ"],
                    ["", "private", ""],
                    ["Japan", "donor", "JP"],
                    ["Japan", "member_state", "XX"],
                    ["N" * 201, "private", ""])
    row_by_row, in_batches = both("donors", data, funding_manager, recorded_donors)
    assert in_batches[0] == row_by_row[0]
    kinds = "member_state, intergovernmental, ngo, private, withheld_payments"
    assert row_by_row[0] == ([
        f"row 8: kind: foundation is not one of: {kinds}",
        "row 9: country: QQ is not an ISO 3166 country code such as CD",
        "row 10: name: is required",
        f"row 11: kind: donor is not one of: {kinds}",
        "row 12: country: XX is not an ISO 3166 country code such as CD",
        "row 13: name: is too long (at most 200 characters)",
    ], (1, 2, 3), False)


def test_donors_in_batches_write_the_donors_and_events_rows_write(rq, funding_manager, batch_rows):
    row_by_row, in_batches = both("donors", csv_file(DONOR_COLUMNS, *GOOD_DONORS), funding_manager, recorded_donors)
    assert in_batches == row_by_row
    (summary, (records, events), again) = in_batches
    assert summary == ([], (2, 2, 3), True)
    # Rows 5 and 6 give Norway two kinds: imported again, the file changes it to the first and back.
    assert again == ([], (0, 2, 5), True)
    assert sorted((d["name"], d["kind"], d["country"]) for d in records["donors"]) == [
        ("African Union", "intergovernmental", None), ("Japan", "member_state", "JP"),
        ("Kingdom of Norway", "intergovernmental", "NO"), ("Sweden", "member_state", None)]
    assert [(action, entity_id, changes) for action, _entity, entity_id, _user, changes in events[:-1]] == [
        ("update", "Sweden", {"country": ["SE", None]}),
        ("create", "Kingdom of Norway", {"id": [None, "Kingdom of Norway"], "name": [None, "Kingdom of Norway"],
                                         "kind": [None, "member_state"], "country": [None, "NO"]}),
        ("update", "Kingdom of Norway", {"kind": ["member_state", "intergovernmental"]}),
        ("create", "African Union", {"id": [None, "African Union"], "name": [None, "African Union"],
                                     "kind": [None, "intergovernmental"]}),
    ]


# --- projects --------------------------------------------------------------------------------------------------------

def recorded_projects():
    """The three projects, a budget line of TF-CD-2025-01 in 2026 and a mother registered in TF-CF-2025-01."""
    projects()
    from sqlalchemy import select

    from tracker.extensions import db
    from tracker.models import Project

    cd, cf = (db.session.scalars(select(Project).where(Project.code == code)).one() for code in (CD, CF))
    factories.BudgetLineFactory(project=cd, year=2026, category="medical")
    factories.BeneficiaryFactory(project=cf)


def project(code, title="Assistance in CD", country="CD", partner="NGO CD", start="2025-01-01", end="2026-12-31",
            status="active"):
    return [code, title, country, partner, start, end, status]


GOOD_PROJECTS = [
    project(CD),                                                                # as recorded
    project("TF-CD-2025-02", "Assistance in Bunia", partner="Bunia Women"),     # new, with a new partner
    project("TF-CD-2025-02", "Assistance in Bunia", partner="Bunia Women"),     # as the row before added it
    project("TF-CD-2025-02", "Assistance in Bunia, phase 2", partner="NGO CF"),  # changes it, to a known partner
    project(CF, "Assistance in CF", "CF", "Bangui Aid", status="closed"),       # changes one, to a new partner
    project("tf-cf-2025-02", "Assistance in Bambari", "CF", "Bunia Women"),      # new, its code in capitals
    project("TF-CF-2025-02", "Assistance in Bambari", "CF", "Bunia Women"),      # as the row before added it
]


def test_projects_in_batches_refuse_what_rows_refuse(rq, funding_manager, batch_rows):
    data = csv_file(
        PROJECT_COLUMNS, *GOOD_PROJECTS[:4],
        project("tf-cd-2025-02"),                                  # not found in small letters: a new code, taken
        project(SS, country="CF"),                                 # outside her countries: a new code, taken
        project("TF-SS-2025-09", country="SS"),
        project("TF-CD-2025-09", country="XX"),
        project(CD, end="2025-12-31"),                             # its 2026 budget line would fall outside
        project(CF, "Assistance in CF", "CD", "NGO CF"),           # mothers are registered in it
        project("TF-CD-2025-03", start="2025-06-01", end="2025-05-31"),
        project("TF-CD-2025-04", status="running"),
        project("TF CD 2025 05"),
        project("TF-CD-2025-06", title=""),
        project(CD, partner=""),
        project("TF-CD-2025-07", start="2025-02-30"),
        project("TF-CD-2025-08-" + "X" * 20),
    )
    row_by_row, in_batches = both("projects", data, funding_manager, recorded_projects)
    assert in_batches[0] == row_by_row[0]
    assert row_by_row[0] == ([
        "row 6: code: TF-CD-2025-02 exists already",
        f"row 7: code: {SS} exists already",
        "row 8: country: SS is not one of your countries",
        "row 9: country: XX is not an ISO 3166 country code such as CD",
        "row 10: end_date: 1 budget lines fall outside these dates",
        "row 11: country: mothers are registered in this project; its country cannot change",
        "row 12: end_date: is before the start date",
        "row 13: status: running is not one of: pipeline, active, closed",
        "row 14: code: use capital letters, digits and dashes, such as TF-CD-2025-01",
        "row 15: title: is required",
        "row 16: partner: is required",
        "row 17: start_date: 2025-02-30 is not a date in the form YYYY-MM-DD",
        "row 18: code: is too long (at most 32 characters)",
    ], (1, 1, 2), False)


def test_projects_in_batches_write_the_projects_partners_and_events_rows_write(rq, funding_manager, batch_rows):
    row_by_row, in_batches = both("projects", csv_file(PROJECT_COLUMNS, *GOOD_PROJECTS), funding_manager,
                                  recorded_projects)
    assert in_batches == row_by_row
    (summary, (records, events), again) = in_batches
    assert summary == ([], (2, 2, 3), True)
    # Imported again: rows 3 and 5 change TF-CD-2025-02 back and forth, and tf-cf-2025-02, found under no code
    # written so, is a new project whose code in capitals is taken now.
    assert again == (["row 7: code: TF-CF-2025-02 exists already"], (0, 2, 4), False)
    assert sorted((p["code"], p["title"], p["country"], p["partner_id"], p["status"]) for p in records["projects"]) \
        == [(CD, "Assistance in CD", "CD", "NGO CD", "active"),
            ("TF-CD-2025-02", "Assistance in Bunia, phase 2", "CD", "NGO CF", "active"),
            (CF, "Assistance in CF", "CF", "Bangui Aid", "closed"),
            ("TF-CF-2025-02", "Assistance in Bambari", "CF", "Bunia Women", "active"),
            (SS, "Assistance in SS", "SS", "NGO SS", "active")]
    assert sorted(p["name"] for p in records["partners"]) == ["Bangui Aid", "Bunia Women", "NGO CD", "NGO CF",
                                                               "NGO SS"]
    assert event_kinds(events) == [("create", "partners"), ("create", "projects"), ("update", "projects"),
                                   ("create", "partners"), ("update", "projects"), ("create", "projects"),
                                   ("import", "projects")]
    assert [e[2] for e in events[:-1]] == ["Bunia Women", "TF-CD-2025-02", "TF-CD-2025-02", "Bangui Aid", CF,
                                           "TF-CF-2025-02"]
    assert events[2][4] == {"title": ["Assistance in Bunia", "Assistance in Bunia, phase 2"],
                            "partner_id": ["Bunia Women", "NGO CF"]}
    assert events[4][4] == {"partner_id": ["NGO CF", "Bangui Aid"], "status": ["active", "closed"]}
    assert events[5][4] == {"id": [None, "TF-CF-2025-02"], "code": [None, "TF-CF-2025-02"],
                            "title": [None, "Assistance in Bambari"], "country": [None, "CF"],
                            "partner_id": [None, "Bunia Women"], "start_date": [None, "2025-01-01"],
                            "end_date": [None, "2026-12-31"], "status": [None, "active"]}


# --- budget lines ----------------------------------------------------------------------------------------------------

def recorded_line():
    """The three projects and 24,000.00 for school fees of TF-CD-2025-01 in 2025."""
    projects()
    from sqlalchemy import select

    from tracker.extensions import db
    from tracker.models import Project

    cd = db.session.scalars(select(Project).where(Project.code == CD)).one()
    factories.BudgetLineFactory(project=cd, year=2025, category="school_fees", amount_usd=Decimal("24000.00"))


GOOD_BUDGET = [
    [CD, "2025", "school_fees", "24000"],       # as recorded
    [CD, "2025", "school_fees", "30000"],       # changed
    [CD, "2025", "school_fees", "30000.00"],    # as the row before changed it
    [CD, "2026", "medical", "100"],             # new
    [CD, "2026", "medical", "150.5"],           # changes the line the file added
    [CF, "2025", "medical", "8000.50"],         # new
]


def test_budget_lines_in_batches_refuse_what_rows_refuse(rq, funding_manager, batch_rows):
    data = csv_file(BUDGET_COLUMNS, *GOOD_BUDGET[:5],
                    [CD, "2027", "medical", "100"],
                    [SS, "2025", "medical", "100"],
                    ["TF-XX-0000-00", "2025", "medical", "100"],
                    [CF, "2025", "travel", "100"],
                    [CF, "2025", "legal", "1,000"],
                    [CF, "twenty", "legal", "100"],
                    [CF, "2025", "legal", "1000000000.01"],
                    [CF, "1999", "legal", "100"],
                    ["", "2025", "legal", "100"],
                    [CF, "2025", "legal", "0"],
                    [CF, "2025", "legal", "12.345"])
    row_by_row, in_batches = both("budget_lines", data, funding_manager, recorded_line)
    assert in_batches[0] == row_by_row[0]
    assert row_by_row[0] == ([
        "row 7: year: 2027 is outside the project's dates (2025–2026)",
        f"row 8: project_code: {SS} is not known in your countries",
        "row 9: project_code: TF-XX-0000-00 is not known in your countries",
        "row 10: category: travel is not one of: school_fees, iga, medical, psychosocial, legal, material, "
        "outreach, admin",
        "row 11: amount_usd: '1,000' is not a plain amount like 1250.50 (digits and one dot only: no spaces, "
        "no commas)",
        "row 12: year: twenty is not a whole number",
        "row 13: amount_usd: is larger than any amount the Fund handles (1,000,000,000 USD)",
        "row 14: year: must be at least 2000",
        "row 15: project_code: is required",
        "row 16: amount_usd: the amount must be greater than zero",
        "row 17: amount_usd: USD amounts have at most 2 decimal places",
    ], (1, 2, 2), False)


def test_budget_lines_in_batches_write_the_lines_and_events_rows_write(rq, funding_manager, batch_rows):
    row_by_row, in_batches = both("budget_lines", csv_file(BUDGET_COLUMNS, *GOOD_BUDGET), funding_manager,
                                  recorded_line)
    assert in_batches == row_by_row
    (summary, (records, events), again) = in_batches
    assert summary == ([], (2, 2, 2), True)
    # Imported again, rows 2 and 3 change the school fees line back and forth, rows 5 and 6 the medical one.
    assert again == ([], (0, 4, 2), True)
    assert sorted((b["project_id"], b["year"], b["category"], b["amount_usd"]) for b in records["budget_lines"]) == [
        (CD, 2025, "school_fees", Decimal("30000.00")), (CD, 2026, "medical", Decimal("150.50")),
        (CF, 2025, "medical", Decimal("8000.50"))]
    assert [(action, entity_id, changes) for action, _entity, entity_id, _user, changes in events[:-1]] == [
        ("update", f"{CD} 2025 school_fees", {"amount_usd": ["24000.00", "30000.00"]}),
        ("create", f"{CD} 2026 medical", {"id": [None, f"{CD} 2026 medical"], "project_id": [None, CD],
                                          "year": [None, 2026], "category": [None, "medical"],
                                          "amount_usd": [None, "100.00"]}),
        ("update", f"{CD} 2026 medical", {"amount_usd": ["100.00", "150.50"]}),
        ("create", f"{CF} 2025 medical", {"id": [None, f"{CF} 2025 medical"], "project_id": [None, CF],
                                          "year": [None, 2025], "category": [None, "medical"],
                                          "amount_usd": [None, "8000.50"]}),
    ]
