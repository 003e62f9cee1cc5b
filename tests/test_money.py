"""Exact money: the Money column type through the database, parsing and conversion.

Every expected figure is worked out by hand in the test.
"""
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import StatementError

from tests import factories
from tracker import money
from tracker.models import BudgetLine, ExchangeRate
from tracker.money import MoneyError, exponent, parse_amount, parse_rate, to_usd

# --- the Money column, through the database -------------------------------------------------


def test_three_ten_cent_lines_sum_to_exactly_thirty_cents_in_sql(db):
    project = factories.ProjectFactory()
    for category in ("medical", "legal", "outreach"):
        factories.BudgetLineFactory(project=project, category=category, amount_usd=Decimal("0.10"))
    db.session.expire_all()

    total = db.session.scalar(select(func.sum(BudgetLine.amount_usd)))

    # 0.1 + 0.1 + 0.1 in binary floating point is 0.30000000000000004.
    assert isinstance(total, Decimal)
    assert total == Decimal("0.30")
    assert str(total) == "0.30"


def test_money_is_stored_as_whole_cents(db):
    factories.BudgetLineFactory(amount_usd=Decimal("0.10"))
    raw = db.session.execute(text("select amount_usd from budget_lines")).scalar()
    assert raw == 10


def test_twelve_million_with_cents_round_trips_exactly(db):
    line = factories.BudgetLineFactory(amount_usd=Decimal("12345678.91"))
    line_id = line.id
    db.session.expire_all()

    amount = db.session.get(BudgetLine, line_id).amount_usd

    assert amount == Decimal("12345678.91")
    assert str(amount) == "12345678.91"


def test_rate_with_eight_decimals_round_trips_exactly(db):
    rate = factories.ExchangeRateFactory(usd_per_unit=Decimal("0.00036125"))
    rate_id = rate.id
    db.session.expire_all()

    stored = db.session.get(ExchangeRate, rate_id).usd_per_unit

    assert stored == Decimal("0.00036125")
    assert str(stored) == "0.00036125"
    assert db.session.execute(text("select usd_per_unit from exchange_rates")).scalar() == 36125


@pytest.mark.parametrize("value", [0.1, 12.5, float(1)])
def test_money_column_refuses_a_float(db, value):
    project = factories.ProjectFactory()
    db.session.add(BudgetLine(project=project, year=2025, category="medical", amount_usd=value))
    with pytest.raises(StatementError) as caught:
        db.session.flush()
    assert isinstance(caught.value.orig, TypeError)
    db.session.rollback()
    assert db.session.scalar(select(func.count(BudgetLine.id))) == 0


def test_money_column_refuses_a_third_decimal_instead_of_rounding(db):
    project = factories.ProjectFactory()
    db.session.add(BudgetLine(project=project, year=2025, category="medical", amount_usd=Decimal("10.005")))
    with pytest.raises(StatementError) as caught:
        db.session.flush()
    assert isinstance(caught.value.orig, ValueError)
    db.session.rollback()
    assert db.session.scalar(select(func.count(BudgetLine.id))) == 0


def test_rate_column_refuses_a_ninth_decimal(db):
    db.session.add(ExchangeRate(currency="CDF", valid_from=dt.date(2025, 1, 1),
                                usd_per_unit=Decimal("0.000361251")))
    with pytest.raises(StatementError) as caught:
        db.session.flush()
    assert isinstance(caught.value.orig, ValueError)
    db.session.rollback()


