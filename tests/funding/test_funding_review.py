"""The underfunding review (GET /review/), its CSV exports and ``flask report funding-gap`` agree.

The demo data is seeded once for the module (it takes a few seconds) in an app
of its own, so that no test of this module empties the tables in between; the
tables are emptied when the module is done. (No test here may use the per-test
``app`` fixture: the demo data would still be in its tables.)
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import ROUND_HALF_EVEN, Decimal
from html.parser import HTMLParser

import pytest
from sqlalchemy import text
from werkzeug.security import generate_password_hash

from tests import factories
from tests.conftest import PASSWORD, AuthActions, _empty_tables, _make_app
from tracker.auth import services as auth_services
from tracker.extensions import db as _db
from tracker.models import CATEGORIES

MONEY_KEYS = ("need", "allocated", "gap", "balance", "school_fee_forward_need")


# --- the demo, once for the module -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(_schema, database_url):
    app = _make_app(database_url)
    with pytest.MonkeyPatch.context() as mp:
        # scrypt is slow by design; the demo's users do not need it here.
        mp.setattr(auth_services, "generate_password_hash",
                   lambda password: generate_password_hash(password, method="pbkdf2:sha256:1000"))
        with app.app_context():
            assert _db.session.execute(text("SELECT count(*) FROM projects")).scalar() == 0
        result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        _db.session.remove()
        _empty_tables()
        _db.engine.dispose()


def _client(app, email, password):
    client = app.test_client()
    response = AuthActions(client).login(email, password)
    assert response.status_code == 302, f"sign-in of {email} failed"
    return client


@pytest.fixture(scope="module")
def manager(demo):
    """The demo manager, of all five countries."""
    return _client(demo, "manager@example.org", "demo-manager-pass")


@pytest.fixture(scope="module")
def views(demo, manager):
    """Everything compared, fetched once: the CLI's JSON and CSV, the page, the projects export."""
    runner = demo.test_cli_runner()
    out = runner.invoke(args=["report", "funding-gap", "--format", "json"])
    assert out.exit_code == 0, out.output
    cli_csv = runner.invoke(args=["report", "funding-gap", "--format", "csv"])
    assert cli_csv.exit_code == 0, cli_csv.output
    page = manager.get("/review/")
    assert page.status_code == 200
    export = manager.get("/review/export/projects.csv")
    assert export.status_code == 200
    return {
        "json": json.loads(out.stdout),
        "cli_csv": list(csv.DictReader(io.StringIO(cli_csv.stdout))),
        "page": Page(page.get_data(as_text=True)),
        "export": _csv(export),
    }


# --- reading what the page and the exports show --------------------------------------------------------------------

class Page(HTMLParser):
    """The review page as plain data: its tiles (dt -> dd text) and its tables (rows of cell texts)."""

    def __init__(self, html: str):
        super().__init__()
        self.html = html
        self.tiles: dict[str, str] = {}
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self._dt: str | None = None
        self._tile: list[str] | None = None
        self._in_table = 0
        #: The waterfall's steps: (label, amount as shown).
        self.waterfall: list[tuple[str, str]] = []
        self._span: tuple[str, list[str]] | None = None
        self._small = False
        self._depth = 0  # spans opened inside the one being read
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._in_table += 1
            self.tables.append([])
        elif tag == "tr" and self._in_table:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self._in_table:
            self._cell = []
        elif tag in ("dt", "dd"):
            self._tile = []
        elif tag == "span" and self._span is not None:
            self._depth += 1
        elif tag == "span" and ("class", "what") in attrs:
            self._span = ("what", [])
        elif tag == "span" and ("class", "amount") in attrs:
            self._span = ("amount", [])
        elif tag == "small":
            self._small = True

    def handle_endtag(self, tag):
        if tag == "small":
            self._small = False
        if tag == "span" and self._depth:
            self._depth -= 1
            return
        if tag == "span" and self._span is not None and self._span[0] == "amount":
            text = " ".join("".join(self._span[1]).split())
            self.waterfall[-1] = (self.waterfall[-1][0], text)
            self._span = None
        elif tag == "span" and self._span is not None and self._span[0] == "what" and not self._small:
            self.waterfall.append((" ".join("".join(self._span[1]).split()), ""))
            self._span = None
        if tag == "table":
            self._in_table -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "dt" and self._tile is not None:
            self._dt = " ".join("".join(self._tile).split())
            self._tile = None
        elif tag == "dd" and self._tile is not None:
            self.tiles.setdefault(self._dt, " ".join("".join(self._tile).split()))
            self._tile = None

    def handle_data(self, data):
        if self._span is not None and not self._small:
            self._span[1].append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._tile is not None:
            self._tile.append(data)

    def table(self, first_header: str) -> list[list[str]]:
        return next(t for t in self.tables if t and t[0] and t[0][0] == first_header)


