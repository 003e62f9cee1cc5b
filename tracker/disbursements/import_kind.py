"""The ``disbursements`` spreadsheet import (DESIGN section 7), with ``--history`` for past payments.

A new row is entered and submitted for approval, like one typed in the form.
With ``--history`` (administrators) rows are past payments: they are loaded as
already ``paid`` with their ``paid_on`` and ``payment_reference``, their USD
value frozen at the rate in force on ``entered_on``, and marked as imported
history. ``reference`` is the key: a file imported twice adds nothing.

History skips four-eyes approval, so it is bounded by the go-live date
``TRACKER_LIVE_SINCE``: without it no history is loaded, and a row paid after it
is refused (it must be entered and approved). Each history import's audit event
carries how many paid rows it added and their USD total.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from tracker.disbursements import services
from tracker.disbursements.import_batch import apply_batch
from tracker.disbursements.import_rules import history_audit, history_refusal, resolve_row
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.funding.rates import usd_value
from tracker.imports.kinds import Column, Kind, RowContext, register
from tracker.models import Disbursement, Enrolment
from tracker.models.base import now_utc


def _existing_of(reference: str) -> tuple[int, int] | None:
    return db.session.execute(select(Disbursement.project_id, Disbursement.beneficiary_id)
                              .where(Disbursement.reference == reference)).one_or_none()


def _enrolment_of(child_id: int, year: str) -> Enrolment | None:
    return db.session.scalars(select(Enrolment).where(
        Enrolment.child_id == child_id, Enrolment.academic_year == year)).one_or_none()


def apply_disbursement(values: dict[str, str], ctx: RowContext) -> str:
    """One row, through the service the entry form uses (the batch path's fallback, and its reference)."""
    row = resolve_row(values, ctx, existing_of=_existing_of, enrolment_of=_enrolment_of)
    if row is None:
        return "unchanged"
    project, mother, child, enrolment, income_project, user = (
        row.project, row.mother, row.child, row.enrolment, row.income_project, row.user)
    reference, history, paid_on, payment_reference = row.reference, ctx.history, row.paid_on, row.payment_reference
    disbursement = services.enter(
        project=project, category=values["category"], beneficiary=mother, child=child, enrolment=enrolment,
        term=values.get("term") or None, income_project=income_project, payee=values["payee"],
        amount=values["amount"], currency=values["currency"], entered_on=values["entered_on"], user=user,
        reference=reference, submit_now=not history, past=history,
    )
    if history:
        if paid_on < disbursement.entered_on:
            raise Invalid(_l("is before entered_on"), "paid_on")
        taken = db.session.scalar(select(Disbursement.reference).where(
            Disbursement.project_id == project.id, Disbursement.payment_reference == payment_reference))
        if taken is not None:
            raise Invalid(_l("%(pay)s is already the payment reference of %(ref)s", pay=payment_reference, ref=taken),
                          "payment_reference")
        usd, rate = usd_value(disbursement.amount, disbursement.currency, disbursement.entered_on)
        moment = now_utc()
        # History was approved and paid outside this system: the importing administrator records it,
        # and the four-eyes check does not apply (approved_by stays empty).
        db.session.execute(
            update(Disbursement).where(Disbursement.id == disbursement.id).values(
                status="paid", imported_history=True, usd_amount=usd, usd_rate=rate, paid_on=paid_on,
                payment_reference=payment_reference, paid_by_id=user.id, paid_at=moment,
                version_id=Disbursement.version_id + 1,
            ).execution_options(synchronize_session=False)
        )
        db.session.expire(disbursement)
        # For the import's audit event; counted only when the whole file is saved.
        ctx.cache["_history_rows"] = ctx.cache.get("_history_rows", 0) + 1
        ctx.cache["_history_usd"] = ctx.cache.get("_history_usd", Decimal(0)) + usd
    return "created"


register(Kind(
    name="disbursements",
    label=_l("Disbursements"),
    permission="disbursements.enter",
    history_permission="records.import_history",
    history_refusal=history_refusal,
    history_audit=history_audit,
    apply_row=apply_disbursement,
    apply_batch=apply_batch,
    columns=(
        Column("reference", help=_l("Your unique reference for the payment.")),
        Column("project_code"),
        Column("category", help=_l("school_fees, iga, medical, psychosocial, legal, material, outreach or admin.")),
        Column("mother_code"),
        Column("child_code", required=False, help=_l("Needed for school fees.")),
        Column("academic_year", required=False, help=_l("For school fees, such as 2025-2026.")),
        Column("term", required=False, help=_l("For school fees: 1, 2, 3...")),
        Column("income_project_reference", required=False, help=_l("Needed for income-activity grants.")),
        Column("payee", help=_l("The school, supplier or provider paid.")),
        Column("amount", help=_l("Digits and one dot, in the currency's decimals (none for XAF).")),
        Column("currency"),
        Column("entered_on", help=_l("YYYY-MM-DD.")),
        Column("paid_on", required=False, help=_l("Only with --history (past payments): YYYY-MM-DD.")),
        Column("payment_reference", required=False, help=_l("Only with --history: the bank or cash reference.")),
    ),
    example_rows=({"reference": "PAY-2025-0001", "project_code": "TF-CD-2025-01", "category": "school_fees",
                   "mother_code": "CD-M-00042", "child_code": "CD-C-00042-1", "academic_year": "2025-2026",
                   "term": "1", "income_project_reference": "", "payee": "EP Mapendo", "amount": "45000",
                   "currency": "CDF", "entered_on": "2025-09-15", "paid_on": "", "payment_reference": ""},),
))
