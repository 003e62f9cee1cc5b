"""The disbursement lifecycle through its service (DESIGN section 2), without HTTP.

``draft`` → ``submitted`` → ``approved`` → ``paid``; ``submitted`` →
``rejected``; ``approved``/``paid`` → ``voided`` with a reason. Four eyes,
idempotent entry, every refused input (a clear :class:`Invalid` or
:class:`Conflict`, nothing changed: neither the row nor the audit log), and
the USD value frozen at approval with the rate in force on ``entered_on``.

Services raise lazily translated messages, so these tests run inside a test
request context (the app's locale selector reads the request).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from tests import factories
from tracker.disbursements import services
from tracker.disbursements.services import Conflict
from tracker.errors import Invalid
from tracker.extensions import db as _db
from tracker.funding.rates import add_rate
from tracker.models import AuditEvent, Disbursement, User
from tracker.models.base import today

ENTERED = dt.date(2025, 9, 15)
TABLE = Disbursement.__table__


@dataclass
class World:
    staff: User
    manager: User
    other_manager: User
    project: object
    other_project: object
    mother: object
    child: object
    enrolment: object
    other_mother: object
    other_child: object
    income: object


@pytest.fixture
def w(rq) -> World:
    """A CD project with a mother, her child enrolled for 2025-2026 (3 terms of 45,000 CDF), a CDF rate of 0.00035."""
    with factories.one_commit():
        staff = factories.UserFactory(role="staff", countries=["CD"])
        manager = factories.UserFactory(role="manager", countries=["CD"])
        other_manager = factories.UserFactory(role="manager", countries=["CD"])
        project = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        other_project = factories.ProjectFactory(code="TF-CD-2025-02", country="CD")
        mother = factories.BeneficiaryFactory(project=project, number=1)
        child = factories.ChildFactory(mother=mother, number=1)
        enrolment = factories.EnrolmentFactory(child=child, academic_year="2025-2026", terms=3,
                                               fee_per_term=Decimal("45000.00"), currency="CDF")
        other_mother = factories.BeneficiaryFactory(project=project, number=2)
        other_child = factories.ChildFactory(mother=other_mother, number=1)
        income = factories.IncomeProjectFactory(beneficiary=mother, reference="IGA-CD-0001")
        factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1),
                                      usd_per_unit=Decimal("0.00035000"))
    return World(staff, manager, other_manager, project, other_project, mother, child, enrolment, other_mother,
                 other_child, income)


def fees(w: World, term=1, *, commit=True, **changes) -> Disbursement:
    """Enter (and submit) a school-fee payment for the child's term, as staff."""
    args = dict(project=w.project, category="school_fees", beneficiary=w.mother, child=w.child,
                enrolment=w.enrolment, term=term, payee="EP Mapendo", amount="45000", currency="CDF",
                entered_on=ENTERED, user=w.staff)
    args.update(changes)
    disbursement = services.enter(**args)
    if commit:
        _db.session.commit()
    return disbursement


def medical(w: World, **changes) -> Disbursement:
    args = dict(project=w.project, category="medical", beneficiary=w.mother, payee="Centre de santé Kavumu",
                amount="30000", currency="CDF", entered_on=ENTERED, user=w.staff)
    args.update(changes)
    disbursement = services.enter(**args)
    _db.session.commit()
    return disbursement


def approved(w: World, **changes) -> Disbursement:
    d = fees(w, **changes)
    services.approve(disbursement=d, user=w.manager)
    _db.session.commit()
    return d


def paid(w: World, payment_reference="BANK-001", **changes) -> Disbursement:
    d = approved(w, **changes)
    services.pay(disbursement=d, user=w.manager, paid_on=dt.date(2025, 9, 20), payment_reference=payment_reference)
    _db.session.commit()
    return d


def row(reference: str) -> dict:
    """The stored row, read with Core (the session's identity map is left alone)."""
    return dict(_db.session.execute(select(TABLE).where(TABLE.c.reference == reference)).mappings().one())


def events(reference: str) -> list[tuple[str, int | None]]:
    return [tuple(r) for r in _db.session.execute(
        select(AuditEvent.action, AuditEvent.user_id)
        .where(AuditEvent.entity == "disbursements", AuditEvent.entity_id == reference)
        .order_by(AuditEvent.id))]


def all_events() -> int:
    return _db.session.scalar(select(func.count(AuditEvent.id)))


