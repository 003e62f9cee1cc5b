"""Donors, pledges, contributions, allocations, allocation plans and exchange rates.

Pledges and contributions keep their original amount and currency and, frozen
beside them, the USD value and the rate used on the day they were recorded,
so that an old report never shifts when a rate is corrected later.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models._helpers import in_language, one_of
from tracker.models.base import Base, Money, UTCDateTime, now_utc

DONOR_KINDS = ("member_state", "intergovernmental", "ngo", "private", "withheld_payments")
#: An allocation plan waits for a second manager (``pending``) when its total is above
#: ``ALLOCATION_FOUR_EYES_USD``, then is ``confirmed``, ``rejected`` or ``withdrawn``; below it, it is
#: ``allocated`` at once.
PLAN_STATES = ("pending", "confirmed", "rejected", "withdrawn", "allocated")
#: How a plan shared the money left after children and over-commitments (tracker.funding.planner.SHARES).
PLAN_SHARES = ("need", "order")


def _frozen_usd_checks():
    return (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("usd_amount >= 0", name="usd_not_negative"),
        CheckConstraint("usd_rate > 0", name="rate_positive"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
    )


class Donor(Base):
    __tablename__ = "donors"
    __audited__ = True
    __table_args__ = (one_of("kind", DONOR_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)
    #: The name in French, for reports issued in French (:meth:`name_in`); optional, not unique.
    name_fr: Mapped[str | None] = mapped_column(String(200))

    def name_in(self, lang: str) -> str:
        """The name for readers of ``lang``: the French one when ``lang`` is French and it is set."""
        return in_language(lang, self.name, self.name_fr)


class Pledge(Base):
    """A donor's promise, optionally earmarked for a country or a project."""

    __tablename__ = "pledges"
    __audited__ = True
    __table_args__ = _frozen_usd_checks()

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money(2))
    currency: Mapped[str] = mapped_column(String(3))
    pledged_on: Mapped[dt.date] = mapped_column(Date)
    #: Earmarks: at most one of them is usually set.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"))
    country: Mapped[str | None] = mapped_column(String(2))
    #: USD at the rate in force on ``pledged_on``, frozen with the rate.
    usd_amount: Mapped[Decimal] = mapped_column(Money(2))
    usd_rate: Mapped[Decimal] = mapped_column(Money(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)

    donor = relationship("Donor")
    project = relationship("Project")


class Contribution(Base):
    """Money actually received, optionally against a pledge."""

    __tablename__ = "contributions"
    __audited__ = True
    __table_args__ = _frozen_usd_checks()

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id"), index=True)
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledges.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money(2))
    currency: Mapped[str] = mapped_column(String(3))
    received_on: Mapped[dt.date] = mapped_column(Date)
    #: USD at the rate in force on ``received_on``, frozen with the rate.
    usd_amount: Mapped[Decimal] = mapped_column(Money(2))
    usd_rate: Mapped[Decimal] = mapped_column(Money(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)

    donor = relationship("Donor")
    pledge = relationship("Pledge")


class Allocation(Base):
    """USD the Fund assigns to a project from what it has received."""

    __tablename__ = "allocations"
    __audited__ = True
    __table_args__ = (CheckConstraint("amount_usd > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    amount_usd: Mapped[Decimal] = mapped_column(Money(2))
    allocated_on: Mapped[dt.date] = mapped_column(Date)
    #: The partner's or the Fund's own reference of the allocation, when it has one: it tells two
    #: allocations of the same amount to the same project on the same day apart, and makes a
    #: re-imported row the allocation it names. Unique when given (many allocations have none).
    reference: Mapped[str | None] = mapped_column(String(60), unique=True, index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)
    #: The allocation plan it was made from, if any (tracker/funding/plans.py).
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_plans.id"), index=True)

    project = relationship("Project")


class AllocationPlan(Base):
    """Allocations of the Fund's unallocated money to several projects, decided as one (tracker/funding/plans.py).

    The allocations exist once the plan is ``allocated`` or ``confirmed``; a pending plan holds no money.
    Whoever made a plan never confirms it (the database refuses it too).
    """

    __tablename__ = "allocation_plans"
    __audited__ = True
    __table_args__ = (
        one_of("status", PLAN_STATES),
        one_of("share", PLAN_SHARES),
        CheckConstraint("amount_usd >= 0", name="amount_not_negative"),
        CheckConstraint("total_usd > 0", name="total_positive"),
        CheckConstraint("status <> 'confirmed' OR decided_by_id <> created_by_id", name="four_eyes"),
        CheckConstraint("status <> 'rejected' OR reason IS NOT NULL", name="reject_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``PLAN-2026-0001``: the plan's number, in the year it was made.
    number: Mapped[str] = mapped_column(String(20), unique=True)
    #: ``fund`` or ``country:CD``: the projects the plan was computed over.
    scope: Mapped[str] = mapped_column(String(40))
    share: Mapped[str] = mapped_column(String(10))
    #: The money the plan was made for, and what its lines give in all.
    amount_usd: Mapped[Decimal] = mapped_column(Money(2))
    total_usd: Mapped[Decimal] = mapped_column(Money(2))
    status: Mapped[str] = mapped_column(String(10), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Why a second manager rejected the plan.
    reason: Mapped[str | None] = mapped_column(Text)

    lines = relationship("AllocationPlanLine", back_populates="plan", order_by="AllocationPlanLine.id")
    created_by = relationship("User", foreign_keys=[created_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])


class AllocationPlanLine(Base):
    """What a plan gives one project, and the children at risk it covered when the plan was made."""

    __tablename__ = "allocation_plan_lines"
    __table_args__ = (
        UniqueConstraint("plan_id", "project_id"),
        CheckConstraint("amount_usd > 0", name="amount_positive"),
        CheckConstraint("children_covered >= 0", name="children_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("allocation_plans.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    amount_usd: Mapped[Decimal] = mapped_column(Money(2))
    children_covered: Mapped[int] = mapped_column(Integer)

    plan = relationship("AllocationPlan", back_populates="lines")
    project = relationship("Project")


class ExchangeRate(Base):
    """USD per unit of a currency, in force from ``valid_from`` until the next one."""

    __tablename__ = "exchange_rates"
    __audited__ = True
    __table_args__ = (
        UniqueConstraint("currency", "valid_from"),
        CheckConstraint("usd_per_unit > 0", name="rate_positive"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    usd_per_unit: Mapped[Decimal] = mapped_column(Money(8))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)
