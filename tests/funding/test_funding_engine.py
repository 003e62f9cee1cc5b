"""The funding engine against DESIGN section 3, figure by figure.

Every test builds a small dataset by hand and works the expected values out by
hand (the arithmetic is in the comments); the engine is never used to obtain
an expected value. Money is compared as exact ``Decimal``.
"""
from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal as D

import pytest
from flask import current_app
from sqlalchemy import event

from tests import factories
from tracker.dates import academic_year_of
from tracker.funding.engine import ScopeError, funding_picture
from tracker.models import CATEGORIES

FROM, TO = dt.date(2025, 1, 1), dt.date(2025, 10, 15)  # mid-October: burn window is July..September

_refs = itertools.count(1)


@pytest.fixture
def clerk(db):
    """Whoever entered the disbursements (approval is not modelled here: the USD value is set directly)."""
    return factories.UserFactory(role="staff").id


def disb(mother, status, usd=None, *, by, paid_on=None, category="medical", amount=None, currency="USD",
         rate=None, entered_on=dt.date(2025, 3, 1), **extra):
    """A disbursement in ``status`` with its USD value frozen as approval would have done it."""
    n = next(_refs)
    fields = dict(
        beneficiary=mother, status=status, category=category, entered_by_id=by, entered_on=entered_on,
        amount=amount if amount is not None else (usd if usd is not None else D("10.00")), currency=currency,
        usd_amount=usd, usd_rate=rate if rate is not None else (D("1") if usd is not None else None),
    )
    if paid_on is not None:
        fields.update(paid_on=paid_on, payment_reference=f"PAY-{n:05d}")
    if status == "voided":
        fields["void_reason"] = "entered twice"
    if status == "rejected":
        fields["rejection_reason"] = "no receipt"
    fields.update(extra)
    return factories.DisbursementFactory(**fields)


def fee(status, usd, enrolment, term, *, by, paid_on=None, **extra):
    """A school-fee disbursement for ``enrolment`` and ``term``."""
    child = enrolment.child
    return disb(child.mother, status, usd, by=by, paid_on=paid_on, category="school_fees", child=child,
                enrolment=enrolment, term=term, payee=enrolment.school, **extra)


def project_of(picture, code):
    return next(p for p in picture.projects if p.code == code)


# ---------------------------------------------------------------------------------------------------------------------
# 1. Need, allocated, disbursed, committed, balance, burn, runway, gap, coverage for one project
# ---------------------------------------------------------------------------------------------------------------------

def test_one_project_period_figures_by_hand(db, clerk):
    p = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
    m = factories.BeneficiaryFactory(project=p)
    # A rate in force today that differs from the frozen ones: the engine must not re-convert.
    factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1), usd_per_unit=D("0.00050000"))

    # Budget lines: only the years of the period (2025) count.
    factories.BudgetLineFactory(project=p, year=2024, category="school_fees", amount_usd=D("999.00"))   # out
    factories.BudgetLineFactory(project=p, year=2025, category="school_fees", amount_usd=D("3000.00"))
    factories.BudgetLineFactory(project=p, year=2025, category="medical", amount_usd=D("5000.00"))
    factories.BudgetLineFactory(project=p, year=2026, category="medical", amount_usd=D("777.00"))      # out
    # need = 3000.00 + 5000.00 = 8000.00

    # Allocations: allocated counts the period (both days included), balance counts up to `to`.
    factories.AllocationFactory(project=p, amount_usd=D("1000.00"), allocated_on=dt.date(2024, 12, 31))  # balance only
    factories.AllocationFactory(project=p, amount_usd=D("2000.00"), allocated_on=FROM)                   # both
    factories.AllocationFactory(project=p, amount_usd=D("3000.00"), allocated_on=TO)                     # both
    factories.AllocationFactory(project=p, amount_usd=D("700.00"), allocated_on=dt.date(2025, 10, 16))   # neither
    # allocated = 2000.00 + 3000.00 = 5000.00 ; allocations up to `to` = 1000.00 + 5000.00 = 6000.00

    disb(m, "paid", D("100.00"), by=clerk, paid_on=dt.date(2024, 12, 15))           # a: before the period
    disb(m, "paid", D("200.00"), by=clerk, paid_on=dt.date(2025, 6, 30))            # b: in period, before burn window
    disb(m, "paid", D("300.00"), by=clerk, paid_on=dt.date(2025, 7, 1), category="legal")  # c: first day of window
    disb(m, "paid", D("400.01"), by=clerk, paid_on=dt.date(2025, 9, 30),            # d: last day of window, CDF
         amount=D("1000000.00"), currency="CDF", rate=D("0.00040001"))              #    frozen: 1e6 * 0.00040001
    disb(m, "paid", D("50.00"), by=clerk, paid_on=dt.date(2025, 10, 1))             # e: month of `to`: not burn
    disb(m, "paid", D("60.00"), by=clerk, paid_on=dt.date(2025, 10, 16))            # f: paid after `to`
    disb(m, "approved", D("70.00"), by=clerk, entered_on=dt.date(2023, 1, 10))      # g: committed, long ago
    disb(m, "approved", D("5.00"), by=clerk, entered_on=dt.date(2025, 12, 1),       # h: committed, after `to`
         amount=D("3000.00"), currency="XAF", rate=D("0.00166667"))
    disb(m, "voided", D("1000.00"), by=clerk, paid_on=dt.date(2025, 8, 1))          # voided after payment: never
    disb(m, "voided", D("900.00"), by=clerk)                                        # voided after approval: never
    disb(m, "rejected", D("800.00"), by=clerk)                                      # rejected: never
    disb(m, "submitted", None, by=clerk)                                            # not approved: never
    disb(m, "draft", None, by=clerk)                                                # never

    pic = funding_picture(scope="project:TF-CD-2025-01", date_from=FROM, date_to=TO)
    pr = project_of(pic, "TF-CD-2025-01")
    assert pr.need == D("8000.00")
    assert pr.allocated == D("5000.00")
    # disbursed = b 200.00 + c 300.00 + d 400.01 + e 50.00 = 950.01
    assert pr.disbursed == D("950.01")
    # committed = g 70.00 + h 5.00 = 75.00
    assert pr.committed == D("75.00")
    # gap = max(8000.00 - 5000.00, 0) = 3000.00 ; coverage = 5000 / 8000 = 0.625
    assert pr.gap == D("3000.00")
    assert pr.coverage == D("0.625")
    # balance = 6000.00 - (a 100.00 + 950.01) - 75.00 = 6000.00 - 1050.01 - 75.00 = 4874.99
    assert pr.balance == D("4874.99")
    # burn = (c 300.00 + d 400.01) / 3 = 700.01 / 3 = 233.3366.. -> 233.34 (cents, half-even; not truncated)
    assert pr.burn == D("233.34")
    # runway = 4874.99 / 233.34 = 20.89..
    assert pr.runway_months is not None and abs(float(pr.runway_months) - 20.89) < 0.05
    # by category: (need, disbursed)
    assert pr.by_category["school_fees"] == (D("3000.00"), D("0.00"))
    # medical disbursed = b 200.00 + d 400.01 + e 50.00 = 650.01
    assert pr.by_category["medical"] == (D("5000.00"), D("650.01"))
    assert pic.by_category["legal"] == (D("0.00"), D("300.00"))
    assert set(pic.by_category) == set(CATEGORIES)
    assert pic.by_category["psychosocial"] == (D("0"), D("0"))
    # One project: the totals are the project.
    assert (pic.totals.need, pic.totals.allocated, pic.totals.balance) == (pr.need, pr.allocated, pr.balance)


