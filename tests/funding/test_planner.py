"""The allocation planner: the fewest children at risk for the money (against brute force), its other priorities
and the earmarks worked out by hand, and its "after" equal to the engine's figures once the allocations are made.

The pure tests give the planner a funding picture made by hand (:func:`picture`): each project's children in walk
order with their next term's fee, its balance, need and allocations. Children at risk are counted again here by
:func:`at_risk`, DESIGN section 3's walk written out anew, never by the planner's own arithmetic.
"""
from __future__ import annotations

import datetime as dt
import itertools
import zlib
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.funding import planner
from tracker.funding.engine import ChildAtRisk, ProjectFigures

TO = dt.date(2026, 11, 30)


def at_risk(fees: list[int], balance: int) -> int:
    """DESIGN section 3's walk: down the list, children are covered while the running total of their fees stays
    within the balance; from the first that does not fit, every child is at risk (all of them when the balance is
    0 or less). Cents."""
    if balance <= 0:
        return len(fees)
    running = 0
    for place, fee in enumerate(fees):
        running += fee
        if running > balance:
            return len(fees) - place
    return 0


def project(code: str, *, fees=(), balance=0, need=0, allocated=0, country="CD", status="active",
            burn=0) -> tuple[ProjectFigures, list[int]]:
    """A project as the engine would report it, with every child's next fee in walk order (cents)."""
    fees = list(fees)
    risk = at_risk(fees, balance)
    f = ProjectFigures(
        id=zlib.crc32(code.encode()), code=code, title=f"Project {code}", country=country, status=status,
        by_category={},
        need=D(need).scaleb(-2), allocated=D(allocated).scaleb(-2), balance=D(balance).scaleb(-2),
        burn=D(burn).scaleb(-2), gap=max(D(need - allocated).scaleb(-2), D("0.00")),
        overcommitted=max(D(-balance).scaleb(-2), D("0.00")), children_at_risk=risk,
        at_risk_cost=D(sum(fees) - balance).scaleb(-2) if risk else D("0.00"),
    )
    return f, fees


def picture(projects, *, unallocated=0, pledges=()):
    """A funding picture holding ``projects`` (from :func:`project`) and outstanding ``pledges``:
    (project code or None, country or None, cents)."""
    figures = [f for f, _fees in projects]
    children = []
    for f, fees in projects:
        for place, fee in enumerate(fees[len(fees) - f.children_at_risk:]):
            children.append(ChildAtRisk(f.code, f"{f.code}-C{place}", "M", "School", 1, D(fee).scaleb(-2), "USD",
                                        D(fee).scaleb(-2)))
    ids = {f.code: f.id for f in figures}
    outstanding = [SimpleNamespace(project_id=ids.get(code) if code else None, country=country,
                                   outstanding=D(cents).scaleb(-2)) for code, country, cents in pledges]
    return SimpleNamespace(projects=figures, children_at_risk=children, outstanding=outstanding,
                           fund=SimpleNamespace(unallocated=D(unallocated).scaleb(-2)), scope="fund",
                           date_from=dt.date(TO.year, 1, 1), date_to=TO)


def cents(plan) -> dict[str, int]:
    return {line.code: int(line.amount_usd * 100) for line in plan.allocations}


# ---------------------------------------------------------------------------------------------------------------------
# 1. The fewest children at risk: never more than brute force finds, never beyond the money or an earmark
# ---------------------------------------------------------------------------------------------------------------------

def least_to_leave(fees: list[int], balance: int, left_at_risk: int) -> int:
    """The least cents that leave at most ``left_at_risk`` children at risk, by trying every balance at which the
    walk can change: 1 cent (a balance above 0) and each running total of the list."""
    running = list(itertools.accumulate(fees))
    tries = {0} | {max(r, 1) - balance for r in running}
    return min(x for x in tries if x >= 0 and at_risk(fees, balance + x) <= left_at_risk)


