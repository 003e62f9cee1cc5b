"""The internal claims dashboard (/claims/dashboard, issue 19): figures by Member State as of a date, the claims
behind each number, the stalled claims and their CSV. Every expected value below is worked out by hand.

Seven claims in CD, one in CF; the figures as of 30 June 2025 (stalled: no step for more than 90 days, so a
latest step on or before 31 March 2025).

  child          MS  steps (in force)                                                  as of 2025-06-30
  CD-C-00001-1   PK  received 01-10, notified 01-20, DNA sample 02-09                   at DNA sample, stalled (141 d)
  CD-C-00002-1   PK  received 03-01, notified 03-31, DNA sample 05-01, [result 07-15]  at DNA sample (60 d): the
                                                                                       result is after `to`
  CD-C-00003-1   PK  received 2024-10-01, notified 10-11, sample 11-01, result 12-01,  at support ordered, stalled
                     established 2025-01-15, support ordered 03-01                     (121 d)
  CD-C-00004-1   UY  received 02-01, withdrawn 02-20                                   closed (withdrawn)
  CD-C-00005-1   UY  received 06-01 (a notified step of 06-10 corrected away)          at received (29 d)
  CD-C-00006-1   UY  received 07-10                                                    not received yet
  CD-C-00007-1   UY  received 2024-12-01, notified 12-21, sample 2025-01-10,           closed (not established)
                     result 02-01, not established 03-01
  CF-C-00008-1   NP  received 01-01                                                    received, stalled (180 d)

Medians (days): received → notified: PK 10, 30, 10 → 10.0; UY 20 → 20.0; all 10, 10, 20, 30 → 15.0.
notified → DNA sample: PK 20, 31, 21 → 21.0; UY 20 → 20.0; all 20, 20, 21, 31 → 20.5. DNA sample → result:
PK 30 → 30.0; UY 22 → 22.0; all → 26.0. Established → support ordered: PK 45 → 45.0; UY none → "—".
"""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from tests import factories
from tracker.extensions import db
from tracker.models import AuditEvent, ClaimStep, PaternityClaim

TO = "2025-06-30"
ONE, TWO, THREE, FOUR, FIVE, SIX, SEVEN = (f"CD-C-0000{n}-1" for n in range(1, 8))
EIGHT = "CF-C-00008-1"

D = dt.date
CLAIMS = [
    ("CD", 1, "PK", [("received", D(2025, 1, 10)), ("notified_to_member_state", D(2025, 1, 20)),
                     ("dna_sample_collected", D(2025, 2, 9))]),
    ("CD", 2, "PK", [("received", D(2025, 3, 1)), ("notified_to_member_state", D(2025, 3, 31)),
                     ("dna_sample_collected", D(2025, 5, 1)), ("dna_result_received", D(2025, 7, 15))]),
    ("CD", 3, "PK", [("received", D(2024, 10, 1)), ("notified_to_member_state", D(2024, 10, 11)),
                     ("dna_sample_collected", D(2024, 11, 1)), ("dna_result_received", D(2024, 12, 1)),
                     ("paternity_established", D(2025, 1, 15)), ("support_ordered", D(2025, 3, 1))]),
    ("CD", 4, "UY", [("received", D(2025, 2, 1)), ("withdrawn", D(2025, 2, 20))]),
    ("CD", 5, "UY", [("received", D(2025, 6, 1))]),
    ("CD", 6, "UY", [("received", D(2025, 7, 10))]),
    ("CD", 7, "UY", [("received", D(2024, 12, 1)), ("notified_to_member_state", D(2024, 12, 21)),
                     ("dna_sample_collected", D(2025, 1, 10)), ("dna_result_received", D(2025, 2, 1)),
                     ("not_established", D(2025, 3, 1))]),
    ("CF", 8, "NP", [("received", D(2025, 1, 1))]),
]


