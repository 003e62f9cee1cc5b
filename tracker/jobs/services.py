"""Running jobs: claiming one, reporting its progress, finishing or failing it, recovering interrupted ones.

A job is claimed by one conditional UPDATE (``queued`` -> ``running``), so two
workers never run the same job. While it runs, its worker touches the
heartbeat (at every progress report, and from a small thread in between); a
running job whose heartbeat is older than ``JOBS_STALE_AFTER`` had its worker
die under it (a restart, a killed process) and :func:`recover_stale` queues it
again, once, then marks it failed. The work itself commits only whole steps,
so a job that fails or dies leaves nothing half-saved.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time

from flask import current_app
from sqlalchemy import or_, select, update
from sqlalchemy.exc import OperationalError

from tracker import audit
from tracker.extensions import db
from tracker.jobs import kinds
from tracker.models import Job, User
from tracker.models.base import now_utc

log = logging.getLogger(__name__)

#: Runs a job may begin: a job interrupted once runs again; interrupted twice, it fails.
MAX_ATTEMPTS = 2
#: The reason stored on a job whose worker died twice.
INTERRUPTED = "interrupted"
#: The reason stored on a job of a kind this code does not know.
UNKNOWN_KIND = "unknown kind"


def create_job(*, kind: str, params: dict, user: User | None, country: str | None,
               subject: str | None = None, total: int | None = None) -> Job:
    """Record a queued job (flushed, not committed); :func:`tracker.jobs.queue.start_job` commits and queues it."""
    if kinds.get(kind) is None:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job(kind=kind, params=json.dumps(params, sort_keys=True), subject=subject, state="queued",
              started_by_id=user.id if user is not None else None, country=country, progress_done=0,
              progress_total=total, attempts=0, created_at=now_utc())
    db.session.add(job)
    db.session.flush()
    return job


def next_queued() -> int | None:
    """The oldest queued job's id."""
    job_id = db.session.scalar(select(Job.id).where(Job.state == "queued").order_by(Job.id).limit(1))
    db.session.commit()
    return job_id


#: Progress of the jobs running in this process: ``{job_id: (done, total)}``. On SQLite an import's transaction
#: holds the database's one write lock from its first row to its commit, so its progress cannot be written to
#: the jobs table meanwhile; the pages this process serves read it from here (:func:`live_progress`).
_live: dict[int, tuple[int, int | None]] = {}
#: Seconds between two writes of a job's progress to the jobs table (the work reports it every few rows).
PROGRESS_WRITE_SECONDS = 0.5


def live_progress(job_id: int, done: int, total: int | None) -> tuple[int, int | None]:
    """A running job's progress: as the work last reported it, when it runs in this process and is ahead of
    the jobs table (``done``, ``total``)."""
    live = _live.get(job_id)
    if live is not None and live[0] >= done:
        return live[0], live[1] if live[1] is not None else total
    return done, total


def touch(engine, job_id: int, done: int | None = None, total: int | None = None, *, busy_ms: int = 5000) -> bool:
    """Heartbeat (and progress) of a running job, in a transaction of its own beside the work's; whether it
    was written.

    On SQLite it does not wait for the write lock: while the job's own transaction holds it (an import), the
    heartbeat and progress are written at the next report after it ends; ``busy_ms`` is the connection's usual
    wait, put back after (``SQLITE_BUSY_TIMEOUT``).
    """
    values = {"heartbeat_at": now_utc()}
    if done is not None:
        values["progress_done"] = done
    if total is not None:
        values["progress_total"] = total
    with engine.connect() as connection:
        # Set on the driver's connection, before SQLAlchemy begins a transaction (which may wait for the lock).
        raw = connection.connection.dbapi_connection if connection.dialect.name == "sqlite" else None
        try:
            if raw is not None:
                raw.execute("PRAGMA busy_timeout = 0")
            connection.execute(update(Job).where(Job.id == job_id, Job.state == "running").values(**values))
            connection.commit()
            return True
        except OperationalError:
            if raw is None:
                raise
            connection.rollback()
            return False
        finally:
            if raw is not None:
                raw.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")


def _sqlite_busy_ms() -> int:
    return int(float(current_app.config.get("SQLITE_BUSY_TIMEOUT", 5)) * 1000)


class _Progress:
    """A running job's ``report_progress``: kept for this process's pages at once, written to the jobs table
    at most every :data:`PROGRESS_WRITE_SECONDS` (and always for the last unit)."""

    def __init__(self, engine, job_id: int, busy_ms: int):
        self.engine, self.job_id, self.busy_ms = engine, job_id, busy_ms
        self.written_at = 0.0

    def __call__(self, done: int, total: int | None = None) -> None:
        known_total = total if total is not None else _live.get(self.job_id, (0, None))[1]
        _live[self.job_id] = (done, known_total)
        now = time.monotonic()
        if now - self.written_at >= PROGRESS_WRITE_SECONDS or (known_total is not None and done >= known_total):
            if touch(self.engine, self.job_id, done, total, busy_ms=self.busy_ms):
                self.written_at = now


