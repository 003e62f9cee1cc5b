"""The amount the planner's command and API take (tracker/funding/plan_serialise.py: parse_amount and the
pattern the OpenAPI document gives it), and the JSON of a plan that gives nothing."""
from __future__ import annotations

import re
from decimal import Decimal as D

import pytest

from tracker.funding.plan_serialise import AMOUNT_PATTERN, parse_amount, plan_dict
from tracker.funding.planner import propose


@pytest.mark.parametrize("raw, value", [("0", "0.00"), ("25000", "25000.00"), ("1250.5", "1250.50"),
                                        (" 12.05 ", "12.05"), ("999999999999.99", "999999999999.99")])
def test_amounts_taken(raw, value):
    assert parse_amount(raw) == D(value) and str(parse_amount(raw)) == value
    assert re.fullmatch(AMOUNT_PATTERN, raw.strip())  # the API's pattern takes the same


@pytest.mark.parametrize("raw, says", [("-1", "cannot be negative"), ("-0.5", "cannot be negative"),
                                       ("1.001", "more than two decimals"), ("1.000", "more than two decimals"),
                                       ("1,000", "is not an amount"), ("1e3", "is not an amount"),
                                       ("NaN", "is not an amount"), ("", "is not an amount"),
                                       (".5", "is not an amount"),
                                       ("1000000000000", "too large")])
def test_amounts_refused(raw, says):
    with pytest.raises(ValueError, match=says):
        parse_amount(raw)
    assert not re.fullmatch(AMOUNT_PATTERN, raw)


def test_a_plan_of_nothing(db):
    # No project, no money: every figure 0, no allocation, no runway (no burn).
    body = plan_dict(propose(amount=D("0")))
    zero = {"children_at_risk": 0, "balance": "0.00", "runway_months": None, "gap": "0.00", "overcommitted": "0.00",
            "allocated": "0.00"}
    assert (body["amount"], body["total"], body["left"], body["unallocated"]) == ("0.00", "0.00", "0.00", "0.00")
    assert (body["before"], body["after"], body["allocations"]) == (zero, zero, [])
    assert "pots" not in body
