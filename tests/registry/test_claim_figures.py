"""The claims dashboard's figures (DESIGN section 3, "Paternity claims by Member State"), worked out by hand.

As of 30 June 2026, CLAIM_STALLED_DAYS 90. Dates are of the steps in force; "was" marks a corrected step.

    child          MS  in  steps                                                    as of 30 June
    CD-C-00001-1   PK  CD  received 01-10, notified 02-09, dna_sample 03-01         open, dna_sample, 121 days: stalled
    CD-C-00002-1   PK  CD  received 02-01, notified 02-11, dna_sample 06-20,
                           dna_result 07-05                                         open, dna_sample (07-05 is later)
    CD-C-00003-1   PK  CD  received 04-01, notified 04-15 (was 04-05)               open, notified, 76 days
    CD-C-00004-1   PK  CD  received 01-05, notified 01-10, dna_sample 01-20,
                           dna_result 02-20, not_established 03-01                  final: not_established
    CD-C-00005-1   UY  CD  received 2025-10-01, notified 2025-11-01,
                           dna_sample 2025-12-01, dna_result 2026-01-15,
                           paternity_established 02-01, support_ordered 05-02       open, support_ordered, 59 days
    CD-C-00006-1   UY  CD  received 01-01, withdrawn 02-01 (was not_established)    final: withdrawn
    CD-C-00007-1   UY  CD  received 04-01                                           open, 90 days: not stalled
    CD-C-00008-1   UY  CD  received 03-31                                           open, 91 days: stalled
    CD-C-00009-1   UY  CD  received 07-01                                           after to: not counted
    CD-C-00010-1   UY  CD  received 2025-09-01, notified 09-11, dna_sample 10-11,
                           dna_result 11-10, paternity_established 12-01,
                           legally_recognised 12-15, support_ordered 2026-01-10,
                           support_paid 03-01                                       final: support_paid
    CF-C-00011-1   PK  CF  received 01-01                                           open, stalled (CF only)

Days of the transitions (claims in CD):
    received→notified:          PK 30, 10, 14 (not 4: corrected), 5; UY 31, 10
    notified→dna_sample:        PK 20, 129, 10;                      UY 30, 30
    dna_sample→dna_result:      PK 31 (02's result is after to);     UY 45, 30
    established→support_ordered:                                     UY 90, 40
"""
from __future__ import annotations

import datetime as dt

import pytest

from tests import factories
from tracker.registry.claim_figures import (
    claim_facts,
    claims_behind,
    median_days,
    month_ends,
    open_by_step_over_time,
    summarise,
    summary_json,
)

D = dt.date
TO = D(2026, 6, 30)
N, DS, DR, PE = "notified_to_member_state", "dna_sample_collected", "dna_result_received", "paternity_established"

# (country, number, Member State, [(step, date)], [(superseded step, date)])
CLAIMS = [
    ("CD", 1, "PK", [("received", D(2026, 1, 10)), (N, D(2026, 2, 9)), (DS, D(2026, 3, 1))], []),
    ("CD", 2, "PK", [("received", D(2026, 2, 1)), (N, D(2026, 2, 11)), (DS, D(2026, 6, 20)), (DR, D(2026, 7, 5))], []),
    ("CD", 3, "PK", [("received", D(2026, 4, 1)), (N, D(2026, 4, 15))], [(N, D(2026, 4, 5))]),
    ("CD", 4, "PK", [("received", D(2026, 1, 5)), (N, D(2026, 1, 10)), (DS, D(2026, 1, 20)), (DR, D(2026, 2, 20)),
                     ("not_established", D(2026, 3, 1))], []),
    ("CD", 5, "UY", [("received", D(2025, 10, 1)), (N, D(2025, 11, 1)), (DS, D(2025, 12, 1)), (DR, D(2026, 1, 15)),
                     (PE, D(2026, 2, 1)), ("support_ordered", D(2026, 5, 2))], []),
    ("CD", 6, "UY", [("received", D(2026, 1, 1)), ("withdrawn", D(2026, 2, 1))], [("not_established", D(2026, 2, 1))]),
    ("CD", 7, "UY", [("received", D(2026, 4, 1))], []),
    ("CD", 8, "UY", [("received", D(2026, 3, 31))], []),
    ("CD", 9, "UY", [("received", D(2026, 7, 1))], []),
    ("CD", 10, "UY", [("received", D(2025, 9, 1)), (N, D(2025, 9, 11)), (DS, D(2025, 10, 11)), (DR, D(2025, 11, 10)),
                      (PE, D(2025, 12, 1)), ("legally_recognised", D(2025, 12, 15)),
                      ("support_ordered", D(2026, 1, 10)), ("support_paid", D(2026, 3, 1))], []),
    ("CF", 11, "PK", [("received", D(2026, 1, 1))], []),
]


@pytest.fixture
def claims(app):
    with app.app_context(), factories.one_commit():
        projects = {c: factories.ProjectFactory(code=f"TF-{c}-2025-01", country=c) for c in ("CD", "CF")}
        for country, number, state, steps, superseded in CLAIMS:
            factories.claim_with_steps(projects[country], number, state, steps, superseded)


def figures_of(countries=("CD",), to=TO):
    return summary_json(summarise(claim_facts(to, countries), to, 90))


