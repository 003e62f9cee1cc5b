"""The money imports in batches give what row by row gives: pledges, contributions and allocations (the USD values
frozen with the same rates, rounded the same way; allocations refused beyond what is not yet allocated, row after
row); and for every funding kind, a batch the database refuses is applied row by row and names the row refused.

As in test_funding_import_batch: each file goes through both paths from the same records (batches of 2 rows, then
of 500); expected values are worked out in the comments.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests import factories
from tests.funding.batch_helpers import CD, CF, SS, both, csv_file, event_kinds
from tests.funding.test_funding_import_batch import (
    BUDGET_COLUMNS,
    DONOR_COLUMNS,
    GOOD_BUDGET,
    GOOD_DONORS,
    GOOD_PROJECTS,
    GOOD_RATES,
    PROJECT_COLUMNS,
    RATE_COLUMNS,
    projects,
    recorded_donors,
    recorded_line,
    recorded_projects,
    recorded_rate,
)
from tracker.extensions import db as _db
from tracker.funding import import_batch, import_batch_kinds, import_batch_money
from tracker.models import Allocation, BudgetLine, Contribution, Donor, ExchangeRate, Pledge, Project

PLEDGE_COLUMNS = ["reference", "donor", "amount", "currency", "pledged_on", "project_code", "country"]
CONTRIBUTION_COLUMNS = ["reference", "donor", "amount", "currency", "received_on", "pledge_reference"]
ALLOCATION_COLUMNS = ["project_code", "amount_usd", "allocated_on", "reference"]


def project_named(code: str) -> Project:
    return _db.session.scalars(select(Project).where(Project.code == code)).one()


def donor_named(name: str) -> Donor:
    return _db.session.scalars(select(Donor).where(Donor.name == name)).one()


# --- pledges ---------------------------------------------------------------------------------------------------------

def recorded_pledges():
    """The projects; Japan and Sweden; JPY at 0.0067 and NOK at 0.0925 from 2025; PL-JP-1 (1,000,000 JPY) and
    PL-SE-0 (500 USD, Sweden)."""
    projects()
    recorded_donors()
    factories.ExchangeRateFactory(currency="JPY", valid_from=dt.date(2025, 1, 1), usd_per_unit=Decimal("0.0067"))
    factories.ExchangeRateFactory(currency="NOK", valid_from=dt.date(2025, 1, 1), usd_per_unit=Decimal("0.0925"))
    factories.PledgeFactory(reference="PL-JP-1", donor=donor_named("Japan"), amount=Decimal("1000000.00"),
                            currency="JPY", pledged_on=dt.date(2025, 3, 1), usd_amount=Decimal("6700.00"),
                            usd_rate=Decimal("0.0067"))
    factories.PledgeFactory(reference="PL-SE-0", donor=donor_named("Sweden"), amount=Decimal("500.00"),
                            pledged_on=dt.date(2025, 2, 1))


GOOD_PLEDGES = [
    ["PL-JP-1", "Japan", "1000000", "JPY", "2025-03-01", "", ""],     # recorded
    ["PL-JP-2", "Japan", "25000.50", "USD", "2025-04-01", CD, ""],    # earmarked for a project: its country too
    ["PL-SE-1", "Sweden", "10000", "USD", "2025-05-01", "", "CF"],
    ["PL-JP-10", "Japan", "333333", "JPY", "2025-06-15", CF, "CF"],   # 333,333 × 0.0067 = 2,233.3311: 2,233.33
    ["PL-SE-5", "Sweden", "50", "NOK", "2025-06-01", "", ""],         # 50 × 0.0925 = 4.625: 4.62, half to even
]


def test_pledges_in_batches_refuse_what_rows_refuse(rq, funding_manager, batch_rows):
    data = csv_file(PLEDGE_COLUMNS, *GOOD_PLEDGES[:3],
                    ["PL-JP-3", "Japan", "1000", "XYZ", "2025-03-01", "", ""],
                    ["PL-JP-4", "Japan", "1000", "EUR", "2025-03-01", "", ""],
                    ["PL-JP-5", "Japan", "1000000", "JPY", "2024-12-31", "", ""],
                    ["PL-XX-1", "Atlantis", "1000", "USD", "2025-03-01", "", ""],
                    ["PL-SE-2", "Sweden", "1000", "USD", "2025-03-01", SS, ""],
                    ["PL-SE-3", "Sweden", "1000", "USD", "2025-03-01", CD, "CF"],
                    ["PL-SE-4", "Sweden", "1000000000.01", "USD", "2025-03-01", "", ""],
                    ["PL-JP-1", "Japan", "1000000", "JPY", "2025-03-01", "", ""],
                    ["PL-JP-1", "Japan", "2000000", "JPY", "2025-03-01", "", ""],
                    ["PL-JP-6", "Japan", "150000000000", "JPY", "2025-03-01", "", ""],
                    ["PL-SE-0", "Japan", "500", "USD", "2025-02-01", "", ""],
                    ["PL-JP-7", "Japan", "1000.5", "JPY", "2025-03-01", "", ""],
                    ["PL-JP-8", "Japan", "1000", "JPY", "2099-01-01", "", ""],
                    ["PL-JP-9", "Japan", "1000", "JPY", "2025-03-01", "", "XX"],
                    ["", "Japan", "1000", "JPY", "2025-03-01", "", ""])
    row_by_row, in_batches = both("pledges", data, funding_manager, recorded_pledges)
    assert in_batches[0] == row_by_row[0]
    assert row_by_row[0] == ([
        "row 5: currency: XYZ is not an ISO 4217 currency code such as USD",
        "row 6: currency: there is no exchange rate for EUR on 2025-03-01; an administrator must add one",
        "row 7: currency: there is no exchange rate for JPY on 2024-12-31; an administrator must add one",
        "row 8: donor: Atlantis is not a known donor",
        f"row 9: project_code: {SS} is not known in your countries",
        f"row 10: country: project {CD} is not in CF",
        "row 11: amount: is larger than any amount the Fund handles (1,000,000,000 USD)",
        "row 12: same as row 2",
        "row 13: amount: differs from row 2, which has the same reference",
        # 150,000,000,000 JPY × 0.0067 = 1,005,000,000 USD
        "row 14: amount: is larger than any amount the Fund handles (1,000,000,000 USD)",
        "row 15: donor: differs from the recorded PL-SE-0",
        "row 16: amount: JPY amounts have no decimals",
        "row 17: pledged_on: is in the future",
        "row 18: country: XX is not an ISO 3166 country code such as CD",
        "row 19: reference: is required",
    ], (2, 0, 1), False)


def test_pledges_in_batches_write_the_pledges_and_events_rows_write(rq, funding_manager, batch_rows):
    row_by_row, in_batches = both("pledges", csv_file(PLEDGE_COLUMNS, *GOOD_PLEDGES), funding_manager, recorded_pledges)
    assert in_batches == row_by_row
    (summary, (records, events), again) = in_batches
    assert summary == ([], (4, 0, 1), True)
    assert again == ([], (0, 0, 5), True)
    assert sorted((p["reference"], p["donor_id"], p["amount"], p["currency"], p["project_id"], p["country"],
                   p["usd_amount"], p["usd_rate"]) for p in records["pledges"]) == [
        ("PL-JP-1", "Japan", Decimal("1000000.00"), "JPY", None, None, Decimal("6700.00"), Decimal("0.0067")),
        ("PL-JP-10", "Japan", Decimal("333333.00"), "JPY", CF, "CF", Decimal("2233.33"), Decimal("0.0067")),
        ("PL-JP-2", "Japan", Decimal("25000.50"), "USD", CD, "CD", Decimal("25000.50"), Decimal("1")),
        ("PL-SE-0", "Sweden", Decimal("500.00"), "USD", None, None, Decimal("500.00"), Decimal("1")),
        ("PL-SE-1", "Sweden", Decimal("10000.00"), "USD", None, "CF", Decimal("10000.00"), Decimal("1")),
        ("PL-SE-5", "Sweden", Decimal("50.00"), "NOK", None, None, Decimal("4.62"), Decimal("0.0925")),
    ]
    assert event_kinds(events) == [("create", "pledges")] * 4 + [("import", "pledges")]
    assert events[0][4] == {"id": [None, "PL-JP-2"], "reference": [None, "PL-JP-2"], "donor_id": [None, "Japan"],
                            "amount": [None, "25000.50"], "currency": [None, "USD"], "pledged_on": [None, "2025-04-01"],
                            "project_id": [None, CD], "country": [None, "CD"], "usd_amount": [None, "25000.50"],
                            "usd_rate": [None, "1.00000000"]}
    assert events[3][4]["usd_amount"] == [None, "4.62"] and events[3][4]["usd_rate"] == [None, "0.09250000"]


# --- contributions ---------------------------------------------------------------------------------------------------

def recorded_contributions():
    """As for pledges, with PL-SE-1 (10,000 USD, 2025-05-01, Sweden) and CT-JP-1 (500,000 JPY against PL-JP-1)."""
    recorded_pledges()
    factories.PledgeFactory(reference="PL-SE-1", donor=donor_named("Sweden"), amount=Decimal("10000.00"),
                            pledged_on=dt.date(2025, 5, 1))
    pledge = _db.session.scalars(select(Pledge).where(Pledge.reference == "PL-JP-1")).one()
    factories.ContributionFactory(reference="CT-JP-1", pledge=pledge, amount=Decimal("500000.00"), currency="JPY",
                                  received_on=dt.date(2025, 6, 30), usd_amount=Decimal("3350.00"),
                                  usd_rate=Decimal("0.0067"))


GOOD_CONTRIBUTIONS = [
    ["CT-JP-1", "Japan", "500000", "JPY", "2025-06-30", "PL-JP-1"],    # recorded
    ["CT-JP-2", "Japan", "1200", "USD", "2025-07-01", ""],
    ["CT-JP-2", "Japan", "1200.00", "USD", "2025-07-01", ""],          # as the row before recorded it
    ["CT-SE-1", "Sweden", "4000", "USD", "2025-07-15", "PL-SE-1"],
    ["CT-SE-2", "Sweden", "50", "NOK", "2025-07-20", " PL-SE-1 "],     # 50 × 0.0925 = 4.625: 4.62
    ["CT-JP-8", "Japan", "1000", "USD", "2024-02-29", "PL-JP-1"],      # 366 days before the pledge: allowed
]


def test_contributions_in_batches_refuse_what_rows_refuse(rq, funding_manager, batch_rows):
    data = csv_file(CONTRIBUTION_COLUMNS, *GOOD_CONTRIBUTIONS[:3],
                    ["CT-JP-2", "Japan", "1300", "USD", "2025-07-01", ""],
                    ["CT-JP-3", "Japan", "1000000000.01", "USD", "2025-07-01", ""],
                    ["CT-JP-4", "Japan", "1000", "USD", "2025-07-01", "PL-SE-1"],
                    ["CT-JP-5", "Japan", "1000", "USD", "2025-07-01", "PL-NONE"],
                    ["CT-JP-1", "Japan", "500000", "JPY", "2025-06-29", "PL-JP-1"],
                    ["CT-JP-6", "Japan", "1000", "EUR", "2025-07-01", ""],
                    ["CT-JP-7", "Japan", "1000", "USD", "2024-02-28", "PL-JP-1"],   # 367 days before the pledge
                    ["CT-XX-1", "Atlantis", "1000", "USD", "2025-07-01", ""],
                    ["CT-JP-9", "Japan", "100", "USD", "2099-01-01", ""],
                    ["CT-JP-2", "Sweden", "1200", "USD", "2025-07-01", ""],
                    ["CT-JP-10", "Japan", "100", "JPY", "2025-07-01", "P" * 61])
    row_by_row, in_batches = both("contributions", data, funding_manager, recorded_contributions)
    assert in_batches[0] == row_by_row[0]
    assert row_by_row[0] == ([
        "row 5: amount: differs from the recorded CT-JP-2",
        "row 6: amount: is larger than any amount the Fund handles (1,000,000,000 USD)",
        "row 7: pledge_reference: pledge PL-SE-1 is not of Japan",
        "row 8: pledge_reference: PL-NONE is not a known pledge",
        "row 9: received_on: differs from the recorded CT-JP-1",
        "row 10: currency: there is no exchange rate for EUR on 2025-07-01; an administrator must add one",
        "row 11: received_on: is more than a year before the pledge",
        "row 12: donor: Atlantis is not a known donor",
        "row 13: received_on: is in the future",
        "row 14: donor: differs from the recorded CT-JP-2",
        "row 15: pledge_reference: is too long (at most 60 characters)",
    ], (1, 0, 2), False)


def test_contributions_in_batches_write_the_money_and_events_rows_write(rq, funding_manager, batch_rows):
    row_by_row, in_batches = both("contributions", csv_file(CONTRIBUTION_COLUMNS, *GOOD_CONTRIBUTIONS), funding_manager,
                                  recorded_contributions)
    assert in_batches == row_by_row
    (summary, (records, events), again) = in_batches
    assert summary == ([], (4, 0, 2), True)
    assert again == ([], (0, 0, 6), True)
    assert sorted((c["reference"], c["donor_id"], c["pledge_id"], c["amount"], c["currency"], c["received_on"],
                   c["usd_amount"], c["usd_rate"]) for c in records["contributions"]) == [
        ("CT-JP-1", "Japan", "PL-JP-1", Decimal("500000.00"), "JPY", dt.date(2025, 6, 30), Decimal("3350.00"),
         Decimal("0.0067")),
        ("CT-JP-2", "Japan", None, Decimal("1200.00"), "USD", dt.date(2025, 7, 1), Decimal("1200.00"), Decimal("1")),
        ("CT-JP-8", "Japan", "PL-JP-1", Decimal("1000.00"), "USD", dt.date(2024, 2, 29), Decimal("1000.00"),
         Decimal("1")),
        ("CT-SE-1", "Sweden", "PL-SE-1", Decimal("4000.00"), "USD", dt.date(2025, 7, 15), Decimal("4000.00"),
         Decimal("1")),
        ("CT-SE-2", "Sweden", "PL-SE-1", Decimal("50.00"), "NOK", dt.date(2025, 7, 20), Decimal("4.62"),
         Decimal("0.0925")),
    ]
    assert event_kinds(events) == [("create", "contributions")] * 4 + [("import", "contributions")]
    assert [e[2] for e in events[:-1]] == ["CT-JP-2", "CT-SE-1", "CT-SE-2", "CT-JP-8"]
    assert events[2][4]["pledge_id"] == [None, "PL-SE-1"] and events[2][4]["usd_amount"] == [None, "4.62"]


# --- allocations -----------------------------------------------------------------------------------------------------

def recorded_allocations():
    """10,000.00 USD received on 2025-03-01 and 2,000.00 on 2025-05-01; 5,200.00 allocated: 3,000.00 to CD on
    2025-04-01 (no reference), 1,000.00 to CD on 2025-04-02 (AL-OLD), 500.00 to CF on 2025-04-10 (AL-CF-OLD) and
    700.00 to CF on 2025-04-06 (no reference); TF-CD-2020-01, closed."""
    projects()
    factories.ProjectFactory(code="TF-CD-2020-01", title="Closed", country="CD", status="closed",
                             partner=project_named(CD).partner)
    japan = factories.DonorFactory(name="Japan")
    factories.ContributionFactory(reference="CT-1", donor=japan, amount=Decimal("10000.00"),
                                  received_on=dt.date(2025, 3, 1))
    factories.ContributionFactory(reference="CT-2", donor=japan, amount=Decimal("2000.00"),
                                  received_on=dt.date(2025, 5, 1))
    cd, cf = project_named(CD), project_named(CF)
    for project, amount, day, reference in ((cd, "3000.00", dt.date(2025, 4, 1), None),
                                            (cd, "1000.00", dt.date(2025, 4, 2), "AL-OLD"),
                                            (cf, "500.00", dt.date(2025, 4, 10), "AL-CF-OLD"),
                                            (cf, "700.00", dt.date(2025, 4, 6), None)):
        factories.AllocationFactory(project=project, amount_usd=Decimal(amount), allocated_on=day, reference=reference)


GOOD_ALLOCATIONS = [
    [CD, "3000.00", "2025-04-01", ""],          # the recorded one without a reference
    [CD, "3000.00", "2025-04-01", "AL-CD-1"],   # that one is taken: a new one; 10,000 − 5,200 = 4,800 free
    [CD, "1000.00", "2025-04-02", "AL-OLD"],    # recorded
    [CF, "700.00", "2025-04-06", "AL-CF-7"],    # names the recorded one without a reference
    [CF, "700.00", "2025-04-06", ""],           # that one is taken: a new one; 10,000 − 8,200 = 1,800 free
    [CF, "1100.00", "2025-05-01", ""],          # 12,000 − 8,900 = 3,100 free
    [CD, "2000.00", "2025-05-01", "AL-CD-2"],   # 12,000 − 10,000 = 2,000 free: all of it
]


def test_allocations_in_batches_refuse_what_rows_refuse(rq, funding_manager, batch_rows):
    data = csv_file(ALLOCATION_COLUMNS, *GOOD_ALLOCATIONS[:3],
                    [CD, "1000.00", "2025-04-03", "AL-OLD"],
                    [CF, "1800.01", "2025-04-05", ""],          # 10,000 − 8,200 = 1,800 free
                    [CF, "1800.00", "2025-04-05", ""],
                    [CF, "500.00", "2025-05-01", ""],           # 12,000 − 10,000 = 2,000 free
                    [CD, "10", "2025-02-28", ""],               # nothing received yet
                    [SS, "10", "2025-04-02", ""],
                    [CD, "ten", "2025-04-02", ""],
                    ["TF-CD-2020-01", "10", "2025-05-01", ""],
                    [CD, "500.00", "2025-04-10", "AL-CF-OLD"],
                    [CD, "1500.00", "2025-05-01", ""],          # 12,000 − 10,500 = 1,500 free: all of it
                    [CD, "0.01", "2025-05-01", ""],
                    [CD, "100", "2099-01-01", ""],
                    [CD, "5", "2025-05-01", "AL-CD-1"],
                    [CD, "3000.00", "2025-04-01", ""],
                    [CD, "1000000000.01", "2025-05-01", ""])
    row_by_row, in_batches = both("allocations", data, funding_manager, recorded_allocations)
    assert in_batches[0] == row_by_row[0]
    assert row_by_row[0] == ([
        "row 5: allocated_on: differs from row 4, which has the same reference",
        "row 6: amount_usd: only $1,800.00 received is not yet allocated",
        "row 9: amount_usd: only $0.00 received is not yet allocated",
        f"row 10: project_code: {SS} is not known in your countries",
        "row 11: amount_usd: 'ten' is not a plain amount like 1250.50 (digits and one dot only: no spaces, no commas)",
        "row 12: project_code: project TF-CD-2020-01 is closed",
        "row 13: project_code: differs from the recorded AL-CF-OLD",
        "row 15: amount_usd: only $0.00 received is not yet allocated",
        "row 16: allocated_on: is in the future",
        "row 17: amount_usd: differs from row 3, which has the same reference",
        "row 18: same as row 2",
        "row 19: amount_usd: is larger than any amount the Fund handles (1,000,000,000 USD)",
    ], (4, 0, 2), False)


def test_allocations_in_batches_write_the_allocations_and_events_rows_write(rq, funding_manager, batch_rows):
    row_by_row, in_batches = both("allocations", csv_file(ALLOCATION_COLUMNS, *GOOD_ALLOCATIONS), funding_manager,
                                  recorded_allocations)
    assert in_batches == row_by_row
    (summary, (records, events), again) = in_batches
    assert summary == ([], (4, 1, 2), True)
    assert again == ([], (0, 0, 7), True)
    assert sorted((a["project_id"], a["amount_usd"], a["allocated_on"], a["reference"] or "", a["created_by_id"])
                  for a in records["allocations"]) == [
        (CD, Decimal("1000.00"), dt.date(2025, 4, 2), "AL-OLD", None),
        (CD, Decimal("2000.00"), dt.date(2025, 5, 1), "AL-CD-2", funding_manager.email),
        (CD, Decimal("3000.00"), dt.date(2025, 4, 1), "", None),
        (CD, Decimal("3000.00"), dt.date(2025, 4, 1), "AL-CD-1", funding_manager.email),
        (CF, Decimal("500.00"), dt.date(2025, 4, 10), "AL-CF-OLD", None),
        (CF, Decimal("700.00"), dt.date(2025, 4, 6), "", funding_manager.email),
        (CF, Decimal("700.00"), dt.date(2025, 4, 6), "AL-CF-7", None),
        (CF, Decimal("1100.00"), dt.date(2025, 5, 1), "", funding_manager.email),
    ]
    # 5,200 + 3,000 + 700 + 1,100 + 2,000: all the 12,000 received
    assert sum(a["amount_usd"] for a in records["allocations"]) == Decimal("12000.00")
    assert [(action, entity_id) for action, _entity, entity_id, _user, _changes in events] == [
        ("create", "AL-CD-1"), ("update", "AL-CF-7"), ("create", f"{CF} 700.00 2025-04-06"),
        ("create", f"{CF} 1100.00 2025-05-01"), ("create", "AL-CD-2"), ("import", None)]
    assert events[1][4] == {"reference": [None, "AL-CF-7"]}
    assert events[2][4] == {"id": [None, f"{CF} 700.00 2025-04-06"], "project_id": [None, CF],
                            "amount_usd": [None, "700.00"], "allocated_on": [None, "2025-04-06"],
                            "created_by_id": [None, funding_manager.email]}


# --- a batch the database refuses ------------------------------------------------------------------------------------

def recorded_funding_kinds():
    """Each funding kind's good file, with the records it needs."""
    return {
        "exchange_rates": (csv_file(RATE_COLUMNS, *GOOD_RATES), recorded_rate),
        "donors": (csv_file(DONOR_COLUMNS, *GOOD_DONORS), recorded_donors),
        "projects": (csv_file(PROJECT_COLUMNS, *GOOD_PROJECTS), recorded_projects),
        "budget_lines": (csv_file(BUDGET_COLUMNS, *GOOD_BUDGET), recorded_line),
        "pledges": (csv_file(PLEDGE_COLUMNS, *GOOD_PLEDGES), recorded_pledges),
        "contributions": (csv_file(CONTRIBUTION_COLUMNS, *GOOD_CONTRIBUTIONS), recorded_contributions),
        "allocations": (csv_file(ALLOCATION_COLUMNS, *GOOD_ALLOCATIONS), recorded_allocations),
    }


