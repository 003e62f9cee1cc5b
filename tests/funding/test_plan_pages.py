"""The allocation planner's pages (/review/plan, /review/plans/): who may open them, the country scope, the
proposal and a recompute on edited amounts worked out by hand, allocating, a stale plan refused, and a plan
above the four-eyes threshold confirmed by a second manager (never by the one who made it).

The fixture, in CD, today (every figure in USD):

* the Fund received 1,000.00 and allocated 100.00 (to B): 900.00 is received and not allocated;
* A (TF-CD-2026-01): need 300.00 this year, nothing allocated, balance 0.00; two children whose next term
  (50.00 each) is unpaid: both at risk (the walk's running totals 50.00 and 100.00 exceed the balance 0.00);
* B (TF-CD-2026-02): need 200.00, 100.00 allocated, 150.00 approved: balance 100.00 − 150.00 = −50.00, over-
  committed by 50.00, gap 200.00 − 100.00 = 100.00;
* C (TF-CD-2026-03): closed, nothing to give;
* D (TF-CF-2026-01), in CF: outside a CD manager's countries.

The planner's proposal for the 900.00 (a manager of CD only):
  1. children: A's two children cost 100.00 − 0.00 = 100.00;            A 100.00
  2. over-commitment: B's −50.00 is cleared with 50.00;                  B  50.00
  3. the gap, in proportion to need: A lacks 300.00 − 100.00 = 200.00, B 100.00 − 50.00 = 50.00; the 750.00 left
     covers both:                                                        A 300.00, B 100.00
  total 400.00, left 900.00 − 400.00 = 500.00; children at risk 2 → 0; gap 300.00 + 100.00 = 400.00 → 0.00.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D
from html import unescape

import pytest
from sqlalchemy import select

from tests import factories
from tracker.dates import current_academic_year
from tracker.extensions import db as _db
from tracker.models import Allocation, Project
from tracker.models.base import today


@pytest.fixture
def world(app):
    with app.app_context():
        year = today().year
        day = dt.date(year, 1, 2)
        a = factories.ProjectFactory(code="TF-CD-2026-01", title="Schooling in Bunia", country="CD")
        b = factories.ProjectFactory(code="TF-CD-2026-02", title="Health in Goma", country="CD")
        c = factories.ProjectFactory(code="TF-CD-2026-03", title="Closed project", country="CD", status="closed")
        d = factories.ProjectFactory(code="TF-CF-2026-01", title="Bangui", country="CF")
        factories.BudgetLineFactory(project=a, year=year, category="school_fees", amount_usd=D("300.00"))
        factories.BudgetLineFactory(project=b, year=year, category="medical", amount_usd=D("200.00"))
        factories.ContributionFactory(amount=D("1000.00"), received_on=day)
        factories.AllocationFactory(project=b, amount_usd=D("100.00"), allocated_on=day)
        for number in (1, 2):
            mother = factories.BeneficiaryFactory(project=a, number=number)
            child = factories.ChildFactory(mother=mother)
            factories.EnrolmentFactory(child=child, academic_year=current_academic_year(),
                                       fee_per_term=D("50.00"), currency="USD", terms=1)
        clerk = factories.UserFactory(role="staff", countries=["CD"])
        factories.DisbursementFactory(beneficiary=factories.BeneficiaryFactory(project=b, number=3),
                                      status="approved", amount=D("150.00"), currency="USD", usd_amount=D("150.00"),
                                      usd_rate=D("1"), entered_on=day, entered_by_id=clerk.id)
        _db.session.commit()
        ids = {"a": a.id, "b": b.id, "c": c.id, "d": d.id}
        _db.session.remove()
    return ids


@pytest.fixture
def cd_manager(sign_in):
    return sign_in(role="manager", email="cd.planner@example.org", countries=["CD"], name="Amani Planner")


def _read(html: str) -> str:
    """Text as a screen reader reads it: tags and the arrows (hidden from it) removed, spaces collapsed."""
    text = unescape(re.sub(r"<[^>]+>", " ", html.replace('<span aria-hidden="true">→</span>', "")))
    return re.sub(r"\s+", " ", text).replace(" .", ".").replace(" ,", ",")


def _text(response) -> str:
    return _read(response.get_data(as_text=True))


def _fingerprint(response) -> str:
    return re.search(r'name="fingerprint" value="([0-9a-f]{64})"', response.get_data(as_text=True)).group(1)


def _row(response, code: str) -> str:
    html = response.get_data(as_text=True)
    start = html.index(f'<span class="code">{code}</span>')
    return _read(html[start:html.index("</tr>", start)])


# --- who may open the planner ----------------------------------------------------------------------------------------

def test_staff_and_donors_may_not_plan(world, staff_client, donor_client):
    assert staff_client.get("/review/plan").status_code == 403
    assert staff_client.get("/review/plans/").status_code == 403
    assert donor_client.get("/review/plan").status_code == 404  # donors learn nothing of what is behind a URL


def test_a_country_outside_the_managers_is_404(world, cd_manager):
    assert cd_manager.get("/review/plan?country=CF").status_code == 404
    assert cd_manager.get("/review/plan?country=CD").status_code == 200


def test_the_review_and_the_menu_link_to_the_planner(world, cd_manager):
    page = cd_manager.get("/review/").get_data(as_text=True)
    assert 'href="/review/plan"' in page and 'href="/review/plans/"' in page


# --- the proposal and a recompute ------------------------------------------------------------------------------------

def test_the_proposal_for_the_funds_unallocated_money(world, cd_manager):
    response = cd_manager.get("/review/plan")
    assert response.status_code == 200
    text = _text(response)
    # See the module's docstring: 400.00 given, 2 children kept, B's 50.00 cleared, the whole gap 400.00 covered.
    assert ("$400.00 keeps all 2 children at risk in school next term, clears $50.00 of over-commitment, "
            "and covers $400.00 of this year's gap.") in text
    assert "Available: the Fund's unallocated money $900.00" in text
    assert "Given $400.00" in text and "Left $500.00" in text
    assert "TF-CF-2026-01" not in text  # CF is not the manager's
    a, b, c = _row(response, "TF-CD-2026-01"), _row(response, "TF-CD-2026-02"), _row(response, "TF-CD-2026-03")
    assert "children" in a and "gap" in a
    assert "2 becomes 0" in a  # children at risk, before and after
    assert "$0.00 becomes $300.00" in a  # balance
    assert "over-commitment" in b and "-$50.00 becomes $50.00" in b
    assert "closed: nothing can be allocated" in c
    html = response.get_data(as_text=True)
    assert 'name="amount-TF-CD-2026-01" value="300.00"' in html
    assert 'name="amount-TF-CD-2026-03"' not in html  # closed: no input
    assert 'action="/review/plan/allocate"' in html


def test_recompute_shows_the_edited_amounts_beside_the_proposal(world, cd_manager):
    response = cd_manager.post("/review/plan", data={"amount": "", "country": "", "share": "need",
                                                     "amount-TF-CD-2026-01": "50.00", "amount-TF-CD-2026-02": ""})
    assert response.status_code == 200
    text = _text(response)
    # 50.00 to A: its balance 0.00 → 50.00 covers the first child (running total 50.00 ≤ 50.00), not the second
    # (100.00): 2 → 1 at risk; A's gap 300.00 → 250.00. B gets nothing: still over-committed by 50.00.
    assert ("$50.00 keeps 1 of the 2 children at risk in school next term and covers $50.00 of this year's "
            "gap.") in text
    a = _row(response, "TF-CD-2026-01")
    assert "2 becomes 1" in a and "$0.00 becomes $50.00" in a and "$300.00 becomes $250.00" in a
    assert "$300.00" in a.split("$250.00")[1]  # the planner's proposal, beside the edited amount
    b = _row(response, "TF-CD-2026-02")
    assert "becomes" not in b and "$100.00" in b  # nothing moves; the planner would give 100.00
    html = response.get_data(as_text=True)
    assert 'name="amount-TF-CD-2026-01" value="50.00"' in html
    assert "Given $50.00" in text and "Left $850.00" in text


def test_recompute_with_too_much_says_so_and_refuses_to_allocate(world, cd_manager):
    response = cd_manager.post("/review/plan", data={"amount-TF-CD-2026-01": "1000.00",
                                                     "amount-TF-CD-2026-02": "12,50"})
    assert response.status_code == 200
    text = _text(response)
    assert "There is a problem" in text
    # 1,000.00 for A alone; B's "12,50" cannot be read: 1,000.00 − 900.00 = 100.00 too much.
    assert "The amounts add up to $1,000.00, $100.00 more than the $900.00 this plan may spend." in text
    assert "TF-CD-2026-02: '12,50' is not a plain amount like 1250.50" in text
    html = response.get_data(as_text=True)
    assert 'href="#amount-TF-CD-2026-02"' in html and 'aria-invalid="true" aria-describedby="err-TF-CD-2026-02"' in html
    assert 'action="/review/plan/allocate"' not in html
    assert "Correct the problems listed above, then recompute, before allocating." in text


def test_with_pledges_cannot_be_allocated(world, cd_manager):
    response = cd_manager.get("/review/plan?with_pledges=1")
    assert response.status_code == 200
    assert "Pledges not yet received cannot be allocated" in _text(response)
    assert 'action="/review/plan/allocate"' not in response.get_data(as_text=True)


def test_an_unreadable_amount_to_share_is_shown_next_to_its_field(world, cd_manager):
    response = cd_manager.get("/review/plan?amount=lots")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="plan-amount-error"' in html and "is not a plain amount" in html



# --- allocating ------------------------------------------------------------------------------------------------------

def _allocate_form(response) -> dict[str, str]:
    """The hidden fields of the page's "Allocate" form: the plan shown, its parameters and its fingerprint."""
    html = response.get_data(as_text=True)
    start = html.index('action="/review/plan/allocate"')
    form = html[start:html.index("</form>", start)]
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))