def fits(amounts: dict[str, int], projects, free: int, pots: dict[tuple[str, str], int]) -> bool:
    """Whether the amounts can be paid from the pots (Gale's condition, every set of projects tried): a project
    may take the free money, its country's pot and its own."""
    country = {f.code: f.country for f, _fees in projects}
    wanting = [code for code, x in amounts.items() if x > 0]
    for size in range(1, len(wanting) + 1):
        for group in itertools.combinations(wanting, size):
            reachable = free + sum(pots.get(("project", code), 0) for code in group) \
                + sum(pots.get(("country", c), 0) for c in {country[code] for code in group})
            if sum(amounts[code] for code in group) > reachable:
                return False
    return True


def brute_force(projects, free: int, pots) -> int:
    """The fewest children at risk any amounts within the money and the earmarks can leave."""
    choices = []
    for f, fees in projects:
        before = f.children_at_risk
        if f.status == "closed":
            choices.append([(before, 0)])
        else:
            choices.append([(left, least_to_leave(fees, int(f.balance * 100), left)) for left in range(before + 1)])
    best = sum(f.children_at_risk for f, _fees in projects)
    for combination in itertools.product(*choices):
        amounts = {f.code: x for (f, _fees), (_left, x) in zip(projects, combination, strict=True)}
        left = sum(n for n, _x in combination)
        if left < best and fits(amounts, projects, free, pots):
            best = left
    return best


@st.composite
def funds(draw):
    count = draw(st.integers(1, 4))
    projects = []
    for n in range(count):
        fees = draw(st.lists(st.one_of(st.just(0), st.integers(1, 4000)), max_size=4))
        projects.append(project(
            f"TF-{n}", fees=fees, balance=draw(st.integers(-3000, 6000)), need=draw(st.integers(0, 9000)),
            allocated=draw(st.integers(0, 5000)), country=draw(st.sampled_from(["CD", "CF"])),
            status=draw(st.sampled_from(["active", "active", "active", "pipeline", "closed"])),
        ))
    pledges = []
    if draw(st.booleans()):
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["free", "country", "project"]))
            target = draw(st.sampled_from(projects))[0]
            pledges.append((target.code if kind == "project" else None,
                            target.country if kind != "free" else None, draw(st.integers(1, 6000))))
    amount = draw(st.integers(0, 12000))
    return projects, pledges, amount


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(funds())
def test_no_amounts_leave_fewer_children_at_risk_than_the_plan(fund):
    projects, pledges, amount = fund
    inputs = planner.inputs_from(picture(projects, pledges=pledges), with_pledges=bool(pledges))
    plan = planner.propose_from(inputs, amount=D(amount).scaleb(-2))
    free = amount + sum(c for code, country, c in pledges if code is None and country is None)
    pots: dict[tuple[str, str], int] = {}
    for code, country, c in pledges:
        if code is not None:
            pots[("project", code)] = pots.get(("project", code), 0) + c
        elif country is not None:
            pots[("country", country)] = pots.get(("country", country), 0) + c
    given_cents = cents(plan)
    fees = {f.code: fs for f, fs in projects}
    # The figures after: the walk again, on the balance the allocation makes.
    for line in plan.lines:
        f = next(f for f, _fees in projects if f.code == line.code)
        balance = int(f.balance * 100) + given_cents.get(line.code, 0)
        assert line.after.children_at_risk == at_risk(fees[line.code], balance)
        assert line.after.balance == f.balance + line.amount_usd
    assert plan.after.children_at_risk == sum(line.after.children_at_risk for line in plan.lines)
    # Optimal, within the money and the earmarks, nothing for a closed project.
    assert plan.after.children_at_risk <= brute_force(projects, free, pots)
    assert sum(given_cents.values()) <= free + sum(pots.values())
    assert plan.total == D(sum(given_cents.values())).scaleb(-2)
    assert fits(given_cents, projects, free, pots)
    assert not any(line.amount_usd for line in plan.lines if line.status == "closed")
    assert all(x > 0 for x in given_cents.values())


