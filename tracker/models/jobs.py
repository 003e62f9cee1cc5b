"""Long work done outside a request (tracker/jobs): what it is, how far it got, who may watch it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.models._helpers import one_of
from tracker.models.base import Base, Encrypted, UTCDateTime, now_utc

JOB_STATES = ("queued", "running", "done", "failed")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (one_of("state", JOB_STATES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: A registered kind (tracker/jobs/kinds.py): ``render_report``.
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    #: The kind's arguments as JSON: ids and URLs, never personal data.
    params: Mapped[str] = mapped_column(Text, default="{}")
    #: What the job makes, for the link to its result (a report's number).
    subject: Mapped[str | None] = mapped_column(String(60))
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: The country whose managers may watch the job; NULL: the whole Fund (admins, and the one who started it).
    country: Mapped[str | None] = mapped_column(String(2))
    #: Why it failed, in words without personal data (a reason code or an error's class name).
    error: Mapped[str | None] = mapped_column(Text)
    #: Runs begun; a job interrupted (stale heartbeat) is run again until it has had ``MAX_ATTEMPTS``.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Touched by the running worker every few seconds; an old one on a running job means the worker died.
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: What the work found, for its result page, as JSON encrypted with the data key like the personal fields (an
    #: import's counts, problems and file name; ``flask data-key rotate`` re-encrypts it); read only when asked
    #: for. NULL for kinds whose result is a record of their own (a report).
    result: Mapped[str | None] = mapped_column(Encrypted, deferred=True)
