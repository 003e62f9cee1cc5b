"""``flask report claims``: the claims dashboard's figures as JSON or CSV (DESIGN section 7), internal and public.

:func:`build_claims` is a small set of claims whose figures are worked out by hand below;
tests/public/ and tests/api/ use it too.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

from tests import factories
from tracker.models.base import today

D = dt.date
TO = "2026-06-30"
#: The children's codes of :func:`build_claims`, by Member State (PK, then UY), then the one received after TO.
PK_CODES = ["CD-C-00901-1", "CD-C-00902-1", "CD-C-00903-1", "CD-C-00904-1", "CD-C-00905-1"]
UY_CODES = ["CD-C-00906-1", "LR-C-00907-1"]
LATE_CODE = "CD-C-00908-1"
ALL_CODES = [*PK_CODES, *UY_CODES, LATE_CODE]
RECEIVED_ON = [D(2026, 1, 10), D(2026, 3, 1), D(2026, 5, 1), D(2026, 1, 5), D(2026, 2, 1), D(2026, 6, 1),
               D(2025, 12, 1), D(2026, 7, 10)]


def _claim(project, number: int, member_state: str, steps: list[tuple[str, dt.date]], superseded=()):
    factories.claim_with_steps(project, number, member_state, steps, superseded)


def build_claims() -> None:
    """Eight claims in projects of CD (all of PK's, one of UY's, the late one) and LR (UY's other one).

    As of 2026-06-30, stalled after 90 days (a latest step before 2026-04-01):

    ==  ======================================================  ====================================
    PK  901 received 01-10, notified 01-20, DNA sample 02-19     open at dna_sample_collected, stalled
        902 received 03-01, notified 03-21 (a superseded 03-05)  open at notified, stalled
        903 received 05-01 (notified 07-05: after the date)      open at received
        904 received 01-05, notified 01-15, sample 02-01,        open at support_ordered (04-09: 82
            result 03-01, established 03-10, ordered 04-09       days, not stalled); established
        905 received 02-01, withdrawn 02-15                      withdrawn
    UY  906 received 06-01, notified 06-11                       open at notified
        907 received 2025-12-01, notified 12-31, sample          not established
            2026-01-30, result 02-10, not established 02-10
    --  908 received 07-10: after the date, not counted
    ==  ======================================================  ====================================
    """
    with factories.one_commit():
        cd = factories.ProjectFactory(code="TF-CD-2026-01", country="CD")
        lr = factories.ProjectFactory(code="TF-LR-2026-01", country="LR")
        _claim(cd, 901, "PK", [("received", D(2026, 1, 10)), ("notified_to_member_state", D(2026, 1, 20)),
                               ("dna_sample_collected", D(2026, 2, 19))])
        _claim(cd, 902, "PK", [("received", D(2026, 3, 1)), ("notified_to_member_state", D(2026, 3, 21))],
               superseded=[("notified_to_member_state", D(2026, 3, 5))])
        _claim(cd, 903, "PK", [("received", D(2026, 5, 1)), ("notified_to_member_state", D(2026, 7, 5))])
        _claim(cd, 904, "PK", [("received", D(2026, 1, 5)), ("notified_to_member_state", D(2026, 1, 15)),
                               ("dna_sample_collected", D(2026, 2, 1)), ("dna_result_received", D(2026, 3, 1)),
                               ("paternity_established", D(2026, 3, 10)), ("support_ordered", D(2026, 4, 9))])
        _claim(cd, 905, "PK", [("received", D(2026, 2, 1)), ("withdrawn", D(2026, 2, 15))])
        _claim(cd, 906, "UY", [("received", D(2026, 6, 1)), ("notified_to_member_state", D(2026, 6, 11))])
        _claim(lr, 907, "UY", [("received", D(2025, 12, 1)), ("notified_to_member_state", D(2025, 12, 31)),
                               ("dna_sample_collected", D(2026, 1, 30)), ("dna_result_received", D(2026, 2, 10)),
                               ("not_established", D(2026, 2, 10))])
        _claim(cd, 908, "UY", [("received", D(2026, 7, 10))])


R_N, N_S, S_R, P_O = ("received→notified_to_member_state", "notified_to_member_state→dna_sample_collected",
                      "dna_sample_collected→dna_result_received", "paternity_established→support_ordered")
STEPS = ("received", "notified_to_member_state", "dna_sample_collected", "dna_result_received",
         "paternity_established", "legally_recognised", "support_ordered")


def _steps(**counts) -> dict:
    return {step: counts.get(step, 0) for step in STEPS}


#: The internal figures of :func:`build_claims` as of 2026-06-30, worked out by hand.
PK = {
    "member_state": "PK", "received": 5, "open": 4, "stalled": 2,
    "open_by_step": _steps(received=1, notified_to_member_state=1, dna_sample_collected=1, support_ordered=1),
    "stalled_by_step": _steps(notified_to_member_state=1, dna_sample_collected=1),
    "outcomes": {"paternity_established": 1, "not_established": 0, "withdrawn": 1, "support_paid": 0},
    # received→notified: 901 10 days, 902 20 (the superseded 03-05 does not count), 904 10 -> 10, 10, 20: 10.0;
    # notified→sample: 901 30, 904 17 -> 23.5; sample→result: 904 28; established→ordered: 904 30
    "median_days": {R_N: 10.0, N_S: 23.5, S_R: 28.0, P_O: 30.0},
}
UY = {
    "member_state": "UY", "received": 2, "open": 1, "stalled": 0,
    "open_by_step": _steps(notified_to_member_state=1), "stalled_by_step": _steps(),
    "outcomes": {"paternity_established": 0, "not_established": 1, "withdrawn": 0, "support_paid": 0},
    # received→notified: 906 10, 907 30 -> 20.0; notified→sample: 907 30; sample→result: 907 11; none established
    "median_days": {R_N: 20.0, N_S: 30.0, S_R: 11.0, P_O: None},
}
TOTALS = {
    "received": 7, "open": 5, "stalled": 2,
    "open_by_step": _steps(received=1, notified_to_member_state=2, dna_sample_collected=1, support_ordered=1),
    "stalled_by_step": _steps(notified_to_member_state=1, dna_sample_collected=1),
    "outcomes": {"paternity_established": 1, "not_established": 1, "withdrawn": 1, "support_paid": 0},
    # received→notified 10, 20, 10, 10, 30 -> 10.0; notified→sample 30, 17, 30 -> 30.0; sample→result 28, 11 ->
    # 19.5; established→ordered 30
    "median_days": {R_N: 10.0, N_S: 30.0, S_R: 19.5, P_O: 30.0},
}


def claims(runner, *args):
    return runner.invoke(args=["report", "claims", *args])


def as_json(runner, *args) -> dict:
    result = claims(runner, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_counts_and_medians_worked_out_by_hand(db, runner):
    build_claims()
    out = as_json(runner, "--to", TO, "--format", "json")
    assert out == {"to": TO, "stalled_days": 90, "public": False, "member_states": [PK, UY], "totals": TOTALS}


def test_json_is_indented_utf8_with_the_arrow_unescaped(db, runner):
    build_claims()
    result = claims(runner, "--to", TO, "--format", "json")
    assert '\n  "stalled_days": 90,' in result.stdout
    assert '"received→notified_to_member_state": 10.0' in result.stdout
    assert "\\u2192" not in result.stdout


def test_to_defaults_to_today(db, runner):
    build_claims()
    out = as_json(runner, "--format", "json")
    assert out["to"] == today().isoformat()
    assert out["totals"]["received"] == 8  # the claim received on 2026-07-10 too, today being later


def test_public_json_suppresses_small_counts_and_thin_medians(db, runner):
    build_claims()
    out = as_json(runner, "--to", TO, "--public", "--format", "json")
    assert (out["to"], out["public"], out["stalled_days"]) == (TO, True, 90)  # 2026-06-30 is a month end
    pk, uy = out["member_states"]
    assert (pk["member_state"], uy["member_state"]) == ("PK", "UY")
    # Every count here is under 10: each non-zero one is "<10", a zero stays 0.
    assert (pk["received"], pk["open"], pk["stalled"]) == ("<10", "<10", "<10")
    assert (uy["received"], uy["open"], uy["stalled"]) == ("<10", "<10", 0)
    assert uy["outcomes"] == {"paternity_established": 0, "not_established": "<10", "withdrawn": 0,
                              "support_paid": 0}
    assert out["totals"]["received"] == "<10"
    assert out["totals"]["open_by_step"]["notified_to_member_state"] == "<10"
    # No median rests on 10 claims or more.
    for figures in (pk, uy, out["totals"]):
        assert figures["median_days"] == {R_N: None, N_S: None, S_R: None, P_O: None}


def test_public_without_to_is_as_of_the_end_of_last_month(db, runner):
    build_claims()
    out = as_json(runner, "--public", "--format", "json")
    assert out["to"] == (today().replace(day=1) - dt.timedelta(days=1)).isoformat()
    # A date in the middle of a month: the month end before it.
    assert as_json(runner, "--public", "--to", "2026-06-15", "--format", "json")["to"] == "2026-05-31"


def test_csv_header_and_rows(db, runner):
    build_claims()
    result = claims(runner, "--to", TO, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    header = rows[0]
    assert header[:5] == ["member_state", "received", "open", "stalled", "open_by_step.received"]
    assert header[-1] == "median_days.paternity_established→support_ordered"
    assert len(header) == 4 + 7 + 7 + 4 + 4
    assert [r[0] for r in rows[1:]] == ["PK", "UY", "total"]
    uy = dict(zip(header, rows[2], strict=True))
    assert (uy["received"], uy["open"], uy["stalled"], uy["open_by_step.notified_to_member_state"]) == (
        "2", "1", "0", "1")
    assert (uy["outcomes.not_established"], uy[f"median_days.{R_N}"], uy[f"median_days.{P_O}"]) == ("1", "20.0", "")


def test_public_csv_writes_the_marks(db, runner, tmp_path):
    build_claims()
    path = tmp_path / "claims.csv"
    result = claims(runner, "--to", TO, "--public", "--format", "csv", "-o", str(path))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    total = dict(zip(rows[0], rows[-1], strict=True))
    assert (total["member_state"], total["received"], total[f"median_days.{R_N}"]) == ("total", "<10", "")


def test_a_bad_to_or_a_missing_format_is_a_usage_error(db, runner):
    result = claims(runner, "--to", "2026-02-30", "--format", "json")
    assert result.exit_code == 2 and "--to" in result.output
    assert claims(runner, "--to", "yesterday", "--format", "json").exit_code == 2
    result = claims(runner, "--to", TO)
    assert result.exit_code == 2 and "--format" in result.output
    assert claims(runner, "--format", "pdf").exit_code == 2