@pytest.mark.parametrize("kind", ["exchange_rates", "donors", "projects", "budget_lines", "pledges", "contributions",
                                  "allocations"])
def test_a_batch_the_database_refuses_is_applied_row_by_row(rq, funding_manager, batch_rows, monkeypatch, kind):
    """The first batch refused (as a race would have it): its rows go in one by one, and the later batches in
    batches again, with the records and events of row by row."""
    data, setup = recorded_funding_kinds()[kind]
    real, calls = import_batch.write, []

    def refuse_once(session, actions, models):
        calls.append(len(actions))
        if len(calls) == 1:
            raise IntegrityError("INSERT", {}, Exception("refused for the test"))
        return real(session, actions, models)

    monkeypatch.setattr(import_batch, "write", refuse_once)
    row_by_row, in_batches = both(kind, data, None if kind == "exchange_rates" else funding_manager, setup, again=False)
    assert calls[0] > 0
    assert len(calls) > 1 or batch_rows == 500  # batches of 2: the batches after the first were written as such
    assert in_batches == row_by_row
    errors, _counts, committed = in_batches[0]
    assert errors == [] and committed is True


def _meanwhile(batch_class, monkeypatch, record) -> list:
    """Someone records ``record()`` after the first batch looked its rows up and before it writes them; returns
    the list of the database's refusals of a batch, filled as they come."""
    real, done, refusals = batch_class.look_up, [], []
    real_write = import_batch.write

    def write(session, actions, models):
        try:
            return real_write(session, actions, models)
        except import_batch.REFUSED as error:
            refusals.append(type(error).__name__)
            raise

    def then_someone_else(self, rows):
        real(self, rows)
        if not done:
            done.append(True)
            _db.session.add(record())
            _db.session.flush()

    monkeypatch.setattr(batch_class, "look_up", then_someone_else)
    monkeypatch.setattr(import_batch, "write", write)
    return refusals


