"""Paternity claims: the dated path of DESIGN section 2, never going backwards.

The path: received → notified_to_member_state → dna_sample_collected →
dna_result_received → an outcome (paternity_established, not_established or
withdrawn); after paternity_established: legally_recognised →
support_ordered → support_paid. A claim may skip a step whose date is not
known, but never goes back; ``withdrawn`` can end it at any point before the
outcome. A wrong step is corrected, not deleted: the correction supersedes it
and the history keeps both, with the reason.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from tracker import validation as v
from tracker.countries import is_country
from tracker.errors import Errors, Invalid
from tracker.extensions import db
from tracker.models import CLAIM_STEPS, PERSONNEL_CATEGORIES, Child, ClaimStep, PaternityClaim
from tracker.models.base import now_utc
from tracker.vocab import label

#: Position of each step on the path; outcomes share a rank.
RANK = {
    "received": 0,
    "notified_to_member_state": 1,
    "dna_sample_collected": 2,
    "dna_result_received": 3,
    "paternity_established": 4,
    "not_established": 4,
    "withdrawn": 4,
    "legally_recognised": 5,
    "support_ordered": 6,
    "support_paid": 7,
}
#: Steps after which nothing more can happen.
FINAL_STEPS = ("not_established", "withdrawn", "support_paid")
_AFTER_ESTABLISHED = ("legally_recognised", "support_ordered", "support_paid")
assert set(RANK) == set(CLAIM_STEPS)


def allowed_next(current: str | None) -> list[str]:
    """The steps that may follow ``current`` (``None``: a new claim)."""
    if current is None:
        return ["received"]
    if current in FINAL_STEPS:
        return []
    rank = RANK[current]
    if current == "paternity_established" or current in _AFTER_ESTABLISHED:
        return [s for s in _AFTER_ESTABLISHED if RANK[s] > rank]
    following = [s for s in CLAIM_STEPS if s not in _AFTER_ESTABLISHED and RANK[s] > rank]
    return following


def current_steps(claim: PaternityClaim) -> list[ClaimStep]:
    """The steps in force (not superseded), in path order."""
    steps = [s for s in claim.steps if s.superseded_at is None]
    steps.sort(key=lambda s: (RANK[s.step], s.occurred_on, s.id or 0))
    return steps


def has_claim(child: Child) -> bool:
    """Whether the child has a claim already (a child has one at most)."""
    return db.session.scalar(select(PaternityClaim.id).where(PaternityClaim.child_id == child.id)) is not None


def check_claim(*, child: Child, member_state: str, personnel_category: str, received_on,
                claimed: Callable[[Child], bool] | None = None) -> dict:
    """Every rule of a new claim (:func:`open_claim`), in its order: its Member State, personnel category and
    date received, checked; "one per child" too when ``claimed(child)`` tells whether the child has a claim
    (:func:`has_claim`). Both ways of importing claims call it (and judge "one per child" themselves)."""
    errors = Errors()
    member_state = (member_state or "").strip().upper()
    if not is_country(member_state):
        errors.add(_l("%(value)s is not an ISO 3166 country code such as UY", value=member_state[:10] or "''"),
                   "member_state")
    category = errors.check(v.choice, personnel_category, "personnel_category", PERSONNEL_CATEGORIES)
    received = errors.check(v.date, received_on, "received_on")
    if received is not None and received.year < child.year_of_birth:
        errors.add(_l("is before the child was born"), "received_on")
    if claimed is not None and claimed(child):
        errors.add(_l("%(child)s has a claim already", child=child.code), "child_code")
    errors.raise_any()
    return {"member_state": member_state, "personnel_category": category, "received_on": received}


def open_claim(*, child: Child, member_state: str, personnel_category: str, received_on,
               user_id=None) -> PaternityClaim:
    """Open a child's paternity claim with its first step, ``received``."""
    checked = check_claim(child=child, member_state=member_state, personnel_category=personnel_category,
                          received_on=received_on, claimed=has_claim)
    received = checked["received_on"]
    claim = PaternityClaim(child=child, member_state=checked["member_state"],
                           personnel_category=checked["personnel_category"], status="received", status_on=received)
    db.session.add(claim)
    db.session.add(ClaimStep(claim=claim, step="received", occurred_on=received, recorded_by_id=user_id))
    db.session.flush()
    return claim