def test_committed_is_today_whatever_the_period(db, clerk):
    p = factories.ProjectFactory(code="TF-CD-2020-01")
    m = factories.BeneficiaryFactory(project=p)
    factories.AllocationFactory(project=p, amount_usd=D("500.00"), allocated_on=dt.date(2020, 2, 1))
    disb(m, "approved", D("123.45"), by=clerk, entered_on=dt.date(2025, 3, 1))
    # A period years before the approval: still committed, and out of the balance.
    pr = funding_picture(scope="project:TF-CD-2020-01", date_from=dt.date(2020, 1, 1),
                         date_to=dt.date(2020, 12, 31)).projects[0]
    assert pr.committed == D("123.45")
    # balance = 500.00 - 0 - 123.45 = 376.55
    assert pr.balance == D("376.55")
    assert pr.disbursed == D("0.00")


def test_period_spanning_two_years_counts_both_years_budget_lines(db, clerk):
    p = factories.ProjectFactory(code="TF-CF-2024-01", country="CF")
    for year, amount in ((2023, "11.00"), (2024, "100.00"), (2025, "200.00"), (2026, "400.00")):
        factories.BudgetLineFactory(project=p, year=year, category="iga", amount_usd=D(amount))
    factories.BudgetLineFactory(project=p, year=2025, category="medical", amount_usd=D("0.50"))
    factories.AllocationFactory(project=p, amount_usd=D("30.00"), allocated_on=dt.date(2024, 6, 30))  # before
    factories.AllocationFactory(project=p, amount_usd=D("40.00"), allocated_on=dt.date(2024, 7, 1))   # in
    factories.AllocationFactory(project=p, amount_usd=D("50.00"), allocated_on=dt.date(2025, 6, 30))  # in
    factories.AllocationFactory(project=p, amount_usd=D("60.00"), allocated_on=dt.date(2025, 7, 1))   # after
    pic = funding_picture(scope="country:CF", date_from=dt.date(2024, 7, 1), date_to=dt.date(2025, 6, 30))
    pr = pic.projects[0]
    # need = 2024 100.00 + 2025 200.00 + 2025 medical 0.50 = 300.50 (2023 and 2026 left out)
    assert pr.need == D("300.50")
    assert pr.by_category["iga"][0] == D("300.00")
    # allocated = 40.00 + 50.00 = 90.00 ; balance = 30.00 + 90.00 = 120.00
    assert pr.allocated == D("90.00")
    assert pr.balance == D("120.00")
    # gap = 300.50 - 90.00 = 210.50 ; coverage = 90 / 300.50 = 0.29950.. (4 decimals: 0.2995)
    assert pr.gap == D("210.50")
    assert abs(pr.coverage - D("90") / D("300.50")) < D("0.00005")


def test_burn_window_across_new_year_and_its_rounding(db, clerk):
    p = factories.ProjectFactory(code="TF-HT-2025-01", country="HT")
    m = factories.BeneficiaryFactory(project=p)
    factories.AllocationFactory(project=p, amount_usd=D("2000.00"), allocated_on=dt.date(2025, 1, 1))
    to = dt.date(2026, 1, 15)  # window: 1 October .. 31 December 2025
    disb(m, "paid", D("10.00"), by=clerk, paid_on=dt.date(2025, 9, 30))    # just before the window
    disb(m, "paid", D("1.00"), by=clerk, paid_on=dt.date(2025, 10, 1))     # first day
    disb(m, "paid", D("0.01"), by=clerk, paid_on=dt.date(2025, 12, 31))    # last day
    disb(m, "paid", D("1000.00"), by=clerk, paid_on=dt.date(2026, 1, 2))   # month of `to`
    pr = funding_picture(scope="project:TF-HT-2025-01", date_from=dt.date(2025, 1, 1), date_to=to).projects[0]
    # burn = (1.00 + 0.01) / 3 = 0.33666.. -> 0.34
    assert pr.burn == D("0.34")
    # balance = 2000.00 - (10.00 + 1.00 + 0.01 + 1000.00) = 988.99 ; runway = 988.99 / 0.34 = 2908.79..
    assert pr.balance == D("988.99")
    assert abs(float(pr.runway_months) - 2908.79) < 0.05
    # disbursed (period 2025-01-01..2026-01-15) = all four = 1011.01
    assert pr.disbursed == D("1011.01")


def test_no_need_gives_null_coverage_and_no_burn_gives_null_runway(db, clerk):
    p = factories.ProjectFactory(code="TF-LR-2025-01", country="LR")
    m = factories.BeneficiaryFactory(project=p)
    factories.AllocationFactory(project=p, amount_usd=D("250.00"), allocated_on=dt.date(2025, 5, 1))
    # Paid in the period but outside the burn window (July..September): no burn.
    disb(m, "paid", D("40.00"), by=clerk, paid_on=dt.date(2025, 6, 30))
    disb(m, "paid", D("41.00"), by=clerk, paid_on=dt.date(2025, 10, 2))
    pr = funding_picture(scope="project:TF-LR-2025-01", date_from=FROM, date_to=TO).projects[0]
    assert pr.need == D("0.00")
    assert pr.coverage is None
    # gap = max(0 - 250.00, 0) = 0
    assert pr.gap == D("0.00")
    assert pr.burn == D("0.00")
    assert pr.runway_months is None
    # balance = 250.00 - 40.00 - 41.00 = 169.00
    assert pr.balance == D("169.00")