# --- parse_amount ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text_, currency",
    [
        ("NaN", "USD"),
        ("nan", None),
        ("Infinity", "USD"),
        ("-Infinity", None),
        ("1e9999", "USD"),
        ("1E3", None),
        ("-0.01", "USD"),
        ("0", "USD"),
        ("0.00", "USD"),
        ("1,000", "USD"),
        ("1 000", "USD"),
        ("12.345", "USD"),
        ("12.5", "XAF"),
        ("12.50", "XAF"),
        ("+5", "USD"),
        (".5", "USD"),
        ("5.", "USD"),
        ("1.2.3", "USD"),
        ("", "USD"),
        ("   ", "USD"),
        (None, "USD"),
        ("\u0661\u0662", "USD"),  # Arabic-Indic digits: isdigit() but not ASCII
        ("1000000000000", "USD"),  # the ceiling itself
        ("12", "XYZ"),  # unknown currency
        ("12", "FRF"),  # withdrawn currency
    ],
)
def test_parse_amount_refuses_bad_input(text_, currency):
    with pytest.raises(MoneyError):
        parse_amount(text_, currency)


@pytest.mark.parametrize("value", [12.5, 0.1, float("nan"), float("inf")])
def test_parse_amount_refuses_a_float(value):
    with pytest.raises(MoneyError):
        parse_amount(value, "USD")


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("Infinity"), Decimal("1E+9999"), Decimal("-0.01"), Decimal("0")]
)
def test_parse_amount_refuses_bad_decimals(value):
    with pytest.raises(MoneyError):
        parse_amount(value, "USD")


@pytest.mark.parametrize("currency", ["USD", "CDF", "XAF", "KWD", None])
def test_half_a_cent_is_refused_in_every_currency(currency):
    with pytest.raises(MoneyError):
        parse_amount("0.005", currency)


def test_parse_amount_accepts_dollars_and_cents():
    assert parse_amount("1250.50", "USD") == Decimal("1250.50")


def test_parse_amount_strips_surrounding_spaces():
    assert parse_amount("  1250.50 ", "USD") == Decimal("1250.50")


def test_parse_amount_accepts_whole_francs():
    assert parse_amount("12500", "XAF") == Decimal("12500")


def test_parse_amount_accepts_just_below_the_ceiling():
    assert parse_amount("999999999999.99", "USD") == Decimal("999999999999.99")


def test_parse_amount_accepts_zero_only_when_allowed():
    assert parse_amount("0", "USD", allow_zero=True) == Decimal("0")
    with pytest.raises(MoneyError):
        parse_amount("-1", "USD", allow_zero=True)


def test_parse_amount_result_fits_the_money_column():
    # The column stores 2 decimals; a value with more would make it raise.
    assert parse_amount("12500", "XAF").as_tuple().exponent == -2
    assert parse_amount("7", "USD").as_tuple().exponent == -2


def test_currency_exponents():
    assert exponent("XAF") == 0
    assert exponent("CDF") == 2
    assert exponent("USD") == 2
    # KWD has 3 decimals (fils) by ISO 4217; the code caps every currency at
    # the 2 decimals the Money column stores.
    assert exponent("KWD") == 2


def test_kuwaiti_dinar_amounts_are_capped_at_two_decimals():
    assert parse_amount("1.23", "KWD") == Decimal("1.23")
    with pytest.raises(MoneyError):
        parse_amount("1.234", "KWD")


def test_exponent_of_unknown_currency_raises():
    with pytest.raises(MoneyError):
        exponent("XYZ")


def test_programme_currencies_are_known():
    for code in ("USD", "CDF", "XAF", "SSP", "HTG", "LRD", "EUR"):
        assert money.is_currency(code), code
    assert not money.is_currency("usd")
    assert not money.is_currency("")


# --- parse_rate ----------------------------------------------------------------------------


def test_parse_rate_accepts_eight_decimals():
    assert parse_rate("0.00036125") == Decimal("0.00036125")


@pytest.mark.parametrize("text_", ["0.000361251", "0", "0.00000000", "-0.0003", "3.5e-4", "NaN", "", "100000"])
def test_parse_rate_refuses_bad_input(text_):
    with pytest.raises(MoneyError):
        parse_rate(text_)


def test_parse_rate_refuses_a_float():
    with pytest.raises(MoneyError):
        parse_rate(0.00036)


