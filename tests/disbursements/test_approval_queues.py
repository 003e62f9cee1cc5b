"""The managers' queues at scale: 50 a page, the longest waiting first, filters, "select all on this page" and the
total of the selection in USD, all worked out by hand from the payments built here.

The world: 55 submitted payments of TF-CD-2025-01 (``p1[n]``, n = 0..54) of 10 + n USD, waiting 120 − 2n days
(120, 118, ..., 12), every fifth (n = 0, 5, ..., 50) for legal help and the others medical, entered by Amani
(even n) or Baraka (odd n); two of TF-CD-2025-02 of 100,000 CDF (× 0.00035 = 35.00 USD), waiting 150 days
(entered by Amani) and 3 days (entered by the signed-in manager, who may not approve it). 57 in all.
"""
from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from tests import factories
from tracker.disbursements import services
from tracker.extensions import db as _db
from tracker.models import Disbursement, User
from tracker.models.base import now_utc


@dataclass(frozen=True)
class Queue:
    p1: list[int]        # ids of TF-CD-2025-01's payments, by n
    old_cdf: int         # TF-CD-2025-02, 150 days
    own: int             # TF-CD-2025-02, 3 days, entered by the manager
    amani: int
    baraka: int


def _wait(disbursement_id: int, days: int, *, column="submitted_at") -> None:
    _db.session.execute(update(Disbursement).where(Disbursement.id == disbursement_id)
                        .values({column: now_utc() - dt.timedelta(days=days)}))


@pytest.fixture
def queue(app, manager_client) -> Queue:
    with app.test_request_context():
        manager = _db.session.scalars(select(User).where(User.email == "manager@example.org")).one()
        with factories.one_commit():
            amani = factories.UserFactory(role="staff", countries=["CD"], name="Amani")
            baraka = factories.UserFactory(role="staff", countries=["CD"], name="Baraka")
            p1 = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
            p2 = factories.ProjectFactory(code="TF-CD-2025-02", country="CD")
            m1 = factories.BeneficiaryFactory(project=p1, number=1)
            m2 = factories.BeneficiaryFactory(project=p2, number=2)
            factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1),
                                          usd_per_unit=Decimal("0.00035000"))
            factories.AllocationFactory(project=p1, amount_usd=Decimal("100.00"), allocated_on=dt.date(2025, 1, 2))
        ids = []
        for n in range(55):
            d = services.enter(project=p1, category="legal" if n % 5 == 0 else "medical", beneficiary=m1,
                               payee="Cabinet Bahati", amount=str(10 + n), currency="USD",
                               entered_on=dt.date(2025, 6, 1), user=amani if n % 2 == 0 else baraka)
            ids.append(d.id)
        old = services.enter(project=p2, category="medical", beneficiary=m2, payee="Clinic", amount="100000",
                             currency="CDF", entered_on=dt.date(2025, 6, 1), user=amani)
        own = services.enter(project=p2, category="medical", beneficiary=m2, payee="Clinic", amount="100000",
                             currency="CDF", entered_on=dt.date(2025, 6, 1), user=manager)
        for n, i in enumerate(ids):
            _wait(i, 120 - 2 * n)
        _wait(old.id, 150)
        _wait(own.id, 3)
        _db.session.commit()
        return Queue(ids, old.id, own.id, amani.id, baraka.id)


def rows(response) -> list[int]:
    """The ids of the queue table's rows, in page order."""
    body = response.get_data(as_text=True)
    tbody = re.search(r'<table class="queue">.*?<tbody>(.*?)</tbody>', body, re.S)
    return [int(i) for i in re.findall(r'name="version-(\d+)"', tbody.group(1))] if tbody else []


def ticked(response) -> set[int]:
    return {int(i) for i in re.findall(r'name="id" value="(\d+)" id="t-\d+" checked',
                                       response.get_data(as_text=True))}


def total_line(response) -> str:
    found = re.search(r'<p class="queue-total"[^>]*>(.*?)</p>', response.get_data(as_text=True), re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(found.group(1))).split())