def disbursements() -> int:
    return _db.session.scalar(select(func.count(Disbursement.id)))


def refused(call, reference: str | None = None, *, kind=Invalid, field: str | None = None,
            words: tuple[str, ...] = ()) -> Invalid:
    """``call`` raises ``kind`` (with the words in the message of ``field``) and changes nothing."""
    before = (row(reference) if reference else disbursements(), all_events())
    with pytest.raises(kind) as info:
        call()
    # Read in the same transaction (autoflush on): anything the service wrote or added would show.
    after = (row(reference) if reference else disbursements(), all_events())
    assert after == before
    error = info.value
    message = error.errors[field] if field is not None else str(error)
    for word in words:
        assert word in message, (word, message)
    _db.session.rollback()
    return error


# --- the happy paths --------------------------------------------------------------------------------------------------

def test_entered_payment_is_submitted_for_approval_by_the_staff_member(w):
    d = fees(w)
    stored = row(d.reference)
    assert stored["status"] == "submitted"
    assert stored["entered_by_id"] == stored["submitted_by_id"] == w.staff.id
    assert stored["usd_amount"] is None and stored["approved_by_id"] is None
    assert stored["amount"] == Decimal("45000.00") and stored["currency"] == "CDF"
    assert stored["term"] == 1 and stored["enrolment_id"] == w.enrolment.id
    assert d.reference == "DB-CD-2025-000001"


def test_references_are_numbered_per_country_and_year_of_entry(w):
    first, second = fees(w, term=1), fees(w, term=2)
    assert (first.reference, second.reference) == ("DB-CD-2025-000001", "DB-CD-2025-000002")
    assert medical(w, entered_on=dt.date(2026, 1, 5)).reference == "DB-CD-2026-000001"
    assert medical(w).reference == "DB-CD-2025-000003"


def test_references_follow_the_highest_of_their_country_and_year_and_leave_older_forms_alone(w):
    # The demo and imports store references of the same scheme (and older ones of the form DB-CD-000123): the
    # next number is one more than the highest six-digit one of that country and year, whoever stored it.
    for reference in ("DB-CD-2025-002755", "DB-CD-2025-000900", "DB-CD-000999", "DB-CF-2025-009999",
                      "DB-CD-2025-12345678", "DB-CD-2024-004000"):
        medical(w, reference=reference)
    assert medical(w).reference == "DB-CD-2025-002756"
    assert medical(w).reference == "DB-CD-2025-002757"
    assert row("DB-CD-000999")["status"] == "submitted"  # an existing reference keeps its form


def test_draft_is_submitted_approved_paid_and_voided_each_with_an_audit_event(w):
    d = fees(w, submit_now=False)
    ref = d.reference
    assert row(ref)["status"] == "draft"

    services.submit(disbursement=d, user=w.staff)
    _db.session.commit()
    assert row(ref)["status"] == "submitted"

    services.approve(disbursement=d, user=w.manager)
    _db.session.commit()
    stored = row(ref)
    assert (stored["status"], stored["approved_by_id"]) == ("approved", w.manager.id)
    assert stored["approved_at"] is not None

    services.pay(disbursement=d, user=w.other_manager, paid_on=dt.date(2025, 9, 20), payment_reference="BANK-77")
    _db.session.commit()
    stored = row(ref)
    assert (stored["status"], stored["paid_on"], stored["payment_reference"], stored["paid_by_id"]) == \
        ("paid", dt.date(2025, 9, 20), "BANK-77", w.other_manager.id)

    services.void(disbursement=d, user=w.manager, reason="paid to the wrong school")
    _db.session.commit()
    stored = row(ref)
    assert (stored["status"], stored["void_reason"], stored["voided_by_id"]) == \
        ("voided", "paid to the wrong school", w.manager.id)
    # A voided payment stays on record with its payment.
    assert stored["payment_reference"] == "BANK-77" and stored["usd_amount"] == Decimal("15.75")

    assert events(ref) == [("create", None), ("submit", w.staff.id), ("approve", w.manager.id),
                           ("pay", w.other_manager.id), ("void", w.manager.id)]


def test_transition_events_name_the_state_change_and_the_values_set(w):
    d = paid(w, payment_reference="BANK-9")
    changes = dict(_db.session.execute(
        select(AuditEvent.action, AuditEvent.changes)
        .where(AuditEvent.entity == "disbursements", AuditEvent.entity_id == d.reference)).all())
    assert changes["approve"]["status"] == ["submitted", "approved"]
    assert changes["approve"]["usd_amount"] == [None, "15.75"]
    assert changes["pay"]["status"] == ["approved", "paid"]
    assert changes["pay"]["payment_reference"] == [None, "BANK-9"]
    assert changes["pay"]["paid_on"] == [None, "2025-09-20"]


