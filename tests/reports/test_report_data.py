"""What a donor report says, worked out by hand on small data: the ask, the country pages, the donors, the results.

The period is 1 January to 15 October 2025 (academic year 2025-2026). The data:

- project A (DR Congo): budget 2025 medical 5,000.00 + school fees 300.00 = need 5,300.00; allocated 400.00
  on 1 February 2025; three children, one term of 150.00 USD each still unpaid; nothing paid.
  Balance 400.00. Walk: 150.00 and 300.00 fit, 450.00 does not: 1 child at risk; to keep every child in
  school next term it needs 450.00 − 400.00 = 50.00. Gap 4,900.00.
- project B (DR Congo): 100.00 allocated on 1 June 2024, nothing else: nothing in the period (inactive),
  balance 100.00.
- project C (Liberia): budget 2025 legal 500.00, allocated 500.00 on 1 March 2025, paid 100.00 on
  5 May 2025: gap 0.00.
- donor X: pledge P0 500.00 (10 January 2024) paid in full on 1 February 2024; pledge P1 300.00
  (1 June 2024) unpaid; pledge P2 1,000.00 (1 March 2025) with 600.00 received on 1 April 2025.
  Donor Y gave 2,000.00 on 1 May 2024, donor Z 300.00 on 1 June 2025.

Totals: need 5,800.00, allocated 900.00, gap 4,900.00. The Fund on 15 October 2025: received
500 + 600 + 2,000 + 300 = 3,400.00; allocated 400 + 100 + 500 = 1,000.00; unallocated 2,400.00; pledges
still owed 300.00 + 400.00 = 700.00; still to find = 4,900 − 2,400 − 700 = 1,800.00, so money in hand and
pledges cover 3,100.00 of the gap.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from flask_babel import force_locale

from tests import factories
from tracker.errors import Invalid
from tracker.reports import archive
from tracker.reports.data import build_report
from tracker.reports.render import report_html
from tracker.reports.results import Grouping, Spec, mostly_hidden, publish
from tracker.reports.suppression import suppress

FROM, TO = dt.date(2025, 1, 1), dt.date(2025, 10, 15)


@pytest.fixture
def data(db):
    clerk = factories.UserFactory(role="staff", countries=["CD", "LR"]).id
    a = factories.ProjectFactory(code="TF-CD-2025-01", country="CD", title="Schooling in Goma",
                                 title_fr="Scolarité à Goma")
    b = factories.ProjectFactory(code="TF-CD-2023-01", country="CD", title="Past support, Bunia")
    c = factories.ProjectFactory(code="TF-LR-2025-01", country="LR", title="Legal aid, Monrovia",
                                 title_fr="Aide juridique, Monrovia")
    factories.BudgetLineFactory(project=a, year=2025, category="medical", amount_usd=D("5000.00"))
    factories.BudgetLineFactory(project=a, year=2025, category="school_fees", amount_usd=D("300.00"))
    factories.AllocationFactory(project=a, amount_usd=D("400.00"), allocated_on=dt.date(2025, 2, 1))
    for _n in range(3):
        mother = factories.BeneficiaryFactory(project=a)
        child = factories.ChildFactory(mother=mother)
        factories.EnrolmentFactory(child=child, academic_year="2025-2026", fee_per_term=D("150.00"),
                                   currency="USD", terms=1)
    factories.AllocationFactory(project=b, amount_usd=D("100.00"), allocated_on=dt.date(2024, 6, 1))
    factories.BudgetLineFactory(project=c, year=2025, category="legal", amount_usd=D("500.00"))
    factories.AllocationFactory(project=c, amount_usd=D("500.00"), allocated_on=dt.date(2025, 3, 1))
    factories.DisbursementFactory(
        beneficiary=factories.BeneficiaryFactory(project=c), category="legal", amount=D("100.00"), currency="USD",
        status="paid", usd_amount=D("100.00"), usd_rate=D("1"), paid_on=dt.date(2025, 5, 5),
        payment_reference="VIR-1", entered_by_id=clerk)
    x = factories.DonorFactory(name="Kingdom of Testland", name_fr="Royaume de Testland")
    p0 = factories.PledgeFactory(donor=x, reference="PL-X-0", amount=D("500.00"), pledged_on=dt.date(2024, 1, 10))
    factories.ContributionFactory(pledge=p0, reference="CO-X-0", amount=D("500.00"), received_on=dt.date(2024, 2, 1))
    factories.PledgeFactory(donor=x, reference="PL-X-1", amount=D("300.00"), pledged_on=dt.date(2024, 6, 1),
                            project=c)
    p2 = factories.PledgeFactory(donor=x, reference="PL-X-2", amount=D("1000.00"), pledged_on=dt.date(2025, 3, 1))
    factories.ContributionFactory(pledge=p2, reference="CO-X-2", amount=D("600.00"), received_on=dt.date(2025, 4, 1))
    factories.ContributionFactory(donor=factories.DonorFactory(name="Republic of Elsewhere"), reference="CO-Y",
                                  amount=D("2000.00"), received_on=dt.date(2024, 5, 1))
    factories.ContributionFactory(donor=factories.DonorFactory(name="Foundation Zed", name_fr="Fondation Zed"),
                                  reference="CO-Z", amount=D("300.00"), received_on=dt.date(2025, 6, 1))
    return x


def report(lang="en", donor=None, scope="fund"):
    with force_locale(lang):
        return build_report(scope=scope, date_from=FROM, date_to=TO, lang=lang, donor=donor)


def test_the_ask_ties_the_gap_to_children(app, data):
    with app.test_request_context():
        r = report()
    t = r.picture.totals
    assert (t.need, t.allocated, t.gap, t.uncovered_gap) == (D("5800.00"), D("900.00"), D("4900.00"), D("1800.00"))
    assert t.children_at_risk == 1 and t.at_risk_cost == D("50.00")
    # One child is a count of 1 to 9: published as "fewer than 10".
    assert r.ask.sentence == ("$50 keeps fewer than 10 children in school next term; "
                              "$4,850 more closes the gap of 2025.")
    assert r.ask.cover == ("If the pledges still owed are paid, $3,100 of the gap is covered by money in hand and "
                           "pledges; $1,800 is still to find from new pledges.")
    assert [(label, amount) for label, amount, _note in r.ask.headline] == [
        ("Need in 2025", D("5800.00")), ("Allocated", D("900.00")), ("Gap", D("4900.00")),
        ("Still to find", D("1800.00"))]
    assert r.children_at_risk == "<10"


def test_the_ask_in_french(app, data):
    with app.test_request_context():
        r = report("fr")
    assert r.ask.sentence == ("50\u00a0$US permettent de garder moins de 10\u00a0enfants à l'école au prochain "
                              "trimestre\u202f; 4\u202f850\u00a0$US de plus comblent le déficit de 2025.")


def test_an_inactive_project_goes_into_its_country_short_table(app, data):
    with app.test_request_context():
        r = report()
    pages = {c.code: c for c in r.countries}
    assert list(pages) == ["CD", "LR"]  # Democratic Republic of the Congo, Liberia
    assert [p.code for p in pages["CD"].active] == ["TF-CD-2025-01"]
    assert [(p.code, p.figures.balance) for p in pages["CD"].inactive] == [("TF-CD-2023-01", D("100.00"))]
    assert [p.code for p in pages["LR"].active] == ["TF-LR-2025-01"] and not pages["LR"].inactive
    assert (pages["CD"].figures.need, pages["CD"].figures.gap) == (D("5300.00"), D("4900.00"))


def test_titles_countries_and_donors_are_in_the_report_language(app, data):
    with app.test_request_context():
        fr = report("fr", donor=data)
    assert [c.name for c in fr.countries] == ["Libéria", "République démocratique du Congo"]
    titles = {row.code: row.title for c in fr.countries for row in c.active + c.inactive}
    # A project without a French title keeps its own.
    assert titles == {"TF-CD-2025-01": "Scolarité à Goma", "TF-CD-2023-01": "Past support, Bunia",
                      "TF-LR-2025-01": "Aide juridique, Monrovia"}
    assert fr.addressee.name == "Royaume de Testland"
    assert [d.name for d in fr.donors] == ["Royaume de Testland", "Fondation Zed"]


def test_other_donors_appear_only_by_what_they_gave_in_the_period(app, data):
    with app.test_request_context():
        r = report()
    # Y gave only in 2024; X's 2024 contribution is outside the period too.
    assert [(d.name, d.received) for d in r.donors] == [("Kingdom of Testland", D("600.00")),
                                                       ("Foundation Zed", D("300.00"))]
    assert r.received_in_period == D("900.00")
    assert r.addressee is None


def test_the_addressed_donor_sees_its_pledges_contributions_and_arrears(app, data):
    with app.test_request_context():
        r = report(donor=data)
    a = r.addressee
    # P0 was settled before the period and untouched in it: left out. P1 still owes, P2 was made in the period.
    assert [(p.reference, p.received, p.outstanding, p.earmark) for p in a.pledges] == [
        ("PL-X-1", D("0.00"), D("300.00"), "TF-LR-2025-01"),
        ("PL-X-2", D("600.00"), D("400.00"), "Not earmarked")]
    assert [(c.reference, c.usd, c.pledge) for c in a.contributions] == [("CO-X-2", D("600.00"), "PL-X-2")]
    assert (a.received, a.outstanding) == (D("600.00"), D("700.00"))


def test_a_country_report_has_one_page_and_its_project_rows(app, data):
    with app.test_request_context():
        r = report(scope="country:CD")
    assert [c.code for c in r.countries] == ["CD"]
    # The country's gap 4,900.00 less pledges earmarked for it (none: P1 is Liberia's) = 4,900.00 to find.
    assert r.picture.totals.uncovered_gap == D("4900.00")
    assert r.ask.cover == ("No money in hand or pledge still owed covers this gap: all $4,900 is still to find "
                           "from new pledges.")


# --- the Fund's paternity claims -------------------------------------------------------------------------------------
#
# The report's period ends on 15 October 2025, not a month end: the public figures are as of 30 September 2025.
# A claim is stalled when open and its latest step is before 2 July 2025 (more than 90 days before). All of
# Uruguay's personnel, on a Haitian project (outside a Liberian report's scope):
#
# - 6 claims received on 22 July, notified on 1 August 2025 (10 days); 4 received on 18 July, notified on
#   1 August (14 days): open at "notified", not stalled;
# - 2 received on 10 January, notified on 20 February 2025 (41 days): open at "notified", stalled;
# - 10 received on 1 September 2025: open at "received", not stalled;
# - 1 received on 1 May 2025: open at "received", stalled;
# - 1 received on 1 June, notified on 2 October 2025: on 30 September still at "received" (the later step does
#   not count yet), stalled;
# - 10 received on 1 February, withdrawn on 1 March 2025: closed;
# - 1 received on 5 October 2025: after the public date, not counted.
#
# Received 6 + 4 + 2 + 10 + 1 + 1 + 10 = 34; open 24: 12 at "received" and 12 at "notified"; stalled 4 (2 at
# each), so "<10", and so are the 2 and 2 of each step. Nothing else is small, and the three hidden counts can
# not be worked out from each other (4 = 2 + 2 is known only as "2 to 9 = 1 to 8 + 1 to 8"): nothing more is
# hidden. Outcomes: withdrawn 10. Median days from received to notified over 12 claims (10 × 6, 14 × 4, 41 × 2):
# the 6th and 7th are 10 and 14, so 12.0; the three other transitions have no claim, so no median.

def _claim(child, steps):
    from tracker.models import ClaimStep

    last, last_on = steps[-1]
    factories.PaternityClaimFactory(child=child, member_state="UY", status=last, status_on=last_on,
                                    steps=[ClaimStep(step=step, occurred_on=on) for step, on in steps])


@pytest.fixture
def claims(data):
    project = factories.ProjectFactory(code="TF-HT-2025-01", country="HT")
    d = dt.date
    groups = [
        (6, [("received", d(2025, 7, 22)), ("notified_to_member_state", d(2025, 8, 1))]),
        (4, [("received", d(2025, 7, 18)), ("notified_to_member_state", d(2025, 8, 1))]),
        (2, [("received", d(2025, 1, 10)), ("notified_to_member_state", d(2025, 2, 20))]),
        (10, [("received", d(2025, 9, 1))]),
        (1, [("received", d(2025, 5, 1))]),
        (1, [("received", d(2025, 6, 1)), ("notified_to_member_state", d(2025, 10, 2))]),
        (10, [("received", d(2025, 2, 1)), ("withdrawn", d(2025, 3, 1))]),
        (1, [("received", d(2025, 10, 5))]),
    ]
    codes = []
    with factories.one_commit():
        for count, steps in groups:
            for _n in range(count):
                child = factories.ChildFactory(mother=factories.BeneficiaryFactory(project=project))
                codes.append(child.code)
                _claim(child, steps)
    return codes


def test_the_claims_section_gives_the_funds_public_figures(app, claims):
    with app.test_request_context():
        c = report().claims
    assert c.to == dt.date(2025, 9, 30) and c.stalled_days == 90
    assert c.sentence == "34 claims received; 24 open, of which fewer than 10 stalled: no step for more than 90 days."
    assert c.by_step == [("Received", "12", "<10"), ("Notified to the Member State", "12", "<10"),
                         ("DNA sample collected", "0", "0"), ("DNA result received", "0", "0"),
                         ("Paternity established", "0", "0"), ("Legally recognised", "0", "0"),
                         ("Support ordered", "0", "0")]
    assert (c.open, c.stalled) == ("24", "<10")
    assert c.outcomes == [("Paternity established", "0"), ("Paternity not established", "0"), ("Withdrawn", "10"),
                          ("Support paid", "0")]
    assert c.medians == [("Received", "Notified to the Member State", "12.0"),
                         ("Notified to the Member State", "DNA sample collected", None),
                         ("DNA sample collected", "DNA result received", None),
                         ("Paternity established", "Support ordered", None)]


def test_the_claims_section_is_fund_wide_whatever_the_scope(app, claims):
    with app.test_request_context():
        fund, liberia = report().claims, report(scope="country:LR").claims
    assert liberia == fund


def test_the_claims_section_in_french(app, claims):
    with app.test_request_context():
        c = report("fr").claims
    assert c.sentence == ("34 demandes reçues\u202f; 24 en cours, dont moins de 10 en souffrance\u00a0: aucune étape "
                          "depuis plus de 90\u00a0jours.")
    assert c.by_step[1] == ("Notifiée à l'État Membre", "12", "<10")
    assert c.medians[0][2] == "12,0"


def test_with_no_claim_the_section_says_so(app, data):
    """With no claim at all, every count is 0: nothing to hide, and no median."""
    with app.test_request_context():
        c = report().claims
    assert c.sentence == "No claim had been received."
    assert c.open == c.stalled == "0" and all(m is None for _a, _b, m in c.medians)


def test_the_claims_section_in_the_report_names_no_claim(app, claims):
    """The section and its footnote are in the report; no child's code is anywhere in it."""
    with app.test_request_context():
        html = report_html(report(), for_pdf=True)
    assert "Paternity claims across the Fund" in html
    assert "All of the Fund's claims, in every country, as of September 30, 2025." in html
    assert "—: fewer than 10 claims have both steps, too few for a median." in html
    assert not [code for code in claims if code in html]