def test_the_plan_is_not_the_greedy_choice():
    # TF-A: fees 300, 100, 100; TF-B: 250, 240; both balances 0, $5.00 to place.
    # Cheapest next fee first would pay TF-B's 250 then its 240 (2 children, 10 cents left); covering all three of
    # TF-A's children costs 300 + 100 + 100 = 500: 3 children, the true best. Any mix costs more: TF-A 300 + TF-B 250.
    projects = [project("TF-A", fees=[300, 100, 100]), project("TF-B", fees=[250, 240])]
    plan = planner.propose_from(planner.inputs_from(picture(projects)), amount=D("5.00"))
    assert cents(plan) == {"TF-A": 500}
    assert (plan.before.children_at_risk, plan.after.children_at_risk) == (5, 2)
    assert plan.children_covered == 3


def test_a_balance_pays_part_of_the_first_child_at_risk():
    # Fees 400, 300, 300 against a balance of 500: the first child (400) is covered, 100 is left over; covering the
    # second needs a running total of 700 within the balance: 700 - 500 = 200, the third 1000 - 500 = 500.
    projects = [project("TF-A", fees=[400, 300, 300], balance=500)]
    inputs = planner.inputs_from(picture(projects))
    assert cents(planner.propose_from(inputs, amount=D("1.99"))) == {}
    assert cents(planner.propose_from(inputs, amount=D("2.00"))) == {"TF-A": 200}
    assert cents(planner.propose_from(inputs, amount=D("5.00"))) == {"TF-A": 500}


def test_an_overcommitted_project_costs_its_overcommitment_first():
    # Balance -250: no child is covered until the balance is back above 0. Fees 100 and 0: covering the first needs
    # a balance of 100, so 350; the second (a fee of 0) comes with it. $3.49 covers nobody and goes to the
    # over-commitment instead (priority 2: 250), and what is left (99) to the gap.
    projects = [project("TF-A", fees=[100, 0], balance=-250, need=10_000)]
    inputs = planner.inputs_from(picture(projects))
    plan = planner.propose_from(inputs, amount=D("3.50"))
    assert cents(plan) == {"TF-A": 350}
    assert plan.after.children_at_risk == 0
    plan = planner.propose_from(inputs, amount=D("3.49"))
    assert cents(plan) == {"TF-A": 349}
    assert plan.after.children_at_risk == 2
    assert plan.lines[0].reasons == ("overcommitment", "gap")
    assert plan.after.overcommitted == D("0.00") and plan.after.balance == D("0.99")


def test_zero_fees_need_a_balance_above_zero():
    # Two children whose fees are 0 (a waived term) at a balance of 0 are at risk (DESIGN: all of them when the
    # balance is 0 or less); one cent covers both.
    projects = [project("TF-A", fees=[0, 0])]
    plan = planner.propose_from(planner.inputs_from(picture(projects)), amount=D("0.01"))
    assert cents(plan) == {"TF-A": 1}
    assert plan.after.children_at_risk == 0


# ---------------------------------------------------------------------------------------------------------------------
# 2. Over-commitments, then the gap: in proportion, or in the manager's order
# ---------------------------------------------------------------------------------------------------------------------

def three_projects():
    return [
        project("TF-A", balance=-20_000, need=100_000),          # over-committed by $200, gap $1,000
        project("TF-B", balance=-5_000, need=50_000),            # over-committed by $50, gap $500
        project("TF-C", fees=[10_000], need=30_000),             # one child at risk ($100), gap $300
    ]