def _allocations(app) -> dict[str, list[D]]:
    with app.app_context():
        rows = _db.session.execute(select(Project.code, Allocation.amount_usd).join(Project)
                                   .order_by(Project.code, Allocation.id)).all()
        _db.session.remove()
    found: dict[str, list[D]] = {}
    for code, amount in rows:
        found.setdefault(code, []).append(amount)
    return found


def test_allocate_below_the_threshold_allocates_at_once(app, world, cd_manager):
    fields = _allocate_form(cd_manager.get("/review/plan"))
    assert fields["amount-TF-CD-2026-01"] == "300.00" and fields["amount-TF-CD-2026-02"] == "100.00"
    response = cd_manager.post("/review/plan/allocate", data=fields)
    assert response.status_code == 302
    page = cd_manager.get(response.headers["Location"])
    number = f"PLAN-{today().year}-0001"
    assert f"Allocated $400.00 to 2 projects ({number})." in _text(page)
    assert "Allocated" in _text(page) and "Its allocations" in _text(page)
    # B had 100.00; the plan adds 100.00 to B and 300.00 to A.
    assert _allocations(app) == {"TF-CD-2026-01": [D("300.00")], "TF-CD-2026-02": [D("100.00"), D("100.00")]}
    listed = _text(cd_manager.get("/review/plans/"))
    assert number in listed and "$400.00" in listed and "Amani Planner" in listed


