"""The claims list (/claims/): open claims first and the longest waiting first by default, a Member State select
of the states that have claims, and columns sorted by the server from ``?sort=`` links."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from tests import factories

# Four claims in CD (the staff's country) and one in CF (the manager's too). Dates are of the steps in force.
#   child            Member State    received    current step (rank)              since        open?
#   CD-C-00001-1     UY Uruguay      2025-01-10  dna_sample_collected (2)         2025-06-01   open
#   CD-C-00002-1     PK Pakistan     2025-03-01  dna_result_received (3)          2025-03-01   open (waits longest)
#   CD-C-00003-1     ZA South Africa 2024-11-01  withdrawn (4, final)             2024-12-01   closed (oldest date)
#   CD-C-00004-1     BD Bangladesh   2025-05-01  notified_to_member_state (1)     2025-05-20   open
#   CF-C-00005-1     NP Nepal        2025-02-01  received (0)                     2025-02-01   open, CF only
CLAIMS = [
    ("CD", 1, "UY", dt.date(2025, 1, 10), [("notified_to_member_state", dt.date(2025, 2, 1)),
                                           ("dna_sample_collected", dt.date(2025, 6, 1))]),
    ("CD", 2, "PK", dt.date(2025, 3, 1), [("dna_result_received", dt.date(2025, 3, 1))]),
    ("CD", 3, "ZA", dt.date(2024, 11, 1), [("withdrawn", dt.date(2024, 12, 1))]),
    ("CD", 4, "BD", dt.date(2025, 5, 1), [("notified_to_member_state", dt.date(2025, 5, 20))]),
    ("CF", 5, "NP", dt.date(2025, 2, 1), []),
]
ONE, TWO, THREE, FOUR = "CD-C-00001-1", "CD-C-00002-1", "CD-C-00003-1", "CD-C-00004-1"


@pytest.fixture
def claims(app):
    with app.app_context(), factories.one_commit():
        projects = {c: factories.ProjectFactory(code=f"TF-{c}-2025-01", country=c) for c in ("CD", "CF")}
        for country, number, state, received, later in CLAIMS:
            factories.claim_with_steps(projects[country], number, state, [("received", received), *later])


def order(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(r'<a href="/claims/\d+">([A-Z]{2}-C-[\d-]+)</a>', response.get_data(as_text=True))


def member_state_options(response) -> list[tuple[str, str]]:
    body = response.get_data(as_text=True)
    select = re.search(r'<select id="f-ms" name="member_state">(.*?)</select>', body, re.S).group(1)
    return [(value, html.unescape(text)) for value, text in re.findall(r'<option value="(\w*)"[^>]*>([^<]*)</option>',
                                                                        select)]


def sorted_header(response) -> tuple[str, str, str]:
    """(aria-sort, the heading's text, where its link goes) of the one sorted column."""
    body = response.get_data(as_text=True)
    found = re.findall(r'<th scope="col" aria-sort="(\w+)" class="sortable">\s*<a href="([^"]+)">([^<]+)', body)
    assert len(found) == 1, found
    sort, href, text = found[0]
    return sort, text, html.unescape(href)


def test_claims_list_puts_open_claims_first_and_the_longest_waiting_first(claims, staff_client):
    # Open by date of their current step (03-01, 05-20, 06-01), then the withdrawn one although its date is oldest.
    response = staff_client.get("/claims/")
    assert order(response) == [TWO, FOUR, ONE, THREE]
    assert sorted_header(response) == ("descending", "Waiting", "/claims/?sort=waiting")


def test_claims_list_member_state_select_lists_only_the_states_with_claims_the_user_sees(
        claims, staff_client, manager_client):
    assert member_state_options(staff_client.get("/claims/")) == [
        ("", "All"), ("BD", "Bangladesh"), ("PK", "Pakistan"), ("ZA", "South Africa"), ("UY", "Uruguay")]
    assert member_state_options(manager_client.get("/claims/")) == [
        ("", "All"), ("BD", "Bangladesh"), ("NP", "Nepal"), ("PK", "Pakistan"), ("ZA", "South Africa"),
        ("UY", "Uruguay")]


def test_claims_list_member_state_select_is_in_the_readers_language(claims, sign_in):
    client = sign_in(role="staff", email="fr.staff@example.org", countries=["CD"], locale="fr")
    response = client.get("/claims/?member_state=ZA")
    assert member_state_options(response) == [
        ("", "Tous"), ("ZA", "Afrique du Sud"), ("BD", "Bangladesh"), ("PK", "Pakistan"), ("UY", "Uruguay")]
    assert '<option value="ZA" selected>' in response.get_data(as_text=True)
    assert order(response) == [THREE]
    # Sorted by the names the reader reads: Afrique du Sud first in French.
    assert order(client.get("/claims/?sort=member_state")) == [THREE, FOUR, TWO, ONE]


def test_claims_list_filter_by_member_state_and_open_only_still_work(claims, staff_client):
    assert order(staff_client.get("/claims/?member_state=pk")) == [TWO]
    assert order(staff_client.get("/claims/?open=1")) == [TWO, FOUR, ONE]
    assert order(staff_client.get("/claims/?status=withdrawn")) == [THREE]


@pytest.mark.parametrize("sort, expected, aria, heading, next_link", [
    ("waiting", [ONE, FOUR, TWO, THREE], "ascending", "Waiting", "-waiting"),        # shortest first, closed last
    ("-waiting", [TWO, FOUR, ONE, THREE], "descending", "Waiting", "waiting"),
    ("received", [THREE, ONE, TWO, FOUR], "ascending", "Received", "-received"),     # 2024-11-01 … 2025-05-01
    ("-received", [FOUR, TWO, ONE, THREE], "descending", "Received", "received"),
    ("step", [FOUR, ONE, TWO, THREE], "ascending", "Current step", "-step"),         # ranks 1, 2, 3, 4
    ("-step", [THREE, TWO, ONE, FOUR], "descending", "Current step", "step"),
    ("member_state", [FOUR, TWO, THREE, ONE], "ascending", "Member State", "-member_state"),  # B, P, S, U
    ("-member_state", [ONE, THREE, TWO, FOUR], "descending", "Member State", "member_state"),
])
def test_claims_list_sorts_by_each_column(claims, staff_client, sort, expected, aria, heading, next_link):
    response = staff_client.get(f"/claims/?sort={sort}")
    assert order(response) == expected
    aria_sort, text, href = sorted_header(response)
    assert (aria_sort, text) == (aria, heading)
    # The sorted heading's link turns the order round (the default order carries no ?sort=).
    assert href == f"/claims/?sort={next_link}"


def test_claims_list_sort_links_keep_the_filters_and_the_filters_keep_the_sort(claims, staff_client):
    body = staff_client.get("/claims/?sort=received&member_state=PK&open=1").get_data(as_text=True)
    links = {html.unescape(h) for h in re.findall(r'class="sortable">\s*<a href="([^"]+)"', body)}
    assert links == {"/claims/?sort=-received&member_state=PK&open=1", "/claims/?sort=step&member_state=PK&open=1",
                     "/claims/?sort=member_state&member_state=PK&open=1",
                     "/claims/?sort=-waiting&member_state=PK&open=1"}
    assert '<input type="hidden" name="sort" value="received">' in body


def test_claims_list_unknown_sort_is_the_default_order(claims, staff_client):
    assert order(staff_client.get("/claims/?sort=name")) == [TWO, FOUR, ONE, THREE]
    assert order(staff_client.get("/claims/?sort=-")) == [TWO, FOUR, ONE, THREE]


def test_claims_export_follows_the_lists_order(claims, staff_client):
    rows = staff_client.get("/claims/export.csv?sort=received").get_data(as_text=True).splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == [THREE, ONE, TWO, FOUR]