def money(text: str) -> Decimal:
    """``$1,234.56`` or ``-$1,234.56`` (English) as a Decimal."""
    text = text.strip().replace("\u2212", "-")
    match = re.fullmatch(r"(-?)\$([\d,]+\.\d{2})", text)
    assert match, f"not money: {text!r}"
    return Decimal(match.group(1) + match.group(2).replace(",", ""))


def _csv(response) -> list[dict]:
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def _runway(text: str):
    return None if text == "—" else Decimal(text.replace(",", ""))


def _json_runway(value):
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"))


# --- the three agree ------------------------------------------------------------------------------------------------

def test_the_demo_has_something_to_compare(views):
    out = views["json"]
    assert len(out["projects"]) >= 5
    assert {p["country"] for p in out["projects"]} == {"CD", "CF", "SS", "HT", "LR"}
    assert Decimal(out["totals"]["need"]) > 0 and Decimal(out["totals"]["gap"]) > 0


def test_page_projects_agree_with_the_json(views):
    out, page = views["json"], views["page"]
    by_code = {p["code"]: p for p in out["projects"]}
    table = page.table("Project")
    header, *rows = table
    assert header == ["Project", "Need", "Allocated", "Gap", "Coverage", "Balance", "Runway (months)",
                      "Fees still to fund", "Children at risk"]
    body, total = rows[:-1], rows[-1]
    assert sorted(r[0].split()[0] for r in body) == sorted(by_code)
    for row in body:
        code, country = row[0].split()
        p = by_code[code]
        assert country == p["country"]
        shown = dict(zip(("need", "allocated", "gap", "coverage", "balance", "runway", "school_fee_forward_need",
                          "children_at_risk"), row[1:]))
        for key in MONEY_KEYS:
            assert money(shown[key]) == Decimal(p[key]), (code, key)
        assert int(shown["children_at_risk"]) == p["children_at_risk"], code
        if Decimal(p["overcommitted"]):
            # Never a negative runway: the over-commitment, in words.
            assert shown["runway"] == f"over-committed by ${Decimal(p['overcommitted']):,}", code
            assert Decimal(p["balance"]) == -Decimal(p["overcommitted"]) and p["runway_months"] in (0, None)
        else:
            assert _runway(shown["runway"]) == _json_runway(p["runway_months"]), code
        if p["coverage"] is None:
            assert shown["coverage"] == "—"
        else:
            assert abs(int(shown["coverage"].rstrip("%").replace(",", "")) - p["coverage"] * 100) <= 0.5001, code
    # The total row.
    t = out["totals"]
    assert total[0] == "Total"
    for key, cell in zip(("need", "allocated", "gap"), total[1:4]):
        assert money(cell) == Decimal(t[key]), key
    assert money(total[5]) == Decimal(t["balance"])
    assert _runway(total[6]) == _json_runway(t["runway_months"])
    assert money(total[7]) == Decimal(t["school_fee_forward_need"])
    assert int(total[8]) == t["children_at_risk"]


def test_page_tiles_agree_with_the_json(views):
    out, tiles = views["json"], views["page"].tiles
    fund = out["fund"]
    assert money(tiles["Pledged"]) == Decimal(fund["pledged"])
    assert money(tiles["Received"]) == Decimal(fund["received"])
    assert money(tiles["Pledges still owed"]) == Decimal(fund["outstanding_pledges"])
    assert money(tiles["Exchange difference"]) == Decimal(fund["exchange_difference"])
    assert money(tiles["Allocated to projects"]) == Decimal(fund["allocated"])
    assert money(tiles["Received, not allocated"]) == Decimal(fund["unallocated"])
    assert money(tiles["Free to go to any project"]) == Decimal(fund["free_resources"])
    t = out["totals"]
    assert money(tiles["Need"]) == Decimal(t["need"])
    assert money(tiles["Allocated"].split()[0]) == Decimal(t["allocated"])
    assert money(tiles["Gap"]) == Decimal(t["gap"])
    assert money(tiles["Balance"]) == Decimal(t["balance"])
    assert money(tiles["School fees still to fund this year"]) == Decimal(t["school_fee_forward_need"])
    assert int(tiles["Children at risk of missing fees"].replace(",", "")) == t["children_at_risk"]
    runway = tiles["Runway"]
    if t["runway_months"] is None:
        assert runway == "—"
    else:
        assert Decimal(runway.split()[0].replace(",", "")) == _json_runway(t["runway_months"])


