"""The whole-term batch page's selection: "Select all", "Clear the selection" and "Recalculate the total" redraw
the page without JavaScript and keep the ticks; the total of the selection in the fee's currency and in USD at
the rate approval will freeze, against the project's balance, with a warning when it goes over.

The testing configuration turns CSRF off, so forms are posted as plain data.
"""
from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests import factories
from tracker.disbursements.queries import TermRow
from tracker.disbursements.term_totals import batch_totals
from tracker.extensions import db as _db
from tracker.models import Disbursement, Project

PROJECT = "TF-CD-2025-01"
YEAR = "2025-2026"
URL = f"/disbursements/term?project={PROJECT}&academic_year={YEAR}&term=1&school="


@pytest.fixture
def school(app, staff_client) -> list[int]:
    """Three children at EP Mapendo, term 1 at 45,000 CDF each; CDF at 0.00035 USD; 40.00 USD allocated."""
    with app.app_context(), factories.one_commit():
        project = factories.ProjectFactory(code=PROJECT, country="CD")
        factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1), usd_per_unit=Decimal("0.00035"))
        factories.AllocationFactory(project=project, amount_usd=Decimal("40.00"), allocated_on=dt.date(2025, 6, 1))
        enrolments = []
        for n in (1, 2, 3):
            child = factories.ChildFactory(mother=factories.BeneficiaryFactory(project=project, number=n))
            enrolments.append(factories.EnrolmentFactory(child=child, academic_year=YEAR,
                                                         fee_per_term=Decimal("45000.00"), currency="CDF"))
        return [e.id for e in enrolments]


def ticked(response) -> list[int]:
    body = response.get_data(as_text=True)
    return sorted(int(x) for x in re.findall(r'name="enrolment" value="(\d+)" id="inc-\d+" checked', body))


def figure(response, name: str) -> str:
    found = re.search(rf'id="{name}">([^<]*)<', response.get_data(as_text=True))
    return html.unescape(found.group(1)).replace("\xa0", " ") if found else ""


def warning(response) -> str:
    found = re.search(r'id="batch-warning">(.*?)</p>', response.get_data(as_text=True), re.S)
    return re.sub(r"<[^>]+>", "", html.unescape(found.group(1))).replace("\xa0", " ") if found else ""


def saved(app) -> int:
    with app.app_context():
        return _db.session.scalar(select(func.count()).select_from(Disbursement))


def form(ids, *, tick=None, amounts=None, do=None, entered_on="2025-09-15"):
    data = {"enrolment": [str(i) for i in (ids if tick is None else tick)], "entered_on": entered_on,
            "batch_key": "totals-1"}
    data.update({f"amount-{i}": (amounts or {}).get(i, "45000.00") for i in ids})
    if do:
        data["do"] = do
    return data


def test_batch_page_opens_with_all_ticked_and_warns_that_the_total_exceeds_the_balance(school, staff_client):
    page = staff_client.get(URL)
    assert page.status_code == 200
    assert ticked(page) == sorted(school)
    # 3 × 45,000 CDF = 135,000 CDF; × 0.00035 = 15.75 USD each, 47.25 USD; 47.25 − 40.00 = 7.25 over.
    assert "135,000.00" in figure(page, "total-CDF")
    assert "47.25" in figure(page, "total-usd")
    assert "40.00" in figure(page, "project-balance")
    assert "exceeds the project's balance by" in warning(page) and "7.25" in warning(page)


def test_recalculate_keeps_the_ticks_and_totals_only_the_ticked_rows(app, school, staff_client):
    first, second, third = school
    response = staff_client.post(URL, data=form(school, tick=[first, third], do="recalculate"))
    assert response.status_code == 200
    assert ticked(response) == [first, third]
    # 90,000 CDF = 31.50 USD, within 40.00: 8.50 left.
    assert "90,000.00" in figure(response, "total-CDF") and "31.50" in figure(response, "total-usd")
    assert warning(response) == ""
    assert "8.50" in re.search(r'id="batch-left">([^<]*)<', response.get_data(as_text=True)).group(1)
    assert saved(app) == 0


def test_recalculate_uses_the_amounts_typed(app, school, staff_client):
    first = school[0]
    response = staff_client.post(URL, data=form(school, amounts={first: "40000"}, do="recalculate"))
    # 40,000 + 45,000 + 45,000 = 130,000 CDF; 14.00 + 15.75 + 15.75 = 45.50 USD; 5.50 over 40.00.
    assert "130,000.00" in figure(response, "total-CDF") and "45.50" in figure(response, "total-usd")
    assert "5.50" in warning(response)
    assert f'name="amount-{first}" value="40000"' in response.get_data(as_text=True)
    assert saved(app) == 0


