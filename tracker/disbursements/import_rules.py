"""What both ways of importing disbursements share (row by row in :mod:`~tracker.disbursements.import_kind`,
in batches in :mod:`~tracker.disbursements.import_batch`): the go-live date bounding history, and who the rows
are attributed to."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from tracker import validation as v
from tracker.disbursements import services
from tracker.errors import Errors, Invalid
from tracker.extensions import db
from tracker.imports.kinds import RowContext
from tracker.models import Beneficiary, Child, Enrolment, IncomeProject, Project, User


def import_user(ctx: RowContext) -> User:
    if ctx.user is not None:
        return ctx.user
    # On the command line without --as, entries are attributed to the first administrator.
    cached = ctx.cache.get("_admin")
    if cached is None:
        cached = db.session.scalars(select(User).where(User.role == "admin", User.active.is_(True))
                                    .order_by(User.id)).first()
        if cached is None:
            raise Invalid(_l("no administrator exists to attribute the import to; use --as EMAIL"), "")
        ctx.cache["_admin"] = cached
    return cached


def live_since() -> dt.date | None:
    """The go-live date (``TRACKER_LIVE_SINCE``): payments paid up to it may be loaded as history."""
    value = current_app.config.get("TRACKER_LIVE_SINCE")
    if not value:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())


def history_refusal() -> str | None:
    if live_since() is None:
        return str(_l("history cannot be imported: the go-live date is not set (TRACKER_LIVE_SINCE=YYYY-MM-DD, "
                      "the day payments started going through approval here); nothing was imported"))
    return None


def history_audit(cache: dict) -> dict:
    """The paid rows this history import added and their USD total (rows already imported add nothing)."""
    return {"paid_rows": cache.get("_history_rows", 0),
            "usd_total": str(cache.get("_history_usd", Decimal(0)).quantize(Decimal("0.01"))),
            "live_since": live_since().isoformat()}


class RowTargets(NamedTuple):
    """What a row of the file names, found and checked: the records it points at and its history fields (a named
    tuple: one is made per row of a file, and a frozen dataclass costs several times more to make)."""
    reference: str
    project: Project
    mother: Beneficiary
    child: Child | None
    enrolment: Enrolment | None
    income_project: IncomeProject | None
    user: User
    paid_on: dt.date | None
    payment_reference: str


def resolve_row(values: dict[str, str], ctx: RowContext, *,
                existing_of: Callable[[str], tuple[int, int] | None],
                enrolment_of: Callable[[int, str], Enrolment | None]) -> RowTargets | None:
    """The records a row names; ``None`` when its reference is imported already with the same project and mother.
    Every problem of the row is reported at once: when a record it names is unknown, the row's own values are
    checked too (as the entry form would). ``existing_of(reference)`` gives the recorded ``(project_id,
    beneficiary_id)`` of a reference, ``enrolment_of(child_id, year)`` an enrolment: from the database row by row,
    from what a batch looked up at once in batches."""
    errors = Errors()
    reference = errors.check(v.text, values["reference"], "reference", max_length=60)
    found = None
    if reference is not None:
        seen = ctx.cache.setdefault("_seen", set())
        if reference in seen:
            errors.add(_l("%(ref)s appears twice in this file", ref=reference), "reference")
        else:
            seen.add(reference)
            found = existing_of(reference)
    project = errors.check(ctx.find, Project, "project_code", "code", values["project_code"])
    mother = errors.check(ctx.find, Beneficiary, "mother_code", "code", values["mother_code"])
    if found is not None and project is not None and mother is not None:
        if found[0] != project.id or found[1] != mother.id:
            raise Invalid(_l("%(ref)s exists already with other details", ref=reference), "reference")
        if not errors:
            return None
    child = (errors.check(ctx.find, Child, "child_code", "code", values["child_code"])
             if values.get("child_code") else None)
    enrolment = None
    if values.get("academic_year"):
        year = errors.check(v.academic_year, values["academic_year"])
        if child is None and not errors.has("child_code"):
            errors.add(_l("an academic year needs the child"), "child_code")
        elif child is not None and year is not None:
            enrolment = enrolment_of(child.id, year)
            if enrolment is None:
                errors.add(_l("%(child)s is not enrolled for %(year)s", child=child.code, year=year), "academic_year")
    income_project = None
    if values.get("income_project_reference"):
        income_project = errors.check(ctx.find, IncomeProject, "income_project_reference", "reference",
                                      values["income_project_reference"])
    user = import_user(ctx)
    history = ctx.history
    paid_on = errors.check(v.date, values.get("paid_on", ""), "paid_on", required=history)
    payment_reference = errors.check(v.text, values.get("payment_reference", ""), "payment_reference",
                                     required=history, max_length=80)
    if not history and (paid_on or payment_reference):
        errors.add(_l("only past payments (--history) are imported as paid; leave it empty"),
                   "paid_on" if paid_on else "payment_reference")
    if history:
        since = live_since()
        if since is None:  # run_import refuses the import before any row; never trust that alone
            raise Invalid(history_refusal(), "paid_on")
        if paid_on is not None and paid_on > since:
            errors.add(_l("after the go-live date %(day)s; record it through approval", day=since.isoformat()),
                       "paid_on")
    if errors:
        # The entry is not checked when a record is missing: its own values still are, to report them all.
        services.check_entry_values(errors, category=values["category"], currency=values["currency"],
                                    amount=values["amount"], payee=values["payee"], entered_on=values["entered_on"])
        errors.raise_any()
    return RowTargets(reference, project, mother, child, enrolment, income_project, user, paid_on, payment_reference)