def test_fifty_a_page_the_longest_waiting_first(queue, manager_client):
    first = manager_client.get("/approvals/")
    # 150 days, then p1[0] (120 days) ... p1[48] (24 days): 50 rows.
    assert rows(first) == [queue.old_cdf] + queue.p1[:49]
    text = html.unescape(first.get_data(as_text=True))
    assert "57 payments wait · the oldest for 150 days · Page 1 of 2" in text
    assert "waiting 150 days" in text and "waiting 120 days" in text and "waiting 24 days" in text
    assert 'href="/approvals/?page=2" rel="next"' in text
    second = manager_client.get("/approvals/?page=2")
    # p1[49] (22 days) ... p1[54] (12 days), then the manager's own (3 days).
    assert rows(second) == queue.p1[49:] + [queue.own]
    assert "waiting 3 days" in html.unescape(second.get_data(as_text=True))


def table_row(body: str, disbursement_id: int):
    """The queue row of a payment: group 1 is its class attribute, if any."""
    return re.search(rf'<tr( class="over")?>\s*<td>[^<]*<input type="checkbox" name="id" value="{disbursement_id}"'
                     r".*?</tr>", body, re.S)


def test_running_total_runs_across_pages_and_tints_rows_over_the_balance(queue, manager_client):
    first = manager_client.get("/approvals/").get_data(as_text=True)
    # TF-CD-2025-01 has 100.00: 10, 21, 33, 46, 60, 75, 91 fit; p1[7] takes it to 108.00.
    for n, running, over in [(0, "10.00", False), (1, "21.00", False), (6, "91.00", False), (7, "108.00", True)]:
        row = table_row(first, queue.p1[n])
        assert (row.group(1) is not None) == over, n
        assert f"${running}" in row.group(0), n
    # p1[49], first row of page 2: 50 × 10 + (0 + ... + 49) = 500 + 1,225 = 1,725.00.
    row = table_row(manager_client.get("/approvals/?page=2").get_data(as_text=True), queue.p1[49])
    assert row.group(1) is not None and "$1,725.00" in row.group(0)


@pytest.mark.parametrize("query, expected", [
    # TF-CD-2025-02: the 150-day one, then the manager's own.
    ("project=TF-CD-2025-02", lambda q: [q.old_cdf, q.own]),
    # Legal: n = 0, 5, ..., 50.
    ("category=legal", lambda q: [q.p1[n] for n in range(0, 55, 5)]),
    # More than 90 days: 150, and 120 − 2n > 90 for n = 0..14 (n = 15 waits exactly 90).
    ("age=90", lambda q: [q.old_cdf] + q.p1[:15]),
    # More than 60 days: n = 0..29.
    ("age=60", lambda q: [q.old_cdf] + q.p1[:30]),
    # More than 30 days: n = 0..44.
    ("age=30", lambda q: [q.old_cdf] + q.p1[:45]),
    # Baraka entered the odd ones.
    ("entered_by={baraka}", lambda q: q.p1[1::2]),
    # All at once: TF-CD-2025-01, legal, over 60 days, by Amani: n in {0, 10, 20}.
    ("project=TF-CD-2025-01&category=legal&age=60&entered_by={amani}", lambda q: [q.p1[0], q.p1[10], q.p1[20]]),
    # An age not offered, an unknown category: no filter.
    ("age=45&category=cash", lambda q: [q.old_cdf] + q.p1[:49]),
])
def test_each_filter_narrows_the_queue(queue, manager_client, query, expected):
    response = manager_client.get("/approvals/?" + query.format(baraka=queue.baraka, amani=queue.amani))
    assert response.status_code == 200
    assert rows(response) == expected(queue)


def test_filters_are_kept_by_the_pager_and_the_forms(queue, manager_client):
    body = html.unescape(manager_client.get(f"/approvals/?age=30&entered_by={queue.amani}").get_data(as_text=True))
    # Amani entered the 150-day one and the even n of 0..44: 1 + 23 = 24, one page.
    assert "24 payments wait" in body and "Page 1 of" not in body
    body = html.unescape(manager_client.get("/approvals/?age=30").get_data(as_text=True))
    assert 'action="/approvals/decide?age=30"' in body
    assert '<option value="30" selected>more than 30 days</option>' in body
    # TF-CD-2025-01 has 55: page 2 keeps the project in its form and in its link back.
    body = html.unescape(manager_client.get("/approvals/?page=2&project=TF-CD-2025-01").get_data(as_text=True))
    assert 'action="/approvals/decide?page=2&project=TF-CD-2025-01"' in body
    assert 'href="/approvals/?page=1&project=TF-CD-2025-01" rel="prev"' in body


