"""Amounts typed in a form are read in the user's language (``1 250,50`` in French, ``1,250.50`` in English),
exactly; imports stay strict (DESIGN section 7)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask_wtf import FlaskForm

from tracker import money
from tracker.forms import amount_field

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(("typed", "locale", "expected"), [
    ("1 250,50", "fr", "1250.50"),                 # a plain space between the thousands
    (f"1{NBSP}250,50", "fr", "1250.50"),           # a no-break space
    (f"1{NNBSP}250,50", "fr", "1250.50"),          # a narrow no-break space (what French formatting writes)
    ("1250,5", "fr", "1250.5"),
    ("12 345 678,09", "fr", "12345678.09"),
    ("1250.50", "fr", "1250.50"),                  # the plain writing, with two decimals, means one amount
    ("1,250.50", "en", "1250.50"),
    ("1250.50", "en", "1250.50"),
    ("120,500", "en", "120500"),                   # in English a comma separates thousands
    ("1 250.50", "en", "1250.50"),
    ("  45000 ", "en", "45000"),
])
def test_a_typed_amount_is_read_exactly_in_the_users_language(typed, locale, expected):
    value = money.parse_typed_amount(typed, locale)
    assert type(value) is Decimal
    assert value == Decimal(expected)


@pytest.mark.parametrize(("typed", "locale"), [
    ("1.250,50", "en"),      # French writing in an English form
    ("1250,5", "en"),        # a comma that separates no thousands
    ("1,25", "en"),
    ("1,250.50", "fr"),      # English writing in a French form
    ("1.250", "fr"),         # 1.25 or 1250?
    ("1.250,50", "fr"),      # a dot is no French thousands separator here
    ("12 50,5", "fr"),       # thousands not in threes
    ("NaN", "fr"),
    ("1e5", "en"),
    ("12O", "en"),
    ("١٢٣", "en"),           # digits other than 0-9
])
def test_what_could_mean_two_amounts_is_refused_with_an_example_in_the_users_language(app, typed, locale):
    with app.test_request_context(headers={"Accept-Language": locale}):
        with pytest.raises(money.MoneyError) as refused:
            money.parse_typed_amount(typed, locale)
        expected = (f"{typed!r} is not an amount: write a number such as 1,250.50" if locale == "en" else
                    f"{typed!r} n'est pas un montant{NBSP}: écrivez un nombre comme 1{NNBSP}250,50")
        assert str(refused.value) == expected


def test_a_float_is_never_taken(app):
    with app.test_request_context():
        with pytest.raises(money.MoneyError):
            money.parse_typed_amount(1250.5, "en")


def test_imports_stay_strict_and_say_so(app):
    with app.test_request_context():
        for typed in ("1 250,50", "1,250.50", f"1{NNBSP}250"):
            with pytest.raises(money.MoneyError) as refused:
                money.parse_amount(typed, "USD")
            assert "is not a plain amount like 1250.50 (digits and one dot only: no spaces, no commas)" in \
                str(refused.value)


class _AmountForm(FlaskForm):
    class Meta:
        csrf = False

    amount = amount_field("Amount")


@pytest.mark.parametrize(("typed", "language", "expected"), [
    ("1 250,50", "fr", Decimal("1250.50")),
    (f"1{NNBSP}250,50", "fr", Decimal("1250.50")),
    ("1250,5", "fr", Decimal("1250.5")),
    ("1,250.50", "en", Decimal("1250.50")),
    ("", "en", None),
])
def test_the_amount_field_reads_the_request_language(app, typed, language, expected):
    with app.test_request_context(method="POST", data={"amount": typed}, headers={"Accept-Language": language}):
        form = _AmountForm()
        assert form.validate()
        assert form.amount.data == expected


def test_the_amount_field_refuses_french_writing_in_english_and_shows_it_as_typed(app):
    with app.test_request_context(method="POST", data={"amount": "1 250,50"}, headers={"Accept-Language": "en"}):
        form = _AmountForm()
        assert not form.validate()
        assert form.amount.errors == ["'1 250,50' is not an amount: write a number such as 1,250.50"]
        assert 'value="1 250,50"' in form.amount()


def test_the_amount_field_shows_a_stored_amount_in_the_users_language(app):
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        form = _AmountForm(data={"amount": Decimal("1250.50")})
        assert 'value="1250,50"' in form.amount()
        form = _AmountForm(data={"amount": Decimal("45000.00")})
        assert 'value="45000"' in form.amount()