def test_current_step_counts_and_stalled_by_member_state(claims, ctx):
    data = figures_of()
    assert [row["member_state"] for row in data["member_states"]] == ["PK", "UY"]
    pk, uy = data["member_states"]
    assert (pk["received"], pk["open"], pk["stalled"]) == (4, 3, 1)
    assert {k: v for k, v in pk["open_by_step"].items() if v} == {DS: 2, N: 1}
    assert {k: v for k, v in pk["stalled_by_step"].items() if v} == {DS: 1}
    assert pk["outcomes"] == {PE: 0, "not_established": 1, "withdrawn": 0, "support_paid": 0}
    # 07 waited exactly 90 days (not stalled), 08 91 (stalled); 09 was received after to.
    assert (uy["received"], uy["open"], uy["stalled"]) == (5, 3, 1)
    assert {k: v for k, v in uy["open_by_step"].items() if v} == {"received": 2, "support_ordered": 1}
    assert {k: v for k, v in uy["stalled_by_step"].items() if v} == {"received": 1}
    # 06's not_established was corrected to withdrawn; 10 reached paternity_established and then support_paid.
    assert uy["outcomes"] == {PE: 2, "not_established": 0, "withdrawn": 1, "support_paid": 1}
    totals = data["totals"]
    assert (totals["received"], totals["open"], totals["stalled"]) == (9, 6, 2)
    assert {k: v for k, v in totals["open_by_step"].items() if v} == {"received": 2, N: 1, DS: 2, "support_ordered": 1}
    assert totals["outcomes"] == {PE: 2, "not_established": 1, "withdrawn": 1, "support_paid": 1}


def test_medians_over_odd_and_even_counts_with_corrections_and_later_steps_ignored(claims, ctx):
    data = figures_of()
    pk, uy = data["member_states"]
    # PK received→notified: 5, 10, 14, 30 (the corrected 04-05 would make 4) → (10 + 14) / 2.
    assert pk["median_days"] == {f"received→{N}": 12.0, f"{N}→{DS}": 20.0, f"{DS}→{DR}": 31.0,
                                 f"{PE}→support_ordered": None}
    assert uy["median_days"] == {f"received→{N}": 20.5, f"{N}→{DS}": 30.0, f"{DS}→{DR}": 37.5,
                                 f"{PE}→support_ordered": 65.0}
    # All: 5, 10, 10, 14, 30, 31 → 12.0; 10, 20, 30, 30, 129 → 30.0; 30, 31, 45 → 31.0; 40, 90 → 65.0.
    assert data["totals"]["median_days"] == {f"received→{N}": 12.0, f"{N}→{DS}": 30.0, f"{DS}→{DR}": 31.0,
                                             f"{PE}→support_ordered": 65.0}


def test_the_scope_is_the_countries_given(claims, ctx):
    everywhere = figures_of(countries=None)
    pk = everywhere["member_states"][0]
    assert (pk["received"], pk["open"], pk["stalled"], pk["stalled_by_step"]["received"]) == (5, 4, 2, 1)
    assert figures_of(countries=["CF"])["totals"]["received"] == 1
    assert figures_of(countries=[])["member_states"] == []


def test_an_earlier_to_sees_the_claims_as_they_were(claims, ctx):
    # 15 February 2026: 01 and 02 at notified (02-09, 02-11); 04 at dna_sample (its dna_result, 02-20, is later);
    # 03, 07, 08 not received yet; 06 withdrawn 02-01; 05 at paternity_established (02-01); 10 at support_ordered
    # (01-10; support_paid, 03-01, is later).
    data = figures_of(to=D(2026, 2, 15))
    pk, uy = data["member_states"]
    assert (pk["received"], pk["open"]) == (3, 3)
    assert {k: v for k, v in pk["open_by_step"].items() if v} == {N: 2, DS: 1}
    assert (uy["received"], uy["open"]) == (3, 2)
    assert {k: v for k, v in uy["open_by_step"].items() if v} == {PE: 1, "support_ordered": 1}
    assert uy["outcomes"] == {PE: 2, "not_established": 0, "withdrawn": 1, "support_paid": 0}
    # 05 was received 137 days before, but its latest step is 14 days old, 10's 36: nothing in UY is stalled.
    assert uy["stalled"] == 0


def test_the_claims_behind_a_number(claims, ctx):
    facts = claim_facts(TO, ["CD"])

    def codes(**kwargs):
        return [c.child_code for c in claims_behind(facts, TO, 90, **kwargs)]

    assert codes(measure="open_by_step", member_state="PK", step=DS) == ["CD-C-00001-1", "CD-C-00002-1"]
    assert codes(measure="stalled") == ["CD-C-00001-1", "CD-C-00008-1"]
    assert codes(measure="outcomes", step=PE) == ["CD-C-00005-1", "CD-C-00010-1"]
    assert codes(measure="received", member_state="UY") == [f"CD-C-{n:05d}-1" for n in (5, 6, 7, 8, 10)]
    with pytest.raises(ValueError):
        codes(measure="open_by_step", step="withdrawn")


def test_open_claims_at_month_ends(claims, ctx):
    facts = claim_facts(TO, ["CD"])
    ends = month_ends(TO, 3)
    assert ends == [D(2026, 4, 30), D(2026, 5, 31), TO]
    snapshots = dict(open_by_step_over_time(facts, TO, 3))
    # 30 April: 01 dna_sample; 02 notified; 03 notified (04-15); 05 paternity_established (support_ordered 05-02
    # is later); 07, 08 received. 04, 06, 10 are final.
    assert {k: v for k, v in snapshots[D(2026, 4, 30)].items() if v} == {DS: 1, N: 2, PE: 1, "received": 2}
    # 30 June: 02 reached dna_sample on 06-20, 05 support_ordered.
    assert {k: v for k, v in snapshots[TO].items() if v} == {DS: 2, N: 1, "support_ordered": 1, "received": 2}


def test_medians_of_whole_days():
    assert median_days([10, 3, 5]) == 5.0
    assert median_days([3, 12, 5, 10]) == 7.5
    assert median_days([4]) == 4.0
    assert median_days([]) is None
