"""Allocation plans (tracker/funding/plans.py): allocated at once up to ALLOCATION_FOUR_EYES_USD, confirmed by a
second manager above it, refused when the figures changed, all or nothing.

The set-up, worked by hand: the Fund received 30,000.00 USD this year and allocated nothing, so 30,000.00 is
unallocated. Three projects in the DRC (CD-01 and CD-02 open, CD-03 closed) and one in the Central African
Republic (CF-01); CD-01 has two children at risk whose next terms cost 100.00 and 150.00 (no allocation, no
payment: balance 0.00, so covering the first costs 100.00 and both 100.00 + 150.00 = 250.00).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select, update

from tests import factories
from tracker.dates import academic_year_of
from tracker.errors import Invalid
from tracker.extensions import db as _db
from tracker.funding import planner, plans, services
from tracker.funding.engine import funding_picture
from tracker.models import Allocation, AllocationPlan, AllocationPlanLine, AuditEvent
from tracker.models.base import today

SCOPE = "country:CD"


@pytest.fixture
def fund(rq):
    """The set-up of the module docstring; returns the users and the projects' codes."""
    year = today().year
    with factories.one_commit():
        cd1 = factories.ProjectFactory(code="TF-CD-2026-01", country="CD")
        cd2 = factories.ProjectFactory(code="TF-CD-2026-02", country="CD")
        factories.ProjectFactory(code="TF-CD-2026-03", country="CD", status="closed")
        cf1 = factories.ProjectFactory(code="TF-CF-2026-01", country="CF")
        for project, need in ((cd1, "20000.00"), (cd2, "10000.00"), (cf1, "5000.00")):
            factories.BudgetLineFactory(project=project, year=year, amount_usd=D(need))
        factories.ContributionFactory(amount=D("30000.00"), received_on=dt.date(year, 1, 2))
        for number, fee in ((1, "100.00"), (2, "150.00")):
            mother = factories.BeneficiaryFactory(project=cd1, number=number)
            child = factories.ChildFactory(mother=mother, number=1)
            factories.EnrolmentFactory(child=child, academic_year=academic_year_of(today()), currency="USD",
                                       fee_per_term=D(fee), terms=3)
        users = {
            "maker": factories.UserFactory(role="manager", countries=["CD"], name="Amani Kalala"),
            "second": factories.UserFactory(role="manager", countries=["CD"], name="Thierry Bokanga"),
            "third": factories.UserFactory(role="manager", countries=["CD", "CF"], name="Solange Poutou"),
            "outsider": factories.UserFactory(role="manager", countries=["CF"], name="Ruth Kogbia"),
            "admin": factories.UserFactory(role="admin", name="Fund Administrator"),
        }
    return users


def seen(user, scope=SCOPE) -> str:
    """The fingerprint of the figures ``user`` sees now (what the plan's page carries)."""
    return planner.fingerprint(plans.current_inputs(user=user, scope=scope))


def make(user, amounts, *, scope=SCOPE, amount=None, fingerprint=None):
    plan = plans.allocate_plan(user=user, scope=scope, amounts={k: D(v) for k, v in amounts.items()},
                               fingerprint=fingerprint or seen(user, scope), amount=amount)
    _db.session.commit()
    return plan


def allocations():
    return _db.session.execute(select(Allocation.project_id, Allocation.amount_usd, Allocation.plan_id)
                               .order_by(Allocation.amount_usd)).all()


def count(model) -> int:
    return _db.session.scalar(select(func.count()).select_from(model))


def note(plan, name) -> str:
    return f"Plan {plan.number} of {today().isoformat()} by {name}"


def code_of(project_id) -> str:
    from tracker.models import Project

    return _db.session.get(Project, project_id).code


# --- at once, up to the threshold ------------------------------------------------------------------------------------