def test_over_allocated_project_has_no_gap_and_coverage_above_one(db):
    p = factories.ProjectFactory(code="TF-SS-2025-01", country="SS")
    factories.BudgetLineFactory(project=p, year=2025, category="medical", amount_usd=D("100.00"))
    factories.AllocationFactory(project=p, amount_usd=D("150.00"), allocated_on=dt.date(2025, 4, 1))
    pr = funding_picture(scope="project:TF-SS-2025-01", date_from=FROM, date_to=TO).projects[0]
    assert pr.gap == D("0.00")           # max(100 - 150, 0)
    assert pr.coverage == D("1.5")       # 150 / 100


# ---------------------------------------------------------------------------------------------------------------------
# 2. The academic year, the school-fee forward need and the children at risk
# ---------------------------------------------------------------------------------------------------------------------

def test_academic_year_of(app, ctx):
    assert current_app.config["ACADEMIC_YEAR_START_MONTH"] == 9
    assert academic_year_of(dt.date(2025, 10, 15)) == "2025-2026"
    assert academic_year_of(dt.date(2025, 8, 31)) == "2024-2025"
    assert academic_year_of(dt.date(2025, 9, 1)) == "2025-2026"
    assert academic_year_of(dt.date(2026, 1, 1)) == "2025-2026"
    assert funding_picture(date_from=FROM, date_to=TO).academic_year == "2025-2026"
    assert funding_picture(date_from=FROM, date_to=dt.date(2025, 8, 31)).academic_year == "2024-2025"


@pytest.fixture
def school(db, clerk):
    """Project F and G with mothers, children and enrolments of two academic years (see the comments)."""
    rate = factories.ExchangeRateFactory
    rate(currency="CDF", valid_from=dt.date(2025, 1, 1), usd_per_unit=D("0.00035000"))
    rate(currency="CDF", valid_from=TO, usd_per_unit=D("0.00040000"))                  # in force on `to` (same day)
    rate(currency="CDF", valid_from=dt.date(2025, 10, 16), usd_per_unit=D("0.00050000"))  # after `to`: ignored
    rate(currency="XAF", valid_from=dt.date(2025, 1, 1), usd_per_unit=D("0.00160000"))
    rate(currency="XAF", valid_from=dt.date(2025, 6, 1), usd_per_unit=D("0.00125000"))   # in force on `to`
    rate(currency="XAF", valid_from=dt.date(2025, 11, 1), usd_per_unit=D("0.00200000"))  # after `to`: ignored

    f = factories.ProjectFactory(code="TF-CD-2025-F", country="CD")
    g = factories.ProjectFactory(code="TF-CD-2025-G", country="CD")
    factories.AllocationFactory(project=f, amount_usd=D("60.00"), allocated_on=dt.date(2025, 2, 1))
    m1 = factories.BeneficiaryFactory(project=f)
    m2 = factories.BeneficiaryFactory(project=f)
    m3 = factories.BeneficiaryFactory(project=f, status="exited", exit_reason="moved", exited_on=dt.date(2025, 5, 1))
    m_g = factories.BeneficiaryFactory(project=g)

    c1 = factories.ChildFactory(mother=m1, number=1)
    c2 = factories.ChildFactory(mother=m1, number=2)
    c3 = factories.ChildFactory(mother=m2, number=1)
    c6 = factories.ChildFactory(mother=m2, number=2)
    c4 = factories.ChildFactory(mother=m3, number=1)
    c5 = factories.ChildFactory(mother=m_g, number=1)
    enrol = factories.EnrolmentFactory
    e1 = enrol(child=c1, academic_year="2025-2026", fee_per_term=D("45000.00"), currency="CDF", terms=3)
    e1_old = enrol(child=c1, academic_year="2024-2025", fee_per_term=D("30000.00"), currency="CDF", terms=3)
    e2 = enrol(child=c2, academic_year="2025-2026", fee_per_term=D("10.00"), currency="USD", terms=3)
    e2_old = enrol(child=c2, academic_year="2024-2025", fee_per_term=D("8.00"), currency="USD", terms=3)
    e3 = enrol(child=c3, academic_year="2025-2026", fee_per_term=D("1004.00"), currency="XAF", terms=3)
    enrol(child=c6, academic_year="2025-2026", fee_per_term=D("1012.00"), currency="XAF", terms=1)
    enrol(child=c4, academic_year="2025-2026", fee_per_term=D("50.00"), currency="USD", terms=3)  # exited mother
    enrol(child=c5, academic_year="2025-2026", fee_per_term=D("7.00"), currency="USD", terms=1)   # project G

    fee("paid", D("15.75"), e1, 1, by=clerk, paid_on=dt.date(2025, 9, 20))    # covers e1 term 1
    fee("submitted", None, e1, 2, by=clerk)                                    # does not cover
    fee("rejected", None, e1, 3, by=clerk)                                     # does not cover
    fee("paid", D("10.50"), e1_old, 2, by=clerk, paid_on=dt.date(2025, 1, 20))  # covers last year's term 2
    fee("approved", D("10.00"), e2, 1, by=clerk)                              # covers e2 term 1 (committed)
    fee("voided", D("10.00"), e2, 2, by=clerk, paid_on=dt.date(2025, 9, 25))  # voided: does not cover
    fee("paid", D("8.00"), e2_old, 3, by=clerk, paid_on=dt.date(2025, 5, 1))  # covers last year's term 3
    # An approved uniform for e3 term 1: not a school fee, does not cover (committed).
    disb(m2, "approved", D("2.00"), by=clerk, category="material", child=c3, enrolment=e3, term=1)
    return {"c1": c1.code, "c2": c2.code, "c3": c3.code, "c4": c4.code, "c5": c5.code, "c6": c6.code}