def test_submitted_payment_is_rejected_with_a_reason(w):
    d = fees(w)
    services.reject(disbursement=d, user=w.manager, reason="the fee is wrong")
    _db.session.commit()
    stored = row(d.reference)
    assert (stored["status"], stored["rejection_reason"], stored["rejected_by_id"]) == \
        ("rejected", "the fee is wrong", w.manager.id)
    assert stored["usd_amount"] is None
    assert events(d.reference)[-1] == ("reject", w.manager.id)


def test_approved_payment_can_be_voided_before_it_is_paid(w):
    d = approved(w)
    services.void(disbursement=d, user=w.other_manager, reason="the child left the school")
    _db.session.commit()
    assert row(d.reference)["status"] == "voided"
    assert events(d.reference)[-1] == ("void", w.other_manager.id)


def test_entering_and_submitting_at_once_records_the_submit_in_the_audit_log(w):
    d = fees(w)
    assert events(d.reference) == [("create", None), ("submit", w.staff.id)]
    submit = _db.session.scalar(select(AuditEvent.changes).where(AuditEvent.entity_id == d.reference,
                                                                 AuditEvent.action == "submit"))
    assert submit["status"] == ["draft", "submitted"]


# --- four eyes -------------------------------------------------------------------------------------------------------

def test_manager_cannot_approve_a_payment_they_entered(w):
    d = fees(w, user=w.manager)
    error = refused(lambda: services.approve(disbursement=d, user=w.manager), d.reference,
                    words=("entered by you", d.reference))
    assert not isinstance(error, Conflict)
    assert row(d.reference)["status"] == "submitted"
    services.approve(disbursement=d, user=w.other_manager)  # another manager may
    _db.session.commit()
    assert row(d.reference)["approved_by_id"] == w.other_manager.id


def test_database_refuses_an_approval_by_the_person_who_entered_it(w):
    d = fees(w)
    with pytest.raises(IntegrityError) as info:
        _db.session.execute(update(Disbursement).where(Disbursement.id == d.id)
                            .values(approved_by_id=w.staff.id)
                            .execution_options(synchronize_session=False))
        _db.session.flush()
    assert "four_eyes" in str(info.value.orig)
    _db.session.rollback()
    assert row(d.reference)["approved_by_id"] is None


# --- idempotent entry ------------------------------------------------------------------------------------------------

def test_same_request_key_twice_creates_one_disbursement(w):
    first = fees(w, request_key="form-abc")
    again = fees(w, request_key="form-abc", amount="50000")  # a retried request: the first one is returned
    assert again.id == first.id
    assert disbursements() == 1
    assert row(first.reference)["amount"] == Decimal("45000.00")


def test_different_request_keys_are_different_entries(w):
    medical(w, request_key="k1")
    medical(w, request_key="k2")
    assert disbursements() == 2


# --- refused input ---------------------------------------------------------------------------------------------------

BAD_AMOUNTS = [
    ("NaN", "USD", ("not a plain amount",)),
    ("Infinity", "USD", ("not a plain amount",)),
    ("1e9999", "USD", ("not a plain amount",)),
    ("-0.01", "USD", ("greater than zero",)),
    ("0", "USD", ("greater than zero",)),
    ("0.00", "CDF", ("greater than zero",)),
    ("1,000", "USD", ("no commas",)),
    ("12.345", "USD", ("USD", "at most 2 decimal places")),
    ("12.5", "XAF", ("XAF", "no decimals")),
    ("", "USD", ("required",)),
    (Decimal("NaN"), "USD", ("finite",)),
    (Decimal("Infinity"), "USD", ("finite",)),
    (12.5, "USD", ("float",)),
    ("1000000000000", "USD", ("too large",)),
]


def test_bad_amount_is_refused_and_nothing_is_entered(w):
    for amount, currency, words in BAD_AMOUNTS:
        refused(lambda: medical(w, amount=amount, currency=currency), field="amount", words=words)


def test_currency_that_does_not_exist_is_refused(w):
    for currency in ["XYZ", "ZWL", "US", "", "DOLLARS"]:
        refused(lambda: medical(w, currency=currency), field="currency", words=("ISO 4217",))