def test_a_plan_up_to_the_threshold_is_allocated_at_once_with_its_notes_and_events(fund):
    maker = fund["maker"]
    plan = make(maker, {"TF-CD-2026-01": "6000.00", "TF-CD-2026-02": "3000.00"})
    # 6,000.00 + 3,000.00 = 9,000.00, not above 10,000.00: allocated by the maker alone.
    assert (plan.number, plan.status, plan.total_usd, plan.amount_usd) == (
        f"PLAN-{today().year}-0001", "allocated", D("9000.00"), D("30000.00"))
    assert plan.created_by_id == maker.id and plan.decided_by_id is None
    rows = _db.session.scalars(select(Allocation).order_by(Allocation.amount_usd)).all()
    assert [(a.project.code, a.amount_usd, a.allocated_on, a.plan_id, a.created_by_id, a.note) for a in rows] == [
        ("TF-CD-2026-02", D("3000.00"), today(), plan.id, maker.id, note(plan, "Amani Kalala")),
        ("TF-CD-2026-01", D("6000.00"), today(), plan.id, maker.id, note(plan, "Amani Kalala")),
    ]
    # 30,000.00 received − 9,000.00 allocated.
    assert services.unallocated_on(today()) == D("21000.00")
    # 6,000.00 covers both children of CD-01 (250.00 would): 2 children; CD-02 has none at risk.
    lines = {code_of(line.project_id): (line.amount_usd, line.children_covered) for line in plan.lines}
    assert lines == {"TF-CD-2026-01": (D("6000.00"), 2), "TF-CD-2026-02": (D("3000.00"), 0)}
    events = _db.session.execute(select(AuditEvent.action, AuditEvent.entity, AuditEvent.entity_id)
                                 .where(AuditEvent.entity.in_(("allocation_plans", "allocations")))).all()
    assert sorted((a, e) for a, e, _ in events) == [("create", "allocation_plans"), ("create", "allocations"),
                                                    ("create", "allocations")]
    created = _db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "allocation_plans")).one()
    assert created.entity_id == plan.number and created.changes["status"] == [None, "allocated"]


def test_the_children_a_line_covers_are_kept_as_at_planning_time(fund):
    """120.00 covers the first child (100.00) but not the second (250.00 in all): 1 child."""
    plan = make(fund["maker"], {"TF-CD-2026-01": "120.00"})
    assert [(line.amount_usd, line.children_covered) for line in plan.lines] == [(D("120.00"), 1)]


def test_exactly_the_threshold_is_allocated_and_a_cent_more_waits(fund):
    maker = fund["maker"]
    at = make(maker, {"TF-CD-2026-02": "10000.00"})
    assert at.status == "allocated"
    above = make(maker, {"TF-CD-2026-01": "10000.01"})
    assert above.status == "pending"
    assert above.number == f"PLAN-{today().year}-0002"
    assert [a.amount_usd for a in allocations()] == [D("10000.00")]


def test_the_threshold_is_the_setting(app, fund):
    app.config["ALLOCATION_FOUR_EYES_USD"] = D("5000.00")
    plan = make(fund["maker"], {"TF-CD-2026-01": "6000.00"})
    assert plan.status == "pending"
    assert allocations() == []


# --- above it: a second manager ---------------------------------------------------------------------------------------

def test_a_plan_above_the_threshold_waits_then_a_second_manager_confirms_it(fund):
    maker, second = fund["maker"], fund["second"]
    before = seen(second)
    plan = make(maker, {"TF-CD-2026-01": "8000.00", "TF-CD-2026-02": "4000.00"})
    # 8,000.00 + 4,000.00 = 12,000.00 > 10,000.00: pending, nothing allocated, no figure moved.
    assert (plan.status, plan.total_usd) == ("pending", D("12000.00"))
    assert allocations() == []
    assert seen(second) == before
    assert funding_picture(scope=SCOPE).fund.unallocated == D("30000.00")
    submitted = _db.session.scalars(select(AuditEvent).where(AuditEvent.action == "submit")).one()
    assert submitted.entity_id == plan.number
    assert submitted.changes["lines"] == [None, "TF-CD-2026-01 8000.00; TF-CD-2026-02 4000.00"]

    review = plans.pending_review(plan=plan, user=second)
    assert {line.code: line.amount_usd for line in review.allocations} == {
        "TF-CD-2026-01": D("8000.00"), "TF-CD-2026-02": D("4000.00")}
    assert review.problems == []
    confirmed = plans.confirm_plan(plan_id=plan.id, user=second, fingerprint=review.fingerprint)
    _db.session.commit()
    assert (confirmed.status, confirmed.decided_by_id) == ("confirmed", second.id)
    assert confirmed.decided_at is not None
    rows = _db.session.scalars(select(Allocation).order_by(Allocation.amount_usd)).all()
    assert [(a.amount_usd, a.plan_id, a.allocated_on, a.created_by_id, a.note) for a in rows] == [
        (D("4000.00"), plan.id, today(), second.id, note(plan, "Amani Kalala")),
        (D("8000.00"), plan.id, today(), second.id, note(plan, "Amani Kalala")),
    ]
    # 30,000.00 − 12,000.00.
    assert funding_picture(scope=SCOPE).fund.unallocated == D("18000.00")
    approved = _db.session.scalars(select(AuditEvent).where(AuditEvent.action == "approve")).one()
    assert (approved.entity_id, approved.user_id, approved.changes["status"]) == (
        plan.number, second.id, ["pending", "confirmed"])