def test_select_all_ticks_every_row_and_clear_unticks_them(app, school, staff_client):
    response = staff_client.post(URL, data=form(school, tick=[school[1]], do="select_all"))
    assert response.status_code == 200 and ticked(response) == sorted(school)
    assert "47.25" in figure(response, "total-usd")
    cleared = staff_client.post(URL, data=form(school, do="select_none"))
    assert cleared.status_code == 200 and ticked(cleared) == []
    assert "0.00" in figure(cleared, "total-usd") and warning(cleared) == ""
    assert saved(app) == 0


def test_unreadable_amount_is_shown_on_its_row_and_left_out_of_the_total(app, school, staff_client):
    bad = school[2]
    response = staff_client.post(URL, data=form(school, amounts={bad: "45,000"}, do="recalculate"))
    body = response.get_data(as_text=True)
    assert re.findall(r'<p class="error" id="err-(\d+)">', body) == [str(bad)]
    assert "90,000.00" in figure(response, "total-CDF") and "31.50" in figure(response, "total-usd")
    assert "1 amount cannot be read" in html.unescape(body)
    assert saved(app) == 0


def test_a_batch_over_the_balance_can_still_be_submitted_whole(app, school, staff_client):
    response = staff_client.post(URL, data=form(school))
    assert response.status_code == 302
    assert saved(app) == 3


def test_a_batch_with_one_bad_row_still_saves_nothing_and_keeps_the_ticks_and_totals(app, school, staff_client):
    first, second, third = school
    response = staff_client.post(URL, data=form(school, tick=[first, second], amounts={second: "0"}))
    assert response.status_code == 200 and saved(app) == 0
    assert ticked(response) == [first, second]
    assert "45,000.00" in figure(response, "total-CDF")  # the refused 0 is left out: 45,000


def test_totals_freeze_each_payment_at_the_rate_of_the_request_date_and_round_each_to_cents(app, school):
    with app.app_context():
        factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 9, 1), usd_per_unit=Decimal("0.0004"))
        project = _db.session.scalar(select(Project).where(Project.code == PROJECT))
        rows = [TermRow(i, f"C{i}", f"M{i}", "EP Mapendo", "P3", Decimal("45012.00"), "CDF") for i in school]

        def usd(day):
            return batch_totals(project=project, rows=rows, ticked=school, amounts={}, entered_on=day,
                                today=dt.date(2025, 10, 1))

        # Before 1 September: 45,012 × 0.00035 = 15.7542 → 15.75 each, 47.25 (not 135,036 × 0.00035 = 47.26).
        before = usd("2025-08-31")
        assert (before.usd, before.over_by, before.rates) == (Decimal("47.25"), Decimal("7.25"),
                                                              {"CDF": Decimal("0.00035")})
        # From 1 September: 45,012 × 0.0004 = 18.0048 → 18.00 each, 54.00.
        assert usd("2025-09-01").usd == Decimal("54.00")
        # No date, or not a date: today's rate (the submission reports the bad date).
        assert usd("").usd == usd("31/08/2025").usd == Decimal("54.00")
        assert usd("2025-09-01").by_currency == [("CDF", Decimal("135036.00"))]


def test_totals_say_when_a_currency_has_no_rate(app, school):
    with app.app_context():
        project = _db.session.scalar(select(Project).where(Project.code == PROJECT))
        rows = [TermRow(1, "C1", "M1", "S", "P3", Decimal("100.00"), "USD"),
                TermRow(2, "C2", "M2", "S", "P3", Decimal("100000"), "XAF")]
        totals = batch_totals(project=project, rows=rows, ticked={1, 2}, amounts={}, entered_on="2025-09-15",
                              today=dt.date(2025, 10, 1))
        assert totals.usd is None and totals.missing_rates == ["XAF"] and totals.over_by == 0
        assert totals.by_currency == [("USD", Decimal("100.00")), ("XAF", Decimal("100000"))]
        only_usd = batch_totals(project=project, rows=rows, ticked={1}, amounts={}, entered_on="2025-09-15",
                                today=dt.date(2025, 10, 1))
        # 100.00 USD against 40.00: 60.00 over.
        assert (only_usd.usd, only_usd.over_by, only_usd.left_after) == (Decimal("100.00"), Decimal("60.00"), None)
