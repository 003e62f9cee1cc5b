"""Where jobs wait for a worker: RQ on Redis when ``REDIS_URL`` is set, a thread of this process otherwise.

Both backends share one interface (``enqueue(job_id)``, ``start()``) and run a
job the same way, :func:`tracker.jobs.services.run_job`; the jobs table, not
the queue, holds a job's state. On RQ the worker is ``rq worker`` (README,
"Jobs"), which runs :func:`perform` in its own process. Without Redis, one
daemon thread per app takes queued jobs from the table, oldest first, and
stops when none is left; it starts again with the next job, and when the
app serves its first request (:func:`init_app`), taking over what a
restart left.
"""
from __future__ import annotations

import importlib
import logging
import threading

from flask import Flask, current_app, has_app_context

from tracker.extensions import db
from tracker.jobs import services
from tracker.models import Job, User

log = logging.getLogger(__name__)


class ThreadBackend:
    """One worker thread per app, started on demand; it exits when no job is queued."""

    name = "thread"

    def __init__(self, app: Flask):
        self.app = app
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def enqueue(self, job_id: int) -> None:
        self.start()

    def start(self) -> None:
        self._wake.set()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="jobs-worker", daemon=True)
                self._thread.start()

    def join(self, timeout: float) -> bool:
        """Wait until the queue is empty (for tests and commands); whether it is."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _work(self) -> None:
        with self.app.app_context():
            try:
                for job_id in services.recover_stale():
                    log.info("job %s queued again", job_id)
                while True:
                    self._wake.clear()
                    job_id = services.next_queued()
                    if job_id is not None:
                        services.run_job(job_id)
                        db.session.remove()
                        continue
                    with self._lock:
                        if not self._wake.is_set():  # nothing queued since the table was read: stop
                            self._thread = None
                            return
            except Exception:  # the database unreachable (or not migrated yet): the next job starts it again
                log.exception("the job worker stopped")
                with self._lock:
                    self._thread = None
            except BaseException:
                with self._lock:
                    self._thread = None
                raise
            finally:
                db.session.remove()


class RQBackend:
    """Jobs on an RQ queue; ``rq worker`` runs :func:`perform` for each."""

    name = "rq"

    def __init__(self, app: Flask):
        from redis import Redis
        from rq import Queue

        self.queue = Queue(app.config["JOBS_QUEUE"], connection=Redis.from_url(app.config["REDIS_URL"]))

    def enqueue(self, job_id: int) -> None:
        # The jobs table holds the state and the retry rule; RQ only carries the id to a worker.
        self.queue.enqueue(perform, job_id, job_timeout=3600, result_ttl=3600, failure_ttl=7 * 86400)

    def start(self) -> None:
        for job_id in services.recover_stale():
            self.enqueue(job_id)


def backend(app: Flask | None = None):
    """The app's backend, made once."""
    app = app or current_app._get_current_object()
    found = app.extensions.get("tracker.jobs")
    if found is None:
        found = RQBackend(app) if app.config.get("REDIS_URL") else ThreadBackend(app)
        app.extensions["tracker.jobs"] = found
    return found


def start_job(*, kind: str, params: dict, user: User | None, country: str | None, subject: str | None = None,
              total: int | None = None, inline: bool = False) -> Job:
    """Record a job, commit, and queue it (or, ``inline``, run it here before returning)."""
    job = services.create_job(kind=kind, params=params, user=user, country=country, subject=subject, total=total)
    db.session.commit()
    if inline:
        services.run_job(job.id)
    else:
        backend().enqueue(job.id)
    return job


_worker_app: Flask | None = None


def perform(job_id: int) -> str | None:
    """RQ's entry point: run job ``job_id`` in the current app, or in an app made once per worker process."""
    global _worker_app
    if has_app_context():
        return services.run_job(job_id)
    if _worker_app is None:
        # The package is already imported (it holds this module); looked up rather than imported by name, so
        # that the app factory and the jobs do not import each other (tests/test_layout.py).
        _worker_app = importlib.import_module("tracker").create_app()
    with _worker_app.app_context():
        try:
            return services.run_job(job_id)
        finally:
            db.session.remove()


def recover_on_start(app: Flask) -> None:
    """Once, at the first request: recover interrupted jobs and start on what is queued."""
    done = threading.Event()

    @app.before_request
    def _recover_once():
        if done.is_set():
            return
        done.set()
        try:
            backend(app).start()
        except Exception:
            log.exception("recovering interrupted jobs failed")
