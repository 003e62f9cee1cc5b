"""Disbursements: payments by a project on behalf of a beneficiary.

The lifecycle (``draft`` → ``submitted`` → ``approved`` → ``paid``;
``submitted`` → ``rejected``; ``approved``/``paid`` → ``voided``) is held by
the disbursement service; the constraints here make the database refuse any
row that breaks its rules, whatever code wrote it.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models._helpers import one_of
from tracker.models.base import Base, Money, UTCDateTime, now_utc
from tracker.models.projects import CATEGORIES

DISBURSEMENT_STATES = ("draft", "submitted", "approved", "paid", "rejected", "voided")
_TERM_HELD = ("category = 'school_fees' AND top_up = false "
              "AND status IN ('draft', 'submitted', 'approved', 'paid')")
_TERM_COVERED = "category = 'school_fees' AND status IN ('approved', 'paid')"


class Disbursement(Base):
    __tablename__ = "disbursements"
    __audited__ = True
    __table_args__ = (
        one_of("status", DISBURSEMENT_STATES),
        one_of("category", CATEGORIES),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
        CheckConstraint("term IS NULL OR term BETWEEN 1 AND 4", name="term_range"),
        CheckConstraint(
            "category <> 'school_fees' OR (child_id IS NOT NULL AND enrolment_id IS NOT NULL AND term IS NOT NULL)",
            name="school_fees_target",
        ),
        CheckConstraint("category <> 'iga' OR income_project_id IS NOT NULL", name="iga_target"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id <> entered_by_id", name="four_eyes"),
        CheckConstraint("status NOT IN ('approved', 'paid') OR usd_amount IS NOT NULL", name="usd_frozen"),
        CheckConstraint(
            "status <> 'paid' OR (paid_on IS NOT NULL AND payment_reference IS NOT NULL)", name="paid_has_proof"
        ),
        CheckConstraint("status <> 'voided' OR void_reason IS NOT NULL", name="void_has_reason"),
        CheckConstraint("status <> 'rejected' OR rejection_reason IS NOT NULL", name="reject_has_reason"),
        CheckConstraint("top_up = false OR top_up_reason IS NOT NULL", name="top_up_has_reason"),
        UniqueConstraint("project_id", "payment_reference"),
        Index("ix_disbursements_project_status", "project_id", "status"),
        Index("ix_disbursements_enrolment_term", "enrolment_id", "term"),
        # The disbursements list: newest first, paged by key (migration 0009).
        Index("ix_disbursements_entered_on_id", "entered_on", "id"),
        # One payment holds a term of school fees (a top-up aside), even when two people enter it at once.
        Index("uq_disbursements_term_held", "enrolment_id", "term", unique=True,
              sqlite_where=text(_TERM_HELD), postgresql_where=text(_TERM_HELD)),
        # The funding engine asks, for every term of the year, whether a payment covers it.
        Index("ix_disbursements_term_covered", "enrolment_id", "term",
              sqlite_where=text(_TERM_COVERED), postgresql_where=text(_TERM_COVERED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    category: Mapped[str] = mapped_column(String(20))
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    child_id: Mapped[int | None] = mapped_column(ForeignKey("children.id"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolments.id"))
    term: Mapped[int | None] = mapped_column(Integer)
    income_project_id: Mapped[int | None] = mapped_column(ForeignKey("income_projects.id"), index=True)
    #: The school, supplier or service provider paid (never the beneficiary in cash).
    payee: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money(2))
    currency: Mapped[str] = mapped_column(String(3))
    entered_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    #: USD at the rate in force on ``entered_on``, frozen at approval with the rate.
    usd_amount: Mapped[Decimal | None] = mapped_column(Money(2))
    usd_rate: Mapped[Decimal | None] = mapped_column(Money(8))
    #: A second payment for the same child, term and category, allowed with a reason.
    top_up: Mapped[bool] = mapped_column(Boolean, default=False)
    top_up_reason: Mapped[str | None] = mapped_column(Text)
    #: Loaded by ``flask import disbursements --history`` as already paid.
    imported_history: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Disbursements entered together (a whole term) share a batch key.
    batch_key: Mapped[str | None] = mapped_column(String(40), index=True)
    #: Key of the form submission that created it, so a retried request creates nothing new.
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    paid_on: Mapped[dt.date | None] = mapped_column(Date, index=True)
    payment_reference: Mapped[str | None] = mapped_column(String(80))

    entered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rejected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    void_reason: Mapped[str | None] = mapped_column(Text)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version_id}

    project = relationship("Project")
    beneficiary = relationship("Beneficiary")
    child = relationship("Child")
    enrolment = relationship("Enrolment")
    income_project = relationship("IncomeProject")
