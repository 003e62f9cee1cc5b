"""The public claims figures: as of the end of the previous month, no count from 1 to 9, nothing recoverable.

The property test draws claims of a few Member States and checks what :func:`publish` gives against a reader
who knows how the figures add up (written here from DESIGN section 3, not taken from the code under test):
every shown count is exact, "<10" lies from 1 to 9, "x" is 10 or more, and

- in every row (each Member State, and the totals): received = open + not_established + withdrawn +
  support_paid; open = the open claims by step; stalled = the stalled claims by step; reached
  paternity_established = open at paternity_established, legally_recognised or support_ordered + support_paid;
- in every column: the totals row = the sum over the Member States;
- a stalled count is at most the open count it belongs to.

That reader narrows the bounds of every figure over all those sums until nothing changes; no hidden figure may
end with a single possible value, and no sum may hide exactly one of its figures.
"""
from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.registry.claim_figures import ClaimFacts
from tracker.registry.claim_public import public_json, public_to, publish

D = dt.date
TO = D(2026, 6, 30)
OPEN = ("received", "notified_to_member_state", "dna_sample_collected", "dna_result_received",
        "paternity_established", "legally_recognised", "support_ordered")
PATHS = {
    "received": ("received",),
    "notified_to_member_state": ("received", "notified_to_member_state"),
    "dna_sample_collected": ("received", "notified_to_member_state", "dna_sample_collected"),
    "dna_result_received": ("received", "notified_to_member_state", "dna_sample_collected", "dna_result_received"),
}
PATHS["paternity_established"] = PATHS["dna_result_received"] + ("paternity_established",)
PATHS["legally_recognised"] = PATHS["paternity_established"] + ("legally_recognised",)
PATHS["support_ordered"] = PATHS["legally_recognised"] + ("support_ordered",)
PATHS["support_paid"] = PATHS["support_ordered"] + ("support_paid",)
PATHS["not_established"] = PATHS["dna_result_received"] + ("not_established",)
PATHS["withdrawn"] = ("received", "notified_to_member_state", "withdrawn")
# Claims pile up where real ones do: many waiting early on, few at the end of the path.
STEP_WEIGHTS = ["received"] * 3 + ["notified_to_member_state"] * 3 + ["dna_sample_collected"] * 2 + list(PATHS)


def test_public_figures_are_as_of_the_end_of_the_previous_month():
    assert public_to(D(2026, 12, 6)) == D(2026, 11, 30)
    assert public_to(D(2026, 12, 1)) == D(2026, 11, 30)
    assert public_to(D(2026, 3, 15)) == D(2026, 2, 28)
    # An earlier date asked for: that month end if it is one, else the month end before it; never later.
    assert public_to(D(2026, 12, 6), D(2026, 10, 31)) == D(2026, 10, 31)
    assert public_to(D(2026, 12, 6), D(2026, 10, 15)) == D(2026, 9, 30)
    assert public_to(D(2026, 12, 6), D(2026, 12, 5)) == D(2026, 11, 30)


@st.composite
def claim_sets(draw):
    states = draw(st.lists(st.sampled_from(["BD", "GH", "MA", "NP", "PK", "UY", "ZA"]), min_size=1, max_size=5,
                           unique=True))
    claims = []
    for n in range(draw(st.integers(0, 70))):
        final = draw(st.sampled_from(STEP_WEIGHTS))
        gaps = draw(st.lists(st.integers(0, 150), min_size=len(PATHS[final]), max_size=len(PATHS[final])))
        day = TO - dt.timedelta(days=sum(gaps) + draw(st.integers(0, 200)))
        dates = {}
        for step, gap in zip(PATHS[final], gaps, strict=True):
            day += dt.timedelta(days=gap) if dates else dt.timedelta(0)
            dates[step] = day
        claims.append(ClaimFacts(n, f"CD-C-{n:05d}-1", draw(st.sampled_from(states)), dates))
    return claims


def _sums(rows: list[str]) -> list[tuple[tuple, list[tuple]]]:
    """(total, parts) of the published table, keys (row, figure): the reader's knowledge of how it adds up."""
    sums = []
    for row in [*rows, "total"]:
        sums += [
            ((row, "received"), [(row, "open"), (row, "outcomes.not_established"), (row, "outcomes.withdrawn"),
                                 (row, "outcomes.support_paid")]),
            ((row, "open"), [(row, f"open_by_step.{s}") for s in OPEN]),
            ((row, "stalled"), [(row, f"stalled_by_step.{s}") for s in OPEN]),
            ((row, "outcomes.paternity_established"),
             [(row, "open_by_step.paternity_established"), (row, "open_by_step.legally_recognised"),
              (row, "open_by_step.support_ordered"), (row, "outcomes.support_paid")]),
        ]
    figures = ["received", "open", "stalled", *(f"open_by_step.{s}" for s in OPEN),
               *(f"stalled_by_step.{s}" for s in OPEN),
               *(f"outcomes.{o}" for o in ("paternity_established", "not_established", "withdrawn", "support_paid"))]
    if rows:
        sums += [(("total", f), [(row, f) for row in rows]) for f in figures]
    return sums


def _flatten(figures: dict) -> dict[str, object]:
    flat = {k: figures[k] for k in ("received", "open", "stalled")}
    for group in ("open_by_step", "stalled_by_step", "outcomes"):
        flat.update({f"{group}.{k}": v for k, v in figures[group].items()})
    return flat