def test_school_fee_forward_need_and_children_at_risk(db, school):
    pic = funding_picture(date_from=FROM, date_to=TO)
    f, g = project_of(pic, "TF-CD-2025-F"), project_of(pic, "TF-CD-2025-G")
    assert pic.academic_year == "2025-2026"
    # Rates on `to` (2025-10-15): CDF 0.00040, XAF 0.00125. Uncovered terms of 2025-2026, active mothers:
    #   c1 (45000 CDF): terms 2 and 3 -> 45000 * 0.0004 = 18.00 each        = 36.00
    #   c2 (10 USD):    terms 2 and 3 (term 2's payment was voided)          = 20.00
    #   c3 (1004 XAF):  terms 1, 2, 3 -> 1004 * 0.00125 = 1.255 -> half-even 1.26 each = 3.78
    #                   (summing before rounding would give 3.765 -> 3.76; truncating 1.25 each = 3.75)
    #   c6 (1012 XAF):  term 1 -> 1012 * 0.00125 = 1.265 -> half-even 1.26 (half-up would give 1.27)
    #   c4: mother exited, not counted.
    # forward need = 36.00 + 20.00 + 3.78 + 1.26 = 61.04
    assert f.school_fee_forward_need == D("61.04")
    assert g.school_fee_forward_need == D("7.00")
    assert pic.totals.school_fee_forward_need == D("68.04")
    # balance F = 60.00 - paid (15.75 + 10.50 + 8.00 = 34.25) - committed (10.00 + 2.00) = 13.75
    assert f.balance == D("13.75")
    # Walk: term 1: c3 (1.26), c6 (1.26) by code; then term 2: c1 (18.00), c2 (10.00) by code.
    #   1.26 and 2.52 <= 13.75 fit; 2.52 + 18.00 = 20.52 > 13.75 -> c1 at risk, and c2 after it
    #   (although 2.52 + 10.00 = 12.52 would fit).
    assert f.children_at_risk == 2
    # G has no money (balance 0): its one child is at risk.
    assert g.balance == D("0.00")
    assert g.children_at_risk == 1
    assert pic.totals.children_at_risk == 3
    # To keep them all in school next term: F's next terms 1.26 + 1.26 + 18.00 + 10.00 = 30.52, less its balance
    # 13.75 = 16.77; G's 7.00 less 0.00 = 7.00; the scope's 23.77.
    assert f.at_risk_cost == D("16.77")
    assert g.at_risk_cost == D("7.00")
    assert pic.totals.at_risk_cost == D("23.77")
    listed = [(c.project_code, c.child_code, c.term, c.fee, c.currency, c.fee_usd) for c in pic.children_at_risk]
    assert sorted(listed) == sorted([
        ("TF-CD-2025-F", school["c1"], 2, D("45000.00"), "CDF", D("18.00")),
        ("TF-CD-2025-F", school["c2"], 2, D("10.00"), "USD", D("10.00")),
        ("TF-CD-2025-G", school["c5"], 1, D("7.00"), "USD", D("7.00")),
    ])


def test_school_fees_of_the_previous_academic_year(db, school):
    to = dt.date(2025, 8, 31)
    pic = funding_picture(date_from=FROM, date_to=to)
    f, g = project_of(pic, "TF-CD-2025-F"), project_of(pic, "TF-CD-2025-G")
    assert pic.academic_year == "2024-2025"
    # Rate on 2025-08-31: CDF 0.00035. Uncovered terms of 2024-2025:
    #   c1 (30000 CDF): terms 1 and 3 -> 30000 * 0.00035 = 10.50 each = 21.00
    #   c2 (8 USD):     terms 1 and 2                                 = 16.00
    # forward need = 37.00 ; G has no 2024-2025 enrolment.
    assert f.school_fee_forward_need == D("37.00")
    assert g.school_fee_forward_need == D("0.00")
    # balance F at 2025-08-31 = 60.00 - paid up to then (10.50 + 8.00) - committed today (12.00) = 29.50
    assert f.balance == D("29.50")
    # Walk: c1 term 1 10.50 (fits), c2 term 1: 18.50 (fits) -> nobody at risk.
    assert f.children_at_risk == 0
    assert g.children_at_risk == 0
    # Nobody at risk: nothing is needed, although the balance 29.50 exceeds the next terms 18.50 by 11.00.
    assert f.at_risk_cost == D("0.00") and pic.totals.at_risk_cost == D("0.00")


def _one_term_child(project, code, fee_usd, *, terms=1):
    mother = factories.BeneficiaryFactory(project=project)
    child = factories.ChildFactory(mother=mother, code=code)
    return factories.EnrolmentFactory(child=child, academic_year="2025-2026", fee_per_term=fee_usd,
                                      currency="USD", terms=terms)


def test_children_at_risk_walk_stops_at_the_first_fee_that_does_not_fit(db, clerk):
    w = factories.ProjectFactory(code="TF-CD-2025-W", country="CD")
    factories.AllocationFactory(project=w, amount_usd=D("11.00"), allocated_on=dt.date(2025, 3, 1))
    a = _one_term_child(w, "CD-C-00001-1", D("1.00"), terms=2)   # term 1 paid: lowest uncovered is term 2
    _one_term_child(w, "CD-C-00002-1", D("10.00"))
    _one_term_child(w, "CD-C-00003-1", D("50.00"))
    _one_term_child(w, "CD-C-00004-1", D("5.00"))
    fee("paid", D("1.00"), a, 1, by=clerk, paid_on=dt.date(2025, 9, 15))
    pic = funding_picture(scope="project:TF-CD-2025-W", date_from=FROM, date_to=TO)
    pr = pic.projects[0]
    # balance = 11.00 - 1.00 = 10.00
    assert pr.balance == D("10.00")
    # forward need = A term 2 1.00 + 10.00 + 50.00 + 5.00 = 66.00
    assert pr.school_fee_forward_need == D("66.00")
    # Ordered by term then code: B (t1, 10.00), C (t1, 50.00), D (t1, 5.00), A (t2, 1.00).
    #   B: 10.00 <= 10.00 fits (exactly); C: 60.00 > 10.00 at risk; D and A follow it, at risk
    #   (D alone, 15.00, or A, 11.00, would not fit either way, but the walk does not skip).
    # Ordering by code alone would give A 1.00, B 11.00 > 10 -> 3 at risk too, but a different list.
    assert pr.children_at_risk == 3
    assert [c.child_code for c in pic.children_at_risk] == ["CD-C-00003-1", "CD-C-00004-1", "CD-C-00001-1"]
    # Every next term: 10.00 + 50.00 + 5.00 + 1.00 = 66.00, less the balance 10.00 = 56.00.
    assert pr.at_risk_cost == D("56.00")


