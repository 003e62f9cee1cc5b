"""Long lists page by key (tracker/web.py ``keyset_page``): ``?after=`` the last row shown, ``?before=`` the first.

Two rows a page. Disbursements, newest first then the highest id: five payments, three of them entered on the
same day, so that the id decides between them. Mothers: five, by code.
"""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from tests import factories

# Entered on (id order = creation order): D1 03-01, D2 03-05, D3 03-05, D4 03-05, D5 03-09.
# Newest first: D5; then 03-05 by id down: D4, D3, D2; then D1.
ENTERED = [dt.date(2026, 3, 1), dt.date(2026, 3, 5), dt.date(2026, 3, 5), dt.date(2026, 3, 5), dt.date(2026, 3, 9)]


@pytest.fixture
def lists(app):
    app.config["PAGE_SIZE"] = 2
    with app.app_context(), factories.one_commit():
        project = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        mothers = [factories.BeneficiaryFactory(project=project, number=n) for n in range(1, 6)]
        for n, day in enumerate(ENTERED, start=1):
            factories.DisbursementFactory(reference=f"D{n}", beneficiary=mothers[0], entered_on=day)


def _shown(response, pattern: str) -> list[str]:
    assert response.status_code == 200
    return re.findall(pattern, response.get_data(as_text=True))


def _link(response, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', response.get_data(as_text=True))
    return html.unescape(found.group(1)) if found else None


def test_disbursements_page_forward_and_back_by_key(lists, staff_client):
    refs = r'<a class="code" href="/disbursements/(D\d)">'
    first = staff_client.get("/disbursements/")
    assert _shown(first, refs) == ["D5", "D4"]
    assert _link(first, "prev") is None
    assert "Page 1 of 3" in first.get_data(as_text=True)

    second = staff_client.get(_link(first, "next"))
    assert _shown(second, refs) == ["D3", "D2"]
    assert "Page 2 of 3" in second.get_data(as_text=True)
    third = staff_client.get(_link(second, "next"))
    assert _shown(third, refs) == ["D1"]
    assert _link(third, "next") is None

    back = staff_client.get(_link(third, "prev"))
    assert _shown(back, refs) == ["D3", "D2"]
    start = staff_client.get(_link(back, "prev"))
    assert _shown(start, refs) == ["D5", "D4"]
    assert _link(start, "prev") is None
    assert "Page 1 of 3" in start.get_data(as_text=True)


def test_the_key_carries_no_name_and_filters_travel_with_it(lists, staff_client):
    first = staff_client.get("/disbursements/?status=draft")
    following = _link(first, "next")
    assert following.startswith("/disbursements/?")
    assert "status=draft" in following and "after=2026-03-05~" in following
    assert _shown(staff_client.get(following), r'href="/disbursements/(D\d)"') == ["D3", "D2"]


@pytest.mark.parametrize("cursor", ["after=2020-01-01~1", "before=2030-01-01~999", "after=not-a-date~x",
                                    "after=" + "9" * 300, "after=2026-03-05"])
def test_a_stale_or_broken_key_shows_the_first_page(lists, staff_client, cursor):
    response = staff_client.get(f"/disbursements/?{cursor}&page=7")
    assert _shown(response, r'href="/disbursements/(D\d)"') == ["D5", "D4"]
    assert "Page 1 of 3" in response.get_data(as_text=True)


def test_mothers_page_by_code(lists, staff_client):
    codes = r'<a class="code" href="/mothers/(CD-M-\d+)">'
    first = staff_client.get("/mothers/")
    assert _shown(first, codes) == ["CD-M-00001", "CD-M-00002"]
    second = staff_client.get(_link(first, "next"))
    assert "after=CD-M-00002" in _link(first, "next")
    assert _shown(second, codes) == ["CD-M-00003", "CD-M-00004"]
    third = staff_client.get(_link(second, "next"))
    assert _shown(third, codes) == ["CD-M-00005"]
    assert _shown(staff_client.get(_link(third, "prev")), codes) == ["CD-M-00003", "CD-M-00004"]


def test_a_long_list_counts_up_to_the_cap(lists, staff_client, monkeypatch):
    import tracker.web

    monkeypatch.setattr(tracker.web, "COUNT_CAP", 3)
    first = staff_client.get("/disbursements/")
    text = first.get_data(as_text=True)
    assert "More than 3 disbursements" in text and "Page 1</span>" in text and "Page 1 of" not in text
    second = staff_client.get(_link(first, "next"))
    assert _shown(second, r'href="/disbursements/(D\d)"') == ["D3", "D2"]
    assert "Page 2</span>" in second.get_data(as_text=True)
    # At the cap, the count is exact: D2, D3 and D4 were entered on 5 March.
    exact = staff_client.get("/disbursements/?date_from=2026-03-05&date_to=2026-03-05").get_data(as_text=True)
    assert "3 disbursements" in exact and "More than" not in exact and "Page 1 of 2" in exact