# --- to_usd ----------------------------------------------------------------------------


def test_forty_five_thousand_francs_at_0_00035_is_fifteen_seventy_five():
    # 45000 x 0.00035 = 15.75 exactly.
    usd = to_usd(Decimal("45000"), "CDF", Decimal("0.00035"))
    assert usd == Decimal("15.75")
    assert str(usd) == "15.75"


def test_one_franc_rounds_to_zero_cents():
    # 1 x 0.000345 = 0.000345, below half a cent.
    assert str(to_usd(Decimal("1"), "CDF", Decimal("0.000345"))) == "0.00"


def test_conversion_below_half_a_cent_rounds_down():
    # 45001 x 0.00035 = 15.75035 -> 15.75
    assert to_usd(Decimal("45001"), "CDF", Decimal("0.00035")) == Decimal("15.75")


def test_conversion_above_half_a_cent_rounds_up():
    # 12345 x 0.0017 = 20.9865 -> 20.99
    assert to_usd(Decimal("12345"), "XAF", Decimal("0.0017")) == Decimal("20.99")


@pytest.mark.parametrize(
    "amount, expected",
    [
        # At 0.0005 USD per franc every amount ending in 5 francs x 10 gives an exact half cent.
        ("250", "0.12"),  # 0.125 -> 0.12 (2 is even; half-up would give 0.13)
        ("270", "0.14"),  # 0.135 -> 0.14 (4 is even; half-down would give 0.13)
        ("10", "0.00"),  # 0.005 -> 0.00 (0 is even)
        ("30", "0.02"),  # 0.015 -> 0.02
        ("25050", "12.52"),  # 12.525 -> 12.52
        ("25070", "12.54"),  # 12.535 -> 12.54
    ],
)
def test_exact_half_cents_round_to_the_even_cent(amount, expected):
    usd = to_usd(Decimal(amount), "CDF", Decimal("0.0005"))
    assert str(usd) == expected


def test_usd_amount_keeps_its_value_whatever_the_rate():
    assert to_usd(Decimal("1250.50"), "USD", Decimal("1")) == Decimal("1250.50")


def test_round_cents_is_half_even():
    assert str(money.round_cents(Decimal("2.675"))) == "2.68"
    assert str(money.round_cents(Decimal("2.665"))) == "2.66"


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("currency", ["USD", "CDF", "XAF", "HTG", "SSP", "LRD", "EUR", "JPY", "KWD"])
def test_amounts_are_written_as_babel_writes_them(app, lang, currency):
    """format_money writes amounts with a layout read once from Babel (tracker/formatting.py): it must agree with
    Babel's own format_currency, rounding (half to even) and signs included, to the character."""
    import random
    from decimal import ROUND_HALF_EVEN

    from babel import Locale
    from babel.numbers import format_currency
    from flask_babel import force_locale

    from tracker.formatting import _spaced, format_money

    def babel(amount, whole):
        if whole:
            pattern = Locale.parse(lang).currency_formats["standard"].pattern.replace(".00", "")
            amount = amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN) + 0
            return _spaced(format_currency(amount, currency, format=pattern, locale=lang, currency_digits=False))
        return _spaced(format_currency(amount, currency, locale=lang, currency_digits=True))

    draw = random.Random(f"{lang}{currency}")
    amounts = [Decimal(x) for x in ("0", "-0.00", "0.005", "0.015", "-0.005", "2.5", "-2.5", "999.995", "1000",
                                    "-1234567.891", "98765432109.87")]
    amounts += [Decimal(draw.randint(-10**10, 10**10)).scaleb(-draw.randint(0, 4)) for _ in range(300)]
    with app.test_request_context(), force_locale(lang):
        for amount in amounts:
            for whole in (False, True):
                assert format_money(amount, currency, whole=whole) == babel(amount, whole), (amount, whole)
