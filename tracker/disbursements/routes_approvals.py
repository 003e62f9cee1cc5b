"""The managers' queues: submitted payments to approve or reject, approved ones to pay.

Both queues page (50 a page), filter (project, category, age, who entered them) and put the longest waiting
first. Their forms work without JavaScript: "select all on this page" and "update the total" re-render the
page with the ticks (and anything typed) kept and the USD total of the selection worked out here. A batch is
all-or-nothing: when one ticked payment is refused, nothing is saved and the page comes back with every tick
and typed reference kept and an error summary naming each refused payment.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from tracker import validation as v
from tracker.auth.permissions import permission
from tracker.auth.scope import scoped_select
from tracker.disbursements import queries, services
from tracker.disbursements.blueprint import bp
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.forms import ActionForm
from tracker.models import CATEGORIES, Disbursement
from tracker.models.base import today
from tracker.web import page_number, project_choices

PER_PAGE = 50


@dataclass(frozen=True)
class Problem:
    """One error of a batch: what the summary says (naming the payment), the id of the input to fix (the summary
    links to it), and what the input itself says."""
    message: str
    target: str
    inline: str = ""


@dataclass(frozen=True)
class Selection:
    count: int
    total_usd: Decimal
    without_rate: int  #: ticked ones with no USD value (no exchange rate on their date), left out of the total


def _filters() -> queries.QueueFilters:
    args = request.args

    def number(name, allowed=None):
        raw = args.get(name, "")
        if not (raw.isascii() and raw.isdigit() and len(raw) < 10):
            return None
        value = int(raw)
        return value if allowed is None or value in allowed else None

    return queries.QueueFilters(
        project=(args.get("project") or "").strip()[:30] or None,
        category=args.get("category") if args.get("category") in CATEGORIES else None,
        age=number("age", queries.QUEUE_AGES),
        entered_by=number("entered_by"),
    )


def _ticked_ids() -> set[int]:
    return {int(x) for x in request.form.getlist("id") if x.isascii() and x.isdigit() and len(x) < 10}


def _selection(rows, ticked: set[int]) -> Selection:
    chosen = [r for r in rows if r.id in ticked]
    return Selection(len(chosen), sum((r.usd_estimate for r in chosen if r.usd_estimate is not None), Decimal("0.00")),
                     sum(1 for r in chosen if r.usd_estimate is None))


def _render(template: str, status: str, *, ticked: set[int] | None = None, select_all=False,
            problems: list[Problem] | None = None, typed: dict | None = None, http_status: int = 200):
    filters = _filters()
    queue = queries.queue_page(current_user, status, filters, page_number(), PER_PAGE)
    rows = queue.page.items
    if select_all:
        ticked = {r.id for r in rows if status != "submitted" or r.entered_by_id != current_user.id}
    ticked = ticked or set()
    return render_template(
        template, queue=queue, rows=rows, filters=filters, args=filters.args(), ticked=ticked,
        selection=_selection(rows, ticked), problems=problems or [], typed=typed or {},
        projects=project_choices(open_only=False), categories=CATEGORIES, ages=queries.QUEUE_AGES,
        enterers=queries.queue_enterers(current_user, status), action=ActionForm(), today_iso=today().isoformat(),
    ), http_status


@bp.route("/approvals/")
@permission("disbursements.approve")
def approvals():
    return _render("disbursements/approvals.html", "submitted")


@bp.route("/approvals/to-pay")
@permission("disbursements.approve")
def to_pay():
    return _render("disbursements/to_pay.html", "approved")


def _ticked() -> list[Disbursement]:
    """The ticked disbursements in the user's countries, with the version each was ticked at."""
    ids = sorted(_ticked_ids())[:1000]
    if not ids:
        return []
    found = db.session.scalars(scoped_select(Disbursement, current_user).where(Disbursement.id.in_(ids))).all()
    return sorted(found, key=lambda d: d.id)


_FIELDS = {"paid_on": "paid-on", "payment_reference": "pr-{id}", "reason": "reason"}


def _problem(disbursement: Disbursement, error: Invalid) -> list[Problem]:
    """Each message of a refusal, naming the payment once, linked to the input to fix."""
    labels = {"paid_on": _("paid on"), "payment_reference": _("payment reference"), "reason": _("reason")}
    out = []
    for field, message in error.errors.items():
        text = message if disbursement.reference in message else (
            _("%(label)s: %(value)s", label=disbursement.reference,
              value=_("%(label)s: %(value)s", label=labels[field], value=message) if field in labels else message))
        out.append(Problem(text, _FIELDS.get(field, "t-{id}").format(id=disbursement.id), message))
    return out