def test_term_beyond_the_enrolments_terms_is_refused(w):
    refused(lambda: fees(w, term=4), field="term", words=("3 terms", "2025-2026"))
    refused(lambda: fees(w, term=0), field="term", words=("at least 1",))


def test_child_not_of_that_mother_is_refused(w):
    refused(lambda: medical(w, child=w.other_child), field="child_code",
            words=(w.other_child.code, "not a child of", w.mother.code))


def test_school_fees_without_the_child_are_refused(w):
    refused(lambda: fees(w, child=None, enrolment=None), field="child_code", words=("need the child",))


def test_school_fees_with_another_childs_enrolment_are_refused(w):
    other = factories.EnrolmentFactory(child=w.other_child, academic_year="2025-2026")
    refused(lambda: fees(w, enrolment=other), field="academic_year", words=("not of", w.child.code))


def test_iga_grant_without_an_income_project_is_refused(w):
    refused(lambda: medical(w, category="iga"), field="income_project_reference", words=("income activity",))


def test_iga_grant_for_another_mothers_income_project_is_refused(w):
    theirs = factories.IncomeProjectFactory(beneficiary=w.other_mother, reference="IGA-CD-0002")
    refused(lambda: medical(w, category="iga", income_project=theirs), field="income_project_reference",
            words=("IGA-CD-0002", w.mother.code))


def test_iga_grant_with_her_income_project_is_entered(w):
    d = medical(w, category="iga", income_project=w.income, payee="Tailoring supplies Ltd", amount="350000")
    assert row(d.reference)["income_project_id"] == w.income.id


def test_mother_of_another_project_is_refused(w):
    refused(lambda: medical(w, project=w.other_project), field="mother_code", words=(w.mother.code,))


def test_entry_in_a_closed_project_is_refused(w):
    w.project.status = "closed"
    _db.session.commit()
    refused(lambda: medical(w), field="project_code", words=("TF-CD-2025-01", "closed"))


def test_entry_dated_in_the_future_is_refused(w):
    refused(lambda: medical(w, entered_on=today() + dt.timedelta(days=1)), field="entered_on",
            words=("in the future",))


def test_unknown_category_is_refused(w):
    refused(lambda: medical(w, category="cash"), field="category", words=("not one of",))


@pytest.mark.parametrize("first_state", ["draft", "submitted", "approved", "paid"])
def test_second_payment_for_the_same_term_is_refused_while_one_holds_it(w, first_state):
    first = fees(w, submit_now=first_state != "draft")
    if first_state in ("approved", "paid"):
        services.approve(disbursement=first, user=w.manager)
    if first_state == "paid":
        services.pay(disbursement=first, user=w.manager, paid_on=dt.date(2025, 9, 20), payment_reference="B-1")
    _db.session.commit()
    assert row(first.reference)["status"] == first_state
    refused(lambda: fees(w), field="term", words=("term 1", w.child.code, "already", first.reference, "top-up"))


def test_top_up_for_a_held_term_is_entered_with_a_reason(w):
    first = paid(w)
    top = fees(w, top_up=True, top_up_reason="the school raised the fee", amount="5000")
    stored = row(top.reference)
    assert top.id != first.id
    assert (stored["status"], stored["top_up"], stored["top_up_reason"]) == \
        ("submitted", True, "the school raised the fee")


def test_top_up_without_a_reason_is_refused(w):
    fees(w)
    refused(lambda: fees(w, top_up=True, top_up_reason="  "), field="top_up_reason", words=("required",))


def test_same_term_can_be_asked_again_once_the_first_is_rejected(w):
    first = fees(w)
    services.reject(disbursement=first, user=w.manager, reason="wrong school")
    _db.session.commit()
    again = fees(w)
    assert row(again.reference)["status"] == "submitted" and again.id != first.id


def test_same_term_can_be_asked_again_once_the_first_is_voided(w):
    first = paid(w)
    services.void(disbursement=first, user=w.manager, reason="bounced")
    _db.session.commit()
    again = fees(w)
    assert row(again.reference)["status"] == "submitted"


def test_another_term_or_category_of_the_same_child_is_not_a_duplicate(w):
    fees(w, term=1)
    fees(w, term=2)
    medical(w, child=w.child)
    assert disbursements() == 3


# --- refused transitions ---------------------------------------------------------------------------------------------