def test_the_home_page_counts_the_plans_waiting_for_another_manager(fund):
    maker, second, outsider = fund["maker"], fund["second"], fund["outsider"]
    assert plans.waiting_for(second) == 0
    plan = make(maker, {"TF-CD-2026-01": "8000.00", "TF-CD-2026-02": "4000.00"})  # 12,000.00: pending
    make(maker, {"TF-CD-2026-02": "100.00"})  # up to the threshold: allocated at once, waits for nobody
    # The second CD manager has one to confirm; its maker none (she may not), a CF manager none (not his countries).
    assert (plans.waiting_for(second), plans.waiting_for(maker), plans.waiting_for(outsider)) == (1, 0, 0)
    plans.confirm_plan(plan_id=plan.id, user=second, fingerprint=plans.pending_review(plan=plan, user=second)
                       .fingerprint)
    _db.session.commit()
    assert plans.waiting_for(second) == 0


def test_the_maker_cannot_confirm_her_own_plan(fund):
    maker = fund["maker"]
    plan = make(maker, {"TF-CD-2026-01": "12000.00"})
    with pytest.raises(Invalid, match="was made by you; another manager must confirm it"):
        plans.confirm_plan(plan_id=plan.id, user=maker, fingerprint=seen(maker))
    _db.session.rollback()
    assert _db.session.get(AllocationPlan, plan.id).status == "pending"
    assert allocations() == []


def test_a_second_confirmation_is_refused_and_allocates_nothing_more(fund):
    plan = make(fund["maker"], {"TF-CD-2026-01": "12000.00"})
    plans.confirm_plan(plan_id=plan.id, user=fund["second"], fingerprint=seen(fund["second"]))
    _db.session.commit()
    with pytest.raises(plans.PlanConflict, match="is confirmed; it cannot be confirmed any more"):
        plans.confirm_plan(plan_id=plan.id, user=fund["third"], fingerprint=seen(fund["third"]))
    _db.session.rollback()
    assert [a.amount_usd for a in allocations()] == [D("12000.00")]


def test_a_decision_taken_a_moment_earlier_wins_over_one_read_before_it(fund):
    """The confirmer read the plan while it was pending; the maker withdrew it before the UPDATE: the guarded
    UPDATE finds no pending row, nothing is allocated."""
    plan = make(fund["maker"], {"TF-CD-2026-01": "12000.00"})
    second = fund["second"]
    fingerprint = seen(second)
    assert plan.status == "pending"  # loaded in the session as pending
    _db.session.execute(update(AllocationPlan).where(AllocationPlan.id == plan.id)
                        .values(status="withdrawn").execution_options(synchronize_session=False))
    with pytest.raises(plans.PlanConflict, match="was decided by someone else a moment ago"):
        plans.confirm_plan(plan_id=plan.id, user=second, fingerprint=fingerprint)
    _db.session.commit()
    assert allocations() == []
    assert _db.session.get(AllocationPlan, plan.id).status == "withdrawn"