# (kind, what someone records meanwhile, what the import then reports), rows as in the kind's good file
RACES = {
    "exchange_rates": (import_batch_kinds.Rates, lambda: ExchangeRate(
        currency="CDF", valid_from=dt.date(2025, 2, 1), usd_per_unit=Decimal("0.00041")),
        ["row 3: usd_per_unit: a different rate for CDF from 2025-02-01 exists already (0.00041000)",
         "row 4: usd_per_unit: a different rate for CDF from 2025-02-01 exists already (0.00041000)"]),
    "projects": (import_batch_kinds.Projects, lambda: Project(
        code="TF-CD-2025-02", title="Juba", country="SS", partner=project_named(SS).partner,
        start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 12, 31), status="active"),
        # outside the manager's countries: each row naming the code would add it, and finds it taken
        ["row 3: code: TF-CD-2025-02 exists already", "row 4: code: TF-CD-2025-02 exists already",
         "row 5: code: TF-CD-2025-02 exists already"]),
    "pledges": (import_batch_money.Pledges, lambda: Pledge(
        reference="PL-JP-2", donor=donor_named("Sweden"), amount=Decimal("1.00"), currency="USD",
        pledged_on=dt.date(2025, 4, 1), usd_amount=Decimal("1.00"), usd_rate=Decimal("1")),
        ["row 3: donor: differs from the recorded PL-JP-2"]),
    "contributions": (import_batch_money.Contributions, lambda: Contribution(
        reference="CT-SE-1", donor=donor_named("Japan"), amount=Decimal("4000.00"), currency="USD",
        received_on=dt.date(2025, 7, 15), usd_amount=Decimal("4000.00"), usd_rate=Decimal("1")),
        ["row 5: donor: differs from the recorded CT-SE-1"]),
    # 0.01 more allocated: row 3 refused, the rows after it still fit (row 8: 12,000 − 7,000.01 ≥ 2,000)
    "allocations": (import_batch_money.Allocations, lambda: Allocation(
        project=project_named(CF), amount_usd=Decimal("0.01"), allocated_on=dt.date(2025, 5, 1), reference="AL-CD-1"),
        ["row 3: project_code: differs from the recorded AL-CD-1"]),
}