def test_a_plan_computed_before_the_figures_moved_is_refused_and_shown_again(app, world, cd_manager):
    fields = _allocate_form(cd_manager.get("/review/plan"))
    with app.app_context():  # meanwhile, 10.00 is allocated to A
        factories.AllocationFactory(project=_db.session.get(Project, world["a"]), amount_usd=D("10.00"),
                                    allocated_on=today())
        _db.session.commit()
        _db.session.remove()
    response = cd_manager.post("/review/plan/allocate", data=fields)
    assert response.status_code == 409
    text = _text(response)
    assert "The figures changed since this plan was computed" in text and "nothing was allocated" in text
    # The fresh proposal: 900.00 − 10.00 = 890.00 unallocated; A's balance 10.00, so its children cost
    # 100.00 − 10.00 = 90.00 and its gap is then 300.00 − 10.00 − 90.00 = 200.00: A 290.00; B 50.00 + 50.00.
    assert "Given $390.00" in text and "Left $500.00" in text
    assert _allocate_form(response)["fingerprint"] != fields["fingerprint"]
    assert _allocations(app) == {"TF-CD-2026-01": [D("10.00")], "TF-CD-2026-02": [D("100.00")]}


def test_above_the_threshold_a_second_manager_confirms(app, world, cd_manager, sign_in):
    app.config["ALLOCATION_FOUR_EYES_USD"] = D("100.00")  # the plan's 400.00 is above it
    response = cd_manager.post("/review/plan/allocate", data=_allocate_form(cd_manager.get("/review/plan")))
    assert response.status_code == 302
    plan_url = response.headers["Location"]
    number = f"PLAN-{today().year}-0001"
    page = cd_manager.get(plan_url)
    assert f"Plan {number} waits for a second manager's confirmation." in _text(page)
    assert "You made this plan: another manager must confirm it" in _text(page)
    assert "Confirm and allocate" not in _text(page) and "Withdraw the plan" in _text(page)
    assert _allocations(app) == {"TF-CD-2026-02": [D("100.00")]}  # nothing allocated yet

    # The maker cannot confirm it, even by posting the form.
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]{64})"',
                            cd_manager.get("/review/plan").get_data(as_text=True)).group(1)
    refused = cd_manager.post(plan_url + "/confirm", data={"fingerprint": fingerprint})
    assert refused.status_code == 422
    assert f"{number} was made by you; another manager must confirm it" in _text(refused)

    second = sign_in(role="manager", email="cd.second@example.org", countries=["CD"], name="Bahati Second")
    page = second.get(plan_url)
    text = _text(page)
    assert "waits for a manager other than the one who made it" in text
    assert "$400.00 keeps all 2 children at risk in school next term" in text
    assert "Confirm and allocate" in text
    # Rejecting needs a reason.
    refused = second.post(plan_url + "/reject", data={"reason": ""})
    assert refused.status_code == 422 and 'id="reject-reason-error"' in refused.get_data(as_text=True)
    confirmed = second.post(plan_url + "/confirm", data={"fingerprint": _fingerprint(page)})
    assert confirmed.status_code == 302
    text = _text(second.get(plan_url))
    assert f"Plan {number} is confirmed: its allocations are made." in text and "Confirmed" in text
    assert "Bahati Second" in text
    assert _allocations(app) == {"TF-CD-2026-01": [D("300.00")], "TF-CD-2026-02": [D("100.00"), D("100.00")]}