def test_reject_needs_a_reason_and_another_manager(fund):
    maker, second = fund["maker"], fund["second"]
    plan = make(maker, {"TF-CD-2026-01": "12000.00"})
    with pytest.raises(Invalid) as refused:
        plans.reject_plan(plan_id=plan.id, user=second, reason="  ")
    assert refused.value.errors == {"reason": "is required"}
    with pytest.raises(Invalid, match="withdraw it rather than reject it"):
        plans.reject_plan(plan_id=plan.id, user=maker, reason="changed my mind")
    plans.reject_plan(plan_id=plan.id, user=second, reason="CD-02 needs it first")
    _db.session.commit()
    plan = _db.session.get(AllocationPlan, plan.id)
    assert (plan.status, plan.reason, plan.decided_by_id) == ("rejected", "CD-02 needs it first", second.id)
    assert allocations() == []
    assert _db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "allocation_plans")
                               .order_by(AuditEvent.id)).all() == ["create", "submit", "reject"]
    with pytest.raises(plans.PlanConflict):
        plans.confirm_plan(plan_id=plan.id, user=second, fingerprint=seen(second))


def test_only_the_maker_withdraws_and_a_withdrawn_plan_is_never_confirmed(fund):
    maker, second = fund["maker"], fund["second"]
    plan = make(maker, {"TF-CD-2026-01": "12000.00"})
    with pytest.raises(Invalid, match="only the manager who made"):
        plans.withdraw_plan(plan_id=plan.id, user=second)
    plans.withdraw_plan(plan_id=plan.id, user=maker)
    _db.session.commit()
    assert _db.session.get(AllocationPlan, plan.id).status == "withdrawn"
    with pytest.raises(plans.PlanConflict, match="is withdrawn; it cannot be confirmed any more"):
        plans.confirm_plan(plan_id=plan.id, user=second, fingerprint=seen(second))
    _db.session.rollback()
    assert allocations() == []


# --- stale figures, money, all or nothing -----------------------------------------------------------------------------

def test_a_plan_computed_before_an_allocation_is_refused_with_a_fresh_one(fund):
    maker = fund["maker"]
    fingerprint = seen(maker)
    factories.AllocationFactory(project=_project("TF-CD-2026-02"), amount_usd=D("500.00"), allocated_on=today())
    with pytest.raises(plans.StalePlan) as stale:
        make(maker, {"TF-CD-2026-01": "6000.00"}, fingerprint=fingerprint)
    _db.session.rollback()
    assert "nothing was allocated" in str(stale.value)
    # The fresh plan rests on today's figures: 30,000.00 − 500.00 unallocated.
    assert stale.value.fresh.fingerprint == seen(maker) != fingerprint
    assert stale.value.fresh.unallocated == D("29500.00")
    assert count(AllocationPlan) == 0 and [a.amount_usd for a in allocations()] == [D("500.00")]


def test_a_confirmation_after_a_payment_was_approved_is_refused_with_the_plan_on_todays_figures(fund):
    plan = make(fund["maker"], {"TF-CD-2026-01": "8000.00", "TF-CD-2026-02": "4000.00"})
    second = fund["second"]
    fingerprint = plans.pending_review(plan=plan, user=second).fingerprint
    mother = factories.BeneficiaryFactory(project=_project("TF-CD-2026-02"), number=9)
    factories.DisbursementFactory(beneficiary=mother, status="approved", amount=D("50.00"), currency="USD",
                                  usd_amount=D("50.00"), usd_rate=D("1"), entered_on=today())
    with pytest.raises(plans.StalePlan) as stale:
        plans.confirm_plan(plan_id=plan.id, user=second, fingerprint=fingerprint)
    _db.session.rollback()
    fresh = stale.value.fresh
    # CD-02's balance: 0.00 − 50.00 committed = −50.00; the fresh plan shows the plan's own amounts.
    assert {line.code: line.amount_usd for line in fresh.allocations} == {
        "TF-CD-2026-01": D("8000.00"), "TF-CD-2026-02": D("4000.00")}
    assert next(line for line in fresh.lines if line.code == "TF-CD-2026-02").before.balance == D("-50.00")
    assert _db.session.get(AllocationPlan, plan.id).status == "pending"
    assert allocations() == []