def test_filter_options_list_who_entered_the_waiting_ones(queue, manager_client):
    body = html.unescape(manager_client.get("/approvals/").get_data(as_text=True))
    options = re.search(r'<select id="f-entered-by" name="entered_by">(.*?)</select>', body, re.S).group(1)
    assert re.findall(r'<option value="(\d*)">([^<]+)</option>', options)[:3] == [
        ("", "Anyone"), (str(queue.amani), "Amani"), (str(queue.baraka), "Baraka")]


def test_select_all_ticks_every_row_of_the_page_but_ones_own_and_totals_them_in_usd(queue, manager_client):
    response = manager_client.post("/approvals/decide", data={"decision": "select_all", "reason": "typed"})
    assert response.status_code == 200
    assert ticked(response) == {queue.old_cdf, *queue.p1[:49]}
    # 35.00 (100,000 CDF × 0.00035) + (10 + 11 + ... + 58) = 35.00 + 49 × 10 + (0 + ... + 48) = 35 + 490 + 1,176.
    assert total_line(response) == "50 payments ticked: about $1,701.00"
    assert 'name="reason" maxlength="500" value="typed"' in response.get_data(as_text=True)
    # Page 2: p1[49..54] = 59 + 60 + 61 + 62 + 63 + 64 = 369.00; the manager's own stays unticked.
    response = manager_client.post("/approvals/decide?page=2", data={"decision": "select_all"})
    assert ticked(response) == set(queue.p1[49:])
    assert total_line(response) == "6 payments ticked: about $369.00"


def test_update_the_total_adds_the_ticked_ones(queue, manager_client):
    assert total_line(manager_client.get("/approvals/")) == "Nothing ticked yet."
    response = manager_client.post("/approvals/decide", data={
        "decision": "total", "id": [str(queue.old_cdf), str(queue.p1[0]), str(queue.p1[3])]})
    assert ticked(response) == {queue.old_cdf, queue.p1[0], queue.p1[3]}
    assert total_line(response) == "3 payments ticked: about $58.00"  # 35.00 + 10.00 + 13.00


def test_approving_the_selected_page_approves_those_fifty_and_leaves_the_rest(app, queue, manager_client):
    selected = manager_client.post("/approvals/decide", data={"decision": "select_all"})
    data = {"decision": "approve", "id": [str(i) for i in ticked(selected)]}
    response = manager_client.post("/approvals/decide", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/approvals/"
    after = manager_client.get("/approvals/")
    assert rows(after) == queue.p1[49:] + [queue.own]
    with app.app_context():
        statuses = dict(_db.session.execute(select(Disbursement.id, Disbursement.status)).all())
    assert sorted(i for i, s in statuses.items() if s == "approved") == sorted([queue.old_cdf, *queue.p1[:49]])


def test_to_pay_pages_filters_and_selects_the_approved_ones(app, queue, manager_client):
    with app.test_request_context():
        manager = _db.session.scalars(select(User).where(User.email == "manager@example.org")).one()
        for n in range(52):
            services.approve(disbursement=_db.session.get(Disbursement, queue.p1[n]), user=manager)
        for n in range(52):
            _wait(queue.p1[n], 60 - n, column="approved_at")  # approved 60, 59, ..., 9 days ago
        _db.session.commit()
    first = manager_client.get("/approvals/to-pay")
    assert rows(first) == queue.p1[:50]
    assert "52 payments to make · the oldest approved 60 days ago · Page 1 of 2" in \
        html.unescape(first.get_data(as_text=True))
    assert rows(manager_client.get("/approvals/to-pay?page=2")) == queue.p1[50:52]
    # Approved more than 30 days ago: 60 − n > 30 for n = 0..29; of them legal: n = 0, 5, ..., 25.
    assert rows(manager_client.get("/approvals/to-pay?age=30&category=legal")) == [queue.p1[n] for n in range(0, 30, 5)]
    response = manager_client.post("/approvals/pay?page=2", data={"decision": "select_all", "paid_on": "2026-01-05"})
    assert ticked(response) == set(queue.p1[50:52])
    assert total_line(response) == "2 payments ticked: about $121.00"  # 60.00 + 61.00, frozen at approval
    assert 'name="paid_on" value="2026-01-05"' in response.get_data(as_text=True)
