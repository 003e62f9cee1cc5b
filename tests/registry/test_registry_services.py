"""Registry services without HTTP: codes, people, consent, enrolments, claims and income figures.

Services raise :class:`tracker.errors.Invalid` with translated (lazy)
messages; formatting one asks Flask-Babel for the locale, which the app's
selector reads from the request. These tests therefore run inside a test
request context, as the services do when a route calls them (the bare app
context of the command line is a known bug, see test_registry_imports.py).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from tests import factories
from tracker.errors import Invalid
from tracker.extensions import db as _db
from tracker.models import Beneficiary, ClaimStep, PaternityClaim
from tracker.models.base import today
from tracker.registry import claims, income, people
from tracker.registry.income_queries import income_outcomes, income_summary
from tracker.registry.queries import term_states


@pytest.fixture
def cd_project(rq):
    return factories.ProjectFactory(code="TF-CD-2025-01", country="CD")


@pytest.fixture
def cf_project(rq):
    return factories.ProjectFactory(code="TF-CF-2025-01", country="CF")


def register(project, name="Amani Kahindo", **extra):
    values = {"year_of_birth": 1995, "enrolled_on": dt.date(2025, 2, 3)} | extra
    mother = people.register_beneficiary(project=project, full_name=name, **values)
    _db.session.commit()
    return mother


def errors_of(excinfo) -> dict[str, str]:
    return excinfo.value.errors


# --- codes -----------------------------------------------------------------------------------------------------------


def test_mother_codes_are_numbered_per_country(cd_project, cf_project):
    codes = [register(cd_project, "A One").code, register(cd_project, "B Two").code,
             register(cf_project, "C Three").code]
    assert codes == ["CD-M-00001", "CD-M-00002", "CF-M-00001"]


def test_a_mother_code_is_never_handed_out_again_after_removal(cd_project):
    register(cd_project, "A One")
    second = register(cd_project, "B Two")
    _db.session.delete(second)
    _db.session.commit()
    assert register(cd_project, "C Three").code == "CD-M-00003"


def test_a_code_given_by_a_spreadsheet_keeps_the_counter_above_it(cd_project):
    register(cd_project, "A One", code="CD-M-00042")
    assert register(cd_project, "B Two").code == "CD-M-00043"


def test_a_code_of_another_country_is_refused(cd_project):
    with pytest.raises(Invalid) as excinfo:
        register(cd_project, "A One", code="CF-M-00042")
    assert set(errors_of(excinfo)) == {"code"}


def test_children_codes_follow_the_mothers_code_and_are_never_reused(cd_project):
    mother = register(cd_project)
    first = people.add_child(mother=mother, first_name="Neema", year_of_birth=2016, sex="F")
    second = people.add_child(mother=mother, first_name="Baraka", year_of_birth=2018, sex="m")
    _db.session.commit()
    assert (first.code, second.code, second.sex) == ("CD-C-00001-1", "CD-C-00001-2", "M")
    _db.session.delete(second)
    _db.session.commit()
    third = people.add_child(mother=mother, first_name="Imani", year_of_birth=2019, sex="F")
    assert third.code == "CD-C-00001-3"


# --- mothers ---------------------------------------------------------------------------------------------------------


def test_registration_stores_personal_data_encrypted_and_a_name_hash(cd_project):
    mother = register(cd_project, "Amani Kahindo", phone="+243 810 000 001", village="Kavumu",
                      consent_services_on=dt.date(2025, 2, 3))
    raw = _db.session.execute(text("SELECT full_name, phone, village FROM beneficiaries")).one()
    assert "Amani" not in raw.full_name and "+243" not in raw.phone and "Kavumu" not in raw.village
    assert (mother.full_name, mother.phone, mother.village) == ("Amani Kahindo", "+243 810 000 001", "Kavumu")
    assert mother.consent_services_on == dt.date(2025, 2, 3) and mother.consent_reporting_on is None
    found = _db.session.scalars(people.find_mothers_by_name("  amani   KAHINDO ", select(Beneficiary))).all()
    assert [m.code for m in found] == ["CD-M-00001"]


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_registration_refuses_an_empty_or_overlong_name(cd_project, name):
    with pytest.raises(Invalid) as excinfo:
        register(cd_project, name)
    assert set(errors_of(excinfo)) == {"full_name"}
    assert _db.session.scalar(select(func.count(Beneficiary.id))) == 0


def test_registration_refuses_a_year_of_birth_in_the_future(cd_project):
    with pytest.raises(Invalid) as excinfo:
        register(cd_project, year_of_birth=today().year + 1)
    assert set(errors_of(excinfo)) == {"year_of_birth"}


def test_registration_refuses_a_closed_project(rq):
    closed = factories.ProjectFactory(code="TF-CD-2020-01", country="CD", status="closed")
    with pytest.raises(Invalid) as excinfo:
        register(closed)
    assert set(errors_of(excinfo)) == {"project_code"}


def test_editing_without_a_name_keeps_the_name(cd_project):
    mother = register(cd_project, "Amani Kahindo", phone="+243 810 000 001")
    people.update_beneficiary(beneficiary=mother, year_of_birth=1990, full_name=None, phone=None)
    _db.session.commit()
    assert (mother.full_name, mother.phone, mother.year_of_birth) == ("Amani Kahindo", "+243 810 000 001", 1990)


def test_a_new_name_changes_the_hash_so_the_old_name_is_not_found(cd_project):
    mother = register(cd_project, "Amani Kahindo")
    people.update_beneficiary(beneficiary=mother, year_of_birth=1995, full_name="Furaha Mwamini")
    _db.session.commit()
    stmt = select(Beneficiary.code)
    assert _db.session.scalars(people.find_mothers_by_name("Furaha Mwamini", stmt)).all() == ["CD-M-00001"]
    assert _db.session.scalars(people.find_mothers_by_name("Amani Kahindo", stmt)).all() == []


def test_a_mother_cannot_be_made_younger_than_her_children_allow(cd_project):
    mother = register(cd_project)
    people.add_child(mother=mother, first_name="Neema", year_of_birth=2010, sex="F")
    with pytest.raises(Invalid) as excinfo:
        people.update_beneficiary(beneficiary=mother, year_of_birth=2001)  # 2010 - 2001 = 9 < 10
    assert set(errors_of(excinfo)) == {"year_of_birth"}


def test_a_mother_moves_only_to_a_project_of_her_country(cd_project, cf_project):
    mother = register(cd_project)
    with pytest.raises(Invalid) as excinfo:
        people.update_beneficiary(beneficiary=mother, year_of_birth=1995, project=cf_project)
    assert set(errors_of(excinfo)) == {"project_code"}


@pytest.mark.parametrize("reason", ["graduated", "moved", "withdrew", "deceased"])
def test_exit_records_each_reason_and_readmission_clears_it(cd_project, reason):
    mother = register(cd_project)
    people.exit_beneficiary(beneficiary=mother, reason=reason, on=dt.date(2025, 9, 1))
    _db.session.commit()
    assert (mother.status, mother.exit_reason, mother.exited_on) == ("exited", reason, dt.date(2025, 9, 1))
    people.readmit_beneficiary(beneficiary=mother)
    _db.session.commit()
    assert (mother.status, mother.exit_reason, mother.exited_on) == ("active", None, None)


def test_exit_before_enrolment_is_refused(cd_project):
    mother = register(cd_project)  # enrolled 2025-02-03
    with pytest.raises(Invalid) as excinfo:
        people.exit_beneficiary(beneficiary=mother, reason="moved", on=dt.date(2025, 2, 2))
    assert set(errors_of(excinfo)) == {"exited_on"}
    assert mother.status == "active"


def test_exit_with_an_unknown_reason_or_twice_is_refused(cd_project):
    mother = register(cd_project)
    with pytest.raises(Invalid):
        people.exit_beneficiary(beneficiary=mother, reason="married", on=dt.date(2025, 9, 1))
    people.exit_beneficiary(beneficiary=mother, reason="moved", on=dt.date(2025, 9, 1))
    with pytest.raises(Invalid):
        people.exit_beneficiary(beneficiary=mother, reason="moved", on=dt.date(2025, 9, 2))


def test_consent_withdrawn_then_given_again(cd_project):
    mother = register(cd_project, consent_reporting_on=dt.date(2025, 2, 3))
    people.withdraw_consent(beneficiary=mother, scope="reporting", on=dt.date(2025, 5, 1))
    assert (mother.consent_reporting_on, mother.consent_reporting_withdrawn_on) == (
        dt.date(2025, 2, 3), dt.date(2025, 5, 1))
    assert not mother.has_reporting_consent
    people.give_consent(beneficiary=mother, scope="reporting", on=dt.date(2025, 6, 1))
    assert (mother.consent_reporting_on, mother.consent_reporting_withdrawn_on) == (dt.date(2025, 6, 1), None)
    assert mother.has_reporting_consent


def test_consent_cannot_be_withdrawn_when_not_given_or_before_it_was_given(cd_project):
    mother = register(cd_project, consent_services_on=dt.date(2025, 2, 3))
    with pytest.raises(Invalid):
        people.withdraw_consent(beneficiary=mother, scope="reporting", on=dt.date(2025, 5, 1))
    with pytest.raises(Invalid) as excinfo:
        people.withdraw_consent(beneficiary=mother, scope="services", on=dt.date(2025, 2, 2))
    assert set(errors_of(excinfo)) == {"withdrawn_on"}


# --- children and enrolments -----------------------------------------------------------------------------------------


def test_a_child_born_before_the_mother_is_refused(cd_project):
    mother = register(cd_project, year_of_birth=1995)
    with pytest.raises(Invalid) as excinfo:
        people.add_child(mother=mother, first_name="Neema", year_of_birth=1990, sex="F")
    assert set(errors_of(excinfo)) == {"year_of_birth"}


def test_a_child_is_enrolled_once_per_academic_year(cd_project):
    mother = register(cd_project)
    child = people.add_child(mother=mother, first_name="Neema", year_of_birth=2016, sex="F")
    enrolment = people.enrol_child(child=child, school="EP Mapendo", academic_year="2025-2026", grade="P3",
                                   fee_per_term="45000.50", currency="cdf", terms="3")
    assert (enrolment.fee_per_term, enrolment.currency, enrolment.terms) == (Decimal("45000.50"), "CDF", 3)
    with pytest.raises(Invalid) as excinfo:
        people.enrol_child(child=child, school="EP Other", academic_year="2025-2026", grade="P3",
                           fee_per_term="1", currency="CDF", terms="3")
    assert set(errors_of(excinfo)) == {"academic_year"}


def _school_fee(enrolment, term, status, **extra):
    values = {"category": "school_fees", "beneficiary": enrolment.child.mother, "child": enrolment.child,
              "enrolment": enrolment, "term": term, "status": status, "amount": Decimal("45000.00")}
    if status in ("approved", "paid", "voided"):
        values |= {"usd_amount": Decimal("15.75"), "usd_rate": Decimal("0.00035000")}
    if status in ("paid",):
        values |= {"paid_on": dt.date(2025, 9, 20), "payment_reference": f"PAY-{term}-{status}"}
    if status == "voided":
        values |= {"void_reason": "paid twice"}
    if status == "rejected":
        values |= {"rejection_reason": "wrong school"}
    return factories.DisbursementFactory(**(values | extra))


def test_term_states_count_paid_approved_and_pending_but_not_rejected_or_voided(rq):
    enrolment = factories.EnrolmentFactory(terms=4)
    _school_fee(enrolment, 1, "paid")
    _school_fee(enrolment, 1, "rejected")
    _school_fee(enrolment, 2, "approved")
    _school_fee(enrolment, 3, "rejected")
    _school_fee(enrolment, 3, "voided")
    _school_fee(enrolment, 4, "submitted")
    states = term_states([enrolment.id], {enrolment.id: 4})[enrolment.id]
    assert [(s.term, s.state) for s in states] == [
        (1, "paid"), (2, "approved"), (3, "not_requested"), (4, "pending")]


def test_an_enrolment_keeps_the_terms_already_paid(rq):
    enrolment = factories.EnrolmentFactory(terms=3)
    _school_fee(enrolment, 3, "paid")
    with pytest.raises(Invalid) as excinfo:
        people.update_enrolment(enrolment=enrolment, school="EP Mapendo", grade="P3", fee_per_term="45000",
                                currency="CDF", terms="2")
    assert set(errors_of(excinfo)) == {"terms"}
    with pytest.raises(Invalid) as excinfo:
        people.update_enrolment(enrolment=enrolment, school="EP Mapendo", grade="P3", fee_per_term="45",
                                currency="USD", terms="3")
    assert set(errors_of(excinfo)) == {"currency"}


# --- paternity claims ------------------------------------------------------------------------------------------------

OUTCOMES_AND_EARLIER = ["paternity_established", "not_established", "withdrawn"]


@pytest.mark.parametrize("current, expected", [
    (None, ["received"]),
    ("received", ["notified_to_member_state", "dna_sample_collected", "dna_result_received"] + OUTCOMES_AND_EARLIER),
    ("notified_to_member_state", ["dna_sample_collected", "dna_result_received"] + OUTCOMES_AND_EARLIER),
    ("dna_sample_collected", ["dna_result_received"] + OUTCOMES_AND_EARLIER),
    ("dna_result_received", OUTCOMES_AND_EARLIER),
    ("paternity_established", ["legally_recognised", "support_ordered", "support_paid"]),
    ("not_established", []),
    ("withdrawn", []),
    ("legally_recognised", ["support_ordered", "support_paid"]),
    ("support_ordered", ["support_paid"]),
    ("support_paid", []),
])
def test_allowed_next_steps(current, expected):
    assert claims.allowed_next(current) == expected


@pytest.fixture
def child(rq):
    return factories.ChildFactory(year_of_birth=2016, mother__project__country="CD")


def open_claim(child, on=dt.date(2025, 3, 1)):
    claim = claims.open_claim(child=child, member_state="uy", personnel_category="military", received_on=on)
    _db.session.commit()
    return claim


def walk(claim, *steps):
    for step, on in steps:
        claims.record_step(claim=claim, step=step, occurred_on=on)
    _db.session.commit()


def test_a_claim_opens_at_received(child):
    claim = open_claim(child)
    assert (claim.member_state, claim.status, claim.status_on) == ("UY", "received", dt.date(2025, 3, 1))
    assert [(s.step, s.occurred_on) for s in claims.current_steps(claim)] == [("received", dt.date(2025, 3, 1))]


def test_a_child_has_one_claim(child):
    open_claim(child)
    with pytest.raises(Invalid) as excinfo:
        open_claim(child)
    assert set(errors_of(excinfo)) == {"child_code"}


@pytest.mark.parametrize("step", ["received", "legally_recognised", "support_ordered", "support_paid", "bogus"])
def test_record_step_refuses_a_step_that_does_not_follow_received(child, step):
    claim = open_claim(child)
    with pytest.raises(Invalid) as excinfo:
        claims.record_step(claim=claim, step=step, occurred_on=dt.date(2025, 4, 1))
    assert set(errors_of(excinfo)) == {"step"}


def test_record_step_refuses_going_backwards(child):
    claim = open_claim(child)
    walk(claim, ("dna_sample_collected", dt.date(2025, 5, 1)))
    with pytest.raises(Invalid) as excinfo:
        claims.record_step(claim=claim, step="notified_to_member_state", occurred_on=dt.date(2025, 6, 1))
    assert set(errors_of(excinfo)) == {"step"}
    assert (claim.status, claim.status_on) == ("dna_sample_collected", dt.date(2025, 5, 1))


def test_record_step_refuses_a_date_before_the_previous_step(child):
    claim = open_claim(child, dt.date(2025, 3, 1))
    with pytest.raises(Invalid) as excinfo:
        claims.record_step(claim=claim, step="notified_to_member_state", occurred_on=dt.date(2025, 2, 28))
    assert set(errors_of(excinfo)) == {"occurred_on"}


def test_record_step_accepts_the_same_day_and_moves_the_status(child):
    claim = open_claim(child, dt.date(2025, 3, 1))
    walk(claim, ("notified_to_member_state", dt.date(2025, 3, 1)), ("dna_sample_collected", dt.date(2025, 4, 2)))
    assert (claim.status, claim.status_on) == ("dna_sample_collected", dt.date(2025, 4, 2))


@pytest.mark.parametrize("before", [[], [("notified_to_member_state", dt.date(2025, 4, 1)),
                                         ("dna_result_received", dt.date(2025, 5, 1))]])
def test_withdrawn_is_allowed_before_the_outcome(child, before):
    claim = open_claim(child)
    walk(claim, *before, ("withdrawn", dt.date(2025, 6, 1)))
    assert claim.status == "withdrawn"
    assert claims.allowed_next(claim.status) == []


def test_withdrawn_is_refused_after_paternity_established(child):
    claim = open_claim(child)
    walk(claim, ("paternity_established", dt.date(2025, 6, 1)))
    with pytest.raises(Invalid):
        claims.record_step(claim=claim, step="withdrawn", occurred_on=dt.date(2025, 7, 1))
    walk(claim, ("legally_recognised", dt.date(2025, 7, 1)))
    with pytest.raises(Invalid):
        claims.record_step(claim=claim, step="withdrawn", occurred_on=dt.date(2025, 8, 1))


@pytest.mark.parametrize("outcome", ["dna_result_received", "not_established", "withdrawn"])
def test_support_steps_are_refused_unless_paternity_was_established(child, outcome):
    claim = open_claim(child)
    walk(claim, (outcome, dt.date(2025, 6, 1)))
    for step in ("legally_recognised", "support_ordered", "support_paid"):
        with pytest.raises(Invalid):
            claims.record_step(claim=claim, step=step, occurred_on=dt.date(2025, 7, 1))


def test_support_steps_follow_paternity_established(child):
    claim = open_claim(child)
    walk(claim, ("paternity_established", dt.date(2025, 6, 1)), ("support_ordered", dt.date(2025, 7, 1)),
         ("support_paid", dt.date(2025, 8, 1)))
    assert (claim.status, claim.status_on) == ("support_paid", dt.date(2025, 8, 1))


@pytest.fixture
def three_steps(child):
    """received 2025-03-01, notified 2025-04-01, dna_sample_collected 2025-05-01."""
    claim = open_claim(child, dt.date(2025, 3, 1))
    walk(claim, ("notified_to_member_state", dt.date(2025, 4, 1)), ("dna_sample_collected", dt.date(2025, 5, 1)))
    return claim, claims.current_steps(claim)


def test_correcting_a_step_keeps_the_old_one_as_history(three_steps):
    claim, (received, notified, sample) = three_steps
    replacement = claims.correct_step(step=notified, occurred_on=dt.date(2025, 4, 15), reason="date misread")
    _db.session.commit()
    _db.session.expire_all()
    old = _db.session.get(ClaimStep, notified.id)
    assert old.superseded_at is not None
    assert (old.correction_reason, old.superseded_by_id) == ("date misread", replacement.id)
    assert (old.step, old.occurred_on) == ("notified_to_member_state", dt.date(2025, 4, 1))
    claim = _db.session.get(PaternityClaim, claim.id)
    assert [(s.step, s.occurred_on) for s in claims.current_steps(claim)] == [
        ("received", dt.date(2025, 3, 1)), ("notified_to_member_state", dt.date(2025, 4, 15)),
        ("dna_sample_collected", dt.date(2025, 5, 1))]
    assert _db.session.scalar(select(func.count(ClaimStep.id)).where(ClaimStep.claim_id == claim.id)) == 4
    assert (claim.status, claim.status_on) == ("dna_sample_collected", dt.date(2025, 5, 1))


def test_correcting_the_last_step_moves_the_claims_status(three_steps):
    claim, (_received, _notified, sample) = three_steps
    claims.correct_step(step=sample, occurred_on=dt.date(2025, 5, 20), reason="lab date",
                        new_step="dna_result_received")
    _db.session.commit()
    assert (claim.status, claim.status_on) == ("dna_result_received", dt.date(2025, 5, 20))


def test_correct_step_refuses_a_date_before_the_previous_step(three_steps):
    _claim, (_received, notified, _sample) = three_steps
    with pytest.raises(Invalid) as excinfo:
        claims.correct_step(step=notified, occurred_on=dt.date(2025, 2, 28), reason="typo")
    assert set(errors_of(excinfo)) == {"occurred_on"}


def test_correct_step_refuses_a_date_after_the_next_step(three_steps):
    _claim, (_received, notified, _sample) = three_steps
    with pytest.raises(Invalid) as excinfo:
        claims.correct_step(step=notified, occurred_on=dt.date(2025, 5, 2), reason="typo")
    assert set(errors_of(excinfo)) == {"occurred_on"}


def test_correct_step_refuses_changing_the_kind_of_a_step_that_is_not_the_last(three_steps):
    _claim, (_received, notified, _sample) = three_steps
    with pytest.raises(Invalid) as excinfo:
        claims.correct_step(step=notified, occurred_on=dt.date(2025, 4, 1), reason="typo",
                            new_step="dna_sample_collected")
    assert set(errors_of(excinfo)) == {"new_step"}


def test_correct_step_refuses_a_last_step_that_cannot_follow_the_previous(three_steps):
    _claim, (_received, _notified, sample) = three_steps
    with pytest.raises(Invalid) as excinfo:
        claims.correct_step(step=sample, occurred_on=dt.date(2025, 5, 1), reason="typo", new_step="support_paid")
    assert set(errors_of(excinfo)) == {"new_step"}


@pytest.mark.parametrize("reason", ["", "   "])
def test_correct_step_requires_a_reason(three_steps, reason):
    _claim, (_received, notified, _sample) = three_steps
    with pytest.raises(Invalid) as excinfo:
        claims.correct_step(step=notified, occurred_on=dt.date(2025, 4, 15), reason=reason)
    assert set(errors_of(excinfo)) == {"reason"}


def test_correct_step_refuses_a_correction_that_changes_nothing_or_a_step_corrected_already(three_steps):
    _claim, (_received, notified, _sample) = three_steps
    with pytest.raises(Invalid):
        claims.correct_step(step=notified, occurred_on=dt.date(2025, 4, 1), reason="same")
    claims.correct_step(step=notified, occurred_on=dt.date(2025, 4, 2), reason="first")
    with pytest.raises(Invalid):
        claims.correct_step(step=notified, occurred_on=dt.date(2025, 4, 3), reason="again")


# --- income activities -----------------------------------------------------------------------------------------------


def test_the_average_monthly_profit_of_an_activity(rq):
    project = factories.IncomeProjectFactory(started_on=dt.date(2025, 3, 1))
    income.report_income(income_project=project, month="2025-04", revenue="180000", costs="95000")
    income.report_income(income_project=project, month="2025-05", revenue="150000", costs="160000")
    _db.session.commit()
    # profits 85000 and -10000: (85000 - 10000) / 2 = 37500.00
    summary = income_summary(project)
    assert (summary.months_reported, summary.average_profit) == (2, Decimal("37500.00"))


def test_an_activity_without_reports_has_no_average(rq):
    summary = income_summary(factories.IncomeProjectFactory())
    assert (summary.months_reported, summary.average_profit) == (0, None)


def test_a_month_is_reported_once_and_not_before_the_activity_started(rq):
    project = factories.IncomeProjectFactory(started_on=dt.date(2025, 3, 15))
    with pytest.raises(Invalid) as excinfo:
        income.report_income(income_project=project, month="2025-02", revenue="1", costs="0")
    assert set(errors_of(excinfo)) == {"month"}
    income.report_income(income_project=project, month="2025-03", revenue="1", costs="0")
    with pytest.raises(Invalid) as excinfo:
        income.report_income(income_project=project, month="2025-03", revenue="2", costs="0")
    assert set(errors_of(excinfo)) == {"month"}
    with pytest.raises(Invalid) as excinfo:
        income.report_income(income_project=project, month="2025-04", revenue="2", costs="0", currency="USD")
    assert set(errors_of(excinfo)) == {"currency"}


def test_income_references_are_numbered_per_mother(rq):
    mother = factories.BeneficiaryFactory(number=77, project__country="CD")
    first = income.start_income_project(beneficiary=mother, activity="tailoring", started_on="2025-03-01",
                                        planned_grant="350000", currency="CDF")
    second = income.start_income_project(beneficiary=mother, activity="farming", started_on="2025-04-01",
                                         planned_grant="200000", currency="CDF", status="active")
    assert (first.reference, second.reference) == ("IGA-CD-00077-1", "IGA-CD-00077-2")
    assert (first.status, first.planned_grant) == ("planned", Decimal("350000.00"))


def test_closing_an_activity_before_it_started_is_refused(rq):
    project = factories.IncomeProjectFactory(started_on=dt.date(2025, 3, 1))
    with pytest.raises(Invalid) as excinfo:
        income.update_income_project(income_project=project, activity="tailoring", planned_grant="1",
                                     status="closed_failed", closed_on=dt.date(2025, 2, 1))
    assert set(errors_of(excinfo)) == {"closed_on"}


def days_ago(n: int) -> dt.date:
    return today() - dt.timedelta(days=n)


def test_income_outcomes_share_still_going_after_6_and_12_months(rq):
    user = factories.UserFactory(role="staff", countries=["CD"])
    mother = factories.BeneficiaryFactory(project__country="CD")
    make = lambda **kw: factories.IncomeProjectFactory(beneficiary=mother, **kw)  # noqa: E731
    make(started_on=days_ago(500), status="active")  # both marks passed, going
    make(started_on=days_ago(500), status="closed_failed", closed_on=days_ago(400))  # failed before 6 months
    make(started_on=days_ago(500), status="closed_failed", closed_on=days_ago(230))  # failed between 6 and 12
    make(started_on=days_ago(250), status="struggling")  # 6-month mark passed only
    make(started_on=days_ago(60), status="active")  # too young for either
    make(started_on=days_ago(500), status="planned")  # planned ones do not count
    other = factories.BeneficiaryFactory(project__country="HT")
    factories.IncomeProjectFactory(beneficiary=other, started_on=days_ago(500), status="closed_failed",
                                   closed_on=days_ago(490))  # outside her countries
    outcomes = income_outcomes(user)
    six, twelve = outcomes.survival
    # 6 months: eligible are the four started 250+ days ago; the one failed at 100 days is not going.
    assert (six.months, six.eligible, six.still_going, six.share) == (6, 4, 3, Decimal("0.75"))
    # 12 months: eligible are the three started 500 days ago; only the active one is still going.
    assert (twelve.months, twelve.eligible, twelve.still_going) == (12, 3, 1)


def test_income_outcomes_median_monthly_profit_by_activity_in_usd(rq):
    user = factories.UserFactory(role="staff", countries=["CD"])
    factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1), usd_per_unit=Decimal("0.00035"))
    factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 6, 1), usd_per_unit=Decimal("0.0004"))
    mother = factories.BeneficiaryFactory(project__country="CD")
    tailoring_a = factories.IncomeProjectFactory(beneficiary=mother, activity="tailoring")
    tailoring_b = factories.IncomeProjectFactory(beneficiary=mother, activity="Tailoring")
    soap = factories.IncomeProjectFactory(beneficiary=mother, activity="soap-making")
    tea = factories.IncomeProjectFactory(beneficiary=mother, activity="tea shop", currency="SSP")

    def report(project, month, revenue, costs):
        factories.IncomeReportFactory(income_project=project, month=month, revenue=Decimal(revenue),
                                      costs=Decimal(costs))

    report(tailoring_a, dt.date(2025, 3, 1), "150000", "50000")  # 100000 × 0.00035 = 35.00
    report(tailoring_a, dt.date(2025, 7, 1), "80000", "30000")  # 50000 × 0.0004 = 20.00
    report(tailoring_b, dt.date(2025, 4, 1), "20000", "30000")  # -10000 × 0.00035 = -3.50
    report(soap, dt.date(2025, 5, 1), "250000", "50000")  # 200000 × 0.00035 = 70.00
    report(soap, dt.date(2025, 8, 1), "200000", "50000")  # 150000 × 0.0004 = 60.00
    report(tea, dt.date(2025, 5, 1), "1000", "0")  # no SSP rate: left out of the median
    outcomes = income_outcomes(user)
    by_activity = {a.activity: (a.projects, a.reports, a.median_monthly_profit_usd) for a in outcomes.by_activity}
    assert by_activity == {
        "soap-making": (1, 2, Decimal("65.00")),  # (70.00 + 60.00) / 2
        "tailoring": (2, 3, Decimal("20.00")),  # median of -3.50, 20.00, 35.00
        "tea shop": (1, 0, None),
    }
