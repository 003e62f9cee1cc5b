"""Beneficiaries (mothers), children, enrolments, paternity claims and income projects.

Personal fields (``PERSONAL`` in their column info) are encrypted at rest and
never written to the audit trail; everything else refers to people by their
pseudonymous code.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models._helpers import one_of
from tracker.models.base import PERSONAL, SECRET, Base, Encrypted, Money, UTCDateTime, now_utc

BENEFICIARY_STATUSES = ("active", "exited")
EXIT_REASONS = ("graduated", "moved", "withdrew", "deceased")
SEXES = ("F", "M")
PERSONNEL_CATEGORIES = ("military", "police", "civilian")
#: The path of a paternity claim, in order; the last three follow an established paternity.
CLAIM_STEPS = (
    "received",
    "notified_to_member_state",
    "dna_sample_collected",
    "dna_result_received",
    "paternity_established",
    "not_established",
    "withdrawn",
    "legally_recognised",
    "support_ordered",
    "support_paid",
)
INCOME_PROJECT_STATUSES = ("planned", "active", "struggling", "closed_successful", "closed_failed")


class CodeSequence(Base):
    """The last number handed out per country and kind, so codes are never reused."""

    __tablename__ = "code_sequences"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class Beneficiary(Base):
    """A mother (or other survivor) enrolled in a project, known by her code."""

    __tablename__ = "beneficiaries"
    __audited__ = True
    __table_args__ = (
        one_of("status", BENEFICIARY_STATUSES),
        one_of("exit_reason", EXIT_REASONS),
        CheckConstraint("(status = 'exited') = (exit_reason IS NOT NULL)", name="exit_has_reason"),
        CheckConstraint("(status = 'exited') = (exited_on IS NOT NULL)", name="exit_has_date"),
        CheckConstraint("year_of_birth BETWEEN 1900 AND 2100", name="year_of_birth_plausible"),
        UniqueConstraint("country", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Pseudonymous code, e.g. ``CD-M-00042``: the only way she is named outside her page.
    code: Mapped[str] = mapped_column(String(20), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    number: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    full_name: Mapped[str] = mapped_column(Encrypted, info=PERSONAL)
    #: Keyed hash of the normalised name, to find her by exact name without decrypting.
    name_hash: Mapped[str] = mapped_column(String(64), index=True, info=SECRET)
    phone: Mapped[str | None] = mapped_column(Encrypted, info=PERSONAL)
    village: Mapped[str | None] = mapped_column(Encrypted, info=PERSONAL)
    year_of_birth: Mapped[int] = mapped_column(Integer)
    enrolled_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="active")
    exit_reason: Mapped[str | None] = mapped_column(String(20))
    exited_on: Mapped[dt.date | None] = mapped_column(Date)
    #: Consent to receive services, and to be counted in what donors see.
    consent_services_on: Mapped[dt.date | None] = mapped_column(Date)
    consent_services_withdrawn_on: Mapped[dt.date | None] = mapped_column(Date)
    consent_reporting_on: Mapped[dt.date | None] = mapped_column(Date)
    consent_reporting_withdrawn_on: Mapped[dt.date | None] = mapped_column(Date)
    #: Last child number used under her code (``CD-C-00042-<n>``), never reused.
    children_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)

    project = relationship("Project")
    children: Mapped[list[Child]] = relationship(back_populates="mother", order_by="Child.number")

    @property
    def has_reporting_consent(self) -> bool:
        return self.consent_reporting_on is not None and self.consent_reporting_withdrawn_on is None

    @property
    def has_services_consent(self) -> bool:
        return self.consent_services_on is not None and self.consent_services_withdrawn_on is None


class Child(Base):
    __tablename__ = "children"
    __audited__ = True
    __table_args__ = (
        one_of("sex", SEXES),
        UniqueConstraint("mother_id", "number"),
        CheckConstraint("year_of_birth BETWEEN 1900 AND 2100", name="year_of_birth_plausible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Pseudonymous code, e.g. ``CD-C-00042-1``.
    code: Mapped[str] = mapped_column(String(24), unique=True)
    mother_id: Mapped[int] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    first_name: Mapped[str] = mapped_column(Encrypted, info=PERSONAL)
    year_of_birth: Mapped[int] = mapped_column(Integer)
    sex: Mapped[str] = mapped_column(String(1))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)

    mother: Mapped[Beneficiary] = relationship(back_populates="children")
    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="child", order_by="Enrolment.academic_year")


class Enrolment(Base):
    """A child at a school for one academic year, with the fee per term."""

    __tablename__ = "enrolments"
    __audited__ = True
    __table_args__ = (
        UniqueConstraint("child_id", "academic_year"),
        CheckConstraint("fee_per_term > 0", name="fee_positive"),
        CheckConstraint("terms BETWEEN 1 AND 4", name="terms_range"),
        CheckConstraint("length(academic_year) = 9", name="academic_year_form"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"), index=True)
    school: Mapped[str] = mapped_column(String(200), index=True)
    #: ``2025-2026``: the year starts in ``ACADEMIC_YEAR_START_MONTH``.
    academic_year: Mapped[str] = mapped_column(String(9), index=True)
    grade: Mapped[str] = mapped_column(String(40))
    fee_per_term: Mapped[Decimal] = mapped_column(Money(2))
    currency: Mapped[str] = mapped_column(String(3))
    terms: Mapped[int] = mapped_column(Integer, default=3)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)

    child: Mapped[Child] = relationship(back_populates="enrolments")


class PaternityClaim(Base):
    """A child's paternity claim against UN personnel of a Member State."""

    __tablename__ = "paternity_claims"
    __audited__ = True
    __table_args__ = (
        one_of("personnel_category", PERSONNEL_CATEGORIES),
        one_of("status", CLAIM_STEPS),
        CheckConstraint("length(member_state) = 2", name="member_state_alpha2"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"), unique=True)
    member_state: Mapped[str] = mapped_column(String(2))
    personnel_category: Mapped[str] = mapped_column(String(10))
    #: The current step and its date, kept in step with the history for lists.
    status: Mapped[str] = mapped_column(String(30), default="received")
    status_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)

    child = relationship("Child")
    steps: Mapped[list[ClaimStep]] = relationship(back_populates="claim", order_by="ClaimStep.id")


class ClaimStep(Base):
    """One dated step of a claim. A correction supersedes a step and keeps it."""

    __tablename__ = "claim_steps"
    __audited__ = True
    __table_args__ = (
        one_of("step", CLAIM_STEPS),
        CheckConstraint("(superseded_at IS NULL) OR (correction_reason IS NOT NULL)", name="correction_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("paternity_claims.id"), index=True)
    step: Mapped[str] = mapped_column(String(30))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Set when a later correction replaced this step; the row stays as history.
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("claim_steps.id"))
    correction_reason: Mapped[str | None] = mapped_column(Text)

    claim: Mapped[PaternityClaim] = relationship(back_populates="steps")


class IncomeProject(Base):
    """A beneficiary's income-generating activity (IGA)."""

    __tablename__ = "income_projects"
    __audited__ = True
    __table_args__ = (
        one_of("status", INCOME_PROJECT_STATUSES),
        CheckConstraint("planned_grant > 0", name="grant_positive"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiaries.id"), index=True)
    activity: Mapped[str] = mapped_column(String(120))
    started_on: Mapped[dt.date] = mapped_column(Date)
    planned_grant: Mapped[Decimal] = mapped_column(Money(2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="planned")
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)

    beneficiary = relationship("Beneficiary")
    reports: Mapped[list[IncomeReport]] = relationship(back_populates="income_project", order_by="IncomeReport.month")


class IncomeReport(Base):
    """A month's revenue and costs of an income project, in local currency."""

    __tablename__ = "income_reports"
    __audited__ = True
    __table_args__ = (
        UniqueConstraint("income_project_id", "month"),
        CheckConstraint("revenue >= 0", name="revenue_not_negative"),
        CheckConstraint("costs >= 0", name="costs_not_negative"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    income_project_id: Mapped[int] = mapped_column(ForeignKey("income_projects.id"), index=True)
    #: First day of the month reported.
    month: Mapped[dt.date] = mapped_column(Date)
    revenue: Mapped[Decimal] = mapped_column(Money(2))
    costs: Mapped[Decimal] = mapped_column(Money(2))
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)

    income_project: Mapped[IncomeProject] = relationship(back_populates="reports")