def test_a_plan_outside_the_managers_countries_is_404(app, world, cd_manager, sign_in):
    response = cd_manager.post("/review/plan/allocate", data=_allocate_form(cd_manager.get("/review/plan")))
    plan_url = response.headers["Location"]
    cf_manager = sign_in(role="manager", email="cf.only@example.org", countries=["CF"])
    assert cf_manager.get(plan_url).status_code == 404
    assert cf_manager.post(plan_url + "/confirm", data={"fingerprint": "0" * 64}).status_code == 404
    assert cd_manager.get("/review/plans/999999").status_code == 404


def test_in_the_order_i_set(world, cd_manager):
    """200.00 in "order" mode: A's children 100.00 and B's over-commitment 50.00 first, then 50.00 left for the
    gap, to the first project in the order: A (by code, the default) gets 100.00 + 50.00 = 150.00 and B 50.00;
    with B first, B gets 50.00 + 50.00 = 100.00 and A 100.00."""
    response = cd_manager.get("/review/plan?share=order&amount=200.00")
    html = response.get_data(as_text=True)
    assert 'name="amount-TF-CD-2026-01" value="150.00"' in html and 'name="amount-TF-CD-2026-02" value="50.00"' in html
    assert 'name="rank-TF-CD-2026-01" value="1"' in html and 'name="rank-TF-CD-2026-02" value="2"' in html
    assert "Available $200.00" in _text(response)
    response = cd_manager.post("/review/plan", data={
        "amount": "200.00", "share": "order", "amount-TF-CD-2026-01": "150.00", "amount-TF-CD-2026-02": "50.00",
        "rank-TF-CD-2026-01": "2", "rank-TF-CD-2026-02": "1"})
    html = response.get_data(as_text=True)
    assert 'name="rank-TF-CD-2026-02" value="1"' in html and 'name="amount-TF-CD-2026-01" value="150.00"' in html
    assert "$100.00" in _row(response, "TF-CD-2026-01").split("$150.00")[-1]  # the planner's, in the new order
    assert "$100.00 becomes $50.00 $100.00 Amount for TF-CD-2026-02" in _row(response, "TF-CD-2026-02")  # gap, proposed
    refused = cd_manager.post("/review/plan", data={"share": "order", "rank-TF-CD-2026-01": "first"})
    assert "TF-CD-2026-01: the priority must be a whole number from 1, such as 3 (first is not)" in _text(refused)