def test_children_at_risk_walk_a_later_smaller_fee_that_would_fit(db, clerk):
    w = factories.ProjectFactory(code="TF-CD-2025-V", country="CD")
    factories.AllocationFactory(project=w, amount_usd=D("20.00"), allocated_on=dt.date(2025, 3, 1))
    for code, amount in (("CD-C-00011-1", "8.00"), ("CD-C-00012-1", "30.00"),
                         ("CD-C-00013-1", "2.00"), ("CD-C-00014-1", "1.00")):
        _one_term_child(w, code, D(amount))
    pr = funding_picture(scope="project:TF-CD-2025-V", date_from=FROM, date_to=TO).projects[0]
    # balance 20.00. Walk: 8.00 fits; 8.00 + 30.00 = 38.00 > 20.00 -> the 2nd is at risk, and so are the
    # 3rd and 4th, although 8.00 + 2.00 + 1.00 = 11.00 would fit: 3 at risk.
    assert pr.children_at_risk == 3


def test_no_money_puts_every_child_at_risk(db, clerk):
    z = factories.ProjectFactory(code="TF-CD-2025-Z", country="CD")
    _one_term_child(z, "CD-C-00021-1", D("3.00"))
    _one_term_child(z, "CD-C-00022-1", D("3.00"))
    n = factories.ProjectFactory(code="TF-CD-2025-N", country="CD")
    factories.AllocationFactory(project=n, amount_usd=D("5.00"), allocated_on=dt.date(2025, 3, 1))
    e = _one_term_child(n, "CD-C-00031-1", D("0.01"))
    disb(e.child.mother, "approved", D("8.00"), by=clerk)
    pic = funding_picture(scope="country:CD", date_from=FROM, date_to=TO)
    z_, n_ = project_of(pic, "TF-CD-2025-Z"), project_of(pic, "TF-CD-2025-N")
    assert z_.balance == D("0.00") and z_.children_at_risk == 2          # balance 0: all at risk
    assert n_.balance == D("-3.00") and n_.children_at_risk == 1         # 5.00 - 8.00 = -3.00: all at risk
    # Z: 3.00 + 3.00 less 0.00; N: 0.01 less -3.00 (the over-commitment must be met first) = 3.01.
    assert z_.at_risk_cost == D("6.00")
    assert n_.at_risk_cost == D("3.01")


def test_a_fee_without_a_rate_is_left_out_and_only_held_fees_of_the_enrolment_s_terms_cover(db, clerk):
    r = factories.ProjectFactory(code="TF-CD-2025-R", country="CD")
    factories.AllocationFactory(project=r, amount_usd=D("22.00"), allocated_on=dt.date(2025, 3, 1))
    # XOF has a rate only from November: none is in force on 15 October.
    factories.ExchangeRateFactory(currency="XOF", valid_from=dt.date(2025, 11, 1), usd_per_unit=D("0.00160000"))
    x = factories.ChildFactory(mother=factories.BeneficiaryFactory(project=r), code="CD-C-00040-1")
    factories.EnrolmentFactory(child=x, academic_year="2025-2026", fee_per_term=D("5000.00"), currency="XOF",
                               terms=3)
    b = _one_term_child(r, "CD-C-00041-1", D("7.00"), terms=3)
    c = _one_term_child(r, "CD-C-00042-1", D("4.00"), terms=2)
    paid_on = dt.date(2025, 9, 15)
    fee("paid", D("7.00"), b, 1, by=clerk, paid_on=paid_on)
    fee("paid", D("1.00"), b, 1, by=clerk, paid_on=paid_on, top_up=True, top_up_reason="the fee rose")
    fee("draft", None, b, 2, by=clerk)                        # a draft does not cover term 2
    fee("paid", D("4.00"), c, 3, by=clerk, paid_on=paid_on)   # C has 2 terms: its term 3 covers nothing
    pic = funding_picture(scope="project:TF-CD-2025-R", date_from=FROM, date_to=TO)
    pr = pic.projects[0]
    # balance = 22.00 - (7.00 + 1.00 + 4.00) paid = 10.00
    assert pr.balance == D("10.00")
    # X (XOF, no rate): left out, its currency named. B: term 1 covered (twice), terms 2 and 3 uncovered: 2 x 7.00.
    # C: terms 1 and 2 uncovered: 2 x 4.00. Forward need 14.00 + 8.00 = 22.00.
    assert pic.missing_rates == ["XOF"]
    assert pr.school_fee_forward_need == D("22.00")
    # Walk by term then code (X, first on both, is not in it): C (term 1) 4.00 fits; B (term 2) 4.00 + 7.00 = 11.00
    # > 10.00: at risk. Every next term 11.00 less the balance 10.00 = 1.00.
    assert pr.children_at_risk == 1
    assert [(k.child_code, k.term, k.fee, k.fee_usd) for k in pic.children_at_risk] == [
        ("CD-C-00041-1", 2, D("7.00"), D("7.00"))]
    assert pr.at_risk_cost == D("1.00")


# ---------------------------------------------------------------------------------------------------------------------
# 3. The Fund's figures
# ---------------------------------------------------------------------------------------------------------------------

