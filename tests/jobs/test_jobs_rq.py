"""Jobs on RQ (REDIS_URL set), against the Redis this machine runs; skipped, saying why, when it is not there.

Each test gets a queue of its own on Redis database 13 (``TRACKER_TEST_REDIS_URL`` to change it), so that
runs in parallel and the Redis of a running app never share a key; a burst ``SimpleWorker`` in the test's
process plays ``rq worker``.
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import func, select

from tests.jobs.conftest import KIND, run_and_die
from tracker.extensions import db
from tracker.jobs.queue import RQBackend, backend, start_job
from tracker.jobs.services import INTERRUPTED
from tracker.models import Donor, Job

REDIS_URL = os.environ.get("TRACKER_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def rq_app(app):
    from redis import Redis
    from redis.exceptions import RedisError

    connection = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except RedisError as error:
        pytest.skip(f"no Redis at {REDIS_URL} ({type(error).__name__}): the RQ backend is not tested")
    app.config.update(REDIS_URL=REDIS_URL, JOBS_QUEUE=f"tracker-test-{uuid.uuid4().hex[:12]}")
    app.extensions.pop("tracker.jobs", None)
    yield app
    queue = backend(app).queue
    queue.delete(delete_jobs=True)
    app.extensions.pop("tracker.jobs", None)
    connection.close()


def work(app) -> None:
    """What ``rq worker`` does, once through the queue, in this process."""
    from rq import SimpleWorker

    queue = backend(app).queue
    with app.app_context():
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        db.session.remove()


def start(app, **params) -> int:
    with app.app_context():
        job_id = start_job(kind=KIND.name, params={"n": 4, **params}, user=None, country="CD").id
        db.session.remove()
    return job_id


def row(app, job_id: int) -> tuple:
    with app.app_context():
        job = db.session.get(Job, job_id)
        out = (job.state, job.progress_done, job.attempts, job.error)
        db.session.remove()
        return out


def donors(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count(Donor.id)))
        db.session.remove()
        return n


def test_with_redis_jobs_go_to_rq_and_a_worker_runs_them(rq_app):
    assert isinstance(backend(rq_app), RQBackend)
    job_id = start(rq_app)
    assert row(rq_app, job_id)[0] == "queued" and backend(rq_app).queue.count == 1  # waits for a worker
    work(rq_app)
    assert row(rq_app, job_id) == ("done", 4, 1, None)
    assert donors(rq_app) == 4


def test_a_failing_job_on_rq_saves_nothing_and_says_why(rq_app):
    job_id = start(rq_app, fail_at=2)
    work(rq_app)
    assert row(rq_app, job_id) == ("failed", 0, 1, "RuntimeError")
    assert donors(rq_app) == 0


def test_a_job_killed_on_rq_is_queued_again_at_start_then_done(rq_app, stale_at_once):
    job_id = start(rq_app, die_at=1)
    backend(rq_app).queue.empty()  # the worker that took it off the queue dies running it:
    run_and_die(rq_app, job_id)
    assert row(rq_app, job_id)[:3] == ("running", 0, 1) and donors(rq_app) == 0
    with rq_app.app_context():
        db.session.get(Job, job_id).params = '{"n": 4}'
        db.session.commit()
        backend(rq_app).start()  # the app (or `flask jobs recover`) starting again
        db.session.remove()
    assert row(rq_app, job_id)[0] == "queued" and backend(rq_app).queue.count == 1
    work(rq_app)
    assert row(rq_app, job_id) == ("done", 4, 2, None)
    assert donors(rq_app) == 4


def test_a_job_killed_twice_on_rq_is_failed(rq_app, stale_at_once):
    job_id = start(rq_app, die_at=1)
    backend(rq_app).queue.empty()
    run_and_die(rq_app, job_id)
    with rq_app.app_context():
        backend(rq_app).start()
        db.session.remove()
    backend(rq_app).queue.empty()
    run_and_die(rq_app, job_id)
    with rq_app.app_context():
        backend(rq_app).start()
        db.session.remove()
    assert backend(rq_app).queue.count == 0
    assert row(rq_app, job_id) == ("failed", 0, 2, INTERRUPTED)
    assert donors(rq_app) == 0