# --- the verification address ---------------------------------------------------------------------------------------

def test_the_verification_address_comes_from_public_base_url(app):
    app.config["PUBLIC_BASE_URL"] = "https://tracker.example.org"
    with app.test_request_context(base_url="http://127.0.0.1:5000"):
        assert archive.verify_url() == "https://tracker.example.org/verify"
    app.config["PUBLIC_BASE_URL"] = None
    with app.test_request_context():
        # Outside production only: the app's own address (the test configuration's SERVER_NAME).
        assert archive.verify_url() == "http://localhost/verify"


def test_production_issues_no_report_without_public_base_url(app, db):
    app.config.update(PUBLIC_BASE_URL=None, ENV_NAME="production")
    manager = factories.UserFactory(role="manager", countries=["CD"])
    with app.test_request_context(), pytest.raises(Invalid, match="PUBLIC_BASE_URL"):
        archive.issue_report(scope="country:CD", date_from=FROM, date_to=TO, lang="en", donor=None, user=manager)
    from sqlalchemy import func, select

    from tracker.models import IssuedReport
    assert db.session.scalar(select(func.count()).select_from(IssuedReport)) == 0  # no number taken


def test_a_malformed_public_base_url_stops_the_start():
    from config import FROM_ENVIRONMENT

    parse = FROM_ENVIRONMENT["PUBLIC_BASE_URL"][1]
    assert parse("PUBLIC_BASE_URL", "https://tracker.example.org/") == "https://tracker.example.org"
    for bad in ("tracker.example.org", "ftp://tracker.example.org", "https://tracker.example.org/?x=1"):
        with pytest.raises(SystemExit, match="PUBLIC_BASE_URL"):
            parse("PUBLIC_BASE_URL", bad)