@pytest.fixture
def fund(db):
    x = factories.ProjectFactory(code="TF-CD-2025-X", country="CD")
    y = factories.ProjectFactory(code="TF-CF-2025-Y", country="CF")
    factories.BudgetLineFactory(project=x, year=2025, category="medical", amount_usd=D("6000.00"))
    factories.BudgetLineFactory(project=y, year=2025, category="medical", amount_usd=D("100.00"))
    factories.AllocationFactory(project=x, amount_usd=D("1000.00"), allocated_on=dt.date(2024, 12, 31))
    factories.AllocationFactory(project=x, amount_usd=D("1500.00"), allocated_on=dt.date(2025, 3, 1))
    factories.AllocationFactory(project=x, amount_usd=D("700.00"), allocated_on=dt.date(2025, 10, 16))
    factories.AllocationFactory(project=y, amount_usd=D("200.00"), allocated_on=dt.date(2025, 5, 1))
    d1, d2 = factories.DonorFactory(name="Kingdom of Norway"), factories.DonorFactory(name="Japan")
    pledge, contrib = factories.PledgeFactory, factories.ContributionFactory
    # P1: 1000 EUR frozen at 1.10 = 1100.00; 500 EUR received at 1.08 = 540.00 up to `to`, more after it.
    p1 = pledge(donor=d1, amount=D("1000.00"), currency="EUR", usd_amount=D("1100.00"), usd_rate=D("1.1"),
                pledged_on=dt.date(2025, 2, 1))
    contrib(pledge=p1, amount=D("500.00"), currency="EUR", usd_amount=D("540.00"), usd_rate=D("1.08"),
            received_on=dt.date(2025, 3, 1))
    contrib(pledge=p1, amount=D("500.00"), currency="EUR", usd_amount=D("560.00"), usd_rate=D("1.12"),
            received_on=dt.date(2025, 11, 1))
    # P2: earmarked for project X, over-received.
    p2 = pledge(donor=d2, amount=D("2000.00"), pledged_on=dt.date(2025, 4, 1), project=x)
    contrib(pledge=p2, amount=D("2500.00"), received_on=dt.date(2025, 5, 1))
    # P3: earmarked for country CD, pledged on `to` itself, nothing received.
    pledge(donor=d2, amount=D("300.00"), pledged_on=TO, country="CD")
    # P4: pledged after `to`: not counted.
    pledge(donor=d1, amount=D("10000.00"), pledged_on=dt.date(2025, 10, 16))
    # P5: pledged last year, fully received.
    p5 = pledge(donor=d1, amount=D("400.00"), pledged_on=dt.date(2024, 6, 1))
    contrib(pledge=p5, amount=D("400.00"), received_on=dt.date(2024, 7, 1))
    # Contributions without a pledge: one up to `to`, one after.
    contrib(donor=d2, amount=D("250.00"), received_on=dt.date(2025, 6, 1))
    contrib(donor=d2, amount=D("99.00"), received_on=dt.date(2025, 10, 16))


# Worked out once for the `fund` dataset, as of `to` = 2025-10-15 (DESIGN section 3: a pledge is owed in its
# own currency, valued at its frozen rate):
#   pledged  = P1 1100.00 + P2 2000.00 + P3 300.00 + P5 400.00                 = 3800.00
#   received = 540.00 + 2500.00 + 400.00 + 250.00 (no pledge)                   = 3690.00
#   outstanding, per pledge, in its currency then at its rate:
#     P1 remaining 1000.00 - 500.00 = 500.00 EUR -> 500.00 x 1.10 = 550.00 (not 1100.00 - 540.00 = 560.00)
#     P2 max(2000 - 2500, 0) = 0 ; P3 300.00 ; P5 max(400 - 400, 0) = 0
#     = 550.00 + 0 + 300.00 + 0 = 850.00 (netting the over-received P2 would wrongly give 350.00)
#   exchange difference = P1 540.00 - 500.00 x 1.10 (550.00) = -10.00 ; P2, P5 in USD at 1: 0 ; = -10.00
#   allocated (all allocations up to `to`) = 1000.00 + 1500.00 + 200.00        = 2700.00
#   unallocated = 3690.00 - 2700.00                                             = 990.00
#   free resources = 990.00 + outstanding not earmarked (P1 550.00; P5 0)       = 1540.00
#   earmarked outstanding for the whole fund = P2 0 + P3 300.00                 = 300.00
#   gap X = max(6000 - 1500, 0) = 4500.00 ; gap Y = max(100 - 200, 0) = 0
FUND = dict(pledged=D("3800.00"), received=D("3690.00"), outstanding_pledges=D("850.00"),
            exchange_difference=D("-10.00"), allocated=D("2700.00"), unallocated=D("990.00"),
            free_resources=D("1540.00"))


def test_fund_figures(fund):
    pic = funding_picture(date_from=FROM, date_to=TO)
    assert pic.whole_fund
    for name, value in FUND.items():
        assert getattr(pic.fund, name) == value, name
    assert pic.totals.gap == D("4500.00")
    # uncovered gap (the fund rule) = max(4500.00 - 990.00 - 850.00, 0) = 2660.00
    assert pic.totals.uncovered_gap == D("2660.00")
    assert pic.fund.uncovered_gap == D("2660.00")          # the deprecated copy
    # every earmarked pledge: P2 0 + P3 300.00
    assert pic.totals.earmarked_outstanding == D("300.00")
    # The scope's allocated (in the period) is not the fund's (up to `to`): 1500.00 + 200.00 = 1700.00
    assert pic.totals.allocated == D("1700.00")


def test_fund_pledge_positions(fund):
    pic = funding_picture(date_from=FROM, date_to=TO)
    # P4 (pledged after `to`) is not there; oldest first: P5 (2024-06-01), P1, P2, P3.
    by_amount = {p.amount: p for p in pic.pledges}
    assert sorted(by_amount) == [D("300.00"), D("400.00"), D("1000.00"), D("2000.00")]
    p1, p2, p3, p5 = (by_amount[D(a)] for a in ("1000.00", "2000.00", "300.00", "400.00"))
    assert [p.pledged_on for p in pic.pledges] == [dt.date(2024, 6, 1), dt.date(2025, 2, 1), dt.date(2025, 4, 1), TO]
    # P1: 500.00 EUR received (the 500.00 of November is after `to`), 540.00 USD
    assert (p1.received, p1.received_usd, p1.remaining, p1.outstanding) == (
        D("500.00"), D("540.00"), D("500.00"), D("550.00"))
    assert p1.exchange_difference == D("-10.00")
    # 2025-02-01 -> 03-01: 28 days; 03-01 -> 10-01: 31+30+31+30+31+31+30 = 214; 10-01 -> 10-15: 14; = 256 days
    assert p1.age_days == 256
    # P2: over-received, owes 0 and is no longer ageing
    assert (p2.received, p2.remaining, p2.outstanding, p2.age_days) == (D("2500.00"), D("0"), D("0"), None)
    assert p3.age_days == 0 and p3.outstanding == D("300.00")
    assert p5.age_days is None and p5.outstanding == D("0")
    assert [p.amount for p in pic.outstanding] == [D("1000.00"), D("300.00")]


