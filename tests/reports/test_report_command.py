"""``flask report funding-gap``: the stable JSON (and CSV) of DESIGN section 7, its options and its errors."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal as D

import pytest

from tests import factories
from tests.conftest import AuthActions
from tracker.models import CATEGORIES
from tracker.models.base import today

TOP_KEYS = {"scope", "from", "to", "as_of", "currency", "fund", "totals", "by_category", "projects"}
FUND_KEYS = {"pledged", "received", "outstanding_pledges", "exchange_difference", "allocated", "unallocated",
             "free_resources", "uncovered_gap"}
FIGURE_KEYS = {"need", "allocated", "committed", "disbursed", "gap", "coverage", "balance", "overcommitted", "burn",
               "runway_months", "school_fee_forward_need", "children_at_risk"}
TOTAL_KEYS = FIGURE_KEYS | {"earmarked_outstanding", "uncovered_gap"}
PROJECT_KEYS = {"code", "country"} | FIGURE_KEYS
MONEY = re.compile(r"^-?\d+\.\d{2}$")
RATIOS = {"coverage", "runway_months"}
PERIOD = ["--from", "2025-01-01", "--to", "2025-10-15"]


@pytest.fixture
def data(db):
    """Three projects; the expected figures, worked out by hand, are in the tests."""
    clerk = factories.UserFactory(role="staff").id
    cd = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
    cf = factories.ProjectFactory(code="TF-CF-2025-01", country="CF")
    factories.ProjectFactory(code="TF-HT-2025-01", country="HT")          # no budget, no money
    factories.BudgetLineFactory(project=cd, year=2025, category="medical", amount_usd=D("1000.00"))
    factories.BudgetLineFactory(project=cd, year=2025, category="school_fees", amount_usd=D("500.00"))
    factories.BudgetLineFactory(project=cf, year=2025, category="iga", amount_usd=D("200.00"))
    factories.AllocationFactory(project=cd, amount_usd=D("600.00"), allocated_on=dt.date(2025, 2, 1))
    mother = factories.BeneficiaryFactory(project=cd)
    factories.DisbursementFactory(beneficiary=mother, status="paid", amount=D("90.00"), currency="USD",
                                  usd_amount=D("90.00"), usd_rate=D("1"), paid_on=dt.date(2025, 8, 5),
                                  payment_reference="PAY-1", entered_by_id=clerk)
    factories.DisbursementFactory(beneficiary=mother, status="approved", amount=D("10.00"), currency="USD",
                                  usd_amount=D("10.00"), usd_rate=D("1"), entered_by_id=clerk)
    factories.EnrolmentFactory(child=factories.ChildFactory(mother=mother), academic_year="2025-2026",
                               fee_per_term=D("25.00"), currency="USD", terms=2)
    cf_mother = factories.BeneficiaryFactory(project=cf)
    factories.EnrolmentFactory(child=factories.ChildFactory(mother=cf_mother), academic_year="2025-2026",
                               fee_per_term=D("5.00"), currency="USD", terms=1)
    pledge = factories.PledgeFactory(amount=D("1000.00"), pledged_on=dt.date(2025, 1, 10))
    factories.ContributionFactory(pledge=pledge, amount=D("700.00"), received_on=dt.date(2025, 2, 1))
    factories.ContributionFactory(amount=D("100.00"), received_on=dt.date(2025, 3, 1))


def report(runner, *args):
    return runner.invoke(args=["report", "funding-gap", *args])


def as_json(runner, *args) -> dict:
    result = report(runner, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _check_figures(figures: dict, keys: set):
    assert set(figures) == keys
    for key, value in figures.items():
        if key in RATIOS:
            assert value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)), (key, value)
        elif key == "children_at_risk":
            assert isinstance(value, int) and not isinstance(value, bool)
        elif key not in ("code", "country"):
            assert isinstance(value, str) and MONEY.match(value), (key, value)


def test_json_has_exactly_the_keys_of_design_section_7(data, runner):
    out = as_json(runner, *PERIOD)
    assert set(out) == TOP_KEYS
    assert (out["scope"], out["from"], out["to"], out["currency"]) == ("fund", "2025-01-01", "2025-10-15", "USD")
    assert out["as_of"] == today().isoformat()
    assert set(out["fund"]) == FUND_KEYS
    assert all(MONEY.match(v) for v in out["fund"].values()), out["fund"]
    _check_figures(out["totals"], TOTAL_KEYS)
    assert set(out["by_category"]) == set(CATEGORIES)
    for category, figures in out["by_category"].items():
        assert set(figures) == {"need", "disbursed"}, category
        assert all(MONEY.match(v) for v in figures.values()), category
    assert [p["code"] for p in out["projects"]] == ["TF-CD-2025-01", "TF-CF-2025-01", "TF-HT-2025-01"]
    for project in out["projects"]:
        _check_figures(project, PROJECT_KEYS)


def test_json_figures(data, runner):
    out = as_json(runner, *PERIOD)
    # pledged 1000.00; received 700.00 + 100.00 = 800.00; outstanding 1000 - 700 = 300.00;
    # allocated 600.00; unallocated 800 - 600 = 200.00;
    # gap CD max(1500 - 600, 0) = 900 + CF 200 + HT 0 = 1100 -> uncovered max(1100 - 200 - 300, 0) = 600.00
    # a USD pledge: no exchange difference; nothing earmarked: free 200 + 300 = 500.00
    assert out["fund"] == {"pledged": "1000.00", "received": "800.00", "outstanding_pledges": "300.00",
                           "exchange_difference": "0.00", "allocated": "600.00", "unallocated": "200.00",
                           "free_resources": "500.00", "uncovered_gap": "600.00"}
    assert (out["totals"]["earmarked_outstanding"], out["totals"]["uncovered_gap"]) == ("0.00", "600.00")
    cd, cf, ht = out["projects"]
    # CD: need 1500, allocated 600, gap 900, coverage 0.4, paid 90.00 in August (burn 90/3 = 30.00),
    #     committed 10.00, balance 600 - 90 - 10 = 500.00, runway 500/30 = 16.67,
    #     forward need 2 terms x 25.00 = 50.00 (fits in 500.00: nobody at risk)
    assert {k: cd[k] for k in ("code", "country", "need", "allocated", "committed", "disbursed", "gap", "balance",
                               "burn", "school_fee_forward_need", "children_at_risk")} == {
        "code": "TF-CD-2025-01", "country": "CD", "need": "1500.00", "allocated": "600.00", "committed": "10.00",
        "disbursed": "90.00", "gap": "900.00", "balance": "500.00", "burn": "30.00",
        "school_fee_forward_need": "50.00", "children_at_risk": 0}
    assert cd["coverage"] == pytest.approx(0.4)
    assert cd["runway_months"] == pytest.approx(16.67, abs=0.05)
    # CF: need 200, nothing allocated: coverage 0, balance 0, no burn (runway null), 1 child at risk (5.00)
    assert (cf["need"], cf["gap"], cf["coverage"], cf["balance"], cf["runway_months"]) == (
        "200.00", "200.00", 0, "0.00", None)
    assert (cf["school_fee_forward_need"], cf["children_at_risk"]) == ("5.00", 1)
    # HT: no need: coverage null
    assert (ht["need"], ht["coverage"], ht["runway_months"]) == ("0.00", None, None)
    t = out["totals"]
    assert (t["need"], t["allocated"], t["gap"], t["balance"], t["burn"]) == (
        "1700.00", "600.00", "1100.00", "500.00", "30.00")
    assert (t["school_fee_forward_need"], t["children_at_risk"]) == ("55.00", 1)
    assert t["coverage"] == pytest.approx(600 / 1700, abs=0.0001)
    assert out["by_category"]["medical"] == {"need": "1000.00", "disbursed": "90.00"}
    assert out["by_category"]["legal"] == {"need": "0.00", "disbursed": "0.00"}


def test_scope_project_and_country(data, runner):
    one = as_json(runner, "--scope", "project:TF-CF-2025-01", *PERIOD)
    assert one["scope"] == "project:TF-CF-2025-01"
    assert [p["code"] for p in one["projects"]] == ["TF-CF-2025-01"]
    assert (one["totals"]["need"], one["totals"]["gap"]) == ("200.00", "200.00")
    # The fund figures are the Fund's in any scope. The project's uncovered gap takes off only what is earmarked
    # for it (nothing): max(200 - 0, 0) = 200.00, not max(200 - 200 unallocated - 300 owed, 0) = 0.00, which
    # would count the Fund's free money against every scope at once. The deprecated fund copy says the same.
    assert one["fund"]["pledged"] == "1000.00"
    assert (one["totals"]["uncovered_gap"], one["fund"]["uncovered_gap"]) == ("200.00", "200.00")
    assert one["fund"]["free_resources"] == "500.00"   # 200 unallocated + 300 owed, shown beside

    country = as_json(runner, "--scope", "country:CD", *PERIOD)
    assert country["scope"] == "country:CD"
    assert [p["code"] for p in country["projects"]] == ["TF-CD-2025-01"]
    assert country["totals"]["need"] == "1500.00"
    assert country["by_category"]["iga"] == {"need": "0.00", "disbursed": "0.00"}


def test_from_and_to_choose_the_period(data, runner):
    out = as_json(runner, "--from", "2025-09-01", "--to", "2025-09-30")
    assert (out["from"], out["to"]) == ("2025-09-01", "2025-09-30")
    cd = out["projects"][0]
    # Budget year 2025: need 1500; nothing allocated in September: gap 1500; paid in August: not disbursed,
    # but burn (June..August) = 90/3 = 30.00 and balance 600 - 90 - 10 = 500.00.
    assert (cd["need"], cd["allocated"], cd["gap"], cd["disbursed"], cd["burn"], cd["balance"]) == (
        "1500.00", "0.00", "1500.00", "0.00", "30.00", "500.00")
    earlier = as_json(runner, "--from", "2024-01-01", "--to", "2024-12-31")
    assert earlier["totals"]["need"] == "0.00"
    assert earlier["fund"]["pledged"] == "0.00"


def test_default_period_is_this_year_to_today(data, runner):
    out = as_json(runner)
    day = today()
    assert (out["from"], out["to"]) == (dt.date(day.year, 1, 1).isoformat(), day.isoformat())


def test_output_file(data, runner, tmp_path):
    target = tmp_path / "gap.json"
    result = report(runner, *PERIOD, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    written = json.loads(target.read_text(encoding="utf-8"))
    assert written == as_json(runner, *PERIOD)
    target_csv = tmp_path / "gap.csv"
    result = report(runner, *PERIOD, "--format", "csv", "--output", str(target_csv))
    assert result.exit_code == 0, result.output
    assert target_csv.read_text(encoding="utf-8") == report(runner, *PERIOD, "--format", "csv").stdout


def test_csv_agrees_with_json(data, runner):
    out = as_json(runner, *PERIOD)
    result = report(runner, *PERIOD, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert set(rows[0]) == PROJECT_KEYS
    assert [r["code"] for r in rows] == ["TF-CD-2025-01", "TF-CF-2025-01", "TF-HT-2025-01", "TOTAL"]
    for row, figures in zip(rows, out["projects"] + [dict(out["totals"], code="TOTAL", country="")]):
        for key in PROJECT_KEYS:
            if key in RATIOS:
                assert (row[key] == "") == (figures[key] is None), key
                if figures[key] is not None:
                    assert float(row[key]) == pytest.approx(figures[key]), key
            else:
                assert row[key] == str(figures[key]), (row["code"], key)


@pytest.mark.parametrize("args, message", [
    (["--scope", "planet:Mars"], "unknown scope"),
    (["--scope", "project:TF-XX-0000-00"], "unknown project"),
    (["--scope", "country:C1"], "unknown scope"),
    (["--from", "2025-13-01"], "2025-13-01"),
    (["--to", "yesterday"], "yesterday"),
    (["--from", "2025-06-01", "--to", "2025-05-31"], "ends before it starts"),
])
def test_bad_scope_or_date_exits_non_zero_with_a_clear_message(data, runner, args, message):
    result = report(runner, *args)
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_bad_date_names_the_option(data, runner):
    result = report(runner, "--from", "01/02/2025")
    assert result.exit_code != 0
    assert "--from" in result.stderr and "YYYY-MM-DD" in result.stderr


def test_a_negative_balance_is_the_same_number_in_every_output(app, runner):
    """The JSON, the CLI CSV, the review page and its projects export show one number: no formula guard on it."""
    with app.app_context():
        p = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        factories.AllocationFactory(project=p, amount_usd=D("5.00"), allocated_on=dt.date(2025, 2, 1))
        clerk = factories.UserFactory(role="staff").id
        factories.DisbursementFactory(beneficiary=factories.BeneficiaryFactory(project=p), status="approved",
                                      amount=D("8.00"), currency="USD", usd_amount=D("8.00"), usd_rate=D("1"),
                                      entered_by_id=clerk)
        factories.UserFactory(role="manager", email="boss@example.org", countries=["CD"])
    out = json.loads(report(runner, *PERIOD).stdout)
    assert out["projects"][0]["balance"] == "-3.00"     # 5.00 allocated - 8.00 committed
    cli = list(csv.DictReader(io.StringIO(report(runner, *PERIOD, "--format", "csv").stdout)))
    assert cli[0]["balance"] == cli[1]["balance"] == "-3.00"
    client = app.test_client()
    assert AuthActions(client).login("boss@example.org").status_code == 302
    page = client.get("/review/?from=2025-01-01&to=2025-10-15").get_data(as_text=True)
    assert "-$3.00" in page
    export = client.get("/review/export/projects.csv?from=2025-01-01&to=2025-10-15").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(export.lstrip("\ufeff"))))
    assert rows[0]["balance"] == rows[1]["balance"] == "-3.00"
