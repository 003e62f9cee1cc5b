"""Donor reports as they were issued: the exact bytes handed out, and their hash."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models._helpers import one_of
from tracker.models.base import Base, UTCDateTime, now_utc

REPORT_STATES = ("rendering", "issued", "failed")


class IssuedReport(Base):
    __tablename__ = "issued_reports"
    __audited__ = True
    __audit_exclude__ = ("pdf",)
    __table_args__ = (
        one_of("status", REPORT_STATES),
        one_of("lang", ("en", "fr")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``TF-2026-0007``: printed on every page, and asked for at verification.
    number: Mapped[str] = mapped_column(String(20), unique=True)
    #: ``fund``, ``country:CD`` or ``project:TF-CD-2024-01``.
    scope: Mapped[str] = mapped_column(String(60))
    period_from: Mapped[dt.date] = mapped_column(Date)
    period_to: Mapped[dt.date] = mapped_column(Date)
    as_of: Mapped[dt.date] = mapped_column(Date)
    lang: Mapped[str] = mapped_column(String(2))
    donor_id: Mapped[int | None] = mapped_column(ForeignKey("donors.id"), index=True)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)
    status: Mapped[str] = mapped_column(String(10), default="rendering")
    sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    pages: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)

    donor = relationship("Donor")
