"""The job tests' kind: adding donors, all in one transaction, able to fail or to die half-way."""
from __future__ import annotations

import threading
import time

import pytest

from tracker.extensions import db
from tracker.jobs import kinds
from tracker.jobs.services import run_job
from tracker.models import Donor


class Killed(BaseException):
    """The worker dies (a process killed, a restart): nothing after it runs, no ``except Exception`` catches it."""


def add_donors(run: kinds.JobRun) -> None:
    """Add ``n`` donors, one flush each, and commit them together; die, hang or fail at ``die_at``,
    ``hang_at`` or ``fail_at``."""
    n = run.params["n"]
    for i in range(n):
        db.session.add(Donor(name=f"Job {run.id} donor {i}", kind="private"))
        db.session.flush()
        if i == run.params.get("die_at"):
            raise Killed
        if i == run.params.get("hang_at"):
            time.sleep(120)  # a worker process stuck here, the donors flushed, until the test kills it
        if i == run.params.get("fail_at"):
            raise RuntimeError("Job donor 3 is refused")  # a message quoting data: never stored
    db.session.commit()
    run.progress(n, n)


KIND = kinds.register(kinds.Kind(name="test_add_donors", run=add_donors, label="Adding donors", unit="donors"))


def run_and_die(app, job_id: int) -> None:
    """Run job ``job_id`` in a thread of its own that dies with :class:`Killed` half-way through the work."""
    died = []

    def work():
        with app.app_context():
            try:
                run_job(job_id)
            except Killed:
                died.append(job_id)
            finally:
                db.session.remove()

    thread = threading.Thread(target=work, name=f"doomed-worker-{job_id}")
    thread.start()
    thread.join(120)
    assert died == [job_id], "the worker was expected to die"


@pytest.fixture
def stale_at_once(app):
    """A running job is taken for interrupted as soon as recovery looks (no wait for an old heartbeat)."""
    app.config["JOBS_STALE_AFTER"] = 0
    return app
