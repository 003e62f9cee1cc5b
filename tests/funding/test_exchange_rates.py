"""Exchange rates: the administrators' page (/rates/), the ``add_rate`` service and ``flask import exchange_rates``.

A rate is USD per unit of a currency from a date, exact to 8 decimals;
(currency, valid_from) is unique; USD is always 1. Adding a rate never
changes a USD value already frozen on a record.
"""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests import factories
from tracker.disbursements import services
from tracker.errors import Invalid
from tracker.extensions import db as _db
from tracker.funding.rates import add_rate
from tracker.models import Disbursement, ExchangeRate
from tracker.models.base import today
from tracker.rates import rate_on


def rates(app) -> list[tuple[str, dt.date, Decimal]]:
    with app.app_context():
        return [tuple(r) for r in _db.session.execute(
            select(ExchangeRate.currency, ExchangeRate.valid_from, ExchangeRate.usd_per_unit)
            .order_by(ExchangeRate.currency, ExchangeRate.valid_from))]


def field_error(response, name: str) -> str | None:
    match = re.search(rf'<p class="error" id="{name}-error">(.*?)</p>', response.get_data(as_text=True), re.S)
    return html.unescape(match.group(1)) if match else None


# --- who may use the page --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who, status", [("staff_client", 403), ("manager_client", 403), ("donor_client", 404)])
def test_rates_page_is_for_administrators_only(request, app, who, status):
    client = request.getfixturevalue(who)
    assert client.get("/rates/").status_code == status
    posted = client.post("/rates/", data={"currency": "CDF", "valid_from": "2025-09-01", "usd_per_unit": "0.00035"})
    assert posted.status_code == status
    assert rates(app) == []


def test_administrator_sees_the_rates_by_currency(app, admin_client):
    with app.app_context():
        factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1),
                                      usd_per_unit=Decimal("0.00035"))
        factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 10, 1), usd_per_unit=Decimal("0.0004"))
        factories.ExchangeRateFactory(currency="XAF", valid_from=dt.date(2025, 1, 1), usd_per_unit=Decimal("0.0017"))
    response = admin_client.get("/rates/")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "0.00035000" in body and "0.00040000" in body and "0.00170000" in body
    only_cdf = admin_client.get("/rates/?currency=CDF").get_data(as_text=True)
    history = only_cdf.split("Rates of CDF", 1)[1]
    assert "0.00040000" in history and "0.00170000" not in history
    # USD is never offered: it is always 1.
    options = re.search(r'<select[^>]*name="currency"[^>]*>(.*?)</select>', body, re.S).group(1)
    assert 'value="USD"' not in options and 'value="CDF"' in options


# --- adding a rate ---------------------------------------------------------------------------------------------------

def test_administrator_adds_a_rate(app, admin_client):
    response = admin_client.post("/rates/", data={"currency": "CDF", "valid_from": "2025-09-01",
                                                  "usd_per_unit": "0.00035"})
    assert response.status_code == 302
    assert rates(app) == [("CDF", dt.date(2025, 9, 1), Decimal("0.00035000"))]


def test_rate_may_start_in_the_future(app, admin_client):
    later = (today() + dt.timedelta(days=30)).isoformat()
    response = admin_client.post("/rates/", data={"currency": "XAF", "valid_from": later, "usd_per_unit": "0.0017"})
    assert response.status_code == 302
    assert len(rates(app)) == 1


def test_second_rate_for_the_same_currency_and_day_is_refused(app, admin_client):
    data = {"currency": "CDF", "valid_from": "2025-09-01", "usd_per_unit": "0.00035"}
    admin_client.post("/rates/", data=data)
    response = admin_client.post("/rates/", data={**data, "usd_per_unit": "0.0004"})
    assert response.status_code == 200
    assert "a rate for CDF from 2025-09-01 exists already" in field_error(response, "valid_from")
    assert rates(app) == [("CDF", dt.date(2025, 9, 1), Decimal("0.00035000"))]


def test_same_currency_on_another_day_is_a_new_rate(app, admin_client):
    admin_client.post("/rates/", data={"currency": "CDF", "valid_from": "2025-09-01", "usd_per_unit": "0.00035"})
    admin_client.post("/rates/", data={"currency": "CDF", "valid_from": "2025-09-02", "usd_per_unit": "0.00036"})
    assert len(rates(app)) == 2


