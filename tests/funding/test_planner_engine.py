"""A plan's "after" is what the engine reports once its allocations are made, exactly, on the demo data.

The demo holds projects with children at risk, one over-committed project (TF-SS-2025-01) and a closed one, so a
short amount makes the planner choose (priority 1 only) and the whole unallocated money reaches priorities 2 and 3.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from tracker.demo import seed_demo
from tracker.funding import planner
from tracker.funding.engine import funding_picture
from tracker.funding.services import allocate
from tracker.models import Project
from tracker.models.base import today


def engine_standing(scope: str, to: dt.date):
    picture = funding_picture(scope=scope, date_from=dt.date(to.year, 1, 1), date_to=to)
    return planner.Standing.of(picture.totals), {p.code: planner.Standing.of(p) for p in picture.projects}


@pytest.mark.parametrize("share", ["short", "need", "order"])
def test_after_is_the_engines_figures_once_allocated(rq, share):
    seed_demo(seed=1, scale=1, progress=lambda message: None)
    to = today()
    inputs = planner.gather(date_to=to)
    before = inputs.picture.totals
    assert before.children_at_risk > 0 and before.overcommitted > 0  # the demo gives the planner something to do
    if share == "short":
        # A third of what the children at risk would cost (each project's fees less its balance): a real choice.
        amount = (sum(p.at_risk_cost for p in inputs.picture.projects) / 3).quantize(D("0.01"))
        plan = planner.propose_from(inputs, amount=amount)
        assert 0 < plan.after.children_at_risk < plan.before.children_at_risk
    elif share == "need":
        plan = planner.propose_from(inputs)
        assert plan.amount == inputs.picture.fund.unallocated
    else:
        order = sorted((p.code for p in inputs.picture.projects), reverse=True)
        plan = planner.propose_from(inputs, share="order", order=order)
    assert plan.allocations
    projects = {p.code: p for p in rq.session.query(Project)}
    for line in plan.allocations:
        allocate(project=projects[line.code], amount_usd=line.amount_usd, allocated_on=to, note="plan")
    rq.session.commit()

    totals, by_code = engine_standing("fund", to)
    assert totals == plan.after
    assert {line.code: line.after for line in plan.lines} == by_code
    # What was given is what the allocations add, and the fund's unallocated money falls by it.
    assert funding_picture(date_to=to).fund.unallocated == inputs.picture.fund.unallocated - plan.total
