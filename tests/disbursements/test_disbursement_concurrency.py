"""Two managers acting on the same disbursement at the same moment: exactly one of them succeeds.

Each transition is one guarded UPDATE (``WHERE status = :expected AND
version_id = :seen``). On PostgreSQL the second UPDATE waits for the first
transaction's row lock, then re-checks its WHERE against the committed row and
matches nothing, so the second manager gets a :class:`Conflict`. These tests
race two threads, each in its own app context (and so its own
``db.session``), released together by a barrier, many rounds over.

SQLite serialises writers on the whole database file, so there is no real race
to test there: these tests run on PostgreSQL only.
"""
from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from tests import factories
from tracker.disbursements import services
from tracker.disbursements.services import Conflict
from tracker.errors import Invalid
from tracker.extensions import db as _db
from tracker.models import AuditEvent, Disbursement, User

pytestmark = pytest.mark.postgres_only

ROUNDS = 25


@pytest.fixture
def pg_app(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: SQLite serialises writers on the whole file, so there is no row-level race")
    return app


@pytest.fixture
def people(pg_app) -> dict[str, int]:
    """Ids of a CD staff member, two CD managers, a mother of a CD project; a CDF rate."""
    with pg_app.app_context():
        with factories.one_commit():
            staff = factories.UserFactory(role="staff", countries=["CD"])
            first = factories.UserFactory(role="manager", countries=["CD"])
            second = factories.UserFactory(role="manager", countries=["CD"])
            mother = factories.BeneficiaryFactory(project=factories.ProjectFactory(code="TF-CD-2025-01"))
            factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1),
                                          usd_per_unit=Decimal("0.00035"))
        return {"staff": staff.id, "first": first.id, "second": second.id, "mother": mother.id}


def _fresh(app, people, *, approved: bool, n: int) -> tuple[int, str]:
    """A new submitted (or approved) disbursement entered by staff: (id, reference)."""
    with app.test_request_context():
        from tracker.models import Beneficiary

        mother = _db.session.get(Beneficiary, people["mother"])
        d = services.enter(project=mother.project, category="medical", beneficiary=mother, payee="Clinic",
                           amount=f"{1000 + n}", currency="CDF", entered_on=dt.date(2025, 9, 15),
                           user=_db.session.get(User, people["staff"]))
        if approved:
            services.approve(disbursement=d, user=_db.session.get(User, people["first"]))
        _db.session.commit()
        result = d.id, d.reference
        _db.session.remove()
        return result