def test_fund_scope_against_country_and_project_scope_on_the_same_data(fund):
    cd = funding_picture(scope="country:CD", date_from=FROM, date_to=TO)
    cf = funding_picture(scope="country:CF", date_from=FROM, date_to=TO)
    x = funding_picture(scope="project:TF-CD-2025-X", date_from=FROM, date_to=TO)
    for pic in (cd, cf, x):
        assert not pic.whole_fund
        # The Fund's own figures are the same in every scope (free resources included).
        for name, value in FUND.items():
            assert getattr(pic.fund, name) == value, (pic.scope, name)
    # CD: earmarked for CD or one of its projects = P2 (project X) 0 + P3 (country CD) 300.00 = 300.00;
    #     uncovered = max(gap 4500.00 - 300.00, 0) = 4200.00 (free resources 1540.00 not subtracted)
    assert (cd.totals.gap, cd.totals.earmarked_outstanding, cd.totals.uncovered_gap) == (
        D("4500.00"), D("300.00"), D("4200.00"))
    assert cd.fund.uncovered_gap == D("4200.00")
    # CF: nothing earmarked for it; uncovered = max(0 - 0, 0) = 0.00
    assert (cf.totals.gap, cf.totals.earmarked_outstanding, cf.totals.uncovered_gap) == (
        D("0.00"), D("0.00"), D("0.00"))
    assert cf.fund.uncovered_gap == D("0.00")
    # Project X: earmarked for X = P2 only, which owes 0 (P3 is for the country, not the project);
    #     uncovered = max(4500.00 - 0, 0) = 4500.00
    assert (x.totals.gap, x.totals.earmarked_outstanding, x.totals.uncovered_gap) == (
        D("4500.00"), D("0.00"), D("4500.00"))
    assert x.fund.uncovered_gap == D("4500.00")


def test_fund_scope_of_a_manager_of_some_countries_follows_the_country_rule(fund):
    # Only CD: a scope of CD (project Y in CF lies outside): 4500.00 - 300.00 = 4200.00
    only_cd = funding_picture(date_from=FROM, date_to=TO, countries=["CD"])
    assert not only_cd.whole_fund
    assert (only_cd.totals.earmarked_outstanding, only_cd.totals.uncovered_gap) == (D("300.00"), D("4200.00"))
    # CD and CF hold every project: the whole fund, the fund rule: max(4500 - 990 - 850, 0) = 2660.00
    both = funding_picture(date_from=FROM, date_to=TO, countries=["CD", "CF"])
    assert both.whole_fund
    assert (both.totals.earmarked_outstanding, both.totals.uncovered_gap) == (D("300.00"), D("2660.00"))


def test_fund_figures_as_of_an_earlier_day(fund):
    pic = funding_picture(date_from=dt.date(2024, 1, 1), date_to=dt.date(2024, 12, 31))
    # As of 2024-12-31: pledged P5 400.00, received 400.00 against it, outstanding 0, no exchange difference,
    # allocated 1000.00 (X, 2024-12-31), unallocated 400.00 - 1000.00 = -600.00, free = -600.00 + 0 = -600.00.
    assert (pic.fund.pledged, pic.fund.received, pic.fund.outstanding_pledges) == (D("400.00"), D("400.00"), D("0"))
    assert pic.fund.exchange_difference == D("0")
    assert pic.fund.allocated == D("1000.00")
    assert pic.fund.unallocated == D("-600.00")
    assert pic.fund.free_resources == D("-600.00")
    # No 2024 budget line: no gap; uncovered = max(0 - (-600.00) - 0, 0) = 600.00
    assert pic.totals.gap == D("0.00")
    assert pic.totals.uncovered_gap == pic.fund.uncovered_gap == D("600.00")
    assert [p.amount for p in pic.pledges] == [D("400.00")]


# ---------------------------------------------------------------------------------------------------------------------
# 4. Scopes: country sums, the countries restriction, errors
# ---------------------------------------------------------------------------------------------------------------------

@pytest.fixture
def three_projects(db, clerk):
    cd1 = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
    cd2 = factories.ProjectFactory(code="TF-CD-2025-02", country="CD")
    cf1 = factories.ProjectFactory(code="TF-CF-2025-01", country="CF")
    # CD-1: need 1000, allocated 1500 (over-allocated: gap 0), paid 900.00 in August -> burn 300.00,
    #       balance 1500 - 900 = 600.00, runway 2.0
    factories.BudgetLineFactory(project=cd1, year=2025, category="medical", amount_usd=D("1000.00"))
    factories.AllocationFactory(project=cd1, amount_usd=D("1500.00"), allocated_on=dt.date(2025, 2, 1))
    disb(factories.BeneficiaryFactory(project=cd1), "paid", D("900.00"), by=clerk, paid_on=dt.date(2025, 8, 10))
    # CD-2: need 3000, nothing allocated in the period, 300.00 allocated before it; no payment:
    #       gap 3000.00, coverage 0, balance 300.00, no burn -> runway null
    factories.BudgetLineFactory(project=cd2, year=2025, category="school_fees", amount_usd=D("3000.00"))
    factories.AllocationFactory(project=cd2, amount_usd=D("300.00"), allocated_on=dt.date(2024, 11, 1))
    # CF-1: need 500, allocated 100, gap 400, paid 30.00 in September -> burn 10.00, balance 70.00
    factories.BudgetLineFactory(project=cf1, year=2025, category="iga", amount_usd=D("500.00"))
    factories.AllocationFactory(project=cf1, amount_usd=D("100.00"), allocated_on=dt.date(2025, 4, 1))
    disb(factories.BeneficiaryFactory(project=cf1), "paid", D("30.00"), by=clerk, paid_on=dt.date(2025, 9, 1))


def test_country_scope_sums_its_projects(three_projects):
    pic = funding_picture(scope="country:CD", date_from=FROM, date_to=TO)
    assert pic.scope == "country:CD"
    assert [p.code for p in pic.projects] == ["TF-CD-2025-01", "TF-CD-2025-02"]
    cd1, cd2 = pic.projects
    assert (cd1.gap, cd1.coverage, cd1.runway_months) == (D("0.00"), D("1.5"), D("2.0"))
    assert (cd2.gap, cd2.coverage, cd2.runway_months) == (D("3000.00"), D("0"), None)
    t = pic.totals
    assert t.need == D("4000.00")           # 1000 + 3000
    assert t.allocated == D("1500.00")      # 1500 + 0
    # gap = sum of the projects' gaps 0 + 3000 = 3000.00 (not max(4000 - 1500, 0) = 2500.00)
    assert t.gap == D("3000.00")
    # coverage from the sums: 1500 / 4000 = 0.375 (not the mean of 1.5 and 0)
    assert t.coverage == D("0.375")
    assert t.balance == D("900.00")         # 600 + 300
    assert t.burn == D("300.00")            # 300 + 0
    # runway from summed balance and burn: 900 / 300 = 3.0 (not CD-1's 2.0)
    assert t.runway_months == D("3.0")
    assert pic.by_category["medical"] == (D("1000.00"), D("900.00"))
    assert pic.by_category["school_fees"] == (D("3000.00"), D("0.00"))
    assert pic.by_category["iga"] == (D("0.00"), D("0.00"))   # CF-1 is not in CD