def check_step(*, last: tuple[str, dt.date] | None, step: str, occurred_on) -> tuple[str, dt.date]:
    """A step that may follow ``last`` (the current last step and its date, ``None`` for none), checked:
    ``(step, date)``. :func:`record_step` and the claims imported in batches call it."""
    errors = Errors()
    step = errors.check(v.choice, step, "step", CLAIM_STEPS)
    occurred = errors.check(v.date, occurred_on, "occurred_on")
    if step is not None and step not in allowed_next(last[0] if last else None):
        errors.add(_l("cannot follow %(current)s", current=label(last[0]) if last else "—"), "step")
    if last and occurred is not None and occurred < last[1]:
        errors.add(_l("is before the previous step (%(date)s)", date=last[1].isoformat()), "occurred_on")
    errors.raise_any()
    return step, occurred


def check_next_step(*, claim: PaternityClaim, step: str, occurred_on) -> tuple[str, dt.date]:
    """Every rule of :func:`record_step`: a step that may follow the claim's current last one, checked."""
    steps = current_steps(claim)
    last = steps[-1] if steps else None
    return check_step(last=(last.step, last.occurred_on) if last else None, step=step, occurred_on=occurred_on)


def record_step(*, claim: PaternityClaim, step: str, occurred_on, user_id=None) -> ClaimStep:
    """Move a claim one step on; the step must follow the current one and its date not be earlier."""
    step, occurred = check_next_step(claim=claim, step=step, occurred_on=occurred_on)
    new = ClaimStep(claim=claim, step=step, occurred_on=occurred, recorded_by_id=user_id)
    db.session.add(new)
    claim.status = step
    claim.status_on = occurred
    db.session.flush()
    return new


def correct_step(*, step: ClaimStep, occurred_on, reason: str, new_step: str | None = None, user_id=None) -> ClaimStep:
    """Replace a wrong step (its date, or for the last step its kind) and keep the old one as history."""
    reason = v.text(reason, "reason", max_length=500)
    occurred = v.date(occurred_on, "occurred_on")
    claim = step.claim
    if step.superseded_at is not None:
        raise Invalid(_l("this step was corrected already"), "step")
    steps = current_steps(claim)
    index = next(i for i, s in enumerate(steps) if s.id == step.id)
    previous = steps[index - 1] if index > 0 else None
    following = steps[index + 1] if index + 1 < len(steps) else None
    kind = step.step
    if new_step and new_step != step.step:
        if following is not None:
            raise Invalid(_l("only the last step can change its kind"), "new_step")
        kind = v.choice(new_step, "new_step", CLAIM_STEPS)
        if kind not in allowed_next(previous.step if previous else None):
            raise Invalid(_l("cannot follow %(current)s", current=label(previous.step) if previous else "—"),
                          "new_step")
    if previous and occurred < previous.occurred_on:
        raise Invalid(_l("is before the previous step (%(date)s)", date=previous.occurred_on.isoformat()),
                      "occurred_on")
    if following and occurred > following.occurred_on:
        raise Invalid(_l("is after the next step (%(date)s)", date=following.occurred_on.isoformat()), "occurred_on")
    if kind == step.step and occurred == step.occurred_on:
        raise Invalid(_l("nothing would change"), "occurred_on")
    replacement = ClaimStep(claim=claim, step=kind, occurred_on=occurred, recorded_by_id=user_id)
    db.session.add(replacement)
    db.session.flush()
    step.superseded_at = now_utc()
    step.superseded_by_id = replacement.id
    step.correction_reason = reason
    latest = current_steps(claim)
    claim.status = latest[-1].step
    claim.status_on = latest[-1].occurred_on
    db.session.flush()
    return replacement


def waiting_days(claim_status_on: dt.date, status: str, today: dt.date) -> int | None:
    """Days a claim has waited at its current step (``None`` once it is final)."""
    if status in FINAL_STEPS:
        return None
    return (today - claim_status_on).days