def _race(app, disbursement_id: int | None, acts) -> list[tuple[int, str, str]]:
    """Run each ``(user_id, act)`` in its own thread, released together; ``act(disbursement, user)`` then commit.

    Each thread reads the disbursement (``disbursement_id``, or the third item of its tuple) before the barrier.
    Returns ``(user_id, "done" | "conflict" | "refused" | "error", message)`` for each thread.
    """
    barrier = threading.Barrier(len(acts))
    outcomes: list[tuple[int, str, str]] = []
    lock = threading.Lock()

    def run(user_id, act, own_id=None):
        outcome = ("error", "never ran")
        with app.app_context(), force_locale("en"):
            try:
                disbursement = _db.session.get(Disbursement, own_id or disbursement_id) \
                    if (own_id or disbursement_id) else None
                user = _db.session.get(User, user_id)
                if disbursement is not None:
                    assert disbursement.status in ("submitted", "approved")  # both read it before either acts
                barrier.wait(timeout=20)
                act(disbursement, user)
                _db.session.commit()
                outcome = ("done", "")
            except Conflict as error:
                _db.session.rollback()
                outcome = ("conflict", str(error))
            except Invalid as error:
                _db.session.rollback()
                outcome = ("refused", str(error))
            except BaseException as error:
                _db.session.rollback()
                barrier.abort()
                outcome = ("error", repr(error))
            finally:
                _db.session.remove()
        with lock:
            outcomes.append((user_id, *outcome))

    threads = [threading.Thread(target=run, args=pair) for pair in acts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return outcomes


def _state(app, reference: str) -> tuple[dict, list[tuple[str, int]]]:
    with app.app_context():
        table = Disbursement.__table__
        row = dict(_db.session.execute(select(table).where(table.c.reference == reference)).mappings().one())
        events = [tuple(e) for e in _db.session.execute(
            select(AuditEvent.action, AuditEvent.user_id)
            .where(AuditEvent.entity == "disbursements", AuditEvent.entity_id == reference,
                   AuditEvent.action.in_(("approve", "reject", "pay", "void")))
            .order_by(AuditEvent.id))]
        _db.session.remove()
        return row, events


def _one_winner(outcomes, reference: str) -> int:
    assert [o for o in outcomes if o[1] == "error"] == []
    winners = [o for o in outcomes if o[1] == "done"]
    losers = [o for o in outcomes if o[1] == "conflict"]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert reference in losers[0][2]
    assert "changed by someone else" in losers[0][2] or "cannot be" in losers[0][2]
    return winners[0][0]


def test_two_managers_approving_at_once_give_exactly_one_approval(pg_app, people):
    for n in range(ROUNDS):
        disbursement_id, reference = _fresh(pg_app, people, approved=False, n=n)
        outcomes = _race(pg_app, disbursement_id, [
            (people["first"], lambda d, user: services.approve(disbursement=d, user=user)),
            (people["second"], lambda d, user: services.approve(disbursement=d, user=user)),
        ])
        winner = _one_winner(outcomes, reference)
        row, events = _state(pg_app, reference)
        # (1000 + n) CDF × 0.00035: 1000 → 0.35, 1014 → 0.3549 → 0.35, 1015 → 0.35525 → 0.36, 1024 → 0.3584 → 0.36.
        expected_usd = Decimal("0.35") if n <= 14 else Decimal("0.36")
        assert (row["status"], row["approved_by_id"], row["usd_amount"]) == ("approved", winner, expected_usd)
        assert row["version_id"] == 2  # entered and submitted in one insert (1), approved once (2)
        assert events == [("approve", winner)]


def test_two_managers_paying_at_once_record_exactly_one_payment(pg_app, people):
    for n in range(ROUNDS):
        disbursement_id, reference = _fresh(pg_app, people, approved=True, n=n)
        outcomes = _race(pg_app, disbursement_id, [
            (people["first"], lambda d, user, n=n: services.pay(
                disbursement=d, user=user, paid_on=dt.date(2025, 9, 20), payment_reference=f"BANK-{n}-A")),
            (people["second"], lambda d, user, n=n: services.pay(
                disbursement=d, user=user, paid_on=dt.date(2025, 9, 20), payment_reference=f"BANK-{n}-B")),
        ])
        winner = _one_winner(outcomes, reference)
        row, events = _state(pg_app, reference)
        expected_reference = f"BANK-{n}-A" if winner == people["first"] else f"BANK-{n}-B"
        assert (row["status"], row["paid_by_id"], row["payment_reference"]) == ("paid", winner, expected_reference)
        assert events == [("approve", people["first"]), ("pay", winner)]


def test_approving_and_rejecting_at_once_give_exactly_one_decision(pg_app, people):
    for n in range(10):
        disbursement_id, reference = _fresh(pg_app, people, approved=False, n=n)
        outcomes = _race(pg_app, disbursement_id, [
            (people["first"], lambda d, user: services.approve(disbursement=d, user=user)),
            (people["second"], lambda d, user: services.reject(disbursement=d, user=user, reason="duplicate")),
        ])
        winner = _one_winner(outcomes, reference)
        row, events = _state(pg_app, reference)
        if winner == people["first"]:
            assert (row["status"], row["rejection_reason"], events) == ("approved", None, [("approve", winner)])
        else:
            assert (row["status"], row["usd_amount"], events) == ("rejected", None, [("reject", winner)])


def test_withdrawing_while_a_manager_approves_ends_in_exactly_one_of_the_two(pg_app, people):
    """Whoever entered it withdraws it to draft as a manager approves it: one guarded UPDATE wins, the other
    changes nothing (no half state, one audit event)."""
    for n in range(10):
        disbursement_id, reference = _fresh(pg_app, people, approved=False, n=n)
        outcomes = _race(pg_app, disbursement_id, [
            (people["staff"], lambda d, user: services.withdraw(disbursement=d, user=user, reason="wrong amount")),
            (people["first"], lambda d, user: services.approve(disbursement=d, user=user)),
        ])
        winner = _one_winner(outcomes, reference)
        row, _events = _state(pg_app, reference)
        with pg_app.app_context():
            actions = [tuple(e) for e in _db.session.execute(
                select(AuditEvent.action, AuditEvent.user_id)
                .where(AuditEvent.entity == "disbursements", AuditEvent.entity_id == reference,
                       AuditEvent.action.in_(("approve", "withdraw"))).order_by(AuditEvent.id))]
            _db.session.remove()
        if winner == people["staff"]:
            assert (row["status"], row["approved_by_id"], row["usd_amount"]) == ("draft", None, None)
            assert actions == [("withdraw", winner)]
        else:
            assert (row["status"], row["approved_by_id"]) == ("approved", winner)
            assert actions == [("approve", winner)]
        assert row["version_id"] == 2


def test_no_disbursement_is_left_half_changed_after_the_races(pg_app, people):
    """Every raced row is in one clean state: its status matches what was recorded with it."""
    for n in range(5):
        disbursement_id, reference = _fresh(pg_app, people, approved=True, n=n)
        _race(pg_app, disbursement_id, [
            (people["first"], lambda d, user, n=n: services.pay(
                disbursement=d, user=user, paid_on=dt.date(2025, 9, 20), payment_reference=f"P-{n}")),
            (people["second"], lambda d, user: services.void(disbursement=d, user=user, reason="cancelled")),
        ])
    with pg_app.app_context():
        rows = _db.session.execute(select(Disbursement.status, Disbursement.payment_reference,
                                          Disbursement.void_reason)).all()
        assert _db.session.scalar(select(func.count(Disbursement.id))) == 5
        for status, payment_reference, void_reason in rows:
            assert (status, payment_reference is not None, void_reason is not None) in \
                {("paid", True, False), ("voided", False, True)}
        _db.session.remove()


def test_same_payment_reference_for_two_payments_of_a_project_at_once_is_recorded_once(pg_app, people):
    """Both pass the service's look-up; the database's unique (project, payment reference) refuses the second."""
    for n in range(10):
        first_id, first_ref = _fresh(pg_app, people, approved=True, n=2 * n)
        second_id, second_ref = _fresh(pg_app, people, approved=True, n=2 * n + 1)
        outcomes = _race(pg_app, None, [
            (people["first"], lambda d, user, n=n: services.pay(
                disbursement=d, user=user, paid_on=dt.date(2025, 9, 20), payment_reference=f"SAME-{n}"), first_id),
            (people["second"], lambda d, user, n=n: services.pay(
                disbursement=d, user=user, paid_on=dt.date(2025, 9, 20), payment_reference=f"SAME-{n}"), second_id),
        ])
        assert [o for o in outcomes if o[1] == "error"] == []
        assert sorted(o[1] for o in outcomes) == ["done", "refused"], outcomes
        assert f"SAME-{n}" in [o for o in outcomes if o[1] == "refused"][0][2]
        statuses = sorted(_state(pg_app, ref)[0]["status"] for ref in (first_ref, second_ref))
        assert statuses == ["approved", "paid"]



def test_two_people_entering_the_same_term_at_once_create_one_holding_payment(pg_app, people):
    with pg_app.app_context():
        from tracker.models import Beneficiary

        mother = _db.session.get(Beneficiary, people["mother"])
        with factories.one_commit():
            enrolments = [factories.EnrolmentFactory(child=factories.ChildFactory(mother=mother, number=k))
                          for k in range(1, 6)]
        enrolment_ids = [e.id for e in enrolments]
        _db.session.remove()
    colleague = people["first"]  # managers may enter payments too

    def enter_term_one(enrolment_id):
        def act(_disbursement, user):
            from tracker.models import Enrolment

            enrolment = _db.session.get(Enrolment, enrolment_id)
            child = enrolment.child
            services.enter(project=child.mother.project, category="school_fees", beneficiary=child.mother,
                           child=child, enrolment=enrolment, term=1, payee="EP Mapendo", amount="45000",
                           currency="CDF", entered_on=dt.date(2025, 9, 15), user=user)
        return act

    for enrolment_id in enrolment_ids:
        outcomes = _race(pg_app, None, [(people["staff"], enter_term_one(enrolment_id)),
                                        (colleague, enter_term_one(enrolment_id))])
        assert [o for o in outcomes if o[1] == "error"] == []
        with pg_app.app_context():
            holding = _db.session.scalar(select(func.count(Disbursement.id)).where(
                Disbursement.enrolment_id == enrolment_id, Disbursement.term == 1))
            _db.session.remove()
        assert holding == 1, f"{holding} payments hold term 1 of enrolment {enrolment_id}: {outcomes}"


def test_people_entering_payments_at_once_get_distinct_numbers_one_after_another(pg_app, people):
    """Each entry locks the country's counter row, then numbers one past the highest stored for its year."""
    from tracker.models import Beneficiary

    def enter(disbursement, user, n):
        mother = _db.session.get(Beneficiary, people["mother"])
        services.enter(project=mother.project, category="medical", beneficiary=mother, payee="Clinic",
                       amount=f"{500 + n}", currency="CDF", entered_on=dt.date(2025, 9, 15), user=user)

    entrants = [people["staff"], people["first"], people["second"]]
    for round_ in range(8):
        outcomes = _race(pg_app, None, [(who, lambda d, user, n=3 * round_ + k: enter(d, user, n))
                                        for k, who in enumerate(entrants)])
        assert [o[1] for o in outcomes] == ["done"] * 3, outcomes
    with pg_app.app_context():
        references = sorted(_db.session.scalars(select(Disbursement.reference)))
        _db.session.remove()
    # 8 rounds of 3 entries, entered in 2025: DB-CD-2025-000001 to DB-CD-2025-000024, none twice, none skipped.
    assert references == [f"DB-CD-2025-{n:06d}" for n in range(1, 25)]