def test_children_then_overcommitments_then_the_gap_in_proportion():
    # $400.00: TF-C's child first ($100), then the over-commitments, the smallest first (TF-B $50, TF-A $200),
    # leaving $50.00 = 5,000 cents for the gaps still open: TF-A 1,000 - 200 = 800, TF-B 500 - 50 = 450,
    # TF-C 300 - 100 = 200 (dollars), 1,450 in all.
    #   TF-A 5000 x 800 / 1450 = 2758.62 -> 2758 ; TF-B 5000 x 450 / 1450 = 1551.72 -> 1551 ;
    #   TF-C 5000 x 200 / 1450 = 689.66 -> 689 ; 4,998 given, the 2 cents left go to the largest remainders:
    #   TF-B (.72) and TF-C (.66).
    plan = planner.propose_from(planner.inputs_from(picture(three_projects())), amount=D("400.00"))
    assert cents(plan) == {"TF-A": 20_000 + 2_758, "TF-B": 5_000 + 1_552, "TF-C": 10_000 + 690}
    assert plan.total == D("400.00") and plan.left == D("0.00")
    by_code = {line.code: line for line in plan.lines}
    assert by_code["TF-A"].reasons == ("overcommitment", "gap")
    assert by_code["TF-C"].reasons == ("children", "gap")
    assert by_code["TF-C"].children_covered == 1
    # Gaps after: TF-A 1,000 - 227.58 = 772.42 ; TF-B 500 - 65.52 = 434.48 ; TF-C 300 - 106.90 = 193.10.
    assert [by_code[c].after.gap for c in ("TF-A", "TF-B", "TF-C")] == [D("772.42"), D("434.48"), D("193.10")]
    assert plan.before.overcommitted == D("250.00") and plan.after.overcommitted == D("0.00")


def test_overcommitments_smallest_first_when_money_is_short():
    # $60.00 after TF-C's child ($100 of $160): TF-B's $50 is cleared, TF-A gets the last $10.
    plan = planner.propose_from(planner.inputs_from(picture(three_projects())), amount=D("160.00"))
    assert cents(plan) == {"TF-C": 10_000, "TF-B": 5_000, "TF-A": 1_000}
    assert plan.after.overcommitted == D("190.00")


def test_the_gap_in_the_managers_order():
    # $1,000: TF-C's child $100, TF-B $50, TF-A $200; then $650 in the order C, A, B: TF-C's gap left is
    # 300 - 100 = 200, then TF-A takes the last 450 of its 800. TF-B gets nothing more.
    plan = planner.propose_from(planner.inputs_from(picture(three_projects())), amount=D("1000.00"),
                                share="order", order=["TF-C", "TF-A", "TF-B"])
    assert cents(plan) == {"TF-C": 30_000, "TF-A": 65_000, "TF-B": 5_000}


def test_money_beyond_every_gap_is_left():
    # Everything the three need: 100 + 50 + 200 for the first priorities, then the gaps 800 + 450 + 200 = 1,450:
    # $1,800 in all; $2,000 leaves $200.
    plan = planner.propose_from(planner.inputs_from(picture(three_projects())), amount=D("2000.00"))
    assert plan.total == D("1800.00") and plan.left == D("200.00")
    assert plan.after.gap == D("0.00")


def test_a_closed_project_gets_nothing():
    projects = [project("TF-A", fees=[100], need=1000, status="closed"), project("TF-B", need=1000)]
    plan = planner.propose_from(planner.inputs_from(picture(projects)), amount=D("5.00"))
    assert cents(plan) == {"TF-B": 500}
    assert plan.after.children_at_risk == 1


# ---------------------------------------------------------------------------------------------------------------------
# 3. Earmarked pledges go only where they are earmarked
# ---------------------------------------------------------------------------------------------------------------------