def test_usd_rate_is_refused(app, admin_client):
    response = admin_client.post("/rates/", data={"currency": "USD", "valid_from": "2025-09-01", "usd_per_unit": "1"})
    assert response.status_code == 200
    assert field_error(response, "currency")
    assert rates(app) == []


def test_service_refuses_a_usd_rate(rq):
    with pytest.raises(Invalid) as info:
        add_rate(currency="USD", valid_from=dt.date(2025, 9, 1), usd_per_unit="1")
    assert info.value.errors == {"currency": "USD is always 1"}


@pytest.mark.parametrize("rate, words", [
    ("0", "greater than zero"),
    ("0.00000000", "greater than zero"),
    ("-1", "not a plain rate"),
    ("abc", "not a plain rate"),
    ("0.000000001", "at most 8 decimal places"),
    ("1e-5", "not a plain rate"),
    ("0,00035", "not a plain rate"),
    ("NaN", "not a plain rate"),
    ("100000", "too large"),
])
def test_bad_rate_is_refused(app, admin_client, rate, words):
    response = admin_client.post("/rates/", data={"currency": "CDF", "valid_from": "2025-09-01",
                                                  "usd_per_unit": rate})
    assert response.status_code == 200
    assert words in field_error(response, "usd_per_unit")
    assert rates(app) == []


@pytest.mark.parametrize("data, field", [
    ({"currency": "XYZ"}, "currency"),
    ({"valid_from": "2025-02-30"}, "valid_from"),
    ({"usd_per_unit": ""}, "usd_per_unit"),
])
def test_incomplete_or_unknown_rate_is_refused(app, admin_client, data, field):
    form = {"currency": "CDF", "valid_from": "2025-09-01", "usd_per_unit": "0.00035", **data}
    response = admin_client.post("/rates/", data=form)
    assert response.status_code == 200
    assert field_error(response, field)
    assert rates(app) == []


@pytest.mark.parametrize("rate", ["0", "-1", "abc", "0.000000001", 0.00035])
def test_service_refuses_bad_rates(rq, rate):
    with pytest.raises(Invalid) as info:
        add_rate(currency="CDF", valid_from=dt.date(2025, 9, 1), usd_per_unit=rate)
    assert list(info.value.errors) == ["usd_per_unit"]


def test_rate_in_force_is_the_latest_from_that_day_or_before(rq):
    add_rate(currency="CDF", valid_from=dt.date(2025, 1, 1), usd_per_unit="0.00035")
    add_rate(currency="CDF", valid_from=dt.date(2025, 10, 1), usd_per_unit="0.0004")
    assert rate_on("CDF", dt.date(2024, 12, 31)) is None
    assert rate_on("CDF", dt.date(2025, 1, 1)) == Decimal("0.00035")
    assert rate_on("CDF", dt.date(2025, 9, 30)) == Decimal("0.00035")
    assert rate_on("CDF", dt.date(2025, 10, 1)) == Decimal("0.0004")
    assert rate_on("XAF", dt.date(2025, 10, 1)) is None
    assert rate_on("USD", dt.date(1990, 1, 1)) == Decimal("1")


def test_new_rate_on_the_page_never_changes_a_frozen_value(app, admin_client):
    with app.test_request_context():
        with factories.one_commit():
            factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1),
                                          usd_per_unit=Decimal("0.00035"))
            mother = factories.BeneficiaryFactory()
            staff = factories.UserFactory(role="staff")
            manager = factories.UserFactory(role="manager")
        d = services.enter(project=mother.project, category="medical", beneficiary=mother, payee="Clinic",
                           amount="45000", currency="CDF", entered_on=dt.date(2025, 9, 15), user=staff)
        services.approve(disbursement=d, user=manager)
        _db.session.commit()
        reference = d.reference
    # A rate from before the entry date, which would have been in force had it been known.
    admin_client.post("/rates/", data={"currency": "CDF", "valid_from": "2025-09-01", "usd_per_unit": "0.001"})
    assert len(rates(app)) == 2
    with app.app_context():
        frozen = _db.session.execute(select(Disbursement.usd_amount, Disbursement.usd_rate)
                                     .where(Disbursement.reference == reference)).one()
    assert tuple(frozen) == (Decimal("15.75"), Decimal("0.00035"))  # 45,000 × 0.00035, as approved


# --- flask import exchange_rates --------------------------------------------------------------------------------------