def test_page_states_the_period_of_the_json(views):
    out, html = views["json"], views["page"].html
    assert f'name="from" value="{out["from"]}"' in html
    assert f'name="to" value="{out["to"]}"' in html


@pytest.mark.parametrize("source", ["export", "cli_csv"])
def test_projects_csv_agrees_with_the_json(views, source):
    out, rows = views["json"], views[source]
    # The TOTAL row has the projects' columns; the scope's own figures (earmarked, uncovered) are in the JSON only.
    totals = {k: v for k, v in out["totals"].items() if k not in ("earmarked_outstanding", "uncovered_gap")}
    expected = out["projects"] + [dict(totals, code="TOTAL", country="")]
    assert [r["code"] for r in rows] == [p["code"] for p in expected]
    for row, p in zip(rows, expected):
        for key, value in p.items():
            if key in ("coverage", "runway_months"):
                if value is None:
                    assert row[key] == "", (p["code"], key)
                else:
                    assert float(row[key]) == pytest.approx(value), (p["code"], key)
            else:
                assert row[key] == str(value), (source, p["code"], key)


def test_category_table_and_export_agree_with_the_json(views, manager):
    out, page = views["json"], views["page"]
    rows = _csv(manager.get("/review/export/categories.csv"))
    assert {r["category"]: {"need": r["need"], "disbursed": r["disbursed"]} for r in rows} == out["by_category"]
    assert [r["category"] for r in rows] == list(CATEGORIES)
    table = page.table("Category")[1:]
    assert len(table) == len(CATEGORIES)
    for (_label, need, paid, _unmet), category in zip(table, CATEGORIES):
        assert money(need) == Decimal(out["by_category"][category]["need"]), category
        assert money(paid) == Decimal(out["by_category"][category]["disbursed"]), category


def test_children_and_pledges_exports_agree_with_the_totals(views, manager):
    out = views["json"]
    children = _csv(manager.get("/review/export/children.csv"))
    assert len(children) == out["totals"]["children_at_risk"]
    for p in out["projects"]:
        assert sum(1 for c in children if c["project_code"] == p["code"]) == p["children_at_risk"], p["code"]
    pledges = _csv(manager.get("/review/export/pledges.csv"))
    assert sum(Decimal(r["outstanding"]) for r in pledges) == Decimal(out["fund"]["outstanding_pledges"])
    for r in pledges:
        # Owed in the pledge's currency, valued at the pledge's rate (not pledged USD − received USD).
        assert Decimal(r["amount"]) - Decimal(r["received"]) == Decimal(r["remaining"]) > 0
        usd = (Decimal(r["remaining"]) * Decimal(r["usd_rate"])).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
        assert Decimal(r["outstanding"]) == (Decimal(r["remaining"]) if r["currency"] == "USD" else usd)
        assert int(r["age_days"]) >= 0


def test_the_waterfall_walks_the_json_from_the_gap_to_what_is_still_to_find(views):
    out, page = views["json"], views["page"]
    steps = page.waterfall
    fund, t = out["fund"], out["totals"]
    assert [label for label, _amount in steps] == [
        "Gap", "Received, not yet allocated", "Pledges still owed", "Still to find"]
    amounts = [money(a.lstrip("−=").strip()) for _label, a in steps]
    assert amounts == [Decimal(t["gap"]), Decimal(fund["unallocated"]), Decimal(fund["outstanding_pledges"]),
                       Decimal(t["uncovered_gap"])]
    # The arithmetic the reader follows down the list.
    assert max(amounts[0] - amounts[1] - amounts[2], Decimal(0)) == amounts[3]
    assert fund["uncovered_gap"] == t["uncovered_gap"]   # the deprecated copy, for one release


def test_a_countrys_waterfall_takes_off_only_its_earmarked_pledges(demo, manager):
    out = demo.test_cli_runner().invoke(args=["report", "funding-gap", "--scope", "country:CD", "--format", "json"])
    data = json.loads(out.stdout)
    page = Page(manager.get("/review/?country=CD").get_data(as_text=True))
    steps = page.waterfall
    assert [label for label, _amount in steps] == ["Gap", "Pledges earmarked for it, still owed", "Still to find"]
    gap, earmarked, still = (money(a.lstrip("−=").strip()) for _label, a in steps)
    t = data["totals"]
    assert (gap, earmarked, still) == (Decimal(t["gap"]), Decimal(t["earmarked_outstanding"]),
                                       Decimal(t["uncovered_gap"]))
    assert still == max(gap - earmarked, Decimal(0))
    free = f"${Decimal(data['fund']['free_resources']):,}"
    assert f"The Fund also holds {free} that could go to any project" in page.html