def test_paying_a_submitted_payment_is_refused(w):
    d = fees(w)
    refused(lambda: services.pay(disbursement=d, user=w.manager, paid_on=dt.date(2025, 9, 20),
                                 payment_reference="B-1"),
            d.reference, kind=Conflict, words=(d.reference, "submitted", "cannot be paid"))


def test_paying_a_draft_is_refused(w):
    d = fees(w, submit_now=False)
    refused(lambda: services.pay(disbursement=d, user=w.manager, paid_on=dt.date(2025, 9, 20),
                                 payment_reference="B-1"), d.reference, kind=Conflict, words=("draft",))


def test_approving_a_draft_is_refused_until_it_is_submitted(w):
    d = fees(w, submit_now=False)
    refused(lambda: services.approve(disbursement=d, user=w.manager), d.reference, kind=Conflict,
            words=("draft", "cannot be approved"))


@pytest.mark.parametrize("state", ["approved", "rejected"])
def test_deciding_twice_is_refused(w, state):
    d = fees(w)
    if state == "approved":
        services.approve(disbursement=d, user=w.manager)
    else:
        services.reject(disbursement=d, user=w.manager, reason="no")
    _db.session.commit()
    refused(lambda: services.approve(disbursement=d, user=w.other_manager), d.reference, kind=Conflict,
            words=(d.reference, state))
    refused(lambda: services.reject(disbursement=d, user=w.other_manager, reason="again"), d.reference,
            kind=Conflict, words=(d.reference, state))


def test_paying_with_a_date_in_the_future_is_refused(w):
    d = approved(w)
    refused(lambda: services.pay(disbursement=d, user=w.manager, paid_on=today() + dt.timedelta(days=1),
                                 payment_reference="B-1"), d.reference, field="paid_on", words=("in the future",))


def test_paying_before_the_entry_date_is_refused(w):
    d = approved(w)
    refused(lambda: services.pay(disbursement=d, user=w.manager, paid_on=ENTERED - dt.timedelta(days=1),
                                 payment_reference="B-1"), d.reference, field="paid_on", words=("2025-09-15",))


def test_paying_without_a_payment_reference_is_refused(w):
    d = approved(w)
    for reference in ["", "   ", None]:
        refused(lambda: services.pay(disbursement=d, user=w.manager, paid_on=dt.date(2025, 9, 20),
                                     payment_reference=reference), d.reference, field="payment_reference",
                words=("required",))


def test_paying_without_a_valid_date_is_refused(w):
    d = approved(w)
    for paid_on in ["", None, "20/09/2025", "2025-02-30"]:
        refused(lambda: services.pay(disbursement=d, user=w.manager, paid_on=paid_on, payment_reference="B-1"),
                d.reference, field="paid_on")


def test_payment_reference_used_in_the_same_project_is_refused(w):
    first = paid(w, payment_reference="BANK-001")
    second = approved(w, term=2)
    refused(lambda: services.pay(disbursement=second, user=w.manager, paid_on=dt.date(2025, 9, 21),
                                 payment_reference="BANK-001"),
            second.reference, field="payment_reference", words=("BANK-001", first.reference))


def test_payment_reference_of_a_voided_payment_stays_taken_in_its_project(w):
    first = paid(w, payment_reference="BANK-001")
    services.void(disbursement=first, user=w.manager, reason="bounced")
    _db.session.commit()
    second = approved(w, term=2)
    refused(lambda: services.pay(disbursement=second, user=w.manager, paid_on=dt.date(2025, 9, 21),
                                 payment_reference="BANK-001"), second.reference, field="payment_reference")


def test_same_payment_reference_in_another_project_is_accepted(w):
    paid(w, payment_reference="BANK-001")
    mother = factories.BeneficiaryFactory(project=w.other_project, number=3)
    elsewhere = services.enter(project=w.other_project, category="medical", beneficiary=mother, payee="Clinic",
                               amount="1000", currency="CDF", entered_on=ENTERED, user=w.staff)
    services.approve(disbursement=elsewhere, user=w.manager)
    services.pay(disbursement=elsewhere, user=w.manager, paid_on=dt.date(2025, 9, 21), payment_reference="BANK-001")
    _db.session.commit()
    assert row(elsewhere.reference)["status"] == "paid"
    assert row(elsewhere.reference)["payment_reference"] == "BANK-001"


