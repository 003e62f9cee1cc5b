"""``GET /api/v1/plan``: the planner's proposal for managers, over the projects of their countries, the same JSON
as ``flask plan allocations``; the figures are those of tests/funding/test_plan_command.py, worked out by hand."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from tests.api.test_api import assert_problem, get, role_tokens
from tests.funding.test_plan_command import (
    CD_1000_AFTER,
    CD_1000_ALLOCATIONS,
    CD_1000_BEFORE,
    FUND_1000,
    TO,
    A,
    B,
    C,
    build_plan_world,
    without_fingerprint,
)
from tracker.extensions import db
from tracker.models import Allocation, AuditEvent

URL = "/api/v1/plan"


@pytest.fixture
def tokens(app):
    """A token per role: the manager and the staff member are of CD; ``both`` manages CD and LR."""
    return role_tokens(app, build_plan_world, extra={
        "both": dict(role="manager", email="b@example.org", countries=["CD", "LR"])})


def test_a_manager_plans_the_projects_of_their_countries(client, tokens):
    # The manager of CD: the "fund" scope holds A and B only, so the plan is that of CD (see CD_1000_*).
    response = get(client, f"{URL}?amount=1000&to={TO}", tokens["manager"])
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["scope"], body["amount"], body["total"], body["left"], body["unallocated"]) == (
        "fund", "1000.00", "1000.00", "0.00", "8300.00")
    assert body["allocations"] == CD_1000_ALLOCATIONS
    assert (body["before"], body["after"]) == (CD_1000_BEFORE, CD_1000_AFTER)
    assert get(client, f"{URL}?amount=1000&to={TO}&scope=country:cd", tokens["manager"]).get_json()[
        "allocations"] == CD_1000_ALLOCATIONS


def test_the_same_json_as_the_command(app, client, tokens):
    body = get(client, f"{URL}?amount=1000.00&to={TO}&with_pledges=false&share=need", tokens["both"]).get_json()
    result = app.test_cli_runner().invoke(args=["plan", "allocations", "--amount", "1000", "--to", TO,
                                                "--format", "json"])
    assert result.exit_code == 0, result.output
    assert body == json.loads(result.output)
    assert without_fingerprint(body) == FUND_1000


def test_pledges_and_order(client, tokens):
    # See test_with_pledges_spends_the_earmarked_pot_first and test_share_in_order_of_code.
    body = get(client, f"{URL}?amount=0&with_pledges=true&to={TO}", tokens["both"]).get_json()
    assert (body["pledges"], body["total"]) == ("100.00", "100.00")
    assert body["pots"][1] == {"kind": "project", "key": "TF-LR-2026-01", "amount": "100.00", "used": "100.00"}
    ordered = get(client, f"{URL}?amount=1000&share=order&to={TO}", tokens["both"]).get_json()
    assert [(a["project"], a["amount_usd"]) for a in ordered["allocations"]][0] == (A, "650.00")
    # See test_share_in_the_order_given: C first, then B.
    ordered = get(client, f"{URL}?amount=1000&share=order&order={C},{B}&to={TO}", tokens["both"]).get_json()
    assert [(a["project"], a["amount_usd"]) for a in ordered["allocations"]] == [
        (A, "500.00"), (B, "300.00"), (C, "200.00")]


def test_it_allocates_nothing(app, client, tokens):
    def counts():
        with app.app_context():
            events = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
            return db.session.scalar(select(func.count()).select_from(Allocation)), events

    allocations, events = counts()
    assert get(client, f"{URL}?amount=1000&to={TO}", tokens["manager"]).status_code == 200
    allocations_after, events_after = counts()
    assert allocations_after == allocations == 3
    assert events_after[len(events):] == ["api_request"]  # the request's own audit, nothing else


@pytest.mark.parametrize("role", ["staff", "admin", "donor"])
def test_only_managers_may_plan(client, tokens, role):
    assert_problem(get(client, f"{URL}?to={TO}", tokens[role]), 403)


def test_a_country_outside_is_404(client, tokens):
    assert_problem(get(client, f"{URL}?scope=country:LR&to={TO}", tokens["manager"]), 404, parameter="scope")
    assert_problem(get(client, f"{URL}?scope=project:TF-LR-2026-01", tokens["manager"]), 404, parameter="scope")


@pytest.mark.parametrize("query, parameter", [
    ("amount=-5", "amount"), ("amount=1.234", "amount"), ("amount=abc", "amount"), ("amount=1e3", "amount"),
    ("amount=1000000000000", "amount"), ("amount=", "amount"), ("with_pledges=yes", "with_pledges"),
    ("share=random", "share"), ("to=2026-02-30", "to"), ("scope=bogus", "scope"), ("from=2026-01-01", "from"),
    ("amount=1&amount=2", "amount"), ("share=order&order=TF-CD-2026-01,,x", "order"),
])
def test_bad_parameters_are_400_naming_the_parameter(client, tokens, query, parameter):
    assert_problem(get(client, f"{URL}?{query}", tokens["manager"]), 400, parameter=parameter)


@pytest.mark.parametrize("query", [
    "order=TF-CD-2026-01",  # without share=order
    "share=order&order=TF-LR-2026-01",  # a project outside the manager's countries (CD)
    "share=order&order=TF-CD-2026-01,TF-CD-2026-01",
])
def test_an_order_that_cannot_be_followed_is_422_naming_it(client, tokens, query):
    assert_problem(get(client, f"{URL}?{query}", tokens["manager"]), 422, parameter="order")
