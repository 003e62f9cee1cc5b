"""``GET /api/v1/claims/summary``: the claims dashboard's figures of the user's countries, or for a donor the
public ones; staff are refused."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.api.test_api import assert_problem, get, role_tokens
from tests.reports.test_claims_command import ALL_CODES, N_S, P_O, PK, R_N, S_R, TO, TOTALS, UY, _steps, build_claims
from tracker.models.base import today

URL = "/api/v1/claims/summary"


@pytest.fixture
def tokens(app):
    """A token per role; the manager and the staff member are of CD (build_claims: every claim but one LR)."""
    return role_tokens(app, build_claims)


def test_a_manager_gets_the_figures_of_their_countries(client, tokens):
    response = get(client, f"{URL}?to={TO}", tokens["manager"])
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["to"], body["public"], body["stalled_days"]) == (TO, False, 90)
    pk, uy = body["member_states"]
    assert pk == PK
    # UY in CD: 906 only (907 is LR's): received 06-01, notified 06-11 -> open at notified, 10 days
    assert uy == {"member_state": "UY", "received": 1, "open": 1, "stalled": 0,
                  "open_by_step": _steps(notified_to_member_state=1), "stalled_by_step": _steps(),
                  "outcomes": {"paternity_established": 0, "not_established": 0, "withdrawn": 0, "support_paid": 0},
                  "median_days": {R_N: 10.0, N_S: None, S_R: None, P_O: None}}
    # PK + 906: received 6, open 5; received→notified 10, 20, 10, 10 -> 10.0; notified→sample 30, 17 -> 23.5
    assert body["totals"] == {
        "received": 6, "open": 5, "stalled": 2,
        "open_by_step": _steps(received=1, notified_to_member_state=2, dna_sample_collected=1, support_ordered=1),
        "stalled_by_step": _steps(notified_to_member_state=1, dna_sample_collected=1),
        "outcomes": {"paternity_established": 1, "not_established": 0, "withdrawn": 1, "support_paid": 0},
        "median_days": {R_N: 10.0, N_S: 23.5, S_R: 28.0, P_O: 30.0}}


def test_an_admin_gets_every_country_as_of_today_by_default(client, tokens):
    assert get(client, f"{URL}?to={TO}", tokens["admin"]).get_json() == {
        "to": TO, "stalled_days": 90, "public": False, "member_states": [PK, UY], "totals": TOTALS}
    body = get(client, URL, tokens["admin"]).get_json()
    assert body["to"] == today().isoformat()
    assert body["totals"]["received"] == 8  # the claim of 2026-07-10 too


def test_a_donor_gets_the_public_figures_of_the_whole_fund(client, tokens):
    body = get(client, f"{URL}?to={TO}", tokens["donor"]).get_json()
    assert (body["to"], body["public"]) == (TO, True)
    pk, uy = body["member_states"]
    assert (pk["member_state"], pk["received"], pk["open"], pk["stalled"]) == ("PK", "<10", "<10", "<10")
    # The LR claim counts too: the Fund's figures, whatever the donor's scope
    assert (uy["received"], uy["outcomes"]["not_established"]) == ("<10", "<10")
    assert body["totals"]["median_days"] == {R_N: None, N_S: None, S_R: None, P_O: None}
    latest = get(client, URL, tokens["donor"]).get_json()
    assert latest["to"] == (today().replace(day=1) - dt.timedelta(days=1)).isoformat()
    text = get(client, URL, tokens["donor"]).get_data(as_text=True)
    assert not [code for code in ALL_CODES if code in text]


def test_staff_are_refused(client, tokens):
    assert_problem(get(client, URL, tokens["staff"]), 403)


@pytest.mark.parametrize("query, parameter", [("to=2026-02-30", "to"), ("to=today", "to"), ("from=2026-01-01", "from"),
                                              ("to=2026-01-01&to=2026-02-01", "to")])
def test_bad_parameters_are_400(client, tokens, query, parameter):
    assert_problem(get(client, f"{URL}?{query}", tokens["manager"]), 400, parameter=parameter)
