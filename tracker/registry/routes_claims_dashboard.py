"""The internal paternity claims dashboard (issue 19): the figures of the claims in the user's countries by Member
State as of a date, the claims behind each number, the stalled claims (and their CSV) and a chart over twelve
months. The figures are tracker/registry/claim_figures.py's; codes only, never a name."""
from __future__ import annotations

import datetime as dt

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from tracker import audit
from tracker import validation as v
from tracker.auth.permissions import permission
from tracker.auth.scope import user_countries
from tracker.countries import is_country, name_key
from tracker.database import writes_on_get
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.formatting import country, date
from tracker.models.base import today
from tracker.registry.blueprint import bp
from tracker.registry.claim_charts import open_by_step_chart
from tracker.registry.claim_figures import (
    OPEN_STEPS,
    OUTCOMES,
    TRANSITIONS,
    ClaimFacts,
    claim_facts,
    claims_behind,
    open_by_step_over_time,
    stalled_claims,
    stalled_days_setting,
    summarise,
    transition_key,
)
from tracker.vocab import label

STALLED_HEADER = ["member_state", "child_code", "step", "step_on", "days_waiting", "received_on"]


def _chosen_to() -> tuple[dt.date, str | None]:
    """The dashboard's date from its form: today when none is given, or when the one given is not a date or is in
    the future (with the message saying so)."""
    raw = request.args.get("to", "").strip()
    if not raw:
        return today(), None
    try:
        return v.date(raw, "to"), None
    except Invalid:
        pass
    try:
        day = dt.date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        return today(), _("%(value)s is not a date in the form YYYY-MM-DD: the figures are as of today.",
                          value=raw[:40])
    if day > today():
        return today(), _("%(date)s is in the future: the figures are as of today.", date=date(day, "d MMMM y"))
    return today(), _("%(date)s is too far in the past: the figures are as of today.", date=date(day, "d MMMM y"))


def _strict_to() -> dt.date:
    """The date of a list behind a number, or of the CSV: today when none is given; 404 for a bad one."""
    raw = request.args.get("to", "")
    if not raw:
        return today()
    try:
        return v.date(raw, "to")
    except Invalid:
        abort(404)


def _facts(to: dt.date) -> list[ClaimFacts]:
    return claim_facts(to, user_countries(current_user))


@bp.route("/claims/dashboard")
@permission("claims.dashboard")
def claims_dashboard():
    to, problem = _chosen_to()
    stalled_days = stalled_days_setting()
    facts = _facts(to)
    summary = summarise(facts, to, stalled_days)
    names = {row.member_state: country(row.member_state) for row in summary.member_states}
    rows = sorted(summary.member_states, key=lambda row: (name_key(names[row.member_state]), row.member_state))
    stalled: dict[str, list[ClaimFacts]] = {}
    for claim in stalled_claims(facts, to, stalled_days):
        stalled.setdefault(claim.member_state, []).append(claim)
    stalled_groups = sorted(stalled.items(), key=lambda item: (name_key(names[item[0]]), item[0]))
    months = open_by_step_over_time(facts, to)
    return render_template(
        "registry/claims_dashboard.html", to=to, iso=to.isoformat(), problem=problem, raw_to=request.args.get("to", ""),
        stalled_days=stalled_days, summary=summary, rows=rows, names=names, stalled_groups=stalled_groups,
        chart=open_by_step_chart(months, to), months=months, open_steps=OPEN_STEPS, outcomes=OUTCOMES,
        transitions=[transition_key(t) for t in TRANSITIONS],
    )


def _heading(measure: str, step: str | None, member_state: str | None, to: dt.date) -> str:
    """What a list behind a number is: "Open claims at DNA sample collected, Pakistan, as of 6 December 2026"."""
    place = country(member_state) or _("all Member States")
    values = {"step": label(step), "place": place, "date": date(to, "d MMMM y")}
    texts = {
        "received": _("Claims received, %(place)s, as of %(date)s", **values),
        "open": _("Open claims, %(place)s, as of %(date)s", **values),
        "stalled": _("Stalled claims, %(place)s, as of %(date)s", **values),
        "open_by_step": _("Open claims at %(step)s, %(place)s, as of %(date)s", **values),
        "stalled_by_step": _("Stalled claims at %(step)s, %(place)s, as of %(date)s", **values),
        "outcomes": _("Claims that reached %(step)s, %(place)s, as of %(date)s", **values),
    }
    return texts[measure]


@bp.route("/claims/dashboard/claims")
@permission("claims.dashboard")
def claims_dashboard_claims():
    """The claims behind one number of the dashboard (``measure``, ``member_state``, ``step``), as of ``to``.
    Without a measure: every claim received. A parameter that names nothing the dashboard counts: 404."""
    args = request.args
    to = _strict_to()
    measure = args.get("measure") or "received"
    step = args.get("step") or None
    member_state = args.get("member_state") or None
    if member_state is not None and not is_country(member_state):
        abort(404)
    stalled_days = stalled_days_setting()
    try:
        claims = claims_behind(_facts(to), to, stalled_days, measure=measure, member_state=member_state, step=step)
    except ValueError:
        abort(404)
    claims.sort(key=lambda c: (not c.is_open, c.latest_on, c.child_code))
    return render_template(
        "registry/claims_dashboard_claims.html", to=to, claims=claims, stalled_days=stalled_days,
        heading=_heading(measure, step, member_state, to),
    )


@bp.route("/claims/dashboard/stalled.csv")
@writes_on_get
@permission("claims.dashboard")
def claims_dashboard_stalled_csv():
    """The stalled claims as of ``to``, for the letters to Member States; audited as an export."""
    from tracker.exports import csv_response

    to = _strict_to()
    claims = stalled_claims(_facts(to), to, stalled_days_setting())
    rows = [[c.member_state, c.child_code, c.current_step, c.latest_on, c.days_waiting(to), c.received_on]
            for c in claims]
    audit.record(db.session, "export", entity="paternity_claims",
                 changes={"rows": len(rows), "list": "stalled", "to": to.isoformat()})
    db.session.commit()
    return csv_response(f"stalled-claims-{to.isoformat()}.csv", STALLED_HEADER, rows)