class _Heartbeat:
    """Touches a running job's heartbeat every ``interval`` seconds while its work runs (a long PDF layout)."""

    def __init__(self, engine, job_id: int, interval: float, busy_ms: int):
        self.engine, self.job_id, self.interval, self.busy_ms = engine, job_id, interval, busy_ms
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"job-{job_id}-heartbeat", daemon=True)

    def _beat(self):
        while not self._stop.wait(self.interval):
            try:
                touch(self.engine, self.job_id, busy_ms=self.busy_ms)
            except Exception:  # a busy database: the next beat will do
                log.warning("job %s: heartbeat not recorded", self.job_id, exc_info=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()


def run_job(job_id: int) -> str | None:
    """Claim job ``job_id`` if it is queued and run it; its final state, or ``None`` if another worker has it.

    A failure is logged with its traceback and recorded as the error's class name (never its message, which
    may quote data); the work's open transaction is rolled back and the kind's ``on_failed`` marks what it
    was making as failed, in the transaction that fails the job.
    """
    now = now_utc()
    claimed = db.session.execute(
        update(Job).where(Job.id == job_id, Job.state == "queued").values(
            state="running", attempts=Job.attempts + 1, started_at=now, heartbeat_at=now, finished_at=None,
            error=None, progress_done=0)
    ).rowcount
    db.session.commit()
    if not claimed:
        return None
    job = db.session.get(Job, job_id)
    kind, params, started_by = kinds.get(job.kind), json.loads(job.params), job.started_by_id
    db.session.commit()
    engine = db.engine
    busy_ms = _sqlite_busy_ms()
    run = kinds.JobRun(job_id, params, _Progress(engine, job_id, busy_ms))
    with _Heartbeat(engine, job_id, current_app.config["JOBS_HEARTBEAT_SECONDS"], busy_ms), \
            audit.acting_as(started_by, "worker"):
        try:
            if kind is None:
                fail(job_id, UNKNOWN_KIND)
                return "failed"
            kind.run(run)
        except Exception as error:
            db.session.rollback()
            log.exception("job %s (%s) failed", job_id, kind.name)
            fail(job_id, type(error).__name__)
            return "failed"
        finally:
            last = _live.pop(job_id, None)
    # The last progress the work reported (on SQLite an import's could not be written while it held the lock).
    progress = {"progress_done": last[0], "progress_total": last[1]} if last is not None else {}
    finished = db.session.execute(
        update(Job).where(Job.id == job_id, Job.state == "running").values(state="done", finished_at=now_utc(),
                                                                           **progress)
    ).rowcount
    db.session.commit()
    return "done" if finished else None


def save_result(job_id: int, document: dict, *, commit: bool = True) -> None:
    """Keep what job ``job_id`` found for its result page (:func:`read_result`), encrypted with the data key
    (``Job.result``); ``commit=False`` adds it to the transaction of the work, to be committed with it."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    db.session.execute(update(Job).where(Job.id == job_id).values(result=text))
    if commit:
        db.session.commit()


def read_result(job: Job) -> dict | None:
    """What :func:`save_result` kept for ``job``, or ``None``."""
    return json.loads(job.result) if job.result else None


def fail(job_id: int, reason: str) -> bool:
    """Mark a running or queued job failed with ``reason`` and let its kind mark its work failed; commits."""
    done = db.session.execute(
        update(Job).where(Job.id == job_id, Job.state.in_(("queued", "running"))).values(
            state="failed", error=reason[:200], finished_at=now_utc())
    ).rowcount
    if done:
        job = db.session.get(Job, job_id)
        kind = kinds.get(job.kind)
        if kind is not None and kind.on_failed is not None:
            with audit.acting_as(job.started_by_id, "worker"):
                kind.on_failed(json.loads(job.params), reason)
    db.session.commit()
    return bool(done)


def recover_stale() -> list[int]:
    """Jobs left ``running`` by a worker that died: queued again if they have had one run, failed otherwise.

    Stale means a heartbeat older than ``JOBS_STALE_AFTER`` seconds. Returns the ids queued again (the
    caller hands them to the queue). Each change is conditional on the state read, so two processes
    recovering at once change each job once.
    """
    limit = now_utc() - dt.timedelta(seconds=current_app.config["JOBS_STALE_AFTER"])
    stale = db.session.execute(
        select(Job.id, Job.attempts).where(Job.state == "running",
                                           or_(Job.heartbeat_at < limit, Job.heartbeat_at.is_(None)))
    ).all()
    db.session.commit()
    requeued = []
    for job_id, attempts in stale:
        if attempts < MAX_ATTEMPTS:
            again = db.session.execute(
                update(Job).where(Job.id == job_id, Job.state == "running", Job.attempts == attempts).values(
                    state="queued", heartbeat_at=None, progress_done=0)
            ).rowcount
            db.session.commit()
            if again:
                log.warning("job %s was interrupted (attempt %s); queued again", job_id, attempts)
                requeued.append(job_id)
        else:
            log.warning("job %s was interrupted %s times; failed", job_id, attempts)
            fail(job_id, INTERRUPTED)
    return requeued