@pytest.mark.parametrize("kind", sorted(RACES))
def test_the_row_the_database_refuses_in_a_batch_is_named(rq, funding_manager, monkeypatch, kind):
    """Someone records the same key a moment after the batch looked it up: the database refuses the batch, and
    row by row names the row as it would have, and nothing is saved."""
    from tracker.imports.kinds import get_kind
    from tracker.imports.reading import parse_upload
    from tracker.imports.running import run_import

    data, setup = recorded_funding_kinds()[kind]
    batch_class, record, expected = RACES[kind]
    setup()
    refusals = _meanwhile(batch_class, monkeypatch, record)
    parsed = parse_upload(data, "file.csv", get_kind(kind))
    user = None if kind == "exchange_rates" else funding_manager
    result = run_import(get_kind(kind), parsed, user=user, dry_run=False, history=False)
    assert len(refusals) == 1  # a unique constraint (PostgreSQL: under COPY, psycopg's UniqueViolation)
    assert [str(e) for e in result.errors] == expected
    assert result.committed is False


@pytest.mark.parametrize("kind, expected", [
    # Kingdom of Norway recorded meanwhile as an NGO: row 5 changes it (instead of adding it), rows 6 and 7 as before
    ("donors", (1, 3, 3)),
    # 999.00 recorded meanwhile for medical in 2026: row 5 changes it (instead of adding it)
    ("budget_lines", (1, 3, 2)),
])
def test_a_record_the_database_refuses_in_a_batch_is_taken_as_row_by_row_takes_it(rq, funding_manager, monkeypatch,
                                                                                   kind, expected):
    from tracker.imports.kinds import get_kind
    from tracker.imports.reading import parse_upload
    from tracker.imports.running import run_import

    data, setup = recorded_funding_kinds()[kind]
    setup()
    if kind == "donors":
        refusals = _meanwhile(import_batch_kinds.Donors, monkeypatch,
                              lambda: Donor(name="Kingdom of Norway", kind="ngo", country="NO"))
    else:
        refusals = _meanwhile(import_batch_kinds.BudgetLines, monkeypatch, lambda: BudgetLine(
            project=project_named(CD), year=2026, category="medical", amount_usd=Decimal("999.00")))
    parsed = parse_upload(data, "file.csv", get_kind(kind))
    result = run_import(get_kind(kind), parsed, user=funding_manager, dry_run=False, history=False)
    assert len(refusals) == 1
    assert (result.errors, (result.created, result.updated, result.unchanged), result.committed) == (
        [], expected, True)