def _run_all_or_nothing(items, run) -> list[Problem]:
    """Run ``run`` on every item, each in its own savepoint so every refusal is found; keep all or nothing."""
    problems: list[Problem] = []
    for disbursement in items:
        seen = request.form.get(f"version-{disbursement.id}", "")
        try:
            with db.session.begin_nested():
                if seen.isascii() and seen.isdigit() and len(seen) < 10 and int(seen) != disbursement.version_id:
                    raise services.Conflict(_("%(ref)s was changed by someone else since you opened this page",
                                              ref=disbursement.reference))
                run(disbursement)
        except Invalid as error:
            problems.extend(_problem(disbursement, error))
    if problems:
        db.session.rollback()
    else:
        db.session.commit()
    return problems


def _back(endpoint: str):
    """The same queue page, with its filters, after a batch was saved."""
    return redirect(url_for(endpoint, **_filters().args(), **({"page": page_number()} if page_number() > 1 else {})))


@bp.route("/approvals/decide", methods=["POST"])
@permission("disbursements.approve")
def decide():
    """Approve or reject the ticked ones, all or none; or select all on the page, or update the total."""
    if not ActionForm().validate_on_submit():
        abort(400)
    decision = request.form.get("decision")
    reason = (request.form.get("reason") or "").strip()
    typed = {"reason": reason[:500]}
    page = "disbursements/approvals.html"
    if decision == "select_all":
        return _render(page, "submitted", select_all=True, typed=typed)
    if decision == "total":
        return _render(page, "submitted", ticked=_ticked_ids(), typed=typed)
    if decision not in ("approve", "reject"):
        abort(400)
    items = _ticked()
    if not items:
        return _render(page, "submitted", typed=typed, http_status=422,
                       problems=[Problem(_("Tick at least one payment."), "ticks")])
    if decision == "approve":
        problems = _run_all_or_nothing(items, lambda d: services.approve(disbursement=d, user=current_user))
        verb = _("Approved")
    else:
        if not reason:
            return _render(page, "submitted", ticked=_ticked_ids(), typed=typed, http_status=422,
                           problems=[Problem(_("Say why they are rejected."), "reason")])
        problems = _run_all_or_nothing(items, lambda d: services.reject(disbursement=d, user=current_user,
                                                                        reason=reason))
        verb = _("Rejected")
    if problems:
        return _render(page, "submitted", ticked=_ticked_ids(), typed=typed, problems=problems, http_status=422)
    flash(_("%(verb)s: %(refs)s.", verb=verb, refs=", ".join(d.reference for d in items)), "success")
    return _back("disbursements.approvals")


@bp.route("/approvals/pay", methods=["POST"])
@permission("disbursements.approve")
def pay_many():
    """Record payment of the ticked ones, each with its own payment reference, all or none."""
    if not ActionForm().validate_on_submit():
        abort(400)
    decision = request.form.get("decision") or "pay"
    paid_on = (request.form.get("paid_on") or "").strip()[:20]
    typed = {"paid_on": paid_on}
    typed.update({key: (value or "").strip()[:80] for key, value in request.form.items() if key.startswith("payref-")})
    page = "disbursements/to_pay.html"
    if decision == "select_all":
        return _render(page, "approved", select_all=True, typed=typed)
    if decision == "total":
        return _render(page, "approved", ticked=_ticked_ids(), typed=typed)
    if decision != "pay":
        abort(400)
    items = _ticked()
    if not items:
        return _render(page, "approved", typed=typed, http_status=422,
                       problems=[Problem(_("Tick at least one payment."), "ticks")])
    problems = []
    try:
        v.date(paid_on, "paid_on")
    except Invalid as error:
        problems.append(Problem(_("%(label)s: %(value)s", label=_("Paid on"), value=error.errors["paid_on"]),
                                "paid-on", error.errors["paid_on"]))
    for d in items:
        if not typed.get(f"payref-{d.id}"):
            problems.append(Problem(
                _("%(ref)s: enter the payment reference (the bank's or the school's receipt number)", ref=d.reference),
                f"pr-{d.id}", _("Enter the payment reference.")))
    if not problems:
        problems = _run_all_or_nothing(items, lambda d: services.pay(
            disbursement=d, user=current_user, paid_on=paid_on, payment_reference=typed.get(f"payref-{d.id}", "")))
    if problems:
        return _render(page, "approved", ticked=_ticked_ids(), typed=typed, problems=problems, http_status=422)
    flash(_("%(verb)s: %(refs)s.", verb=_("Paid"), refs=", ".join(d.reference for d in items)), "success")
    return _back("disbursements.to_pay")
