"""Donors, pledges, contributions, allocations and exchange rates.

Pledges and contributions keep their original amount and currency and, frozen
beside them, the USD value and the rate used on the day they were recorded,
so that an old report never shifts when a rate is corrected later.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models._helpers import in_language, one_of
from tracker.models.base import Base, Money, UTCDateTime, now_utc

DONOR_KINDS = ("member_state", "intergovernmental", "ngo", "private", "withheld_payments")


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
