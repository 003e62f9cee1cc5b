"""Jobs on the in-process worker (no REDIS_URL): run, fail, die half-way, recovered after a restart.

Runs in every test run. The RQ backend's tests are in test_jobs_rq.py.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
import signal
import time

from sqlalchemy import func, select

from tests import factories
from tests.jobs.conftest import KIND, run_and_die
from tracker.extensions import db
from tracker.jobs.queue import ThreadBackend, backend, start_job
from tracker.jobs.services import INTERRUPTED, recover_stale, run_job
from tracker.models import Donor, IssuedReport, Job


def start(app, **params) -> int:
    with app.app_context():
        job = start_job(kind=KIND.name, params={"n": 5, **params}, user=None, country="CD")
        job_id = job.id
        db.session.remove()
    return job_id


def job_row(app, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        db.session.remove()
        return job


def donors(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count(Donor.id)))
        db.session.remove()
        return n


def test_without_redis_the_backend_is_a_thread_of_this_process(app):
    assert not app.config.get("REDIS_URL")
    assert isinstance(backend(app), ThreadBackend)


def test_a_job_runs_on_the_in_process_worker_and_reports_its_progress(app):
    job_id = start(app)
    assert backend(app).join(60)
    job = job_row(app, job_id)
    assert (job.state, job.progress_done, job.progress_total, job.attempts) == ("done", 5, 5, 1)
    assert job.started_at and job.finished_at and job.finished_at >= job.started_at and job.error is None
    assert donors(app) == 5


def test_a_failed_job_saves_nothing_and_says_why_without_the_data(app):
    job_id = start(app, fail_at=3)
    assert backend(app).join(60)
    job = job_row(app, job_id)
    assert (job.state, job.error) == ("failed", "RuntimeError")  # the class, not the message quoting a name
    assert donors(app) == 0


def test_a_job_is_run_by_one_worker_only(app):
    job_id = start(app)
    assert backend(app).join(60)
    with app.app_context():
        from tracker.jobs.services import run_job

        assert run_job(job_id) is None  # already done: nobody claims it again
        db.session.remove()
    assert donors(app) == 5


def test_a_job_killed_half_way_is_run_again_then_done(app, stale_at_once):
    job_id = queued(app, die_at=2)
    run_and_die(app, job_id)
    left = job_row(app, job_id)
    assert (left.state, left.attempts) == ("running", 1)  # its worker is gone; nobody finished it
    assert donors(app) == 0  # the two donors flushed before it died were never committed

    # The restart: recovery finds the stale heartbeat and queues the job again; the worker runs it to the end.
    with app.app_context():
        job = db.session.get(Job, job_id)
        job.params = '{"n": 5}'  # this time nothing kills it
        db.session.commit()
        assert recover_stale() == [job_id]
        db.session.remove()
    assert job_row(app, job_id).state == "queued"
    backend(app).start()
    assert backend(app).join(60)
    job = job_row(app, job_id)
    assert (job.state, job.attempts, job.progress_done) == ("done", 2, 5)
    assert donors(app) == 5


def queued(app, **params) -> int:
    """A queued job, not handed to the in-process worker (the test runs it in a thread meant to die)."""
    with app.app_context():
        job = Job(kind=KIND.name, params=json.dumps({"n": 5, **params}), state="queued", country="CD")
        db.session.add(job)
        db.session.commit()
        job_id = job.id
        db.session.remove()
    return job_id


def test_a_job_killed_twice_is_failed_with_the_reason_never_left_running(app, stale_at_once):
    job_id = queued(app, die_at=3)
    run_and_die(app, job_id)
    with app.app_context():
        assert recover_stale() == [job_id]  # interrupted once: run again
        db.session.remove()
    run_and_die(app, job_id)
    with app.app_context():
        assert recover_stale() == []  # interrupted twice: failed
        db.session.remove()
    job = job_row(app, job_id)
    assert (job.state, job.error, job.attempts) == ("failed", INTERRUPTED, 2)
    assert job.finished_at is not None
    assert donors(app) == 0


def test_a_job_with_a_fresh_heartbeat_is_not_taken_for_interrupted(app):
    job_id = queued(app, die_at=3)
    run_and_die(app, job_id)
    with app.app_context():
        assert recover_stale() == []  # JOBS_STALE_AFTER (120 s) has not passed
        db.session.remove()
    assert job_row(app, job_id).state == "running"


def test_a_report_whose_rendering_is_killed_twice_is_marked_failed_with_no_pdf(app, stale_at_once, monkeypatch):
    from tests.jobs.conftest import Killed
    from tracker.reports import archive

    def killed(*args, **kwargs):
        raise Killed

    monkeypatch.setattr("tracker.reports.render.render_pdf", killed)
    with app.app_context():
        issuer = factories.UserFactory(role="manager", countries=["CD"])
        factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        report = IssuedReport(number="TF-2025-0009", scope="project:TF-CD-2025-01", period_from=dt.date(2025, 1, 1),
                              period_to=dt.date(2025, 12, 31), as_of=dt.date(2025, 12, 31), lang="en",
                              issued_by_id=issuer.id, status="rendering")
        db.session.add(report)
        db.session.commit()
        job = Job(kind=archive.RENDER_KIND.name, state="queued", subject=report.number, country="CD",
                  params=f'{{"report_id": {report.id}, "verify_url": "https://example.org/verify"}}')
        db.session.add(job)
        db.session.commit()
        job_id, report_id = job.id, report.id
        db.session.remove()
    run_and_die(app, job_id)
    with app.app_context():
        assert recover_stale() == [job_id]
        db.session.remove()
    run_and_die(app, job_id)
    with app.app_context():
        assert recover_stale() == []
        report = db.session.get(IssuedReport, report_id)
        assert (report.status, report.error, report.pdf, report.sha256) == ("failed", INTERRUPTED, None, None)
        job = db.session.get(Job, job_id)
        assert (job.state, job.error, job.attempts, job.progress_done) == ("failed", INTERRUPTED, 2, 1)
        db.session.remove()


def test_a_report_is_rendered_as_a_job_and_its_progress_counts_the_steps(app, manager_client):
    with app.app_context():
        factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
        db.session.remove()
    response = manager_client.post("/reports/new", data={"scope": "project:TF-CD-2025-01", "date_from": "2025-01-01",
                                                          "date_to": "2025-12-31", "lang": "en", "donor": ""})
    assert response.status_code == 302
    number = response.headers["Location"].rsplit("/", 1)[1]
    assert backend(app).join(120)
    with app.app_context():
        job = db.session.scalars(select(Job).where(Job.subject == number)).one()
        report = db.session.scalars(select(IssuedReport).where(IssuedReport.number == number)).one()
        assert (job.kind, job.state, job.progress_done, job.progress_total, job.country) == (
            "render_report", "done", 3, 3, "CD")
        assert report.status == "issued" and report.sha256 == hashlib.sha256(report.pdf).hexdigest()
        job_id = job.id
        db.session.remove()
    # The job's page ends on the report's page, the one issuing has always led to.
    page = manager_client.get(f"/jobs/{job_id}")
    assert page.status_code == 303 and page.headers["Location"].endswith(f"/reports/{number}")


def test_flask_jobs_recover_fails_a_job_interrupted_twice_and_runs_what_waits(app, stale_at_once):
    with app.app_context():
        dead = Job(kind=KIND.name, params='{"n": 2}', state="running", attempts=2, country="CD",
                   heartbeat_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        waiting = Job(kind=KIND.name, params='{"n": 3}', state="queued", country="CD")
        db.session.add_all([dead, waiting])
        db.session.commit()
        dead_id, waiting_id = dead.id, waiting.id
        db.session.remove()
    result = app.test_cli_runner().invoke(args=["jobs", "recover"])
    assert result.exit_code == 0, result.output
    assert (job_row(app, dead_id).state, job_row(app, dead_id).error) == ("failed", INTERRUPTED)
    assert job_row(app, waiting_id).state == "done"
    assert donors(app) == 3


def test_after_a_restart_the_first_request_takes_over_what_was_left(app, make_app):
    """A job left queued, and one left running by the process that died, are run by the new one."""
    with app.app_context():
        left_running = Job(kind=KIND.name, params='{"n": 2}', state="running", attempts=1, country="CD",
                           heartbeat_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        left_queued = Job(kind=KIND.name, params='{"n": 3}', state="queued", country="CD")
        db.session.add_all([left_running, left_queued])
        db.session.commit()
        ids = (left_running.id, left_queued.id)
        db.session.remove()
    restarted = make_app(JOBS_RECOVER_ON_START=True)
    assert restarted.test_client().get("/login").status_code == 200  # anyone's first request, signed in or not
    assert backend(restarted).join(60)
    assert [job_row(app, i).state for i in ids] == ["done", "done"]
    assert job_row(app, ids[0]).attempts == 2
    assert donors(app) == 5


def _worker_process(app, job_id: int) -> None:
    with app.app_context():
        db.engine.dispose(close=False)  # the parent's pooled connections stay the parent's
        run_job(job_id)


def test_a_worker_process_killed_mid_way_leaves_nothing_saved_and_the_job_is_run_again(app, stale_at_once):
    """A real kill: a forked worker process runs the job, has flushed two donors, and gets SIGKILL."""
    job_id = queued(app, hang_at=1)
    worker = multiprocessing.get_context("fork").Process(target=_worker_process, args=(app, job_id))
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while job_row(app, job_id).state != "running":
            assert time.monotonic() < deadline and worker.is_alive(), "the worker never started the job"
            time.sleep(0.05)
        time.sleep(1)  # well inside the work: two donors flushed, nothing committed
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.join(30)
    assert worker.exitcode == -signal.SIGKILL
    assert (job_row(app, job_id).state, donors(app)) == ("running", 0)

    with app.app_context():
        job = db.session.get(Job, job_id)
        job.params = '{"n": 5}'
        db.session.commit()
        db.session.remove()
    backend(app).start()  # the restart: recovery, then the in-process worker
    assert backend(app).join(60)
    job = job_row(app, job_id)
    assert (job.state, job.attempts, job.progress_done) == ("done", 2, 5)
    assert donors(app) == 5