def test_more_than_the_plans_money_is_refused_by_the_planners_check(fund):
    # 25,000.00 + 6,000.00 = 31,000.00, 1,000.00 more than the 30,000.00 unallocated the plan was made for.
    with pytest.raises(Invalid) as refused:
        make(fund["maker"], {"TF-CD-2026-01": "25000.00", "TF-CD-2026-02": "6000.00"})
    _db.session.rollback()
    assert refused.value.errors[""] == ("The amounts add up to $31,000.00, $1,000.00 more than the $30,000.00 this "
                                        "plan may spend.")
    assert count(AllocationPlan) == 0 and allocations() == []


def test_more_than_the_funds_unallocated_money_is_refused_whatever_the_amount_said(fund):
    with pytest.raises(Invalid) as refused:
        make(fund["maker"], {"TF-CD-2026-01": "25000.00", "TF-CD-2026-02": "6000.00"}, amount=D("40000.00"))
    _db.session.rollback()
    assert refused.value.errors[""] == ("The plan gives $31,000.00, more than the $30,000.00 the Fund has received "
                                        "and not yet allocated: nothing was allocated.")
    assert count(AllocationPlan) == 0 and allocations() == []


def test_a_confirmation_is_refused_when_the_money_went_elsewhere_meanwhile(fund):
    plan = make(fund["maker"], {"TF-CD-2026-01": "12000.00"})
    factories.AllocationFactory(project=_project("TF-CD-2026-02"), amount_usd=D("20000.00"), allocated_on=today())
    second = fund["second"]
    # 30,000.00 − 20,000.00 = 10,000.00 left, less than the plan's 12,000.00.
    with pytest.raises(Invalid) as refused:
        plans.confirm_plan(plan_id=plan.id, user=second, fingerprint=seen(second))
    _db.session.rollback()
    assert refused.value.errors[""] == ("The plan gives $12,000.00, more than the $10,000.00 the Fund has received "
                                        "and not yet allocated: nothing was allocated.")
    assert _db.session.get(AllocationPlan, plan.id).status == "pending"
    assert [a.amount_usd for a in allocations()] == [D("20000.00")]


def test_a_closed_project_among_the_amounts_refuses_the_whole_plan(fund):
    with pytest.raises(Invalid) as refused:
        make(fund["maker"], {"TF-CD-2026-01": "1000.00", "TF-CD-2026-03": "500.00"})
    _db.session.rollback()
    assert refused.value.errors == {"TF-CD-2026-03": "TF-CD-2026-03 is closed: nothing can be allocated to it"}
    assert count(AllocationPlan) == 0 and count(AllocationPlanLine) == 0 and allocations() == []


def test_an_allocation_refused_midway_leaves_nothing_even_if_the_caller_commits(fund, monkeypatch):
    """The second line's allocation fails after the plan and the first allocation were written: the savepoint
    takes them all back."""
    real = services.check_allocation

    def refuse_cd02(*, project, **kwargs):
        if project.code == "TF-CD-2026-02":
            raise Invalid("refused for the test", "amount_usd")
        return real(project=project, **kwargs)

    monkeypatch.setattr(services, "check_allocation", refuse_cd02)
    maker = fund["maker"]
    with pytest.raises(Invalid) as refused:
        plans.allocate_plan(user=maker, scope=SCOPE, amounts={"TF-CD-2026-01": D("100.00"),
                                                             "TF-CD-2026-02": D("200.00")},
                            fingerprint=seen(maker), amount=None)
    assert refused.value.errors == {"TF-CD-2026-02": "refused for the test"}
    _db.session.commit()
    assert count(AllocationPlan) == 0 and count(AllocationPlanLine) == 0 and allocations() == []


def test_an_empty_plan_and_bad_amounts_are_refused(fund):
    maker = fund["maker"]
    with pytest.raises(Invalid, match="there is nothing to allocate"):
        make(maker, {"TF-CD-2026-01": "0", "TF-CD-2026-02": "0.00"})
    with pytest.raises(Invalid) as refused:
        make(maker, {"TF-CD-2026-01": "10.005", "TF-CF-2026-01": "10.00"})
    assert refused.value.errors == {"TF-CD-2026-01": "USD amounts have at most 2 decimal places"}
    with pytest.raises(Invalid) as refused:
        make(maker, {"TF-CF-2026-01": "10.00"})
    assert refused.value.errors == {"TF-CF-2026-01": "TF-CF-2026-01 is not a project of this plan's scope"}
    with pytest.raises(Invalid) as refused:
        make(maker, {"TF-CD-2026-01": "10.00"}, scope="project:TF-CD-2026-01")
    assert set(refused.value.errors) == {"scope"}
    _db.session.rollback()
    assert count(AllocationPlan) == 0


