"""Who may watch which job, and the jobs as the pages show them (plain data, no ORM objects)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import Select, or_, select

from tracker.auth.scope import sees_whole_fund, user_countries
from tracker.extensions import db
from tracker.jobs import kinds
from tracker.jobs.services import INTERRUPTED, live_progress
from tracker.models import Job, User


def visible_jobs(user: User) -> Select:
    """The jobs ``user`` may watch: an admin every one; a manager those of her countries (and the Fund's,
    when her countries hold every project); everyone her own. Any other job does not exist for her (404)."""
    stmt = select(Job)
    countries = user_countries(user)
    if countries is None:
        return stmt
    seen = [Job.started_by_id == user.id]
    if user.role == "manager":
        seen.append(Job.country.in_(countries))
        if sees_whole_fund(user):
            seen.append(Job.country.is_(None))
    return stmt.where(or_(*seen))


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    unit: str
    state: str
    done: int
    total: int | None
    subject: str | None
    started_by: str | None
    country: str | None
    attempts: int
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    failure: str | None
    result_url: str | None

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")


def failure_text(error: str | None) -> str | None:
    if not error:
        return None
    if error == INTERRUPTED:
        return _("Its worker stopped before the end twice (a restart?); nothing of it was kept.")
    if error in kinds.REASONS:
        return str(kinds.REASONS[error])
    return _("It failed (%(error)s); nothing of it was kept. The details are in the log.", error=error)


def job_view(job: Job, started_by: str | None) -> JobView:
    kind = kinds.get(job.kind)
    result_url = None
    if kind is not None and kind.result and job.state == "done":
        if callable(kind.result):
            result_url = kind.result(job)
        elif job.subject:
            endpoint, argument = kind.result
            result_url = url_for(endpoint, **{argument: job.subject})
    done, total = job.progress_done, job.progress_total
    if job.state == "running":
        done, total = live_progress(job.id, done, total)
    subject = kind.subject_label(job.subject) if kind and kind.subject_label and job.subject else job.subject
    return JobView(job.id, str(kind.label) if kind else job.kind, str(kind.unit) if kind else "",
                   job.state, done, total, subject, started_by, job.country,
                   job.attempts, job.created_at, job.started_at, job.finished_at, failure_text(job.error), result_url)


def jobs_for(user: User, *, limit: int = 200) -> list[JobView]:
    rows = db.session.execute(
        visible_jobs(user).add_columns(User.name).outerjoin(User, User.id == Job.started_by_id)
        .order_by(Job.id.desc()).limit(limit)
    ).all()
    return [job_view(job, name) for job, name in rows]


def job_for(user: User, job_id: int) -> JobView | None:
    row = db.session.execute(
        visible_jobs(user).add_columns(User.name).outerjoin(User, User.id == Job.started_by_id)
        .where(Job.id == job_id)
    ).one_or_none()
    return job_view(*row) if row else None


def latest_job(kind: str, subject: str) -> int | None:
    """The id of the newest job of ``kind`` making ``subject`` (a report's page links to it)."""
    return db.session.scalar(select(Job.id).where(Job.kind == kind, Job.subject == subject)
                             .order_by(Job.id.desc()).limit(1))
