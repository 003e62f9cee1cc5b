"""Partners, projects and their budget lines."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models._helpers import in_language, one_of
from tracker.models.base import Base, Money, UTCDateTime, now_utc

PROJECT_STATUSES = ("pipeline", "active", "closed")
PARTNER_KINDS = ("un_entity", "ngo", "government", "other")
CATEGORIES = ("school_fees", "iga", "medical", "psychosocial", "legal", "material", "outreach", "admin")


class Partner(Base):
    """An implementing partner (UN entity or NGO)."""

    __tablename__ = "partners"
    __audited__ = True
    __table_args__ = (one_of("kind", PARTNER_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="ngo")


class Project(Base):
    """A Trust Fund grant to an implementing partner in one country."""

    __tablename__ = "projects"
    __audited__ = True
    __table_args__ = (
        one_of("status", PROJECT_STATUSES),
        CheckConstraint("end_date >= start_date", name="dates_in_order"),
        CheckConstraint("length(country) = 2", name="country_alpha2"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    #: The title in French, for reports issued in French (:meth:`title_in`); optional.
    title_fr: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)

    partner: Mapped[Partner] = relationship()
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        back_populates="project", order_by="(BudgetLine.year, BudgetLine.category)"
    )

    def title_in(self, lang: str) -> str:
        """The title for readers of ``lang``: the French one when ``lang`` is French and it is set."""
        return in_language(lang, self.title, self.title_fr)


class BudgetLine(Base):
    """The approved need of a project for one category and calendar year, in USD."""

    __tablename__ = "budget_lines"
    __audited__ = True
    __table_args__ = (
        UniqueConstraint("project_id", "year", "category"),
        one_of("category", CATEGORIES),
        CheckConstraint("amount_usd > 0", name="amount_positive"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_plausible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(20))
    amount_usd: Mapped[Decimal] = mapped_column(Money(2))

    project: Mapped[Project] = relationship(back_populates="budget_lines")