def test_voiding_without_a_reason_is_refused(w):
    d = paid(w)
    for reason in ["", "   ", None]:
        refused(lambda: services.void(disbursement=d, user=w.manager, reason=reason), d.reference, field="reason",
                words=("required",))


@pytest.mark.parametrize("state", ["draft", "submitted", "rejected", "voided"])
def test_only_approved_or_paid_payments_can_be_voided(w, state):
    d = fees(w, submit_now=state != "draft")
    if state == "rejected":
        services.reject(disbursement=d, user=w.manager, reason="no")
    if state == "voided":
        services.approve(disbursement=d, user=w.manager)
        services.void(disbursement=d, user=w.manager, reason="first void")
    _db.session.commit()
    refused(lambda: services.void(disbursement=d, user=w.manager, reason="again"), d.reference, kind=Conflict,
            words=(d.reference, state, "cannot be voided"))


def test_rejecting_without_a_reason_is_refused(w):
    d = fees(w)
    refused(lambda: services.reject(disbursement=d, user=w.manager, reason=""), d.reference, field="reason")


# --- a stale action: someone changed it meanwhile ---------------------------------------------------------------------

def _meanwhile(app, reference: str, act) -> None:
    """Another person, in their own app context and session, acts on ``reference`` and commits.

    A request context reuses the app context already pushed (and so its session): push a new one first.
    """
    with app.app_context(), app.test_request_context():
        theirs = _db.session.scalars(select(Disbursement).where(Disbursement.reference == reference)).one()
        act(theirs, lambda user_id: _db.session.get(User, user_id))
        _db.session.commit()
        _db.session.remove()


ACTIONS = {
    "submit": lambda d, user, n: services.submit(disbursement=d, user=user),
    "approve": lambda d, user, n: services.approve(disbursement=d, user=user),
    "reject": lambda d, user, n: services.reject(disbursement=d, user=user, reason=f"reason {n}"),
    "pay": lambda d, user, n: services.pay(disbursement=d, user=user, paid_on=dt.date(2025, 9, 20),
                                           payment_reference=f"BANK-{n}"),
    "void": lambda d, user, n: services.void(disbursement=d, user=user, reason=f"reason {n}"),
}


@pytest.mark.parametrize("state, theirs, mine", [
    ("draft", "submit", "submit"),
    ("submitted", "approve", "approve"),
    ("submitted", "approve", "reject"),
    ("submitted", "reject", "approve"),
    ("approved", "pay", "pay"),
    ("approved", "pay", "void"),
    ("approved", "void", "pay"),
    ("paid", "void", "void"),
])
def test_stale_action_is_refused_and_changes_nothing(app, w, state, theirs, mine):
    d = fees(w, submit_now=state != "draft")
    if state in ("approved", "paid"):
        services.approve(disbursement=d, user=w.manager)
    if state == "paid":
        services.pay(disbursement=d, user=w.manager, paid_on=dt.date(2025, 9, 20), payment_reference="BANK-0")
    _db.session.commit()
    ref = d.reference
    user_of = {"submit": w.staff.id, "approve": w.other_manager.id, "reject": w.other_manager.id,
               "pay": w.other_manager.id, "void": w.other_manager.id}
    me = w.manager if mine != "submit" else w.staff
    me_id = me.id
    mine_read = _db.session.scalars(select(Disbursement).where(Disbursement.reference == ref)).one()
    assert mine_read.status == state  # my read, before the other person acts
    # End my read transaction (on SQLite it holds a lock that would block the other writer) but keep what I read.
    session = _db.session()
    session.expire_on_commit = False
    session.commit()
    session.expire_on_commit = True

    _meanwhile(app, ref, lambda theirs_read, load: ACTIONS[theirs](theirs_read, load(user_of[theirs]), 1))
    after_theirs = row(ref)
    assert after_theirs["version_id"] == mine_read.version_id + 1

    assert me.id == me_id
    error = refused(lambda: ACTIONS[mine](mine_read, me, 2), ref, kind=Conflict,
                    words=(ref, "changed by someone else"))
    assert row(ref) == after_theirs
    assert events(ref)[-1][1] == user_of[theirs]
    assert "nothing was done" in str(error)


# --- the USD value frozen at approval ---------------------------------------------------------------------------------

def _approve(w, d):
    services.approve(disbursement=d, user=w.manager)
    _db.session.commit()
    stored = row(d.reference)
    return stored["usd_amount"], stored["usd_rate"]


