"""A project's page: the engine's figures, its allocations, its payments (50 a page) and its children at risk.

Today is 10 February 2026 (the ``clock`` fixture): the default period is 1 January-10 February 2026, the burn
window November 2025-January 2026, the academic year 2025-2026.

TF-CD-2025-01, worked out by hand:
- need: a 2026 budget line of 3,000.00; allocated in the period: 1,000.00 (5 January 2026; 500.00 came on
  1 July 2025); gap 3,000.00 - 1,000.00 = 2,000.00;
- 50 medical payments of 10.00 paid on 10 December 2025 (500.00) and one approved of 100.00: committed 100.00;
  balance 1,500.00 - 500.00 - 100.00 = 900.00; burn 500.00 / 3 = 166.67; runway 900.00 / 166.67 = 5.39... -> 5.4;
- two children at 600.00 USD a term, three terms, nothing paid: school fees still to fund 2 x 3 x 600.00 = 3,600.00;
  next terms in code order: 600.00 <= 900.00 fits, 1,200.00 > 900.00 does not: the second child is at risk, and
  1,200.00 - 900.00 = 300.00 keeps both in school.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D

import pytest

from tests import factories
from tests.factories import one_commit

TODAY = dt.datetime(2026, 2, 10, 9, 30, tzinfo=dt.UTC)
CODE = "TF-CD-2025-01"


@pytest.fixture
def project(app, clock):
    clock.now = TODAY
    with app.app_context(), one_commit():
        clerk = factories.UserFactory(role="staff").id
        p = factories.ProjectFactory(code=CODE, country="CD")
        factories.BudgetLineFactory(project=p, year=2026, amount_usd=D("3000.00"))
        factories.AllocationFactory(project=p, amount_usd=D("1000.00"), allocated_on=dt.date(2026, 1, 5),
                                    reference="AL-2026-01", note="First quarter")
        factories.AllocationFactory(project=p, amount_usd=D("500.00"), allocated_on=dt.date(2025, 7, 1),
                                    reference="AL-2025-07")
        mother = factories.BeneficiaryFactory(project=p, number=1)
        for n in range(50):
            factories.DisbursementFactory(reference=f"DB-CD-2025-{n + 1:06d}", beneficiary=mother, status="paid",
                                          amount=D("10.00"), currency="USD", usd_amount=D("10.00"), usd_rate=D("1"),
                                          entered_on=dt.date(2025, 12, 1), paid_on=dt.date(2025, 12, 10),
                                          payment_reference=f"PAY-{n}", entered_by_id=clerk)
        factories.DisbursementFactory(reference="DB-CD-2026-000099", beneficiary=mother, status="approved",
                                      amount=D("100.00"), currency="USD", usd_amount=D("100.00"), usd_rate=D("1"),
                                      entered_on=dt.date(2026, 1, 20), entered_by_id=clerk)
        for number in (2, 3):
            m = factories.BeneficiaryFactory(project=p, number=number)
            factories.EnrolmentFactory(child=factories.ChildFactory(mother=m), fee_per_term=D("600.00"),
                                       currency="USD", school="EP Mapendo")
    return CODE


def tile(html: str, label: str) -> str:
    found = re.search(rf"<dt>{re.escape(label)}</dt><dd>(.*?)</dd>", html)
    assert found, f"no tile {label}"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_a_manager_sees_the_funding_figures_by_hand(project, manager_client):
    html = manager_client.get(f"/projects/{project}").get_data(as_text=True)
    assert tile(html, "Need") == "$3,000.00"
    assert tile(html, "Allocated").startswith("$1,000.00")
    assert tile(html, "Gap") == "$2,000.00"
    assert tile(html, "Balance") == "$900.00"
    assert tile(html, "Runway") == "5.4 months"
    assert tile(html, "Committed").startswith("$100.00")
    assert tile(html, "School fees still to fund this year") == "$3,600.00"
    assert tile(html, "Children at risk of missing next term") == "1 $300.00 keeps them in school"


def test_a_manager_sees_the_allocations_newest_first(project, manager_client):
    html = manager_client.get(f"/projects/{project}").get_data(as_text=True)
    section = html[html.index('id="alloc-h"'):]
    assert section.index("AL-2026-01") < section.index("AL-2025-07")
    assert "First quarter" in section and "$500.00" in section


def test_the_children_at_risk_are_listed_by_code_term_and_fee(project, manager_client, staff_client):
    for client in (manager_client, staff_client):
        html = client.get(f"/projects/{project}").get_data(as_text=True)
        section = html[html.index('id="risk-h"'):html.index('id="pay-h"')]
        assert set(re.findall(r"CD-C-\d{5}-\d", section)) == {"CD-C-00003-1"}
        assert "CD-M-00003" in section and "$600.00" in section
        assert re.search(r'<td class="num">1</td>', section)  # its next unpaid term
        assert "Test Mother" not in html and not re.search(r"Child\d+", html)  # codes, never names


def test_payments_are_paged_50_at_a_time(project, staff_client):
    first = staff_client.get(f"/projects/{project}").get_data(as_text=True)
    section = first[first.index('id="pay-h"'):]
    assert "51 payments" in section
    refs = re.findall(r"DB-CD-20\d\d-\d{6}", section)
    assert len(set(refs)) == 50 and refs[0] == "DB-CD-2026-000099"  # newest first
    assert f'href="/projects/{project}?page=2"' in section
    second = staff_client.get(f"/projects/{project}?page=2").get_data(as_text=True)
    rest = set(re.findall(r"DB-CD-20\d\d-\d{6}", second[second.index('id="pay-h"'):]))
    assert len(rest) == 1 and not rest & set(refs)
    assert "Test Mother" not in first  # codes only


def test_staff_see_no_funding_figures_nor_allocations(project, staff_client):
    html = staff_client.get(f"/projects/{project}").get_data(as_text=True)
    assert 'id="funding-h"' not in html and 'id="alloc-h"' not in html
    assert "AL-2026-01" not in html
    assert "keeps them" not in html and "more would keep" not in html  # the cost rests on the balance
    assert 'id="risk-h"' in html and 'id="pay-h"' in html


def test_a_project_of_another_country_is_not_found(project, sign_in):
    client = sign_in(role="manager", email="cf@example.org", countries=["CF"])
    assert client.get(f"/projects/{project}").status_code == 404