def test_fund_scope_sums_every_project_and_countries_restricts_it(three_projects):
    everything = funding_picture(date_from=FROM, date_to=TO)
    assert [p.code for p in everything.projects] == ["TF-CD-2025-01", "TF-CD-2025-02", "TF-CF-2025-01"]
    t = everything.totals
    # need 1000 + 3000 + 500 = 4500 ; allocated 1500 + 0 + 100 = 1600 ; gap 0 + 3000 + 400 = 3400
    assert (t.need, t.allocated, t.gap) == (D("4500.00"), D("1600.00"), D("3400.00"))
    # balance 600 + 300 + 70 = 970 ; burn 300 + 0 + 10 = 310 ; runway 970 / 310 = 3.129.. ; coverage 1600/4500
    assert (t.balance, t.burn) == (D("970.00"), D("310.00"))
    assert abs(float(t.runway_months) - 3.13) < 0.05
    assert abs(t.coverage - D("1600") / D("4500")) < D("0.00005")
    assert t.disbursed == D("930.00")

    only_cd = funding_picture(date_from=FROM, date_to=TO, countries=["CD"])
    assert [p.code for p in only_cd.projects] == ["TF-CD-2025-01", "TF-CD-2025-02"]
    assert (only_cd.totals.need, only_cd.totals.gap, only_cd.totals.balance) == (
        D("4000.00"), D("3000.00"), D("900.00"))
    assert funding_picture(scope="country:CF", date_from=FROM, date_to=TO, countries=["CD"]).projects == []
    assert funding_picture(date_from=FROM, date_to=TO, countries=[]).projects == []
    both = funding_picture(date_from=FROM, date_to=TO, countries=["CD", "CF"])
    assert both.totals.need == D("4500.00")


def test_project_scope(three_projects):
    pic = funding_picture(scope="project:TF-CF-2025-01", date_from=FROM, date_to=TO)
    assert pic.scope == "project:TF-CF-2025-01"
    assert [p.code for p in pic.projects] == ["TF-CF-2025-01"]
    pr = pic.projects[0]
    # need 500, allocated 100, gap 400, coverage 0.2, balance 100 - 30 = 70, burn 30/3 = 10, runway 7.0
    assert (pr.need, pr.allocated, pr.gap, pr.coverage) == (D("500.00"), D("100.00"), D("400.00"), D("0.2"))
    assert (pr.balance, pr.burn, pr.runway_months) == (D("70.00"), D("10.00"), D("7.0"))
    assert pic.totals.gap == D("400.00")


def test_scope_errors(three_projects):
    with pytest.raises(ScopeError, match="unknown project"):
        funding_picture(scope="project:TF-XX-9999-99", date_from=FROM, date_to=TO)
    with pytest.raises(ScopeError):
        funding_picture(scope="planet:Mars", date_from=FROM, date_to=TO)
    with pytest.raises(ScopeError, match="ends before it starts"):
        funding_picture(date_from=dt.date(2025, 6, 1), date_to=dt.date(2025, 5, 31))
    # A project outside the allowed countries does not exist for the caller.
    with pytest.raises(ScopeError):
        funding_picture(scope="project:TF-CF-2025-01", date_from=FROM, date_to=TO, countries=["CD"])
    # A one-day period is fine.
    assert funding_picture(date_from=TO, date_to=TO).date_from == TO


# ---------------------------------------------------------------------------------------------------------------------
# 5. A fixed number of queries, whatever the data
# ---------------------------------------------------------------------------------------------------------------------

def _world(first: int, n_projects: int, people: int, clerk_id: int):
    """``n_projects`` more projects in two countries, each with ``people`` mothers, children, fees and payments."""
    with factories.one_commit():
        donor = factories.DonorFactory()
        for i in range(first, first + n_projects):
            country = ("CD", "CF")[i % 2]
            p = factories.ProjectFactory(code=f"TF-{country}-2025-{i:02d}", country=country)
            for category in ("school_fees", "medical", "iga"):
                factories.BudgetLineFactory(project=p, year=2025, category=category, amount_usd=D("1000.00"))
            factories.AllocationFactory(project=p, amount_usd=D("800.00"), allocated_on=dt.date(2025, 2, 1))
            pl = factories.PledgeFactory(donor=donor, amount=D("500.00"), pledged_on=dt.date(2025, 3, 1))
            factories.ContributionFactory(pledge=pl, amount=D("200.00"), received_on=dt.date(2025, 4, 1))
            for j in range(people):
                m = factories.BeneficiaryFactory(project=p)
                c = factories.ChildFactory(mother=m)
                e = factories.EnrolmentFactory(child=c, currency=("CDF", "XAF")[j % 2],
                                               fee_per_term=D("30000.00") + j)
                fee("paid", D("10.50"), e, 1, by=clerk_id, paid_on=dt.date(2025, 9, 10))
                disb(m, "approved", D("3.00"), by=clerk_id)
                disb(m, "paid", D("4.00"), by=clerk_id, paid_on=dt.date(2025, 8, 2))
                disb(m, "voided", D("5.00"), by=clerk_id)


def _count_queries(db, **kwargs) -> int:
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        funding_picture(date_from=FROM, date_to=TO, **kwargs)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_query_count_does_not_grow_with_the_data(db, clerk):
    factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1), usd_per_unit=D("0.00035000"))
    factories.ExchangeRateFactory(currency="XAF", valid_from=dt.date(2025, 1, 1), usd_per_unit=D("0.00165000"))
    _world(0, 2, 1, clerk)
    db.session.expire_all()
    small = _count_queries(db)
    small_country = _count_queries(db, scope="country:CD")
    small_picture = funding_picture(date_from=FROM, date_to=TO)
    assert len(small_picture.projects) == 2
    # Four more projects (six in all), with five people and twenty payments each.
    _world(2, 4, 5, clerk)
    db.session.expire_all()
    large = _count_queries(db)
    assert len(funding_picture(date_from=FROM, date_to=TO).projects) == 6
    assert large == small
    assert _count_queries(db, scope="country:CD") == small_country
    assert small <= 15, f"{small} statements for one picture"