# --- merging categories where suppression would blank a table -----------------------------------------------------

CLAIMS = Spec("claims", "Claims", "", (
    Grouping((("received",), ("dna",), ("paid",)), ("Received", "DNA", "Paid")),
    Grouping((("received", "dna"), ("paid",)), ("Open", "Closed")),
    Grouping((("received", "dna", "paid"),), ("Claims",)),
))


def test_mostly_hidden_counts_the_hidden_among_the_non_zero_cells():
    # The 3 is small; it can move only round a 2 x 2 block of hidden cells, the cheapest being 12, 15 and 11:
    # 4 hidden of 8 non-zero cells is not more than half (zeros are shown and do not count).
    table = suppress([[12, 3, 0], [15, 11, 0], [20, 30, 0], [25, 40, 0]], min_cell=10)
    hidden = [[c.hidden for c in row] for row in table.cells]
    assert hidden == [[True, True, False], [True, True, False], [False, False, False], [False, False, False]]
    assert not mostly_hidden(table)
    assert mostly_hidden(suppress([[4, 3, 12]], min_cell=10))  # 4 and 3 small, 12 then hidden too: 3 of 3


def test_a_table_with_its_categories_shown_when_suppression_leaves_it_readable():
    counts = {(0, "received"): 20, (0, "dna"): 12, (0, "paid"): 30, (1, "received"): 14, (1, "dna"): 11,
              (1, "paid"): 25}
    t = publish(CLAIMS, ["Haiti", "Liberia"], counts, "All countries", 10)
    assert t.merged == "" and t.column_labels == ["Received", "DNA", "Paid"]
    assert [[c.value for c in row] for row in t.table.cells] == [[20, 12, 30], [14, 11, 25]]


