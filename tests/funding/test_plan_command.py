"""``flask plan allocations``: the planner's proposal as JSON and CSV, checked against figures worked out by hand.

:func:`build_plan_world` is small enough to plan by hand (tests/api/test_api_plan.py uses it too). As of
2026-06-30 (period 2026-01-01 to 2026-06-30, academic year 2025-2026, burn window March to May 2026):

==  =============  ========  ==========  =====================================  ===============  ===========
..  project        need      allocated   payments                               balance          burn
==  =============  ========  ==========  =====================================  ===============  ===========
A   TF-CD-2026-01  3000.00   1000.00     300.00 paid 2026-04-15                 700.00           100.00
B   TF-CD-2026-02  2000.00    500.00     800.00 approved (committed)            -300.00 (over)   0
C   TF-LR-2026-01  1000.00    200.00     none                                   200.00           0
==  =============  ========  ==========  =====================================  ===============  ===========

Children's next terms (USD, term 1 of 2025-2026), walked by term then child code:

- A: CD-C-00001-1 500, CD-C-00002-1 300, CD-C-00003-1 400: running 500 (<= 700, covered), 800, 1200: two at
  risk; covering the first costs 800 - 700 = 100.00, both 1200 - 700 = 500.00.
- B: CD-C-00004-1 200: balance <= 0, at risk; covering it costs 200 - (-300) = 500.00.
- C: LR-C-00005-1 250: 250 > 200, at risk; covering it costs 250 - 200 = 50.00.

The Fund received 10000.00 (2026-01-15) and allocated 1700.00: unallocated 8300.00. A pledge of 100.00, owed in
full, is earmarked for C.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from tests import factories
from tracker.extensions import db as _db
from tracker.models import Allocation, AuditEvent, Project

TO = "2026-06-30"
A, B, C = "TF-CD-2026-01", "TF-CD-2026-02", "TF-LR-2026-01"


def build_plan_world() -> None:
    """The projects, people, payments and money of the module docstring."""
    with factories.one_commit():
        a = factories.ProjectFactory(code=A, country="CD")
        b = factories.ProjectFactory(code=B, country="CD")
        c = factories.ProjectFactory(code=C, country="LR")
        for project, need in ((a, "3000.00"), (b, "2000.00"), (c, "1000.00")):
            factories.BudgetLineFactory(project=project, year=2026, category="school_fees", amount_usd=D(need))
        for project, amount in ((a, "1000.00"), (b, "500.00"), (c, "200.00")):
            factories.AllocationFactory(project=project, amount_usd=D(amount), allocated_on=dt.date(2026, 2, 1))
        mothers = {}
        for number, (project, fee) in enumerate(((a, "500.00"), (a, "300.00"), (a, "400.00"), (b, "200.00"),
                                                 (c, "250.00")), start=1):
            mother = factories.BeneficiaryFactory(project=project, number=number)
            child = factories.ChildFactory(mother=mother, number=1)
            factories.EnrolmentFactory(child=child, academic_year="2025-2026", fee_per_term=D(fee), currency="USD",
                                       terms=3)
            mothers[number] = mother
        clerk = factories.UserFactory(role="staff", countries=["CD"])
        common = dict(entered_by_id=clerk.id, currency="USD", usd_rate=D("1"))
        factories.DisbursementFactory(beneficiary=mothers[1], status="paid", amount=D("300.00"),
                                      usd_amount=D("300.00"), entered_on=dt.date(2026, 4, 1),
                                      paid_on=dt.date(2026, 4, 15), payment_reference="PAY-1", **common)
        factories.DisbursementFactory(beneficiary=mothers[4], status="approved", amount=D("800.00"),
                                      usd_amount=D("800.00"), entered_on=dt.date(2026, 5, 1), **common)
        factories.ContributionFactory(amount=D("10000.00"), received_on=dt.date(2026, 1, 15))
        factories.PledgeFactory(amount=D("100.00"), pledged_on=dt.date(2026, 3, 1), project=c)


def standing(children, balance, runway, gap, overcommitted, allocated) -> dict:
    return {"children_at_risk": children, "balance": balance, "runway_months": runway, "gap": gap,
            "overcommitted": overcommitted, "allocated": allocated}


def allocation(project, country, amount, covered, reasons, before, after) -> dict:
    return {"project": project, "country": country, "amount_usd": amount, "children_covered": covered,
            "reasons": reasons, "before": before, "after": after}


A_BEFORE = standing(2, "700.00", 7.0, "2000.00", "0.00", "1000.00")  # runway 700 / 100
B_BEFORE = standing(1, "-300.00", None, "1500.00", "300.00", "500.00")
C_BEFORE = standing(1, "200.00", None, "800.00", "0.00", "200.00")

#: 1000.00 over the whole Fund.
#: 1. Children: all four cost 500 + 500 + 50 = 1050 > 1000; three: A's two and C's (500 + 50 = 550), A's first,
#:    B's and C's (100 + 500 + 50 = 650) or A's two and B's (1000): the least is 550: A 500.00, C 50.00.
#: 2. Over-commitments: B's 300.00 from the 450.00 left; 150.00 left.
#: 3. The gaps left, in cents: A 300000 - 100000 - 50000 = 150000, B 200000 - 50000 - 30000 = 120000,
#:    C 100000 - 20000 - 5000 = 75000; together 345000. 15000 cents shared: A 150000 * 15000 / 345000 =
#:    6521 rest 255000, B 120000 * 15000 / 345000 = 5217 rest 135000, C 75000 * 15000 / 345000 = 3260 rest
#:    300000; 14998 given, the 2 cents left to the largest rests, C then A: A 65.22, B 52.17, C 32.61.
#: A 565.22, B 352.17, C 82.61 (1000.00). After: A balance 1265.22 (runway 12.65 -> 12.7), allocated 1565.22,
#: gap 1434.78, no child at risk (1265.22 >= 1200); B balance 52.17 (< 200: its child stays at risk), allocated
#: 852.17, gap 1147.83; C balance 282.61 (>= 250), allocated 282.61, gap 717.39.
FUND_1000 = {
    "scope": "fund", "to": TO, "share": "need", "with_pledges": False, "amount": "1000.00", "pledges": "0.00",
    "available": "1000.00", "total": "1000.00", "left": "0.00", "unallocated": "8300.00",
    # Totals: balance 700 - 300 + 200 = 600 (runway 600 / 100 = 6.0), gap 2000 + 1500 + 800 = 4300; after:
    # 1265.22 + 52.17 + 282.61 = 1600.00 (16.0), gap 4300 - 1000 = 3300.00, allocated 1700 + 1000 = 2700.00.
    "before": standing(4, "600.00", 6.0, "4300.00", "300.00", "1700.00"),
    "after": standing(1, "1600.00", 16.0, "3300.00", "0.00", "2700.00"),
    "allocations": [
        allocation(A, "CD", "565.22", 2, ["children", "gap"], A_BEFORE,
                   standing(0, "1265.22", 12.7, "1434.78", "0.00", "1565.22")),
        allocation(B, "CD", "352.17", 0, ["overcommitment", "gap"], B_BEFORE,
                   standing(1, "52.17", None, "1147.83", "0.00", "852.17")),
        allocation(C, "LR", "82.61", 1, ["children", "gap"], C_BEFORE,
                   standing(0, "282.61", None, "717.39", "0.00", "282.61")),
    ],
}

#: 1000.00 over CD's projects only (A and B): three children cost A's two and B's, 500 + 500 = 1000: all of it.
#: B's 500.00 clears its over-commitment (300) and covers its child (200): nothing is left for a gap.
#: Totals before: balance 700 - 300 = 400 (runway 4.0), gap 3500, allocated 1500; after: 1200 + 200 = 1400 (14.0),
#: gap 2500, allocated 2500.
CD_1000_ALLOCATIONS = [
    allocation(A, "CD", "500.00", 2, ["children"], A_BEFORE, standing(0, "1200.00", 12.0, "1500.00", "0.00",
                                                                      "1500.00")),
    allocation(B, "CD", "500.00", 1, ["children", "overcommitment"], B_BEFORE,
               standing(0, "200.00", None, "1000.00", "0.00", "1000.00")),
]
CD_1000_BEFORE = standing(3, "400.00", 4.0, "3500.00", "300.00", "1500.00")
CD_1000_AFTER = standing(0, "1400.00", 14.0, "2500.00", "0.00", "2500.00")


@pytest.fixture
def world(db):
    build_plan_world()


def plan(runner, *args):
    return runner.invoke(args=["plan", "allocations", *args])


def as_json(runner, *args) -> dict:
    result = plan(runner, "--to", TO, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def without_fingerprint(body: dict) -> dict:
    fingerprint = body.pop("fingerprint")
    assert len(fingerprint) == 64 and int(fingerprint, 16) >= 0
    return body


def test_json_proposal_worked_out_by_hand(world, runner):
    assert without_fingerprint(as_json(runner, "--amount", "1000")) == FUND_1000


def test_a_country_scope_plans_its_projects_only(world, runner):
    body = as_json(runner, "--amount", "1000.00", "--scope", "country:cd")
    assert (body["scope"], body["total"], body["left"]) == ("country:CD", "1000.00", "0.00")
    assert body["allocations"] == CD_1000_ALLOCATIONS
    assert (body["before"], body["after"]) == (CD_1000_BEFORE, CD_1000_AFTER)


def test_the_amount_defaults_to_the_funds_unallocated_money(world, runner):
    # 8300.00: the four children (1050.00, B's 500 clearing its over-commitment too), then every gap left in full
    # (A 3000 - 1000 - 500 = 1500, B 2000 - 500 - 500 = 1000, C 1000 - 200 - 50 = 750): A 2000.00, B 1500.00,
    # C 800.00, 4300.00 in all; 4000.00 that no project can take.
    body = as_json(runner)
    assert (body["amount"], body["total"], body["left"]) == ("8300.00", "4300.00", "4000.00")
    assert [(a["project"], a["amount_usd"], a["children_covered"]) for a in body["allocations"]] == [
        (A, "2000.00", 2), (B, "1500.00", 1), (C, "800.00", 1)]
    assert (body["after"]["children_at_risk"], body["after"]["gap"]) == (0, "0.00")


def test_share_in_order_of_code(world, runner):
    # As FUND_1000 to the over-commitments (A 500, C 50, B 300); the 150.00 left go to the first code, A.
    body = as_json(runner, "--amount", "1000", "--share", "order")
    assert body["share"] == "order"
    assert [(a["project"], a["amount_usd"]) for a in body["allocations"]] == [(A, "650.00"), (B, "300.00"),
                                                                              (C, "50.00")]


def test_share_in_the_order_given(world, runner):
    # As FUND_1000 to the over-commitments (A 500, C 50, B 300); the 150.00 left go to C first: its gap left is
    # 1000 - 200 - 50 = 750, so it takes them all (C 200.00); B and A, after it, get nothing more.
    body = as_json(runner, "--amount", "1000", "--share", "order", "--order", f"{C},{B}")
    assert [(a["project"], a["amount_usd"]) for a in body["allocations"]] == [(A, "500.00"), (B, "300.00"),
                                                                              (C, "200.00")]


def test_with_pledges_spends_the_earmarked_pot_first(world, runner):
    # No money in hand, C's pot of 100.00: its child (50.00), then its gap (800 - 50 = 750 > the 50.00 left).
    # A and B can take nothing: the free money is 0.
    body = as_json(runner, "--amount", "0", "--with-pledges")
    assert (body["with_pledges"], body["pledges"], body["available"], body["total"], body["left"]) == (
        True, "100.00", "100.00", "100.00", "0.00")
    assert body["pots"] == [{"kind": "free", "key": None, "amount": "0.00", "used": "0.00"},
                            {"kind": "project", "key": C, "amount": "100.00", "used": "100.00"}]
    assert [(a["project"], a["amount_usd"], a["reasons"]) for a in body["allocations"]] == [
        (C, "100.00", ["children", "gap"])]
    assert "pots" not in as_json(runner, "--amount", "0")


def test_csv_rows_worked_out_by_hand(world, runner):
    result = plan(runner, "--amount", "1000", "--to", TO, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    figures = ("children_at_risk", "balance", "runway_months", "gap", "overcommitted", "allocated")
    assert rows[0] == ["project", "country", "amount_usd", "children_covered",
                       *(f"before_{k}" for k in figures), *(f"after_{k}" for k in figures)]
    assert rows[1:] == [  # the figures of FUND_1000; an empty runway where there is no burn
        [A, "CD", "565.22", "2", "2", "700.00", "7.0", "2000.00", "0.00", "1000.00",
         "0", "1265.22", "12.7", "1434.78", "0.00", "1565.22"],
        [B, "CD", "352.17", "0", "1", "-300.00", "", "1500.00", "300.00", "500.00",
         "1", "52.17", "", "1147.83", "0.00", "852.17"],
        [C, "LR", "82.61", "1", "1", "200.00", "", "800.00", "0.00", "200.00",
         "0", "282.61", "", "717.39", "0.00", "282.61"],
        ["TOTAL", "", "1000.00", "3", "4", "600.00", "6.0", "4300.00", "300.00", "1700.00",
         "1", "1600.00", "16.0", "3300.00", "0.00", "2700.00"],
    ]


def test_it_changes_nothing_and_writes_to_a_file(world, runner, tmp_path):
    def counts():
        _db.session.remove()
        return (_db.session.scalar(select(func.count()).select_from(Allocation)),
                _db.session.scalar(select(func.count()).select_from(AuditEvent)))

    before = counts()
    out = tmp_path / "plan.json"
    result = plan(runner, "--amount", "1000", "--to", TO, "--format", "json", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"Wrote {out}" in result.output
    assert without_fingerprint(json.loads(out.read_text(encoding="utf-8"))) == FUND_1000
    assert counts() == before == (3, before[1])


def test_the_fingerprint_follows_the_data(world, runner):
    first = as_json(runner, "--amount", "1000")["fingerprint"]
    assert as_json(runner, "--amount", "1000")["fingerprint"] == first
    project = _db.session.scalar(select(Project).where(Project.code == A))
    factories.AllocationFactory(project=project, amount_usd=D("1.00"), allocated_on=dt.date(2026, 6, 1))
    assert as_json(runner, "--amount", "1000")["fingerprint"] != first


@pytest.mark.parametrize("args, status, says", [
    (["--amount", "-5"], 2, "cannot be negative"),
    (["--amount", "1.234"], 2, "more than two decimals"),
    (["--amount", "abc"], 2, "is not an amount"),
    (["--amount", "1e3"], 2, "is not an amount"),
    (["--amount", "1000000000000"], 2, "too large"),
    (["--to", "2026-02-30"], 2, "--to"),
    (["--share", "random"], 2, "--share"),
    (["--order", "TF-CD-2026-01"], 2, "an order is for --share order"),
    (["--order", "TF-CD-2026-01;TF-LR-2026-01", "--share", "order"], 2, "is not a list of project codes"),
    (["--share", "order", "--order", "TF-XX-2026-01"], 1, "TF-XX-2026-01: not a project of the scope fund"),
    (["--scope", "bogus"], 1, "unknown scope 'bogus'"),
    (["--scope", "country:ZZ"], 1, "unknown country 'ZZ'"),
    (["--scope", "project:TF-XX-9999-99"], 1, "unknown project 'TF-XX-9999-99'"),
])
def test_bad_options_say_what_is_wrong(world, runner, args, status, says):
    result = plan(runner, "--format", "json", *args)
    assert result.exit_code == status
    assert says in result.output
    if status == 2:
        assert args[0] in result.output  # the option at fault is named
    assert "{" not in result.output  # no plan printed


def test_help_says_what_the_amount_defaults_to(app, runner):
    result = plan(runner, "--help")
    assert result.exit_code == 0
    assert "money received and not yet allocated" in " ".join(result.output.split())