def test_approval_freezes_usd_at_the_rate_of_the_entry_date(w):
    # 45,000 CDF × 0.00035 USD = 15.75 USD exactly.
    assert _approve(w, fees(w)) == (Decimal("15.75"), Decimal("0.00035000"))


def test_usd_value_is_rounded_half_even_to_cents(w):
    add_rate(currency="XAF", valid_from=dt.date(2025, 1, 1), usd_per_unit="0.005")
    _db.session.commit()
    # 5 XAF × 0.005 = 0.025 → 0.02 (half to even; half-up would give 0.03).
    assert _approve(w, medical(w, amount="5", currency="XAF")) == (Decimal("0.02"), Decimal("0.00500000"))
    # 15 XAF × 0.005 = 0.075 → 0.08 (half to even goes up here).
    assert _approve(w, medical(w, amount="15", currency="XAF"))[0] == Decimal("0.08")


def test_xaf_amount_is_frozen_at_its_own_rate(w):
    add_rate(currency="XAF", valid_from=dt.date(2025, 6, 1), usd_per_unit="0.0017")
    _db.session.commit()
    # 12,345 XAF × 0.0017 = 20.9865 → 20.99.
    assert _approve(w, medical(w, amount="12345", currency="XAF")) == (Decimal("20.99"), Decimal("0.00170000"))


def test_cdf_cents_are_converted_exactly(w):
    # 1,250.50 CDF × 0.00035 = 0.437675 → 0.44.
    assert _approve(w, medical(w, amount="1250.50"))[0] == Decimal("0.44")


def test_rate_that_starts_after_the_entry_date_is_not_used(w):
    add_rate(currency="CDF", valid_from=dt.date(2025, 10, 1), usd_per_unit="0.0004")
    _db.session.commit()
    # Entered 15 September: the rate from 1 January (0.00035) is in force, not the one from 1 October.
    assert _approve(w, fees(w, term=1)) == (Decimal("15.75"), Decimal("0.00035000"))
    # Entered on 1 October itself: the new rate is in force. 45,000 × 0.0004 = 18.00.
    assert _approve(w, fees(w, term=2, entered_on=dt.date(2025, 10, 1))) == (Decimal("18.00"), Decimal("0.00040000"))


def test_latest_earlier_rate_wins_over_older_ones(w):
    add_rate(currency="CDF", valid_from=dt.date(2025, 9, 1), usd_per_unit="0.0003")
    _db.session.commit()
    # Rates from 1 Jan (0.00035) and 1 Sep (0.0003): on 15 Sep the 1 Sep rate is in force. 45,000 × 0.0003 = 13.50.
    assert _approve(w, fees(w)) == (Decimal("13.50"), Decimal("0.00030000"))


def test_usd_payment_is_frozen_at_rate_one(w):
    assert _approve(w, medical(w, amount="120.50", currency="USD")) == (Decimal("120.50"), Decimal("1.00000000"))


def test_missing_rate_is_a_clear_error_and_nothing_changes(w):
    d = medical(w, amount="25000", currency="XAF")
    refused(lambda: services.approve(disbursement=d, user=w.manager), d.reference, field="currency",
            words=("no exchange rate", "XAF", "2025-09-15"))
    assert row(d.reference)["status"] == "submitted"


def test_rate_only_from_after_the_entry_date_counts_as_missing(w):
    add_rate(currency="XAF", valid_from=dt.date(2025, 9, 16), usd_per_unit="0.0017")
    _db.session.commit()
    d = medical(w, amount="25000", currency="XAF")
    refused(lambda: services.approve(disbursement=d, user=w.manager), d.reference,
            words=("XAF", "2025-09-15"))


def test_adding_a_rate_afterwards_never_changes_a_frozen_value(w):
    d = paid(w)
    before = row(d.reference)
    # A rate that would have been in force on the entry date, had it been known then.
    add_rate(currency="CDF", valid_from=dt.date(2025, 9, 1), usd_per_unit="0.0005")
    add_rate(currency="CDF", valid_from=dt.date(2025, 9, 15), usd_per_unit="0.0006")
    _db.session.commit()
    after = row(d.reference)
    assert (after["usd_amount"], after["usd_rate"]) == (Decimal("15.75"), Decimal("0.00035000"))
    assert after == before
    # Voiding keeps the frozen value too.
    services.void(disbursement=d, user=w.manager, reason="bounced")
    _db.session.commit()
    assert row(d.reference)["usd_amount"] == Decimal("15.75")
