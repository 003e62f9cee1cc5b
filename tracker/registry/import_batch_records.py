"""The claims, income activities and income reports imports in batches (``Kind.apply_batch``), as
:mod:`~tracker.registry.import_batch` applies mothers, children and enrolments: look-ups a batch at a time, the
rules of row by row (:mod:`~tracker.registry.import_rules`), new records and their events in bulk.

A claim moving on is not a correction but new steps: a claim goes in whole (the claim, its steps, and as row by
row, a ``create`` event for each step followed by an ``update`` event of the claim's status), and the status of a
claim recorded before the batch is updated by an executemany. A correction of an activity or of a month's figures
goes row by row through its service (:meth:`~tracker.imports.batching.Writes.correct`).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from tracker.extensions import db
from tracker.imports.batching import Record, Writes, found, look_up, parts, run_batch, values_of
from tracker.imports.kinds import RowContext
from tracker.models import Beneficiary, Child, ClaimStep, IncomeProject, IncomeReport, PaternityClaim
from tracker.models.base import now_utc
from tracker.registry import claims as claim_service
from tracker.registry import income
from tracker.registry.import_rules import claim_row, income_project_row, income_report_row

# --- paternity claims ------------------------------------------------------------------------------------------------

class _Claims:
    """The claims of the children the file names (``None``: none), and their current steps (``(step, date)`` in
    path order)."""

    def __init__(self):
        self.of_child: dict[int, Record | None] = {}
        #: Child id -> the steps of her claim.
        self.steps: dict[int, list[tuple]] = {}


def _look_up_claims(rows, ctx: RowContext, known: _Claims) -> None:
    session = db.session
    look_up(ctx, Child, "code", values_of(rows, "child_code"))
    ids = sorted({c.id for c in (found(ctx, Child, values["child_code"]) for _, values in rows) if c is not None}
                 - set(known.of_child))
    for part in parts(ids):
        known.of_child.update(dict.fromkeys(part))
        claims = {}
        for claim in session.execute(select(
                PaternityClaim.id, PaternityClaim.child_id, PaternityClaim.member_state,
                PaternityClaim.personnel_category, PaternityClaim.status, PaternityClaim.status_on)
                .where(PaternityClaim.child_id.in_(part))):
            claims[claim.id] = known.of_child[claim.child_id] = Record.of(claim)
        steps = defaultdict(list)
        for claim_ids in parts(sorted(claims)):
            for step in session.execute(select(ClaimStep.id, ClaimStep.claim_id, ClaimStep.step, ClaimStep.occurred_on)
                                        .where(ClaimStep.claim_id.in_(claim_ids), ClaimStep.superseded_at.is_(None))):
                steps[step.claim_id].append(step)
        for claim_id, claim in claims.items():
            # In path order, as claims.current_steps orders them.
            ordered = sorted(steps[claim_id], key=lambda s: (claim_service.RANK[s.step], s.occurred_on, s.id))
            known.steps[claim.child_id] = [(s.step, s.occurred_on) for s in ordered]


def _step_row(claim: Record, step: str, on, user_id) -> dict:
    return {"claim_id": claim, "step": step, "occurred_on": on, "recorded_at": now_utc(), "recorded_by_id": user_id,
            "superseded_at": None, "superseded_by_id": None, "correction_reason": None}


def _apply_claim(values: dict[str, str], ctx: RowContext, known: _Claims, writes: Writes) -> str:
    child, claim, opened, steps = claim_row(values, ctx, claim_of=lambda c: known.of_child.get(c.id),
                                            steps_of=lambda c: list(known.steps[c.child_id]))
    user_id = ctx.user.id if ctx.user else None
    outcome = "unchanged"
    if claim is None:
        # open_claim refuses a second claim for the child: claim_row found none.
        received = opened["received_on"]
        claim = writes.insert(PaternityClaim, {
            "child_id": child.id, "member_state": opened["member_state"],
            "personnel_category": opened["personnel_category"], "status": "received", "status_on": received,
            "created_at": now_utc()})
        writes.insert(ClaimStep, _step_row(claim, "received", received, user_id))
        known.of_child[child.id] = claim
        known.steps[child.id] = [("received", received)]
        outcome = "created"
    elif steps and claim.stored:
            writes.forget(PaternityClaim, claim.id, ("steps",))
    for step, on, _column in steps:
        # As record_step: the step, then the claim's status moved on.
        writes.insert(ClaimStep, _step_row(claim, step, on, user_id))
        writes.update(PaternityClaim, claim, {"status": step, "status_on": on})
        known.steps[child.id].append((step, on))
        outcome = "created" if outcome == "created" else "updated"
    return outcome


def apply_claims(rows, ctx: RowContext, one):
    """``Kind.apply_batch`` of the ``claims`` import."""
    return run_batch(rows, ctx, one, key="_batch_claims", known=_Claims, look_up=_look_up_claims,
                     apply=_apply_claim, models=(PaternityClaim, ClaimStep))


# --- income projects and reports -------------------------------------------------------------------------------------

class _IncomeProjects:
    def __init__(self):
        self.by_reference: dict[str, Any] = {}


_ACTIVITY = (IncomeProject.id, IncomeProject.reference, IncomeProject.beneficiary_id, IncomeProject.activity,
             IncomeProject.started_on, IncomeProject.planned_grant, IncomeProject.currency, IncomeProject.status)


def _look_up_income_projects(rows, ctx: RowContext, known: _IncomeProjects) -> None:
    look_up(ctx, Beneficiary, "code", values_of(rows, "mother_code"))
    references = sorted({values["reference"].strip() for _, values in rows} - {""} - set(known.by_reference))
    for part in parts(references):
        stored = {p.reference: Record.of(p) for p in db.session.execute(
            select(*_ACTIVITY).where(IncomeProject.reference.in_(part)))}
        for reference in part:
            known.by_reference[reference] = stored.get(reference)


def _apply_income_project(values: dict[str, str], ctx: RowContext, known: _IncomeProjects, writes: Writes) -> str:
    existing, changes = income_project_row(values, ctx, existing_of=known.by_reference.get)
    if existing is None:
        mother = changes.pop("beneficiary")
        columns = income.check_income_project(**changes)
        # start_income_project refuses a reference that exists already: income_project_row found none.
        known.by_reference[columns["reference"]] = writes.insert(
            IncomeProject, {"beneficiary_id": mother.id, **columns, "created_at": now_utc()})
        return "created"
    if not changes:
        return "unchanged"
    writes.correct(IncomeProject, existing, lambda activity: income.update_income_project(
        income_project=activity, **changes))
    return "updated"


def apply_income_projects(rows, ctx: RowContext, one):
    """``Kind.apply_batch`` of the ``income_projects`` import."""
    return run_batch(rows, ctx, one, key="_batch_income_projects", known=_IncomeProjects,
                     look_up=_look_up_income_projects, apply=_apply_income_project, models=(IncomeProject,))


class _IncomeReports:
    def __init__(self):
        self.by_month: dict[tuple[int, Any], Any] = {}
        self.activities: set[int] = set()


def _look_up_income_reports(rows, ctx: RowContext, known: _IncomeReports) -> None:
    look_up(ctx, IncomeProject, "reference", values_of(rows, "income_project_reference"))
    ids = sorted({p.id for p in (found(ctx, IncomeProject, values["income_project_reference"]) for _, values in rows)
                  if p is not None} - known.activities)
    for part in parts(ids):
        for report in db.session.execute(select(
                IncomeReport.id, IncomeReport.income_project_id, IncomeReport.month, IncomeReport.revenue,
                IncomeReport.costs, IncomeReport.currency).where(IncomeReport.income_project_id.in_(part))):
            known.by_month[(report.income_project_id, report.month)] = Record.of(report)
        known.activities.update(part)


def _apply_income_report(values: dict[str, str], ctx: RowContext, known: _IncomeReports, writes: Writes) -> str:
    existing, changes = income_report_row(values, ctx, existing_of=lambda activity_id, month: known.by_month.get(
        (activity_id, month)))
    if existing is None:
        activity = changes["income_project"]
        columns = income.check_income_report(**changes)
        # report_income refuses a second report of the month: income_report_row found none.
        known.by_month[(activity.id, columns["month"])] = writes.insert(
            IncomeReport, {"income_project_id": activity.id, **columns, "created_at": now_utc()})
        return "created"
    if not changes:
        return "unchanged"
    writes.correct(IncomeReport, existing, lambda report: income.correct_income_report(
        income_report=report, **changes))
    return "updated"


def apply_income_reports(rows, ctx: RowContext, one):
    """``Kind.apply_batch`` of the ``income_reports`` import."""
    return run_batch(rows, ctx, one, key="_batch_income_reports", known=_IncomeReports,
                     look_up=_look_up_income_reports, apply=_apply_income_report, models=(IncomeReport,))