@pytest.fixture
def claims(app):
    with app.app_context(), factories.one_commit():
        projects = {c: factories.ProjectFactory(code=f"TF-{c}-2025-01", country=c) for c in ("CD", "CF")}
        for country, number, state, steps in CLAIMS:
            mother = factories.BeneficiaryFactory(project=projects[country], number=number)
            child = factories.ChildFactory(mother=mother, number=1)
            rows = [ClaimStep(step=step, occurred_on=on) for step, on in steps]
            if number == 5:  # a step corrected away: superseded, it counts for nothing
                rows.append(ClaimStep(step="notified_to_member_state", occurred_on=D(2025, 6, 10),
                                      superseded_at=dt.datetime(2025, 6, 11, tzinfo=dt.UTC),
                                      correction_reason="wrong claim"))
            status, status_on = steps[-1]
            factories.PaternityClaimFactory(child=child, member_state=state, status=status, status_on=status_on,
                                            steps=rows)
    with app.app_context():
        ids = dict(db.session.execute(select(PaternityClaim.child_id, PaternityClaim.id)).all())
        db.session.remove()
    return ids


@pytest.fixture
def cd_manager(sign_in):
    return sign_in(role="manager", email="manager.cd@example.org", countries=["CD"])


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def row_cells(body: str, name: str, tag: str = "th") -> list[str]:
    """The cells' texts of the dashboard's row headed ``name`` (a Member State's, or "Total")."""
    found = re.search(rf'<tr><{tag} scope="row">{re.escape(name)}\b.*?</tr>', body, re.S)
    assert found, f"no row {name}"
    return [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", found.group(0), re.S)]


# received, open, stalled | open at: received, notified, sample, result, established, legally recognised, support
# ordered | outcomes: established, not established, withdrawn, support paid | the four medians
PAKISTAN = ["3", "3", "2", "0", "0", "2", "0", "0", "0", "1", "1", "0", "0", "0", "10.0", "21.0", "30.0", "45.0"]
URUGUAY = ["3", "1", "0", "1", "0", "0", "0", "0", "0", "0", "0", "1", "1", "0", "20.0", "20.0", "22.0", "—"]
TOTAL = ["6", "4", "2", "1", "0", "2", "0", "0", "0", "1", "1", "1", "1", "0", "15.0", "20.5", "26.0", "45.0"]


def codes(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    return re.findall(r'<a href="/claims/\d+">([A-Z]{2}-C-[\d-]+)</a>', response.get_data(as_text=True))


def test_the_dashboard_counts_each_member_state_and_the_total(claims, cd_manager):
    response = cd_manager.get(f"/claims/dashboard?to={TO}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert row_cells(body, "Pakistan") == PAKISTAN
    assert row_cells(body, "Uruguay") == URUGUAY
    assert row_cells(body, "Total") == TOTAL
    assert "as of 30 June 2025" in text(body)
    assert "Stalled = no step for more than 90 days." in text(body)
    # Each non-zero count links to its claims, with the date; a zero is no link.
    assert (f'href="/claims/dashboard/claims?to={TO}&amp;measure=open_by_step&amp;member_state=PK'
            f'&amp;step=dna_sample_collected">2</a>') in body
    assert f'href="/claims/dashboard/claims?to={TO}&amp;measure=stalled">2</a>' in body
    # The member states in the reader's language, their codes beside them; the table's grouped headings.
    assert re.search(r'<th scope="row">Pakistan <small class="code-aside">PK</small></th>', body)
    assert re.findall(r'<th scope="colgroup" colspan="(\d)"[^>]*>([^<]+)</th>', body) == [
        ("7", "Open claims by step"), ("4", "Outcomes reached"), ("4", "Median days")]


def test_the_stalled_claims_by_member_state_longest_waiting_first(claims, cd_manager):
    body = cd_manager.get(f"/claims/dashboard?to={TO}").get_data(as_text=True)
    stalled = body[body.index('id="stalled-h"'):]
    assert re.findall(r'<th scope="rowgroup" colspan="4" id="stalled-(\w+)">', stalled) == ["PK"]
    rows = [text(r) for r in re.findall(r"<tr><td>(.*?)</tr>", stalled, re.S)]
    assert rows == [f"{ONE} DNA sample collected Feb 9, 2025 141", f"{THREE} Support ordered Mar 1, 2025 121"]
    assert f'href="/claims/dashboard/stalled.csv?to={TO}"' in stalled


def test_the_dashboard_in_french(claims, cd_manager):
    cd_manager.post("/account/language", data={"locale": "fr"})
    body = cd_manager.get(f"/claims/dashboard?to={TO}").get_data(as_text=True)
    assert row_cells(body, "Pakistan")[-4:] == ["10,0", "21,0", "30,0", "45,0"]
    assert "au 30 juin 2025" in text(body)
    assert "Uruguay" in body and "ADN" in text(body)


def test_a_manager_sees_the_claims_of_their_countries_only(claims, cd_manager, sign_in, manager_client):
    body = cd_manager.get(f"/claims/dashboard?to={TO}").get_data(as_text=True)
    assert "Nepal" not in body and EIGHT not in body
    cf = sign_in(role="manager", email="manager.cf@example.org", countries=["CF"])
    body = cf.get(f"/claims/dashboard?to={TO}").get_data(as_text=True)
    assert "Pakistan" not in body and "Uruguay" not in body
    assert row_cells(body, "Nepal")[:3] == ["1", "1", "1"]
    assert codes(cf.get(f"/claims/dashboard/claims?to={TO}&measure=received")) == [EIGHT]
    assert codes(cf.get(f"/claims/dashboard/claims?to={TO}&measure=received&member_state=PK")) == []
    # A manager of both countries, and an administrator, see both.
    assert row_cells(manager_client.get(f"/claims/dashboard?to={TO}").get_data(as_text=True), "Total")[0] == "7"


def test_an_administrator_sees_every_country_and_staff_are_refused(claims, admin_client, staff_client):
    assert row_cells(admin_client.get(f"/claims/dashboard?to={TO}").get_data(as_text=True), "Total")[0] == "7"
    for url in ("/claims/dashboard", f"/claims/dashboard/claims?to={TO}&measure=open",
                f"/claims/dashboard/stalled.csv?to={TO}"):
        assert staff_client.get(url).status_code == 403


def test_a_later_date_follows_the_steps_after_the_first(claims, cd_manager):
    """As of 31 July 2025 the DNA result of TWO (15 July) and the claim SIX (received 10 July) count."""
    body = cd_manager.get("/claims/dashboard?to=2025-07-31").get_data(as_text=True)
    pakistan = row_cells(body, "Pakistan")
    assert pakistan[:3] == ["3", "3", "2"] and pakistan[5:7] == ["1", "1"]  # one at DNA sample, one at result
    assert pakistan[-2] == "52.5"  # DNA sample → result: 30 days (THREE) and 75 (TWO)
    assert codes(cd_manager.get("/claims/dashboard/claims?to=2025-07-31&measure=open_by_step&member_state=PK"
                                "&step=dna_result_received")) == [TWO]
    assert codes(cd_manager.get(f"/claims/dashboard/claims?to={TO}&measure=open_by_step&member_state=PK"
                                "&step=dna_result_received")) == []
    assert row_cells(body, "Uruguay")[0] == "4"


def test_the_claims_behind_a_number(claims, cd_manager):
    def behind(query):
        return codes(cd_manager.get(f"/claims/dashboard/claims?to={TO}&{query}"))

    # Longest waiting first: by the date of the latest step.
    assert behind("measure=open_by_step&member_state=PK&step=dna_sample_collected") == [ONE, TWO]
    assert behind("measure=open_by_step&step=received") == [FIVE]
    assert behind("measure=stalled") == [ONE, THREE]
    assert behind("measure=stalled&member_state=UY") == []
    assert behind("measure=open&member_state=UY") == [FIVE]
    assert behind("measure=outcomes&member_state=UY&step=withdrawn") == [FOUR]
    assert behind("measure=outcomes&step=paternity_established") == [THREE]
    assert behind("measure=outcomes&step=not_established") == [SEVEN]
    assert behind("measure=received&member_state=UY") == [FIVE, FOUR, SEVEN]  # open first, then closed by date
    assert SIX not in behind("measure=received")


def test_the_list_behind_a_number_says_what_it_is(claims, cd_manager):
    response = cd_manager.get(f"/claims/dashboard/claims?to={TO}&measure=open_by_step&member_state=PK"
                              "&step=dna_sample_collected")
    body = response.get_data(as_text=True)
    assert "<h1>Open claims at DNA sample collected, Pakistan, as of 30 June 2025</h1>" in body
    assert f'<a href="/claims/dashboard?to={TO}">Back to the claims dashboard as of 30 June 2025</a>' in body
    assert "2 claims" in text(body)
    rows = [text(r) for r in re.findall(r"<tr[^>]*>\s*<td data-label[^>]*>(.*?)</tr>", body, re.S)]
    assert rows == [f"{ONE} Pakistan PK DNA sample collected Feb 9, 2025 141 Jan 10, 2025",
                    f"{TWO} Pakistan PK DNA sample collected May 1, 2025 60 Mar 1, 2025"]
    body = cd_manager.get(f"/claims/dashboard/claims?to={TO}&measure=stalled").get_data(as_text=True)
    assert "<h1>Stalled claims, all Member States, as of 30 June 2025</h1>" in body
    cd_manager.post("/account/language", data={"locale": "fr"})
    body = cd_manager.get(f"/claims/dashboard/claims?to={TO}&measure=outcomes&member_state=UY&step=withdrawn"
                          ).get_data(as_text=True)
    assert "au 30 juin 2025" in text(body) and "Uruguay" in body


@pytest.mark.parametrize("query", [
    "measure=nothing",
    "measure=open_by_step",
    "measure=open_by_step&step=withdrawn",
    "measure=outcomes&step=received",
    "measure=received&step=received",
    "measure=open&member_state=pk",
    "measure=open&member_state=XX",
    "measure=open&to=2025-13-01",
    "measure=open&to=30/06/2025",
    "measure=open&to=2999-01-01",
])
def test_bad_parameters_of_the_list_are_not_found(claims, cd_manager, query):
    assert cd_manager.get(f"/claims/dashboard/claims?{query}").status_code == 404


def test_bad_dates_of_the_csv_are_not_found(claims, cd_manager):
    assert cd_manager.get("/claims/dashboard/stalled.csv?to=2025-02-30").status_code == 404
    assert cd_manager.get("/claims/dashboard/stalled.csv?to=2999-01-01").status_code == 404


def test_a_bad_or_future_date_says_so_and_shows_today(claims, cd_manager):
    for raw, message in (("2025-02-30", "2025-02-30 is not a date in the form YYYY-MM-DD: "),
                         ("2999-01-01", "1 January 2999 is in the future: "),
                         ("1800-01-01", "1 January 1800 is too far in the past: ")):
        response = cd_manager.get(f"/claims/dashboard?to={raw}")
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        error = re.search(r'<p class="error" id="d-to-error">([^<]+)</p>', body)
        assert error and message in html.unescape(error.group(1)) and "as of today" in error.group(1)
        assert 'aria-describedby="d-to-error"' in body
        # Today: every claim received by now counts, SIX included.
        assert row_cells(body, "Total")[0] == "7"


def test_the_stalled_csv_and_its_audit(app, claims, cd_manager):
    response = cd_manager.get(f"/claims/dashboard/stalled.csv?to={TO}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.get_data(as_text=True) == (
        "\ufeffmember_state,child_code,step,step_on,days_waiting,received_on\r\n"
        f"PK,{ONE},dna_sample_collected,2025-02-09,141,2025-01-10\r\n"
        f"PK,{THREE},support_ordered,2025-03-01,121,2024-10-01\r\n")
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
        assert (event.entity, event.changes) == ("paternity_claims", {"rows": 2, "list": "stalled", "to": TO})
        db.session.remove()


def test_the_chart_and_its_numbers(claims, cd_manager):
    body = cd_manager.get(f"/claims/dashboard?to={TO}").get_data(as_text=True)
    chart = body[body.index('<svg'):body.index('</svg>')]
    assert "<title id=\"c-open-steps-t\">Open claims by step, at each month&#39;s end</title>" in chart
    assert "style" not in chart
    numbers = body[body.index('id="months-caption"'):body.index('id="stalled-h"')]
    rows = [text(r) for r in re.findall(r"<tr><th scope=\"row\"[^>]*>(.*?)</tr>", numbers, re.S)]
    assert len(rows) == 12
    # 31 January 2025: ONE notified (01-20), SEVEN at DNA sample (01-10), THREE established (01-15); EIGHT is
    # not the manager's.
    assert "Jan 31, 2025 0 1 1 0 1 0 0 3" in rows
    # The last column is the month so far, as of 30 June 2025: FIVE received, ONE and TWO at DNA sample, THREE at
    # support ordered.
    assert rows[-1] == "Jun 30, 2025 1 0 2 0 0 0 1 4"


def test_the_claims_list_and_the_menu_link_to_the_dashboard(claims, cd_manager, staff_client):
    body = cd_manager.get("/claims/").get_data(as_text=True)
    assert 'href="/claims/dashboard"' in body
    body = cd_manager.get("/claims/dashboard").get_data(as_text=True)
    assert body.count('href="/claims/dashboard" aria-current="page"') == 2  # the bar and the phone's menu
    assert 'href="/claims/" aria-current="page"' not in body
    assert "/claims/dashboard" not in staff_client.get("/claims/").get_data(as_text=True)


def test_the_chart_stacks_the_open_claims_by_step(app):
    """Each month's column: one part per step with claims (received at the bottom), its total above it."""
    from tracker.registry.claim_charts import open_by_step_chart
    from tracker.registry.claim_figures import OPEN_STEPS

    counts = [dict.fromkeys(OPEN_STEPS, 0) for _ in range(3)]
    counts[0].update(received=1, dna_sample_collected=2)
    counts[2].update(support_ordered=1)
    with app.test_request_context():
        chart = open_by_step_chart([(D(2024, 12, 31), counts[0]), (D(2025, 1, 31), counts[1]),
                                    (D(2025, 2, 14), counts[2])], D(2025, 2, 14))
        empty = open_by_step_chart([(D(2025, 1, 31), counts[1])], D(2025, 1, 31))
    assert chart.text_of("legend") == ["Received", "Notified to the Member State", "DNA sample collected",
                                       "DNA result received", "Paternity established", "Legally recognised",
                                       "Support ordered"]
    assert chart.text_of("value") == ["3", "0", "1"]
    bars = chart.bars()
    assert [b.title for b in bars] == ["Dec · Received: 1", "Dec · DNA sample collected: 2",
                                       "Feb · Support ordered: 1"]
    # Stacked: the DNA sample part sits on the received part, twice as tall; the year under January only (Dec
    # and Jan side by side would run into each other).
    received, sample = bars[0], bars[1]
    assert sample.y + sample.height == pytest.approx(received.y, abs=0.2)
    assert sample.height == pytest.approx(2 * received.height, abs=0.2)
    assert [t.text for t in chart.texts if t.kind == "label"] == ["Dec", "Jan", "2025", "Feb"]
    assert empty.bars() == [] and empty.text_of("empty") == ["No claim was open at any of these month ends."]
