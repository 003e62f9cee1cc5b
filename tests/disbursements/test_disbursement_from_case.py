"""Acting from the case (issue 18): a term badge leads to a pre-filled payment form; after saving, "enter another"
and the way back; whoever entered a submitted payment withdraws it with a reason, corrects it and submits it again,
each step audited, four eyes still holding."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import func, select, update

from tests import factories
from tests.conftest import AuthActions
from tracker.disbursements import services
from tracker.disbursements.services import Conflict
from tracker.errors import Invalid
from tracker.extensions import db as _db
from tracker.models import AuditEvent, Disbursement, User

MOTHER, CHILD, YEAR = "CD-M-00001", "CD-C-00001-1", "2025-2026"
TERM2 = f"/disbursements/new?mother={MOTHER}&category=school_fees&child={CHILD}&year={YEAR}&term=2"


@pytest.fixture
def case(app):
    """A CD project; mother CD-M-00001 with child CD-C-00001-1 enrolled for 2025-2026 at EP Mapendo, 3 terms of
    45,000 CDF; term 1 paid. Staff, a second staff member, two managers (all CD); a CDF rate of 0.00035."""
    with app.app_context():
        with factories.one_commit():
            users = {name: factories.UserFactory(role=role, email=f"{name}@example.org", countries=["CD"])
                     for name, role in (("staff", "staff"), ("colleague", "staff"), ("manager", "manager"),
                                        ("second", "manager"))}
            project = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
            mother = factories.BeneficiaryFactory(project=project, number=1)
            child = factories.ChildFactory(mother=mother, number=1)
            enrolment = factories.EnrolmentFactory(child=child, academic_year=YEAR, terms=3)
            factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1),
                                          usd_per_unit=Decimal("0.00035000"))
        with app.test_request_context():
            first = services.enter(project=project, category="school_fees", beneficiary=mother, child=child,
                                   enrolment=enrolment, term=1, payee="EP Mapendo", amount="45000", currency="CDF",
                                   entered_on=dt.date(2025, 9, 15), user=users["staff"])
            services.approve(disbursement=first, user=users["manager"])
            services.pay(disbursement=first, user=users["manager"], paid_on=dt.date(2025, 9, 20),
                         payment_reference="BANK-1")
            _db.session.commit()
        ids = {name: u.id for name, u in users.items()}
        ids["enrolment"] = enrolment.id
        _db.session.remove()
    return ids


def signed_in(app, name):
    client = app.test_client()
    assert AuthActions(client).login(f"{name}@example.org").status_code == 302
    return client


def badge_links(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'<a class="term-pay" href="([^"]+)"', html)]


def count(app, model=Disbursement) -> int:
    with app.app_context():
        n = _db.session.scalar(select(func.count()).select_from(model))
        _db.session.remove()
        return n


# --- the badges ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", [f"/mothers/{MOTHER}", f"/children/{CHILD}"])
def test_unpaid_term_badges_link_to_the_form_for_that_child_and_term_and_the_paid_one_stays_plain(app, case, page):
    html = signed_in(app, "staff").get(page).get_data(as_text=True)
    assert badge_links(html) == [TERM2, TERM2.replace("term=2", "term=3")]
    assert re.search(r'class="term term-paid"><span class="visually-hidden">Term</span> 1', html)
    assert "Ms" not in "".join(badge_links(html))  # codes and numbers only


def test_a_term_waiting_for_approval_is_not_a_link(app, case):
    staff = signed_in(app, "staff")
    staff.post(TERM2, data={"target": f"{case['enrolment']}:2", "payee": "EP Mapendo", "amount": "45000",
                            "currency": "CDF", "entered_on": "2025-09-16", "save_as": "submit"})
    html = staff.get(f"/mothers/{MOTHER}").get_data(as_text=True)
    assert badge_links(html) == [TERM2.replace("term=2", "term=3")]
    assert re.search(r'class="term term-pending"><span class="visually-hidden">Term</span> 2', html)


def test_no_links_for_an_admin_nor_for_a_mother_who_left(app, case, admin_client):
    assert badge_links(admin_client.get(f"/mothers/{MOTHER}").get_data(as_text=True)) == []
    with app.app_context():
        from tracker.models import Beneficiary
        _db.session.execute(update(Beneficiary).values(status="exited", exit_reason="moved",
                                                       exited_on=dt.date(2025, 10, 1)))
        _db.session.commit()
    assert badge_links(signed_in(app, "staff").get(f"/mothers/{MOTHER}").get_data(as_text=True)) == []


# --- the pre-filled form ---------------------------------------------------------------------------------------------

def test_the_badge_link_opens_the_form_pre_filled_with_term_fee_and_currency_and_saves_nothing(app, case):
    before = count(app)
    html = signed_in(app, "staff").get(TERM2).get_data(as_text=True)
    assert f'<option selected value="{case["enrolment"]}:2">' in html
    assert 'value="45000.00"' in html  # the enrolment's fee per term
    assert '<option selected value="CDF">' in html
    assert 'name="payee" type="text" value="EP Mapendo"' in html or 'value="EP Mapendo"' in html
    assert count(app) == before


def test_a_link_to_a_term_already_held_says_so_and_preselects_nothing_of_it(app, case):
    html = signed_in(app, "staff").get(TERM2.replace("term=2", "term=1")).get_data(as_text=True)
    assert f"Term 1 of {CHILD} for {YEAR} is not open" in html
    assert f'<option selected value="{case["enrolment"]}:1">' not in html


# --- after saving ----------------------------------------------------------------------------------------------------

def test_after_saving_enter_another_for_this_mother_and_back_to_where_the_user_came_from(app, case):
    staff = signed_in(app, "staff")
    form = staff.get(TERM2, headers={"Referer": f"http://localhost/mothers/{MOTHER}"}).get_data(as_text=True)
    assert f'name="back" type="hidden" value="/mothers/{MOTHER}"' in form
    saved = staff.post(TERM2, data={"target": f"{case['enrolment']}:2", "payee": "EP Mapendo", "amount": "45000",
                                    "currency": "CDF", "entered_on": "2025-09-16", "save_as": "submit",
                                    "back": f"/mothers/{MOTHER}"})
    assert saved.status_code == 302
    page = staff.get(saved.headers["Location"]).get_data(as_text=True)
    assert "DB-CD-2025-000002 is entered." in page and "It waits for a manager" in page
    assert f'href="/disbursements/new?mother={MOTHER}&amp;back=/mothers/{MOTHER}">Enter another for this mother' in page
    assert f'<a href="/mothers/{MOTHER}">Back to the list</a>' in page
    # Once only: the page opened again is the plain page.
    assert "Enter another for this mother" not in staff.get(saved.headers["Location"]).get_data(as_text=True)
    # "Enter another" opens the first step with her code, and says her project.
    another = staff.get(f"/disbursements/new?mother={MOTHER}").get_data(as_text=True)
    assert f'value="{MOTHER}"' in another and "project TF-CD-2025-01" in another


def test_back_to_the_list_defaults_to_the_payments_list_and_refuses_other_sites(app, case):
    staff = signed_in(app, "staff")
    saved = staff.post(TERM2, data={"target": f"{case['enrolment']}:2", "payee": "EP Mapendo", "amount": "45000",
                                    "currency": "CDF", "entered_on": "2025-09-16", "save_as": "draft",
                                    "back": "//evil.example/x"})
    page = staff.get(saved.headers["Location"]).get_data(as_text=True)
    assert '<a href="/disbursements/">Back to the list</a>' in page
    assert "kept as a draft" in page


# --- withdraw, correct, submit again (the service) -------------------------------------------------------------------

def _submitted(app, case, who="staff") -> str:
    with app.test_request_context():
        from tracker.models import Enrolment
        enrolment = _db.session.get(Enrolment, case["enrolment"])
        d = services.enter(project=enrolment.child.mother.project, category="school_fees",
                           beneficiary=enrolment.child.mother, child=enrolment.child, enrolment=enrolment, term=2,
                           payee="EP Mapendo", amount="45000", currency="CDF", entered_on=dt.date(2025, 9, 16),
                           user=_db.session.get(User, case[who]))
        _db.session.commit()
        reference = d.reference
        _db.session.remove()
        return reference


def _events(reference) -> list[tuple[str, int, dict]]:
    return [(a, u, c) for a, u, c in _db.session.execute(
        select(AuditEvent.action, AuditEvent.user_id, AuditEvent.changes)
        .where(AuditEvent.entity == "disbursements", AuditEvent.entity_id == reference).order_by(AuditEvent.id))]


def _get(reference) -> Disbursement:
    return _db.session.scalars(select(Disbursement).where(Disbursement.reference == reference)).one()


def test_whoever_entered_it_withdraws_corrects_and_submits_again_each_step_audited(app, case):
    reference = _submitted(app, case)
    with app.test_request_context():
        staff = _db.session.get(User, case["staff"])
        services.withdraw(disbursement=_get(reference), user=staff, reason="  wrong amount ")
        _db.session.commit()
        d = _get(reference)
        assert (d.status, d.submitted_by_id, d.submitted_at) == ("draft", None, None)
        services.correct(disbursement=d, user=staff, payee="EP Mapendo", amount="47500", currency="CDF",
                         entered_on=dt.date(2025, 9, 16))
        _db.session.commit()
        services.submit(disbursement=_get(reference), user=staff)
        _db.session.commit()
        d = _get(reference)
        assert (d.status, d.amount, d.submitted_by_id, d.approved_by_id) == (
            "submitted", Decimal("47500.00"), case["staff"], None)
        assert _events(reference)[1:] == [  # after the row's own "create" event
            ("submit", case["staff"], {"status": ["draft", "submitted"]}),
            ("withdraw", case["staff"], {"status": ["submitted", "draft"], "reason": [None, "wrong amount"]}),
            ("correct", case["staff"], {"amount": ["45000.00", "47500.00"]}),
            ("submit", case["staff"], {"status": ["draft", "submitted"]}),
        ]


@pytest.mark.parametrize("who, reason, state, message", [
    ("colleague", "wrong amount", "submitted", "only the person who entered DB-CD-2025-000002 may withdraw it"),
    ("manager", "wrong amount", "submitted", "only the person who entered DB-CD-2025-000002 may withdraw it"),
    ("staff", "   ", "submitted", "is required"),
    ("staff", "x" * 201, "submitted", "at most 200 characters"),
    ("staff", "wrong amount", "approved", "DB-CD-2025-000002 is approved; it cannot be withdrawn"),
    ("staff", "wrong amount", "draft", "DB-CD-2025-000002 is draft; it cannot be withdrawn"),
])
def test_withdrawing_is_refused_to_others_without_a_reason_and_once_decided(app, case, who, reason, state, message):
    reference = _submitted(app, case)
    with app.test_request_context():
        if state == "approved":
            services.approve(disbursement=_get(reference), user=_db.session.get(User, case["manager"]))
        elif state == "draft":
            services.withdraw(disbursement=_get(reference), user=_db.session.get(User, case["staff"]), reason="x")
        _db.session.commit()
        before = (_get(reference).version_id, len(_events(reference)))
        with pytest.raises(Invalid) as refused:
            services.withdraw(disbursement=_get(reference), user=_db.session.get(User, case[who]), reason=reason)
        _db.session.rollback()
        assert message in str(refused.value)
        assert (_get(reference).status, _get(reference).version_id, len(_events(reference))) == (state, *before)


def test_only_whoever_entered_it_corrects_it_and_only_as_a_draft(app, case):
    reference = _submitted(app, case)
    with app.test_request_context():
        staff, colleague = (_db.session.get(User, case[n]) for n in ("staff", "colleague"))
        with pytest.raises(Conflict, match="only a draft can be corrected"):
            services.correct(disbursement=_get(reference), user=staff, payee="X", amount="1", currency="CDF")
        services.withdraw(disbursement=_get(reference), user=staff, reason="wrong payee")
        _db.session.commit()
        with pytest.raises(Invalid, match="only the person who entered DB-CD-2025-000002 may correct it"):
            services.correct(disbursement=_get(reference), user=colleague, payee="X", amount="1", currency="CDF")
        with pytest.raises(Invalid, match="is not an ISO 4217 currency"):
            services.correct(disbursement=_get(reference), user=staff, payee="X", amount="1", currency="XXQ")
        _db.session.rollback()
        d = _get(reference)
        assert (d.payee, d.amount) == ("EP Mapendo", Decimal("45000.00"))


def test_four_eyes_hold_after_a_withdrawn_payment_is_submitted_again(app, case):
    """A manager enters, withdraws, corrects and submits again: she still cannot approve it; the other can."""
    reference = _submitted(app, case, who="manager")
    with app.test_request_context():
        manager, second = (_db.session.get(User, case[n]) for n in ("manager", "second"))
        services.withdraw(disbursement=_get(reference), user=manager, reason="wrong date")
        services.correct(disbursement=_get(reference), user=manager, payee="EP Mapendo", amount="45000",
                         currency="CDF", entered_on=dt.date(2025, 9, 17))
        services.submit(disbursement=_get(reference), user=manager)
        _db.session.commit()
        with pytest.raises(Invalid, match="was entered by you"):
            services.approve(disbursement=_get(reference), user=manager)
        _db.session.rollback()
        services.approve(disbursement=_get(reference), user=second)
        _db.session.commit()
        d = _get(reference)
        # 45,000 CDF × 0.00035 = 15.75 USD
        assert (d.status, d.approved_by_id, d.usd_amount) == ("approved", case["second"], Decimal("15.75"))


def test_a_withdrawal_read_before_a_managers_approval_changes_nothing(app, case):
    """Withdraw and approve on the same payment: the one that comes second finds it moved and does nothing (the
    same guarded UPDATE as approve; tests/disbursements/test_disbursement_concurrency.py races them on PostgreSQL)."""
    reference = _submitted(app, case)
    with app.test_request_context():
        stale = _get(reference)
        seen = stale.version_id
        # Another manager approves it in between (as their own request would).
        _db.session.execute(update(Disbursement).where(Disbursement.id == stale.id).values(
            status="approved", approved_by_id=case["manager"], usd_amount=Decimal("15.75"),
            usd_rate=Decimal("0.00035"), version_id=seen + 1).execution_options(synchronize_session=False))
        stale.status, stale.version_id = "submitted", seen  # what the staff member's page had read
        with pytest.raises(Conflict, match="changed by someone else"):
            services.withdraw(disbursement=stale, user=_db.session.get(User, case["staff"]), reason="too late")
        _db.session.commit()
        assert _get(reference).status == "approved"
        assert [a for a, _u, _c in _events(reference)] == ["create", "submit"]


# --- withdraw and correct through the screens ------------------------------------------------------------------------

def test_the_screens_withdraw_correct_and_submit_again(app, case):
    reference = _submitted(app, case)
    staff = signed_in(app, "staff")
    page = staff.get(f"/disbursements/{reference}").get_data(as_text=True)
    assert "Withdraw it to correct it" in page
    refused = staff.post(f"/disbursements/{reference}/withdraw", data={"reason": ""}, follow_redirects=True)
    assert "Say why you withdraw it." in refused.get_data(as_text=True)
    done = staff.post(f"/disbursements/{reference}/withdraw", data={"reason": "wrong amount"}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert f"{reference} is withdrawn: it is a draft again." in html
    assert "Reason: wrong amount" in html and f'href="/disbursements/{reference}/correct"' in html
    form = staff.get(f"/disbursements/{reference}/correct").get_data(as_text=True)
    assert 'value="45000.00"' in form
    corrected = staff.post(f"/disbursements/{reference}/correct",
                           data={"payee": "EP Mapendo", "amount": "47500", "currency": "CDF",
                                 "entered_on": "2025-09-16"}, follow_redirects=True)
    assert "Amount: CDF\u00a045,000.00 → CDF\u00a047,500.00" in unescape(corrected.get_data(as_text=True))
    staff.post(f"/disbursements/{reference}/submit")
    with app.app_context():
        assert (_get(reference).status, _get(reference).amount) == ("submitted", Decimal("47500.00"))
        _db.session.remove()


def test_the_screens_refuse_a_colleague(app, case):
    reference = _submitted(app, case)
    colleague = signed_in(app, "colleague")
    assert "Withdraw it to correct it" not in colleague.get(f"/disbursements/{reference}").get_data(as_text=True)
    refused = colleague.post(f"/disbursements/{reference}/withdraw", data={"reason": "mine now"},
                             follow_redirects=True)
    assert f"only the person who entered {reference} may withdraw it" in refused.get_data(as_text=True)
    with app.app_context():
        assert _get(reference).status == "submitted"
        _db.session.remove()
    # A draft of someone else: the correction form is not theirs either.
    signed_in(app, "staff").post(f"/disbursements/{reference}/withdraw", data={"reason": "wrong amount"})
    moved = colleague.get(f"/disbursements/{reference}/correct")
    assert moved.status_code == 302 and moved.headers["Location"].endswith(f"/disbursements/{reference}")
