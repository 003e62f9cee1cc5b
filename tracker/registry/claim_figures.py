"""The claims dashboard's figures: paternity claims by Member State as of a date (DESIGN section 3).

For a date ``to``, over the claims received on or before it, using only the steps in force (a correction
replaces what it corrects) dated on or before it:

- a claim's current step is its step of highest rank on the path; it is open unless that step is final
  (``not_established``, ``withdrawn``, ``support_paid``);
- it is stalled when open and its latest step is more than ``CLAIM_STALLED_DAYS`` days before ``to``;
- per Member State of the personnel, and in total: received, open, stalled, open and stalled claims by
  current step, outcomes reached, and the median days of four transitions.

One query reads every step in force of the claims in scope (:func:`claim_facts`); the rest is arithmetic on
those facts, so the same facts also answer "which claims are behind this number" (:func:`claims_behind`),
the stalled list and the month-end snapshots of the chart, without another query. Medians are why the
counting happens here rather than in SQL: SQLite has no median.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from tracker.dates import add_months
from tracker.extensions import db
from tracker.models import Beneficiary, Child, ClaimStep, PaternityClaim, Project
from tracker.registry.claims import FINAL_STEPS, RANK

#: Open claims wait at one of these, in path order.
OPEN_STEPS = ("received", "notified_to_member_state", "dna_sample_collected", "dna_result_received",
              "paternity_established", "legally_recognised", "support_ordered")
#: Outcomes reached: ``paternity_established`` counts every claim that got there, whatever followed.
OUTCOMES = ("paternity_established", "not_established", "withdrawn", "support_paid")
#: The transitions whose median days are shown, as (from, to) steps.
TRANSITIONS = (("received", "notified_to_member_state"),
               ("notified_to_member_state", "dna_sample_collected"),
               ("dna_sample_collected", "dna_result_received"),
               ("paternity_established", "support_ordered"))
#: Steps on the branch after paternity was established: reaching any of them means it was.
_ESTABLISHED = ("paternity_established", "legally_recognised", "support_ordered", "support_paid")


def transition_key(transition: tuple[str, str]) -> str:
    """``received→notified_to_member_state``: the key of a median in the JSON (DESIGN section 7)."""
    return f"{transition[0]}→{transition[1]}"


@dataclass(frozen=True)
class ClaimFacts:
    """One claim as of a date: its code, Member State and the dates of its steps in force up to that date."""

    id: int
    child_code: str
    member_state: str
    dates: Mapping[str, dt.date]

    @property
    def current_step(self) -> str:
        return max(self.dates, key=lambda step: RANK[step])

    @property
    def received_on(self) -> dt.date:
        return self.dates["received"]

    @property
    def latest_on(self) -> dt.date:
        """The date of its latest step (the one it waits after, when open)."""
        return max(self.dates.values())

    @property
    def is_open(self) -> bool:
        return self.current_step not in FINAL_STEPS

    def days_waiting(self, to: dt.date) -> int | None:
        """Days since its latest step, for an open claim (``None`` once it is final)."""
        return (to - self.latest_on).days if self.is_open else None

    def is_stalled(self, to: dt.date, stalled_days: int) -> bool:
        return self.is_open and (to - self.latest_on).days > stalled_days

    def reached(self, outcome: str) -> bool:
        if outcome == "paternity_established":
            return any(step in self.dates for step in _ESTABLISHED)
        return outcome in self.dates

    def as_of(self, day: dt.date) -> ClaimFacts | None:
        """The same claim seen on an earlier ``day``: ``None`` if it was not received yet."""
        dates = {step: on for step, on in self.dates.items() if on <= day}
        if "received" not in dates:
            return None
        return ClaimFacts(self.id, self.child_code, self.member_state, dates)


def claim_facts(to: dt.date, countries: Sequence[str] | None = None) -> list[ClaimFacts]:
    """Every claim received on or before ``to``, of projects in ``countries`` (``None``: every country), with
    the dates of its steps in force dated on or before ``to``; by Member State, then child code."""
    stmt = (
        select(PaternityClaim.id, Child.code, PaternityClaim.member_state, ClaimStep.step, ClaimStep.occurred_on)
        .join(ClaimStep.claim).join(PaternityClaim.child).join(Child.mother).join(Beneficiary.project)
        .where(ClaimStep.superseded_at.is_(None), ClaimStep.occurred_on <= to)
    )
    if countries is not None:
        stmt = stmt.where(Project.country.in_(list(countries)))
    found: dict[int, tuple[str, str, dict[str, dt.date]]] = {}
    for claim_id, code, member_state, step, occurred_on in db.session.execute(stmt):
        dates = found.setdefault(claim_id, (code, member_state, {}))[2]
        # Two steps of one kind in force cannot happen (a correction supersedes); keep the earlier if so.
        if step not in dates or occurred_on < dates[step]:
            dates[step] = occurred_on
    facts = [ClaimFacts(claim_id, code, member_state, dates)
             for claim_id, (code, member_state, dates) in found.items() if "received" in dates]
    facts.sort(key=lambda f: (f.member_state, f.child_code))
    return facts


@dataclass
class Figures:
    """The figures of one Member State, or of all of them (the totals)."""

    received: int = 0
    open: int = 0
    stalled: int = 0
    open_by_step: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OPEN_STEPS, 0))
    stalled_by_step: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OPEN_STEPS, 0))
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    #: transition key -> median days (one decimal), ``None`` when no claim has both steps.
    median_days: dict[str, float | None] = field(default_factory=dict)
    #: transition key -> how many claims the median rests on (not published; the public rule needs it).
    median_counts: dict[str, int] = field(default_factory=dict)


@dataclass
class MemberStateFigures(Figures):
    member_state: str = ""


@dataclass
class ClaimsSummary:
    to: dt.date
    stalled_days: int
    member_states: list[MemberStateFigures]
    totals: Figures


def median_days(days: Iterable[int]) -> float | None:
    """The median of whole days, to one decimal (``None`` for none): 3, 5, 10 → 5.0; 3, 5, 10, 12 → 7.5."""
    days = list(days)
    if not days:
        return None
    return round(float(statistics.median(days)), 1)


def _figures(facts: list[ClaimFacts], to: dt.date, stalled_days: int, figures: Figures) -> Figures:
    for claim in facts:
        figures.received += 1
        step = claim.current_step
        if claim.is_open:
            figures.open += 1
            figures.open_by_step[step] += 1
            if claim.is_stalled(to, stalled_days):
                figures.stalled += 1
                figures.stalled_by_step[step] += 1
        for outcome in OUTCOMES:
            if claim.reached(outcome):
                figures.outcomes[outcome] += 1
    for start, end in TRANSITIONS:
        days = [(c.dates[end] - c.dates[start]).days for c in facts if start in c.dates and end in c.dates]
        key = transition_key((start, end))
        figures.median_days[key] = median_days(days)
        figures.median_counts[key] = len(days)
    return figures


def summarise(facts: list[ClaimFacts], to: dt.date, stalled_days: int) -> ClaimsSummary:
    """The dashboard's figures from the facts of :func:`claim_facts` (Member States ordered by code)."""
    by_state: dict[str, list[ClaimFacts]] = {}
    for claim in facts:
        by_state.setdefault(claim.member_state, []).append(claim)
    rows = [_figures(claims, to, stalled_days, MemberStateFigures(member_state=state))
            for state, claims in sorted(by_state.items())]
    return ClaimsSummary(to, stalled_days, rows, _figures(facts, to, stalled_days, Figures()))