def test_earmarked_pledges_go_only_there():
    # TF-A (CD) and TF-B (CF) each have one child at risk at $100. No money in hand; pledges: $100 earmarked for
    # CF, $30 earmarked for TF-A. Only TF-B's child can be covered ($100 from the CF pot); TF-A's $30 goes to its
    # gap; nothing from the CF pot may go to TF-A.
    projects = [project("TF-A", fees=[10_000], need=50_000, country="CD"),
                project("TF-B", fees=[10_000], need=10_000, country="CF")]
    inputs = planner.inputs_from(picture(projects, pledges=[(None, "CF", 10_000), ("TF-A", "CD", 3_000)]),
                                 with_pledges=True)
    plan = planner.propose_from(inputs, amount=D("0.00"))
    assert cents(plan) == {"TF-B": 10_000, "TF-A": 3_000}
    assert plan.after.children_at_risk == 1
    assert plan.pledges == D("130.00") and plan.available == D("130.00")
    assert [(p.kind, p.key, p.amount, p.used) for p in plan.pots] == [
        ("free", None, D("0.00"), D("0.00")), ("country", "CF", D("100.00"), D("100.00")),
        ("project", "TF-A", D("30.00"), D("30.00"))]


def test_edited_amounts_that_break_an_earmark_are_refused():
    projects = [project("TF-A", need=50_000, country="CD"), project("TF-B", need=10_000, country="CF")]
    inputs = planner.inputs_from(picture(projects, pledges=[(None, "CF", 10_000)]), with_pledges=True)
    plan = planner.revise(inputs, amount=D("0.00"), amounts={"TF-A": D("50.00")})
    assert plan.edited
    assert len(plan.problems) == 1 and plan.problems[0][0] is None
    assert "$50.00" in plan.problems[0][1]
    plan = planner.revise(inputs, amount=D("0.00"), amounts={"TF-B": D("100.00")})
    assert plan.problems == [] and not plan.edited


def test_edited_amounts_recompute_the_figures():
    # The planner gives TF-C $100 for its child; the manager moves $30 of it to TF-A: TF-C's child is at risk
    # again (balance 70 < fee 100), TF-A's over-commitment falls from 200 to 170.
    inputs = planner.inputs_from(picture(three_projects()))
    plan = planner.revise(inputs, amount=D("100.00"), amounts={"TF-C": D("70.00"), "TF-A": D("30.00")})
    by_code = {line.code: line for line in plan.lines}
    assert by_code["TF-C"].proposed_usd == D("100.00") and by_code["TF-C"].amount_usd == D("70.00")
    assert by_code["TF-C"].after.children_at_risk == 1
    assert by_code["TF-A"].after.overcommitted == D("170.00")
    assert plan.problems == [] and plan.edited


@pytest.mark.parametrize("amounts, where", [
    ({"TF-X": D("1.00")}, "TF-X"),
    ({"TF-A": D("-1.00")}, "TF-A"),
])
def test_edited_amounts_name_what_is_wrong(amounts, where):
    plan = planner.revise(planner.inputs_from(picture(three_projects())), amount=D("100.00"), amounts=amounts)
    assert [code for code, _message in plan.problems] == [where]


def test_more_than_the_money_is_refused():
    plan = planner.revise(planner.inputs_from(picture(three_projects())), amount=D("100.00"),
                          amounts={"TF-A": D("60.00"), "TF-B": D("50.00")})
    assert len(plan.problems) == 1
    assert "$110.00" in plan.problems[0][1] and "$10.00" in plan.problems[0][1]


def test_bad_amounts_and_shares():
    inputs = planner.inputs_from(picture(three_projects()))
    with pytest.raises(planner.PlanError):
        planner.propose_from(inputs, amount=D("-1.00"))
    with pytest.raises(planner.PlanError):
        planner.propose_from(inputs, amount=D("1.001"))
    with pytest.raises(planner.PlanError):
        planner.propose_from(inputs, amount=D("1.00"), share="random")


def test_the_fingerprint_follows_the_data():
    a = planner.fingerprint(planner.inputs_from(picture(three_projects())))
    assert a == planner.fingerprint(planner.inputs_from(picture(three_projects())))
    moved = three_projects()
    moved[2] = project("TF-C", fees=[10_000], need=30_000, balance=1)  # a cent more on TF-C's balance
    assert a != planner.fingerprint(planner.inputs_from(picture(moved)))