# --- countries --------------------------------------------------------------------------------------------------------

def test_a_manager_whose_countries_miss_a_project_of_the_plan_neither_sees_nor_decides_it(fund):
    admin, second, third = fund["admin"], fund["second"], fund["third"]
    plan = make(admin, {"TF-CD-2026-01": "8000.00", "TF-CF-2026-01": "4000.00"}, scope="fund")
    assert plan.status == "pending"
    # CD only: CF-01 is outside her countries.
    assert plans.plan_in_scope(plan_id=plan.id, user=second) is None
    assert plans.pending_review(plan=plan, user=second) is None
    assert plans.plans_in_scope(user=second) == []
    with pytest.raises(plans.PlanNotFound):
        plans.confirm_plan(plan_id=plan.id, user=second, fingerprint=seen(second, "fund"))
    with pytest.raises(plans.PlanNotFound):
        plans.reject_plan(plan_id=plan.id, user=fund["outsider"], reason="not mine")
    # CD and CF: she sees it, and confirms it.
    rows = plans.plans_in_scope(user=third)
    assert [(r.number, r.scope, r.total_usd, r.status, r.created_by, r.decided_by, r.lines) for r in rows] == [
        (plan.number, "fund", D("12000.00"), "pending", "Fund Administrator", None, 2)]
    review = plans.pending_review(plan=plan, user=third)
    plans.confirm_plan(plan_id=plan.id, user=third, fingerprint=review.fingerprint)
    _db.session.commit()
    assert [a.amount_usd for a in allocations()] == [D("4000.00"), D("8000.00")]
    assert [(r.status, r.decided_by) for r in plans.plans_in_scope(user=admin, status="confirmed")] == [
        ("confirmed", "Solange Poutou")]
    assert plans.plans_in_scope(user=admin, status="pending") == []


def _project(code):
    from tracker.models import Project

    return _db.session.scalars(select(Project).where(Project.code == code)).one()



# --- two managers at the same moment (PostgreSQL: SQLite serialises writers on the whole file) ------------------------

ROUNDS = 5


@pytest.mark.postgres_only
def test_two_managers_confirming_at_the_same_moment_give_exactly_one_confirmation(app, fund, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: SQLite serialises writers on the whole file, so there is no race")
    import threading

    from flask_babel import force_locale

    from tracker.models import User

    # Enough money for every round: 30,000.00 + 60,000.00 = 90,000.00 ≥ 5 rounds × 12,000.00.
    factories.ContributionFactory(amount=D("60000.00"), received_on=dt.date(today().year, 1, 3))
    maker_id, deciders = fund["maker"].id, [fund["second"].id, fund["third"].id]
    for n in range(ROUNDS):
        plan_id = make(_db.session.get(User, maker_id), {"TF-CD-2026-02": "12000.00"}).id
        _db.session.remove()
        barrier = threading.Barrier(2)
        outcomes = []

        def run(user_id, plan_id=plan_id, barrier=barrier, outcomes=outcomes):
            with app.app_context(), force_locale("en"):
                try:
                    user = _db.session.get(User, user_id)
                    fingerprint = seen(user)
                    barrier.wait(timeout=20)
                    plans.confirm_plan(plan_id=plan_id, user=user, fingerprint=fingerprint)
                    _db.session.commit()
                    outcomes.append("done")
                except (plans.PlanConflict, plans.StalePlan):
                    _db.session.rollback()
                    outcomes.append("refused")
                except BaseException as error:  # anything else fails the test below
                    _db.session.rollback()
                    barrier.abort()
                    outcomes.append(repr(error))
                finally:
                    _db.session.remove()

        threads = [threading.Thread(target=run, args=(user_id,)) for user_id in deciders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(outcomes) == ["done", "refused"], (n, outcomes)
        made = _db.session.scalar(select(func.count()).where(Allocation.plan_id == plan_id))
        assert made == 1, n
        assert _db.session.get(AllocationPlan, plan_id).status == "confirmed"