def stalled_days_setting() -> int:
    return int(current_app.config["CLAIM_STALLED_DAYS"])


def claims_summary(to: dt.date, countries: Sequence[str] | None = None) -> ClaimsSummary:
    """The internal dashboard's figures for the claims of ``countries`` (``None``: all) as of ``to``."""
    return summarise(claim_facts(to, countries), to, stalled_days_setting())


# --- the claims behind a number -------------------------------------------------------------------------------------

#: What a dashboard number counts; the ones with a step or an outcome take it as ``step``.
MEASURES = ("received", "open", "stalled", "open_by_step", "stalled_by_step", "outcomes")


def claims_behind(facts: list[ClaimFacts], to: dt.date, stalled_days: int, *, measure: str,
                  member_state: str | None = None, step: str | None = None) -> list[ClaimFacts]:
    """The claims a dashboard number counts: ``measure`` (one of :data:`MEASURES`) of ``member_state``
    (``None``: all), at ``step`` for the measures by step and the outcomes, and only for them."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}")
    if step is not None and measure not in ("open_by_step", "stalled_by_step", "outcomes"):
        raise ValueError(f"{measure} counts claims at every step, not at {step!r}")
    if measure in ("open_by_step", "stalled_by_step") and step not in OPEN_STEPS:
        raise ValueError(f"{measure} needs one of the open steps, not {step!r}")
    if measure == "outcomes" and step not in OUTCOMES:
        raise ValueError(f"outcomes needs one of {OUTCOMES}, not {step!r}")

    def counted(claim: ClaimFacts) -> bool:
        if measure == "received":
            return True
        if measure == "open":
            return claim.is_open
        if measure == "stalled":
            return claim.is_stalled(to, stalled_days)
        if measure == "open_by_step":
            return claim.is_open and claim.current_step == step
        if measure == "stalled_by_step":
            return claim.is_stalled(to, stalled_days) and claim.current_step == step
        return claim.reached(step)

    return [c for c in facts if (member_state is None or c.member_state == member_state) and counted(c)]


def stalled_claims(facts: list[ClaimFacts], to: dt.date, stalled_days: int) -> list[ClaimFacts]:
    """The stalled claims, by Member State, the longest waiting first within each."""
    stalled = [c for c in facts if c.is_stalled(to, stalled_days)]
    stalled.sort(key=lambda c: (c.member_state, c.latest_on, c.child_code))
    return stalled


# --- month-end snapshots --------------------------------------------------------------------------------------------

def month_ends(to: dt.date, months: int = 12) -> list[dt.date]:
    """The last ``months`` month ends up to ``to``, oldest first; the last one is ``to`` itself (the month
    of ``to`` so far)."""
    first_of_month = to.replace(day=1)
    ends = [add_months(first_of_month, -k) - dt.timedelta(days=1) for k in range(months - 2, -1, -1)]
    return ends + [to]


def open_by_step_over_time(facts: list[ClaimFacts], to: dt.date,
                           months: int = 12) -> list[tuple[dt.date, dict[str, int]]]:
    """Open claims by current step at each of :func:`month_ends`, from the step dates alone."""
    out = []
    for day in month_ends(to, months):
        counts = dict.fromkeys(OPEN_STEPS, 0)
        for claim in facts:
            then = claim.as_of(day)
            if then is not None and then.is_open:
                counts[then.current_step] += 1
        out.append((day, counts))
    return out


# --- the JSON of DESIGN section 7 -----------------------------------------------------------------------------------

def figures_json(figures: Figures) -> dict:
    return {
        "received": figures.received, "open": figures.open, "stalled": figures.stalled,
        "open_by_step": dict(figures.open_by_step), "stalled_by_step": dict(figures.stalled_by_step),
        "outcomes": dict(figures.outcomes), "median_days": dict(figures.median_days),
    }


def summary_json(summary: ClaimsSummary, *, public: bool = False) -> dict:
    """``flask report claims --format json`` and the API: ``{"to", "stalled_days", "public", "member_states",
    "totals"}``."""
    return {
        "to": summary.to.isoformat(), "stalled_days": summary.stalled_days, "public": public,
        "member_states": [{"member_state": row.member_state, **figures_json(row)} for row in summary.member_states],
        "totals": figures_json(summary.totals),
    }


def csv_header() -> list[str]:
    """One column per figure: ``open_by_step.received``, ``median_days.received→notified_to_member_state``..."""
    header = ["member_state", "received", "open", "stalled"]
    header += [f"open_by_step.{s}" for s in OPEN_STEPS] + [f"stalled_by_step.{s}" for s in OPEN_STEPS]
    header += [f"outcomes.{o}" for o in OUTCOMES]
    header += [f"median_days.{transition_key(t)}" for t in TRANSITIONS]
    return header


def csv_rows(data: dict) -> list[list]:
    """The rows of the CSV from :func:`summary_json`'s object (public or not): one per Member State, then
    ``total``. Empty medians are empty cells."""
    def row(label: str, figures: dict) -> list:
        values = [label, figures["received"], figures["open"], figures["stalled"]]
        values += [figures["open_by_step"].get(s, 0) for s in OPEN_STEPS]
        values += [figures["stalled_by_step"].get(s, 0) for s in OPEN_STEPS]
        values += [figures["outcomes"][o] for o in OUTCOMES]
        medians = [figures["median_days"][transition_key(t)] for t in TRANSITIONS]
        values += ["" if m is None else m for m in medians]
        return values

    rows = [row(ms["member_state"] or "other", ms) for ms in data["member_states"]]
    return rows + [row("total", data["totals"])]


def claims_csv(data: dict) -> str:
    """The CSV text of :func:`summary_json`'s object (public or not): :func:`csv_header`, then :func:`csv_rows`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_header())
    writer.writerows(csv_rows(data))
    return buffer.getvalue()