def test_a_country_of_the_review_agrees_with_the_country_scope(demo, manager):
    out = demo.test_cli_runner().invoke(args=["report", "funding-gap", "--scope", "country:CD", "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    page = Page(manager.get("/review/?country=CD").get_data(as_text=True))
    body = page.table("Project")[1:-1]
    assert sorted(r[0].split()[0] for r in body) == sorted(p["code"] for p in data["projects"])
    assert money(page.tiles["Need"]) == Decimal(data["totals"]["need"])
    assert money(page.tiles["Gap"]) == Decimal(data["totals"]["gap"])
    assert money(page.tiles["Balance"]) == Decimal(data["totals"]["balance"])
    rows = _csv(manager.get("/review/export/projects.csv?country=CD"))
    assert [r["code"] for r in rows][:-1] == [p["code"] for p in data["projects"]]
    assert rows[-1]["need"] == data["totals"]["need"]


# --- who may see it, and what a bad request shows ------------------------------------------------------------------

@pytest.mark.parametrize("table", ["projects", "categories", "pledges", "children", "months"])
def test_every_export_downloads_as_csv(manager, table):
    response = manager.get(f"/review/export/{table}.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True).lstrip("\ufeff").splitlines()[0]


def test_unknown_export_is_404(manager):
    assert manager.get("/review/export/people.csv").status_code == 404


def test_review_is_403_for_staff_and_404_for_donors(demo):
    staff = _client(demo, "staff@example.org", "demo-staff-pass")
    assert staff.get("/review/").status_code == 403
    assert staff.get("/review/export/projects.csv").status_code == 403
    donor = _client(demo, "donor@example.org", "demo-donor-pass")
    assert donor.get("/review/").status_code == 404
    assert donor.get("/review/export/projects.csv").status_code == 404
    anonymous = demo.test_client()
    assert anonymous.get("/review/").status_code in (302, 401)


def test_a_country_outside_the_managers_countries_is_404(demo, manager):
    with demo.app_context():
        factories.UserFactory(role="manager", email="manager.cd@example.org", countries=["CD"])
    cd_manager = _client(demo, "manager.cd@example.org", PASSWORD)
    assert cd_manager.get("/review/?country=CF").status_code == 404
    assert cd_manager.get("/review/export/projects.csv?country=CF").status_code == 404
    page = Page(cd_manager.get("/review/").get_data(as_text=True))
    assert {r[0].split()[1] for r in page.table("Project")[1:-1]} == {"CD"}
    assert cd_manager.get("/review/?country=CD").status_code == 200
    # A country no one works in is outside the demo manager's five, too.
    assert manager.get("/review/?country=FR").status_code == 404


def test_a_period_ending_before_it_starts_shows_a_message(manager):
    response = manager.get("/review/?from=2025-06-01&to=2025-01-01")
    assert response.status_code == 200
    assert "The period ends before it starts" in response.get_data(as_text=True)
    response = manager.get("/review/?from=not-a-date")
    assert response.status_code == 200
    assert "not-a-date is not a date" in response.get_data(as_text=True)
    # Refused, with a message:
    assert manager.get("/review/export/projects.csv?from=2025-06-01&to=2025-01-01").status_code == 302


def test_a_period_ending_before_it_starts_by_the_default_end_shows_a_message(manager):
    # Only `from`, after today: the default `to` (today) is before it.
    response = manager.get("/review/?from=2099-01-01")
    assert response.status_code == 200
    assert "the period ends before it starts" in response.get_data(as_text=True).lower()


def test_an_export_of_a_period_ending_before_it_starts_is_not_a_500(manager):
    response = manager.get("/review/export/projects.csv?from=2099-01-01")
    assert response.status_code == 302
    assert b"the period ends before it starts" in manager.get(response.headers["Location"]).data


def test_a_chosen_period_is_the_one_shown(demo, manager):
    year = dt.date.today().year - 1
    frm, to = f"{year}-03-01", f"{year}-11-15"
    out = demo.test_cli_runner().invoke(
        args=["report", "funding-gap", "--from", frm, "--to", to, "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    page = Page(manager.get(f"/review/?from={frm}&to={to}").get_data(as_text=True))
    assert money(page.tiles["Need"]) == Decimal(data["totals"]["need"])
    assert money(page.tiles["Balance"]) == Decimal(data["totals"]["balance"])
    assert money(page.tiles["Pledged"]) == Decimal(data["fund"]["pledged"])
    assert int(page.tiles["Children at risk of missing fees"].replace(",", "")) == data["totals"]["children_at_risk"]