@pytest.fixture
def cli(app, tmp_path):
    runner = app.test_cli_runner()

    def invoke(*rows, header=("currency", "valid_from", "usd_per_unit")):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        path = tmp_path / "rates.csv"
        path.write_text(out.getvalue(), encoding="utf-8")
        return runner.invoke(args=["import", "exchange_rates", str(path)])

    return invoke


GOOD = [("CDF", "2025-01-01", "0.00035"), ("CDF", "2025-10-01", "0.0004"), ("XAF", "2025-01-01", "0.0017")]


def test_import_of_a_good_file_adds_the_rates(app, cli):
    result = cli(*GOOD)
    assert result.exit_code == 0, result.output
    assert "3 rows: 3 created" in result.output
    assert rates(app) == [("CDF", dt.date(2025, 1, 1), Decimal("0.00035")),
                          ("CDF", dt.date(2025, 10, 1), Decimal("0.0004")),
                          ("XAF", dt.date(2025, 1, 1), Decimal("0.0017"))]


def test_import_of_the_same_file_twice_adds_nothing(app, cli):
    assert cli(*GOOD).exit_code == 0
    again = cli(*GOOD)
    assert again.exit_code == 0, again.output
    assert "3 rows: 3 unchanged" in again.output
    assert len(rates(app)) == 3


def test_import_accepts_the_same_rate_written_differently(app, cli):
    cli(("CDF", "2025-01-01", "0.00035"))
    again = cli(("CDF", "2025-01-01", "0.000350"))
    assert again.exit_code == 0 and "1 unchanged" in again.output


def test_import_of_bad_rows_saves_nothing_and_reports_each_row(app, cli):
    result = cli(("CDF", "2025-01-01", "0.00035"),
                 ("USD", "2025-01-01", "1"),
                 ("CDF", "2025-02-01", "0"),
                 ("CDF", "2025-03-01", "-1"),
                 ("CDF", "2025-04-01", "abc"),
                 ("CDF", "2025-05-01", "0.000000001"),
                 ("XYZ", "2025-01-01", "0.1"),
                 ("XAF", "2025-13-01", "0.0017"),
                 ("XAF", "2025-01-01", "0.0017"))
    assert result.exit_code == 1
    output = result.output
    assert "row 3: currency: USD is always 1" in output
    assert "row 4: usd_per_unit: the rate must be greater than zero" in output
    assert "row 5: usd_per_unit: '-1' is not a plain rate like 0.00036" in output
    assert "row 6: usd_per_unit: 'abc' is not a plain rate like 0.00036" in output
    assert "row 7: usd_per_unit: rates have at most 8 decimal places" in output
    assert "row 8: currency: XYZ is not an ISO 4217 currency code such as USD" in output
    assert "row 9: valid_from: 2025-13-01 is not a date in the form YYYY-MM-DD" in output
    assert "row 2:" not in output and "row 10:" not in output
    assert "nothing saved: 7 rows with errors" in output
    assert rates(app) == []


def test_import_refuses_another_rate_for_a_recorded_day(app, cli):
    cli(("CDF", "2025-01-01", "0.00035"))
    result = cli(("CDF", "2025-01-01", "0.0004"))
    assert result.exit_code == 1
    assert "row 2: usd_per_unit: a different rate for CDF from 2025-01-01 exists already (0.00035" in result.output
    assert rates(app) == [("CDF", dt.date(2025, 1, 1), Decimal("0.00035"))]


def test_import_refuses_the_same_day_twice_in_one_file(app, cli):
    result = cli(("CDF", "2025-01-01", "0.00035"), ("CDF", "2025-01-01", "0.0004"))
    assert result.exit_code == 1
    assert "row 3: usd_per_unit: a different rate for CDF" in result.output
    assert rates(app) == []


@pytest.mark.parametrize("email", ["staff@example.org", "manager@example.org"])
def test_import_of_rates_is_refused_for_non_administrators(app, tmp_path, email):
    with app.app_context():
        factories.UserFactory(role="staff" if email.startswith("staff") else "manager", email=email)
    path = tmp_path / "rates.csv"
    path.write_text("currency,valid_from,usd_per_unit\r\nCDF,2025-01-01,0.00035\r\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "exchange_rates", str(path), "--as", email])
    assert result.exit_code == 1
    assert f"{email} may not import exchange_rates" in result.output
    assert rates(app) == []
