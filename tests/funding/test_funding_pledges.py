"""What a pledge still owes, in its own currency, and what the exchange rates did (DESIGN section 3).

Each test builds its records by hand and works the expected figures out by
hand in the comments beside them: USD values are rounded half-even to cents
per record, an amount in the pledge's currency to that currency's minor unit
(EUR/NOK cents, JPY/XAF whole units). The code under test is never used to
obtain an expected value.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from decimal import ROUND_HALF_EVEN
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories
from tracker.extensions import db as _db
from tracker.funding.engine import funding_picture
from tracker.funding.pledges import pledge_positions
from tracker.models import Contribution, Donor, Pledge
from tracker.money import from_usd

FROM, TO = dt.date(2025, 1, 1), dt.date(2025, 10, 15)  # mid-October: the burn window is July..September
MONEY = re.compile(r"^-?\d+\.\d{2}$")

_refs = itertools.count(1)


def pledge(amount, currency="USD", rate="1", usd=None, *, on=dt.date(2025, 2, 1), **extra):
    """A pledge with its USD value frozen as given (``usd``), at ``rate``."""
    return factories.PledgeFactory(amount=D(amount), currency=currency, usd_rate=D(rate),
                                   usd_amount=D(usd if usd is not None else amount), pledged_on=on, **extra)


def receive(against, amount, currency=None, rate="1", usd=None, *, on=dt.date(2025, 3, 1)):
    """A contribution against ``against`` (in the pledge's currency unless told), USD frozen as given."""
    return factories.ContributionFactory(pledge=against, amount=D(amount), currency=currency or against.currency,
                                         usd_rate=D(rate), usd_amount=D(usd if usd is not None else amount),
                                         received_on=on)


def rate(currency, valid_from, usd_per_unit):
    return factories.ExchangeRateFactory(currency=currency, valid_from=valid_from, usd_per_unit=D(usd_per_unit))


def position(pledge_row, to=TO):
    """The position of one pledge as of ``to``."""
    return next(p for p in pledge_positions(to) if p.id == pledge_row.id)


@pytest.fixture
def clerk(db):
    return factories.UserFactory(role="staff").id


def pay(project, usd, *, by, status="paid", paid_on=None):
    """A USD disbursement of ``project``'s new mother, ``paid`` on ``paid_on`` or ``approved`` (committed)."""
    n = next(_refs)
    extra = dict(paid_on=paid_on, payment_reference=f"PAY-PL-{n:05d}") if status == "paid" else {}
    return factories.DisbursementFactory(beneficiary=factories.BeneficiaryFactory(project=project), status=status,
                                         amount=D(usd), currency="USD", usd_amount=D(usd), usd_rate=D("1"),
                                         entered_by_id=by, **extra)


def project_of(picture, code):
    return next(p for p in picture.projects if p.code == code)


# ---------------------------------------------------------------------------------------------------------------------
# A pledge paid in full in its own currency owes nothing, whatever the rates did
# ---------------------------------------------------------------------------------------------------------------------

def test_pledge_paid_in_full_after_its_currency_fell_owes_nothing_and_shows_a_loss(db):
    # EUR 1000.00 pledged at 1.10 = 1100.00; paid 600.00 at 1.05 (630.00) and 400.00 at 1.02 (408.00)
    p = pledge("1000.00", "EUR", "1.10", "1100.00")
    receive(p, "600.00", rate="1.05", usd="630.00", on=dt.date(2025, 3, 1))
    receive(p, "400.00", rate="1.02", usd="408.00", on=dt.date(2025, 6, 1))
    pos = position(p)
    # received 600.00 + 400.00 = 1000.00 EUR = the pledge: remaining 0, outstanding 0.00, no age
    assert (pos.received, pos.remaining, pos.outstanding, pos.age_days) == (D("1000.00"), D("0"), D("0"), None)
    assert pos.received_usd == D("1038.00")                  # 630.00 + 408.00
    # (630.00 - 600 x 1.10 = 660.00) + (408.00 - 400 x 1.10 = 440.00) = -30.00 + -32.00 = -62.00
    assert pos.exchange_difference == D("-62.00")
    assert not pledge_positions(TO, outstanding_only=True)
    fund = funding_picture(date_from=FROM, date_to=TO).fund
    # pledged 1100.00 - received 1038.00 = 62.00 is explained by the exchange difference, not owed
    assert (fund.pledged, fund.received, fund.outstanding_pledges, fund.exchange_difference) == (
        D("1100.00"), D("1038.00"), D("0.00"), D("-62.00"))


def test_pledge_paid_in_full_after_its_currency_rose_owes_nothing_and_shows_a_gain(db):
    # JPY 1,000,000 pledged at 0.0065 = 6500.00; paid in one go at 0.00701234: 1e6 x 0.00701234 = 7012.34
    p = pledge("1000000.00", "JPY", "0.0065", "6500.00")
    receive(p, "1000000.00", rate="0.00701234", usd="7012.34", on=dt.date(2025, 9, 30))
    pos = position(p)
    assert (pos.received, pos.remaining, pos.outstanding, pos.age_days) == (
        D("1000000"), D("0"), D("0.00"), None)
    # 7012.34 - 1,000,000 x 0.0065 (6500.00) = +512.34
    assert pos.exchange_difference == D("512.34")
    assert funding_picture(date_from=FROM, date_to=TO).fund.exchange_difference == D("512.34")


def test_norway_paid_its_362000_kroner_in_two_instalments_and_owes_nothing(db):
    norway = factories.DonorFactory(name="Kingdom of Norway")
    # NOK 362,000.00 at 0.0947: 362000 x 0.09 = 32580 + 362000 x 0.0047 = 1701.40 -> 34281.40
    p = pledge("362000.00", "NOK", "0.0947", "34281.40", donor=norway)
    # NOK 200,000 at 0.0921 = 18420.00 ; NOK 162,000 at 0.0898 = 14580 - 32.40 = 14547.60
    receive(p, "200000.00", rate="0.0921", usd="18420.00", on=dt.date(2025, 4, 10))
    receive(p, "162000.00", rate="0.0898", usd="14547.60", on=dt.date(2025, 9, 5))
    pos = position(p)
    assert pos.received == D("362000.00")
    assert pos.received_usd == D("32967.60")                 # 18420.00 + 14547.60
    # USD at receipt (32967.60) is 1313.80 below the pledge's USD, but nothing is owed
    assert (pos.remaining, pos.outstanding, pos.age_days) == (D("0"), D("0.00"), None)
    # (18420.00 - 200000 x 0.0947 = 18940.00) + (14547.60 - 162000 x 0.0947 = 15341.40) = -520.00 - 793.80
    assert pos.exchange_difference == D("-1313.80")
    fund = funding_picture(date_from=FROM, date_to=TO).fund
    assert (fund.outstanding_pledges, fund.exchange_difference) == (D("0.00"), D("-1313.80"))
    # donor filter
    assert [x.id for x in pledge_positions(TO, donor_id=norway.id)] == [p.id]
    assert pledge_positions(TO, donor_id=norway.id, outstanding_only=True) == []


# ---------------------------------------------------------------------------------------------------------------------
# A contribution in another currency than its pledge
# ---------------------------------------------------------------------------------------------------------------------

def test_from_usd_rounds_half_even_to_the_currencys_minor_unit(app, ctx):
    # JPY at 0.0064: 1000.01 / 0.0064 = 156250 + 1.5625 = 156251.5625 -> 156252 (whole yen)
    assert from_usd(D("1000.01"), "JPY", D("0.0064")) == D("156252")
    # exactly half: 0.08 / 0.0064 = 12.5 -> 156262.5 -> 156262 (to even; half-up would give 156263)
    assert from_usd(D("1000.08"), "JPY", D("0.0064")) == D("156262")
    # 0.24 / 0.0064 = 37.5 -> 156287.5 -> 156288 (to even, upwards)
    assert from_usd(D("1000.24"), "JPY", D("0.0064")) == D("156288")
    # XAF at 0.0016: 10.02 / 0.0016 = 6262.5 -> 6262 ; 10.06 / 0.0016 = 6287.5 -> 6288
    assert from_usd(D("10.02"), "XAF", D("0.0016")) == D("6262")
    assert from_usd(D("10.06"), "XAF", D("0.0016")) == D("6288")
    # EUR (cents) at 0.8: 100.02 / 0.8 = 125.025 -> 125.02 ; 100.06 / 0.8 = 125.075 -> 125.08
    assert from_usd(D("100.02"), "EUR", D("0.8")) == D("125.02")
    assert from_usd(D("100.06"), "EUR", D("0.8")) == D("125.08")
    # EUR at 1.08: 333.33 / 1.08 = 308.6388.. -> 308.64
    assert from_usd(D("333.33"), "EUR", D("1.08")) == D("308.64")
    assert from_usd(D("12.345"), "USD", D("1")) == D("12.34")


def test_eur_pledge_paid_partly_in_usd_counts_the_usd_at_the_eur_rate_of_that_day(db):
    rate("EUR", dt.date(2025, 1, 1), "1.10")
    rate("EUR", dt.date(2025, 4, 1), "1.08")         # in force on 2025-04-01 (the receipt's day itself)
    rate("EUR", dt.date(2025, 4, 2), "1.20")         # later: not the rate of that day
    # EUR 1000.00 at 1.10 = 1100.00
    p = pledge("1000.00", "EUR", "1.10", "1100.00")
    # USD 333.33 on 2025-04-01 -> 333.33 / 1.08 = 308.6388.. -> 308.64 EUR (not / 1.10 = 303.03, not / 1.20)
    receive(p, "333.33", "USD", "1", "333.33", on=dt.date(2025, 4, 1))
    # EUR 200.00 on 2025-05-01 at 1.09 = 218.00
    receive(p, "200.00", rate="1.09", usd="218.00", on=dt.date(2025, 5, 1))
    pos = position(p)
    # received 308.64 + 200.00 = 508.64 EUR ; remaining 1000.00 - 508.64 = 491.36 EUR
    assert (pos.received, pos.remaining) == (D("508.64"), D("491.36"))
    assert pos.received_usd == D("551.33")                   # 333.33 + 218.00
    # outstanding 491.36 x 1.10 = 540.496 -> 540.50
    assert pos.outstanding == D("540.50")
    # (333.33 - 308.64 x 1.10 = 339.504 -> 339.50) + (218.00 - 200 x 1.10 = 220.00) = -6.17 - 2.00 = -8.17
    assert pos.exchange_difference == D("-8.17")
    # 2025-02-01 -> 10-15: 28 + 214 + 14 = 256 days
    assert pos.age_days == 256
    fund = funding_picture(date_from=FROM, date_to=TO).fund
    assert (fund.outstanding_pledges, fund.exchange_difference) == (D("540.50"), D("-8.17"))


def test_jpy_pledge_paid_in_usd_is_counted_in_whole_yen(db):
    rate("JPY", dt.date(2025, 1, 1), "0.0066")
    rate("JPY", dt.date(2025, 3, 1), "0.0064")       # in force on 2025-03-15
    # JPY 1,000,000 at 0.0066 = 6600.00
    p = pledge("1000000.00", "JPY", "0.0066", "6600.00")
    # USD 1000.01 / 0.0064 = 156251.5625 -> 156252 yen
    receive(p, "1000.01", "USD", "1", "1000.01", on=dt.date(2025, 3, 15))
    pos = position(p)
    assert pos.received == D("156252")
    # remaining 1,000,000 - 156,252 = 843,748 yen ; x 0.0066 = 5062.488 + 506.2488 = 5568.7368 -> 5568.74
    assert pos.remaining == D("843748")
    assert pos.outstanding == D("5568.74")
    # 1000.01 - 156252 x 0.0066 (937.512 + 93.7512 = 1031.2632 -> 1031.26) = -31.25
    assert pos.exchange_difference == D("-31.25")


def test_jpy_receipt_exactly_half_a_yen_rounds_to_even(db):
    rate("JPY", dt.date(2025, 1, 1), "0.0066")
    rate("JPY", dt.date(2025, 3, 1), "0.0064")
    # Two pledges of JPY 200,000 at 0.0066 = 1320.00 each
    down = pledge("200000.00", "JPY", "0.0066", "1320.00")
    up = pledge("200000.00", "JPY", "0.0066", "1320.00")
    # USD 1000.08 / 0.0064 = 156262.5 -> 156262 (even; half-up would give 156263)
    receive(down, "1000.08", "USD", "1", "1000.08", on=dt.date(2025, 3, 15))
    # USD 1000.24 / 0.0064 = 156287.5 -> 156288 (even)
    receive(up, "1000.24", "USD", "1", "1000.24", on=dt.date(2025, 3, 15))
    d, u = position(down), position(up)
    assert (d.received, d.remaining) == (D("156262"), D("43738"))
    # 43738 x 0.0066 = 262.428 + 26.2428 = 288.6708 -> 288.67
    assert d.outstanding == D("288.67")
    # 1000.08 - 156262 x 0.0066 (937.572 + 93.7572 = 1031.3292 -> 1031.33) = -31.25
    assert d.exchange_difference == D("-31.25")
    assert (u.received, u.remaining) == (D("156288"), D("43712"))
    # 43712 x 0.0066 = 262.272 + 26.2272 = 288.4992 -> 288.50
    assert u.outstanding == D("288.50")
    # 1000.24 - 156288 x 0.0066 (937.728 + 93.7728 = 1031.5008 -> 1031.50) = -31.26
    assert u.exchange_difference == D("-31.26")
    # fund: 288.67 + 288.50 = 577.17 ; -31.25 + -31.26 = -62.51
    fund = funding_picture(date_from=FROM, date_to=TO).fund
    assert (fund.outstanding_pledges, fund.exchange_difference) == (D("577.17"), D("-62.51"))


def test_receipt_in_another_currency_before_any_table_rate_uses_the_pledges_own_rate(db):
    # Not in DESIGN section 3 (which assumes a rate is in force): the code falls back on the pledge's frozen rate.
    rate("JPY", dt.date(2025, 1, 1), "0.0066")       # the table starts after the receipt
    # JPY 300,000 pledged on 2024-06-01 at 0.0070 = 2100.00
    p = pledge("300000.00", "JPY", "0.0070", "2100.00", on=dt.date(2024, 6, 1))
    # USD 700.00 on 2024-07-01: no JPY rate that early -> 700.00 / 0.0070 = 100,000 yen
    # (the 2025 rate would give 700 / 0.0066 = 106060.6 -> 106061)
    receive(p, "700.00", "USD", "1", "700.00", on=dt.date(2024, 7, 1))
    pos = position(p)
    assert (pos.received, pos.remaining) == (D("100000"), D("200000"))
    # 200,000 x 0.0070 = 1400.00 ; difference 700.00 - 100,000 x 0.0070 = 0.00
    assert (pos.outstanding, pos.exchange_difference) == (D("1400.00"), D("0.00"))


def test_usd_pledge_paid_in_euros_counts_their_usd_value(db):
    rate("EUR", dt.date(2025, 1, 1), "1.09")
    p = pledge("1000.00")                                   # USD 1000.00 at 1
    receive(p, "500.00", "EUR", "1.09", "545.00", on=dt.date(2025, 3, 1))   # 500 x 1.09 = 545.00
    pos = position(p)
    # received 545.00 USD ; remaining 1000.00 - 545.00 = 455.00 ; difference 545.00 - 545.00 x 1 = 0
    assert (pos.received, pos.remaining, pos.outstanding, pos.exchange_difference) == (
        D("545.00"), D("455.00"), D("455.00"), D("0.00"))


# ---------------------------------------------------------------------------------------------------------------------
# Earmarks: a pledge for a project of another country
# ---------------------------------------------------------------------------------------------------------------------

@pytest.fixture
def earmarks(db):
    a = factories.ProjectFactory(code="TF-CD-2025-A", country="CD")
    b = factories.ProjectFactory(code="TF-CF-2025-B", country="CF")
    factories.BudgetLineFactory(project=a, year=2025, category="medical", amount_usd=D("5000.00"))
    factories.BudgetLineFactory(project=b, year=2025, category="medical", amount_usd=D("3000.00"))
    factories.AllocationFactory(project=a, amount_usd=D("1000.00"), allocated_on=dt.date(2025, 3, 1))
    factories.AllocationFactory(project=b, amount_usd=D("500.00"), allocated_on=dt.date(2025, 3, 1))
    # E1: USD 800.00 with country CF but earmarked for project A of CD: earmarked for A, hence for CD
    e1 = pledge("800.00", project=a, country="CF")
    # E2: USD 200.00 earmarked for country CF
    e2 = pledge("200.00", country="CF")
    # F: USD 1000.00 not earmarked, 400.00 received
    f = pledge("1000.00")
    receive(f, "400.00", on=dt.date(2025, 4, 1))
    factories.ContributionFactory(amount=D("2000.00"), received_on=dt.date(2025, 2, 15))  # no pledge
    return dict(a=a, b=b, e1=e1, e2=e2, f=f)


# The `earmarks` dataset as of `to`:
#   gap A = max(5000 - 1000, 0) = 4000.00 ; gap B = max(3000 - 500, 0) = 2500.00 ; total 6500.00
#   outstanding = E1 800.00 + E2 200.00 + F (1000 - 400) 600.00 = 1600.00
#   received = 400.00 + 2000.00 = 2400.00 ; allocated 1500.00 ; unallocated 900.00
#   free resources = 900.00 + F 600.00 (the only one not earmarked) = 1500.00
#   earmarked outstanding: fund E1 + E2 = 1000.00 ; CD E1 800.00 ; CF E2 200.00 ; A E1 800.00 ; B 0


def test_a_project_earmark_counts_for_the_projects_country(earmarks):
    e1 = position(earmarks["e1"])
    assert e1.earmarked and e1.country == "CD" and e1.project_id == earmarks["a"].id
    assert e1.earmarked_for(countries=["CD"]) and not e1.earmarked_for(countries=["CF"])
    assert e1.earmarked_for(project_id=earmarks["a"].id) and not e1.earmarked_for(project_id=earmarks["b"].id)
    e2 = position(earmarks["e2"])
    assert e2.earmarked and e2.earmarked_for(countries=["CF"]) and not e2.earmarked_for(project_id=earmarks["b"].id)
    assert not position(earmarks["f"]).earmarked


def test_earmarked_pledges_in_each_scope(earmarks):
    fund = funding_picture(date_from=FROM, date_to=TO)
    assert (fund.fund.outstanding_pledges, fund.fund.unallocated, fund.fund.free_resources) == (
        D("1600.00"), D("900.00"), D("1500.00"))
    assert fund.totals.earmarked_outstanding == D("1000.00")
    # fund rule: max(6500.00 - 900.00 - 1600.00, 0) = 4000.00
    assert fund.totals.uncovered_gap == D("4000.00")

    cd = funding_picture(scope="country:CD", date_from=FROM, date_to=TO)
    # CD: E1 (its project A) 800.00 ; uncovered max(4000.00 - 800.00, 0) = 3200.00
    # (subtracting the free 1500.00 as well would wrongly give 1700.00)
    assert (cd.totals.earmarked_outstanding, cd.totals.uncovered_gap) == (D("800.00"), D("3200.00"))
    assert cd.fund.free_resources == D("1500.00")           # shown beside it, the Fund's

    cf = funding_picture(scope="country:CF", date_from=FROM, date_to=TO)
    # CF: E2 200.00 only (E1's own country field says CF, but its project is in CD); 2500.00 - 200.00 = 2300.00
    assert (cf.totals.earmarked_outstanding, cf.totals.uncovered_gap) == (D("200.00"), D("2300.00"))

    a = funding_picture(scope="project:TF-CD-2025-A", date_from=FROM, date_to=TO)
    assert (a.totals.earmarked_outstanding, a.totals.uncovered_gap) == (D("800.00"), D("3200.00"))
    b = funding_picture(scope="project:TF-CF-2025-B", date_from=FROM, date_to=TO)
    # B: E2 is for the country, not for B: nothing earmarked for it; uncovered 2500.00
    assert (b.totals.earmarked_outstanding, b.totals.uncovered_gap) == (D("0.00"), D("2500.00"))


def test_a_manager_of_some_countries_gets_the_country_rule_and_of_all_of_them_the_fund_rule(earmarks):
    cd_only = funding_picture(date_from=FROM, date_to=TO, countries=["CD"])
    assert not cd_only.whole_fund and [p.code for p in cd_only.projects] == ["TF-CD-2025-A"]
    # the country rule for CD: 4000.00 - 800.00 = 3200.00
    assert (cd_only.totals.earmarked_outstanding, cd_only.totals.uncovered_gap) == (D("800.00"), D("3200.00"))
    assert cd_only.fund.uncovered_gap == D("3200.00")
    for countries in (["CD", "CF"], ["CF", "CD", "HT"]):
        every = funding_picture(date_from=FROM, date_to=TO, countries=countries)
        assert every.whole_fund, countries
        # the fund rule: max(6500.00 - 900.00 - 1600.00, 0) = 4000.00
        assert (every.totals.earmarked_outstanding, every.totals.uncovered_gap) == (D("1000.00"), D("4000.00"))


def test_fund_uncovered_gap_is_never_negative(db):
    p = factories.ProjectFactory(code="TF-CD-2025-S", country="CD")
    factories.BudgetLineFactory(project=p, year=2025, category="medical", amount_usd=D("100.00"))
    pledge("500.00")                                          # outstanding 500.00, not earmarked
    # gap 100.00 ; uncovered max(100.00 - 0 - 500.00, 0) = 0.00 ; free = 0 + 500.00
    pic = funding_picture(date_from=FROM, date_to=TO)
    assert (pic.totals.uncovered_gap, pic.fund.free_resources) == (D("0.00"), D("500.00"))
    # the country rule: nothing earmarked for CD: max(100.00 - 0, 0) = 100.00
    assert funding_picture(scope="country:CD", date_from=FROM, date_to=TO).totals.uncovered_gap == D("100.00")


# ---------------------------------------------------------------------------------------------------------------------
# Over-committed projects: no negative runway
# ---------------------------------------------------------------------------------------------------------------------

@pytest.fixture
def overcommitted(db, clerk):
    o = factories.ProjectFactory(code="TF-CD-2025-O", country="CD")
    q = factories.ProjectFactory(code="TF-CD-2025-Q", country="CD")
    r = factories.ProjectFactory(code="TF-CF-2025-R", country="CF")
    s = factories.ProjectFactory(code="TF-CF-2025-S", country="CF")
    # O: allocated 1000.00, paid 900.00 in August (burn 900 / 3 = 300.00), 477.00 approved:
    #    balance 1000 - 900 - 477 = -377.00
    factories.AllocationFactory(project=o, amount_usd=D("1000.00"), allocated_on=dt.date(2025, 2, 1))
    pay(o, "900.00", by=clerk, paid_on=dt.date(2025, 8, 10))
    pay(o, "477.00", by=clerk, status="approved")
    # Q: allocated 2000.00, paid 150.00 in September (burn 50.00): balance 1850.00
    factories.AllocationFactory(project=q, amount_usd=D("2000.00"), allocated_on=dt.date(2025, 2, 1))
    pay(q, "150.00", by=clerk, paid_on=dt.date(2025, 9, 3))
    # R: allocated 100.00, paid 40.00 in July (burn 40 / 3 = 13.333.. -> 13.33), 100.00 approved: balance -40.00
    factories.AllocationFactory(project=r, amount_usd=D("100.00"), allocated_on=dt.date(2025, 2, 1))
    pay(r, "40.00", by=clerk, paid_on=dt.date(2025, 7, 1))
    pay(r, "100.00", by=clerk, status="approved")
    # S: allocated 30.00, nothing spent: balance 30.00, no burn
    factories.AllocationFactory(project=s, amount_usd=D("30.00"), allocated_on=dt.date(2025, 2, 1))


def test_overcommitted_project_has_runway_zero_not_negative(overcommitted):
    o = funding_picture(scope="project:TF-CD-2025-O", date_from=FROM, date_to=TO).projects[0]
    assert (o.balance, o.overcommitted, o.burn) == (D("-377.00"), D("377.00"), D("300.00"))
    # max(-377.00, 0) / 300.00 = 0.0
    assert o.runway_months == D("0.0")


def test_country_sums_overcommitted_per_project_and_runs_from_the_summed_balance(overcommitted):
    cd = funding_picture(scope="country:CD", date_from=FROM, date_to=TO)
    q = project_of(cd, "TF-CD-2025-Q")
    # Q: 1850.00 / 50.00 = 37.0 ; over-committed 0
    assert (q.balance, q.overcommitted, q.runway_months) == (D("1850.00"), D("0.00"), D("37.0"))
    t = cd.totals
    # balance -377.00 + 1850.00 = 1473.00 ; over-committed 377.00 + 0 = 377.00 (not max(-1473.00, 0) = 0)
    assert (t.balance, t.overcommitted) == (D("1473.00"), D("377.00"))
    # burn 300.00 + 50.00 = 350.00 ; runway 1473.00 / 350.00 = 4.208.. -> 4.2
    assert (t.burn, t.runway_months) == (D("350.00"), D("4.2"))

    cf = funding_picture(scope="country:CF", date_from=FROM, date_to=TO)
    assert project_of(cf, "TF-CF-2025-R").runway_months == D("0.0")      # max(-40.00, 0) / 13.33
    assert project_of(cf, "TF-CF-2025-S").runway_months is None          # no burn
    t = cf.totals
    # balance -40.00 + 30.00 = -10.00 ; over-committed 40.00 + 0 = 40.00 (not 10.00)
    # burn 13.33 + 0 = 13.33 ; runway max(-10.00, 0) / 13.33 = 0.0
    assert (t.balance, t.overcommitted, t.burn, t.runway_months) == (D("-10.00"), D("40.00"), D("13.33"), D("0.0"))

    fund = funding_picture(date_from=FROM, date_to=TO).totals
    # balance 1473.00 - 10.00 = 1463.00 ; over-committed 377.00 + 40.00 = 417.00 ; burn 350.00 + 13.33 = 363.33
    # runway 1463.00 / 363.33 = 4 + 9.68 / 363.33 = 4.026.. -> 4.0
    assert (fund.balance, fund.overcommitted, fund.burn, fund.runway_months) == (
        D("1463.00"), D("417.00"), D("363.33"), D("4.0"))


def test_overcommitted_project_without_burn_has_no_runway(db, clerk):
    p = factories.ProjectFactory(code="TF-LR-2025-N", country="LR")
    factories.AllocationFactory(project=p, amount_usd=D("5.00"), allocated_on=dt.date(2025, 2, 1))
    pay(p, "8.00", by=clerk, status="approved")
    pr = funding_picture(scope="project:TF-LR-2025-N", date_from=FROM, date_to=TO).projects[0]
    # balance 5.00 - 8.00 = -3.00 ; over-committed 3.00 ; no burn: runway null
    assert (pr.balance, pr.overcommitted, pr.burn, pr.runway_months) == (D("-3.00"), D("3.00"), D("0.00"), None)


# ---------------------------------------------------------------------------------------------------------------------
# As of `to`: later receipts and pledges do not count; an over-received pledge owes nothing and nets nothing
# ---------------------------------------------------------------------------------------------------------------------

def test_as_of_to_and_no_netting_between_pledges(db):
    # PA: USD 1000.00 on 2025-02-01; 300.00 received on `to` itself (counts), 200.00 the day after (does not)
    pa = pledge("1000.00", on=dt.date(2025, 2, 1))
    receive(pa, "300.00", on=TO)
    receive(pa, "200.00", on=dt.date(2025, 10, 16))
    # PB: USD 500.00 on 2025-03-01, 800.00 received: over-received by 300.00
    pb = pledge("500.00", on=dt.date(2025, 3, 1))
    receive(pb, "800.00", on=dt.date(2025, 4, 1))
    # PC: USD 2000.00 pledged the day after `to`
    pc = pledge("2000.00", on=dt.date(2025, 10, 16))

    positions = pledge_positions(TO)
    assert [p.id for p in positions] == [pa.id, pb.id]
    a, b = positions
    # PA: received 300.00 ; remaining 700.00 ; 2025-02-01 -> 10-15 = 256 days
    assert (a.received, a.remaining, a.outstanding, a.age_days) == (D("300.00"), D("700.00"), D("700.00"), 256)
    # PB: remaining max(500.00 - 800.00, 0) = 0 (not -300.00)
    assert (b.received, b.remaining, b.outstanding, b.age_days) == (D("800.00"), D("0"), D("0"), None)
    assert [p.id for p in pledge_positions(TO, outstanding_only=True)] == [pa.id]
    assert [p.id for p in pledge_positions(TO, newest_first=True)] == [pb.id, pa.id]
    fund = funding_picture(date_from=FROM, date_to=TO).fund
    # pledged 1000.00 + 500.00 = 1500.00 ; received 300.00 + 800.00 = 1100.00
    # outstanding 700.00 + 0 = 700.00 (netting PB's 300.00 over would give 400.00)
    assert (fund.pledged, fund.received, fund.outstanding_pledges, fund.exchange_difference) == (
        D("1500.00"), D("1100.00"), D("700.00"), D("0.00"))

    # The day after: PA has 500.00 received (remaining 500.00, 257 days), PC owes 2000.00 (0 days)
    later = {p.id: p for p in pledge_positions(dt.date(2025, 10, 16))}
    assert (later[pa.id].remaining, later[pa.id].age_days) == (D("500.00"), 257)
    assert (later[pc.id].outstanding, later[pc.id].age_days) == (D("2000.00"), 0)
    # 500.00 + 0 + 2000.00 = 2500.00
    assert funding_picture(date_from=FROM, date_to=dt.date(2025, 10, 16)).fund.outstanding_pledges == D("2500.00")


# ---------------------------------------------------------------------------------------------------------------------
# The JSON of `flask report funding-gap`
# ---------------------------------------------------------------------------------------------------------------------

@pytest.fixture
def report_data(db, clerk):
    j1 = factories.ProjectFactory(code="TF-CD-2025-J1", country="CD")
    j2 = factories.ProjectFactory(code="TF-CF-2025-J2", country="CF")
    # J1: need 1000.00, allocated 400.00 (gap 600.00), paid 300.00 in August (burn 100.00), approved 150.00:
    #     balance 400 - 300 - 150 = -50.00, over-committed 50.00, runway 0.0
    factories.BudgetLineFactory(project=j1, year=2025, category="medical", amount_usd=D("1000.00"))
    factories.AllocationFactory(project=j1, amount_usd=D("400.00"), allocated_on=dt.date(2025, 2, 1))
    pay(j1, "300.00", by=clerk, paid_on=dt.date(2025, 8, 5))
    pay(j1, "150.00", by=clerk, status="approved")
    # J2: need 1500.00, nothing allocated (gap 1500.00), balance 0, no burn
    factories.BudgetLineFactory(project=j2, year=2025, category="iga", amount_usd=D("1500.00"))
    # EUR 1000.00 at 1.10 = 1100.00, paid in full at 1.05 = 1050.00: owes 0, difference 1050 - 1100 = -50.00
    eur = pledge("1000.00", "EUR", "1.10", "1100.00")
    receive(eur, "1000.00", rate="1.05", usd="1050.00", on=dt.date(2025, 5, 1))
    pledge("300.00", country="CD")                 # earmarked for CD, nothing received
    pledge("200.00")                               # free, nothing received


def test_json_carries_the_new_figures_as_strings(report_data, runner):
    result = runner.invoke(args=["report", "funding-gap", "--from", "2025-01-01", "--to", "2025-10-15",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    fund, totals = out["fund"], out["totals"]
    for key in ("exchange_difference", "free_resources", "uncovered_gap"):
        assert isinstance(fund[key], str) and MONEY.match(fund[key]), key
    for key in ("earmarked_outstanding", "overcommitted", "uncovered_gap"):
        assert isinstance(totals[key], str) and MONEY.match(totals[key]), key
    # pledged 1100 + 300 + 200 = 1600.00 ; received 1050.00 ; outstanding 0 + 300 + 200 = 500.00
    # allocated 400.00 ; unallocated 1050 - 400 = 650.00 ; free 650.00 + 200.00 = 850.00
    assert fund == {"pledged": "1600.00", "received": "1050.00", "outstanding_pledges": "500.00",
                    "exchange_difference": "-50.00", "allocated": "400.00", "unallocated": "650.00",
                    "free_resources": "850.00", "uncovered_gap": "950.00"}
    # gap 600 + 1500 = 2100.00 ; uncovered max(2100.00 - 650.00 - 500.00, 0) = 950.00 (the deprecated copy agrees)
    assert totals["gap"] == "2100.00"
    assert totals["uncovered_gap"] == fund["uncovered_gap"] == "950.00"
    assert totals["earmarked_outstanding"] == "300.00"
    # balance -50.00 + 0 = -50.00 ; over-committed 50.00 + 0 = 50.00 ; runway max(-50, 0) / 100.00 = 0.0
    assert (totals["balance"], totals["overcommitted"], totals["runway_months"]) == ("-50.00", "50.00", 0.0)
    j1, j2 = out["projects"]
    assert (j1["code"], j1["balance"], j1["overcommitted"], j1["burn"], j1["runway_months"]) == (
        "TF-CD-2025-J1", "-50.00", "50.00", "100.00", 0.0)
    assert (j2["code"], j2["balance"], j2["overcommitted"], j2["runway_months"]) == (
        "TF-CF-2025-J2", "0.00", "0.00", None)

    country = json.loads(runner.invoke(args=["report", "funding-gap", "--scope", "country:CD", "--from",
                                             "2025-01-01", "--to", "2025-10-15"]).stdout)
    # CD: gap 600.00 - earmarked 300.00 = 300.00 ; the Fund's free resources unchanged
    assert (country["totals"]["earmarked_outstanding"], country["totals"]["uncovered_gap"]) == ("300.00", "300.00")
    assert (country["fund"]["uncovered_gap"], country["fund"]["free_resources"]) == ("300.00", "850.00")
    assert country["totals"]["overcommitted"] == "50.00"


# ---------------------------------------------------------------------------------------------------------------------
# Property: a pledge paid in full in its own currency is never outstanding, however the rates move
# ---------------------------------------------------------------------------------------------------------------------

_CENT = D("0.01")
#: (currency, minor unit, lowest and highest rate in 1e-8 USD per unit)
_CURRENCIES = {"EUR": (D("0.01"), 50_000_000, 200_000_000),
               "NOK": (D("0.01"), 5_000_000, 20_000_000),
               "JPY": (D("1"), 400_000, 1_200_000)}


def _cents(value: D) -> D:
    return value.quantize(_CENT, rounding=ROUND_HALF_EVEN)


@st.composite
def paid_in_full(draw):
    """(currency, r0, [(instalment, rate)...]): 1 to 4 instalments in the pledge's currency, each at its own rate."""
    currency = draw(st.sampled_from(sorted(_CURRENCIES)))
    unit, low, high = _CURRENCIES[currency]
    rates = st.integers(low, high).map(lambda n: D(n).scaleb(-8))
    r0 = draw(rates)
    n = draw(st.integers(1, 4))
    instalments = [(D(draw(st.integers(1, 50_000_000))) * unit, draw(rates)) for _ in range(n)]
    return currency, r0, instalments


@settings(max_examples=50, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=paid_in_full())
def test_property_paid_in_full_in_its_own_currency_is_never_outstanding(db, case):
    currency, r0, instalments = case
    amount = sum((a for a, _r in instalments), D(0))
    # computed here, per record, as DESIGN section 3 says
    expected_difference = sum((_cents(a * r) - _cents(a * r0) for a, r in instalments), D(0))
    expected_received_usd = sum((_cents(a * r) for a, r in instalments), D(0))
    donor = factories.DonorFactory()
    p = pledge(f"{amount:.2f}", currency, f"{r0}", f"{_cents(amount * r0)}", donor=donor, on=dt.date(2025, 2, 1))
    try:
        for i, (a, r) in enumerate(instalments):
            receive(p, f"{a:.2f}", rate=f"{r}", usd=f"{_cents(a * r)}", on=dt.date(2025, 3, 1) + dt.timedelta(days=i))
        (pos,) = pledge_positions(TO, donor_id=donor.id)
        assert pos.received == amount
        assert (pos.remaining, pos.outstanding, pos.age_days) == (D("0"), D("0.00"), None)
        assert pos.received_usd == expected_received_usd
        assert pos.exchange_difference == expected_difference
        fund = funding_picture(date_from=FROM, date_to=TO, with_children=False).fund
        assert (fund.outstanding_pledges, fund.exchange_difference) == (D("0.00"), expected_difference)
    finally:
        _db.session.rollback()
        _db.session.query(Contribution).filter(Contribution.pledge_id == p.id).delete()
        _db.session.query(Pledge).filter(Pledge.id == p.id).delete()
        _db.session.query(Donor).filter(Donor.id == donor.id).delete()
        _db.session.commit()