def test_categories_are_merged_first_then_rows():
    # By step, Haiti [4, 3, 12] and Liberia [5, 2, 11]: four of six cells are below 10, more than half hidden.
    # Open/closed: Haiti [7, 12], Liberia [7, 11]: the 7s are small, and 12 and 11 must go with them (each 7
    # is its row's total less the other cell): all hidden. One column: Haiti 19, Liberia 18, all shown.
    counts = {(0, "received"): 4, (0, "dna"): 3, (0, "paid"): 12, (1, "received"): 5, (1, "dna"): 2,
              (1, "paid"): 11}
    t = publish(CLAIMS, ["Haiti", "Liberia"], counts, "All countries", 10)
    assert t.merged == "columns" and t.column_labels == ["Claims"]
    assert [[c.value for c in row] for row in t.table.cells] == [[19], [18]]
    assert t.by_row


def test_rows_are_added_together_when_merging_categories_is_not_enough():
    # Each country has fewer than 10 claims in all (9 and 8): no column merge helps. Added together, by step
    # [9, 5, 3]: all small; open/closed [14, 3]: the 3 is small and the 14 is the total less it, so both go;
    # in all: 17 claims, shown.
    counts = {(0, "received"): 4, (0, "dna"): 3, (0, "paid"): 2, (1, "received"): 5, (1, "dna"): 2,
              (1, "paid"): 1}
    t = publish(CLAIMS, ["Haiti", "Liberia"], counts, "All countries", 10)
    assert t.merged == "both" and t.row_labels == ["All countries"] and t.column_labels == ["Claims"]
    assert t.table.cells[0][0].value == 17 and not t.by_row


def test_rows_first_keeps_the_categories_of_a_table_about_outcomes():
    spec = Spec("results", "Results", "", (
        Grouping((("profit",), ("loss",)), ("Profit", "Loss")), Grouping((("profit", "loss"),), ("Reporting",))),
        rows_first=True)
    counts = {(0, "profit"): 8, (0, "loss"): 4, (1, "profit"): 9, (1, "loss"): 7}
    t = publish(spec, ["Haiti", "Liberia"], counts, "All countries", 10)
    # All countries: profit 17, loss 11: shown, with the categories that are the point of the table.
    assert t.merged == "rows" and t.column_labels == ["Profit", "Loss"]
    assert [c.value for c in t.table.cells[0]] == [17, 11]
