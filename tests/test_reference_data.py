"""Countries are exactly ISO 3166-1; currencies are those that are legal tender, from Babel's data."""
from __future__ import annotations

import datetime as dt

import pytest

from tracker.countries import COUNTRY_CODES, is_country
from tracker.money import CURRENCIES, MoneyError, legal_tender, parse_amount


def test_countries_are_the_249_of_iso_3166_1():
    assert len(COUNTRY_CODES) == 249
    for code in ("CD", "CF", "SS", "HT", "LR", "FR", "NO", "AX", "BQ", "SX", "PS", "EH"):
        assert is_country(code), code


@pytest.mark.parametrize("code", ["AC", "CP", "CQ", "DG", "EA", "IC", "TA", "XK", "EU", "UN", "ZZ"])
def test_codes_iso_3166_1_does_not_assign_are_not_countries(code):
    assert not is_country(code)


def test_currencies_of_the_programme_and_of_the_donors_are_accepted():
    for code in ("USD", "CDF", "XAF", "SSP", "HTG", "LRD", "EUR", "NOK", "SEK", "JPY", "CHF", "GBP", "XCG"):
        assert code in CURRENCIES, code


@pytest.mark.parametrize("code", ["FRF", "DEM", "ANG", "BGN", "XAD", "XDR", "XAU", "XXX", "ZWL", "SLL"])
def test_codes_that_are_no_ones_money_today_are_refused(code):
    assert code not in CURRENCIES
    with pytest.raises(MoneyError):
        parse_amount("12", code)


def test_legal_tender_follows_the_date():
    # The lev was Bulgaria's money until the euro replaced it on 1 January 2026; the Netherlands Antillean guilder
    # gave way to the Caribbean guilder (XCG) in 2025.
    assert "BGN" in legal_tender(dt.date(2025, 6, 1)) and "BGN" not in legal_tender(dt.date(2026, 6, 1))
    assert "ANG" in legal_tender(dt.date(2024, 6, 1)) and "XCG" not in legal_tender(dt.date(2024, 6, 1))