def _reader_bounds(published: dict[tuple, object], sums) -> dict[tuple, list[float]]:
    inf = float("inf")
    known = {k: [v, v] if isinstance(v, int) else [1, 9] if v == "<10" else [10, inf] for k, v in published.items()}
    pairs = [((row, "stalled"), (row, "open")) for row, _ in published if _ == "received"]
    pairs += [((row, f"stalled_by_step.{s}"), (row, f"open_by_step.{s}")) for row, _ in published if _ == "received"
              for s in OPEN]
    for _round in range(10_000):
        before = {k: list(v) for k, v in known.items()}
        for total, parts in sums:
            lo = sum(known[p][0] for p in parts)
            hi = sum(known[p][1] for p in parts)
            known[total] = [max(known[total][0], lo), min(known[total][1], hi)]
            for p in parts:
                others_lo = lo - known[p][0]
                others_hi = sum(known[q][1] for q in parts if q != p)
                known[p] = [max(known[p][0], known[total][0] - others_hi),
                            min(known[p][1], known[total][1] - others_lo)]
                lo = sum(known[q][0] for q in parts)
        for small, large in pairs:
            known[small][1] = min(known[small][1], known[large][1])
            known[large][0] = max(known[large][0], known[small][0])
        if known == before:
            return known
    raise AssertionError("the bounds did not settle")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(claim_sets())
def test_no_small_count_is_shown_and_no_hidden_one_can_be_worked_out(claims):
    summary = publish(claims, TO, 90, 10)
    data = public_json(summary)
    rows = [str(i) for i in range(len(data["member_states"]))]
    published = {}
    for row, figures in [*zip(rows, data["member_states"], strict=True), ("total", data["totals"])]:
        published.update({(row, k): v for k, v in _flatten(figures).items()})

    # The truth, counted here from the claims: every shown count is exact, every mark is true.
    true_rows = [ms.member_state or "other" for ms in summary.member_states]
    for (row, key), value in published.items():
        if isinstance(value, int):
            assert not 0 < value < 10, (row, key, value)
        else:
            assert value in ("<10", "x"), (row, key, value)
    for row, ms in zip(rows, data["member_states"], strict=True):
        states = ms["merged"] if ms["member_state"] is None else [ms["member_state"]]
        mine = [c for c in claims if c.member_state in states]
        _check_truth(published, row, mine)
    _check_truth(published, "total", claims)
    assert len(true_rows) == len(rows)

    sums = _sums(rows)
    for total, parts in sums:
        hidden = [k for k in [total, *parts] if not isinstance(published[k], int)]
        assert len(hidden) != 1, f"{hidden[0]} can be worked out from {total}"
    known = _reader_bounds(published, sums)
    pinned = [k for k, v in published.items() if not isinstance(v, int) and known[k][0] == known[k][1]]
    assert not pinned, f"worked out: {pinned}"

    for figures in [*data["member_states"], data["totals"]]:
        assert all(m is None or isinstance(m, float) for m in figures["median_days"].values())


def _check_truth(published: dict, row: str, claims: list[ClaimFacts]) -> None:
    """Each published figure of ``row`` against a count made here: equal when shown, in range when marked."""
    final = ("not_established", "withdrawn", "support_paid")

    def current(c):
        order = list(PATHS["support_paid"]) + ["not_established", "withdrawn"]
        return max(c.dates, key=lambda s: (order.index(s) if s not in ("not_established", "withdrawn") else 4))

    open_ = [c for c in claims if current(c) not in final]
    stalled = [c for c in open_ if (TO - max(c.dates.values())).days > 90]
    truth = {"received": len(claims), "open": len(open_), "stalled": len(stalled)}
    for s in OPEN:
        truth[f"open_by_step.{s}"] = sum(current(c) == s for c in open_)
        truth[f"stalled_by_step.{s}"] = sum(current(c) == s for c in stalled)
    truth["outcomes.paternity_established"] = sum("paternity_established" in c.dates for c in claims)
    for o in final:
        truth[f"outcomes.{o}"] = sum(o in c.dates for c in claims)
    for key, value in truth.items():
        shown = published[(row, key)]
        if shown == "<10":
            assert 1 <= value <= 9, (row, key, value)
        elif shown == "x":
            assert value >= 10, (row, key, value)
        else:
            assert shown == value, (row, key, shown, value)


def test_medians_are_published_only_on_ten_claims_or_more():
    # Eleven claims of PK notified 10 days after they were received, nine of UY 20 days after.
    claims = [ClaimFacts(n, f"CD-C-{n:05d}-1", "PK", {"received": D(2026, 1, 1),
                                                      "notified_to_member_state": D(2026, 1, 11)}) for n in range(11)]
    claims += [ClaimFacts(20 + n, f"CD-C-{20 + n:05d}-1", "UY", {"received": D(2026, 1, 1),
                                                                 "notified_to_member_state": D(2026, 1, 21)})
               for n in range(9)]
    data = public_json(publish(claims, TO, 90, 10))
    pk, uy = data["member_states"]
    assert pk["median_days"]["received→notified_to_member_state"] == 10.0
    assert uy["median_days"]["received→notified_to_member_state"] is None
    # All twenty: eleven 10s and nine 20s; the middle two (10th and 11th) are both 10.
    assert data["totals"]["median_days"]["received→notified_to_member_state"] == 10.0
    # UY's 9 is hidden; PK's 11 and the total of 20 cannot both be shown, or 20 - 11 tells it.
    assert uy["received"] == "<10"
    assert "x" in (pk["received"], data["totals"]["received"])
