"""Large imports as jobs (tracker/imports/jobs.py): upload, check, confirm and import off the request.

``IMPORT_JOB_BYTES`` is set low, so that a file of a few dozen mothers (about 3 KB) is a large one. The thread
backend runs the jobs here; ``test_on_rq_*`` run them with an RQ worker on this machine's Redis
(tests/jobs/test_jobs_rq.py's queue of its own).
"""
from __future__ import annotations

import csv
import io
import json
import re
import threading

import pytest
from sqlalchemy import func, select, text

from tests import factories
from tests.jobs.conftest import Killed
from tests.jobs.test_jobs_rq import rq_app, work  # noqa: F401 (rq_app is a fixture)
from tracker.extensions import db
from tracker.jobs.queue import backend
from tracker.jobs.services import recover_stale, run_job
from tracker.models import AuditEvent, Beneficiary, Job, User

CD = "TF-CD-2025-01"
COLUMNS = ["code", "project_code", "full_name", "phone", "village", "year_of_birth", "enrolled_on",
           "consent_services", "consent_reporting"]


def mothers_file(n: int, *, bad_rows: dict[int, dict[str, str]] | None = None) -> bytes:
    """``n`` new mothers of CD; ``bad_rows`` replaces columns of some (0-based) data rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for i in range(n):
        row = {"code": "", "project_code": CD, "full_name": f"Mother Number {i}", "phone": "", "village": "Kavumu",
               "year_of_birth": str(1980 + i % 20), "enrolled_on": "2025-02-03", "consent_services": "yes",
               "consent_reporting": "no"}
        row.update((bad_rows or {}).get(i, {}))
        writer.writerow([row[c] for c in COLUMNS])
    return out.getvalue().encode()


@pytest.fixture
def jobs_on(app, tmp_path):
    """Files over 1,000 bytes are checked and imported by jobs; a project of CD to enrol mothers in."""
    app.config.update(IMPORT_JOB_BYTES=1000, IMPORT_UPLOAD_DIR=str(tmp_path / "uploads"))
    with app.app_context():
        factories.ProjectFactory(code=CD, country="CD")
        db.session.remove()
    return app


def upload(client, data: bytes, filename="mothers-kavumu.csv"):
    return client.post("/imports/beneficiaries", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def job_id_of(response) -> int:
    assert response.status_code == 303, response.status_code
    match = re.fullmatch(r"(?:http://localhost)?/jobs/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def wait_for_jobs(app) -> None:
    assert backend(app).join(60), "the job worker did not finish"


def job_row(app, job_id: int) -> dict:
    with app.app_context():
        job = db.session.get(Job, job_id)
        stored = db.session.execute(text("SELECT result FROM jobs WHERE id = :id"), {"id": job_id}).scalar()
        out = {"kind": job.kind, "state": job.state, "done": job.progress_done, "total": job.progress_total,
               "attempts": job.attempts, "error": job.error, "result": job.result, "stored": stored,
               "params": json.loads(job.params), "country": job.country, "subject": job.subject}
        db.session.remove()
        return out


def mothers(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count(Beneficiary.id)))
        db.session.remove()
        return n


def token_of(html: str) -> str:
    match = re.search(r'name="token" type="hidden" value="([^"]+)"', html)
    assert match, "no confirm form"
    return match.group(1)


def html_of(response) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'")


def check_then_confirm(app, client, data: bytes) -> tuple[int, int]:
    """Upload ``data``, let the check job finish, confirm, let the import job finish: the two jobs' ids."""
    check = job_id_of(upload(client, data))
    wait_for_jobs(app)
    preview = client.get(f"/jobs/{check}", follow_redirects=True)
    save = job_id_of(client.post("/imports/beneficiaries/confirm", data={"token": token_of(html_of(preview))}))
    wait_for_jobs(app)
    return check, save


def test_a_large_file_is_checked_by_a_job_then_imported_by_another(jobs_on, staff_client):
    app = jobs_on
    data = mothers_file(40)
    assert len(data) > 1000

    check = job_id_of(upload(staff_client, data))
    wait_for_jobs(app)

    row = job_row(app, check)
    assert (row["kind"], row["state"], row["done"], row["total"], row["attempts"]) == ("import_check", "done", 40,
                                                                                     40, 1)
    assert (row["country"], row["subject"]) == ("CD", "beneficiaries")
    assert set(row["params"]) == {"token", "kind", "history", "user_id"}  # no name, no file name
    assert "mothers-kavumu.csv" in row["result"]  # the file's name, for the preview...
    assert "mothers-kavumu" not in row["stored"] and row["stored"].startswith("gAAAAA")  # ...kept encrypted
    assert mothers(app) == 0  # a dry run

    job_page = staff_client.get(f"/jobs/{check}")
    assert job_page.status_code == 303 and job_page.headers["Location"].endswith(
        f"/imports/beneficiaries/jobs/{check}")
    preview = html_of(staff_client.get(job_page.headers["Location"]))
    assert "Check, then import" in preview and "mothers-kavumu.csv" in preview
    assert "Rows in the file</dt><dd>40</dd>" in preview and "Would be created</dt><dd>40</dd>" in preview
    assert "Import 40 rows" in preview

    save = job_id_of(staff_client.post("/imports/beneficiaries/confirm", data={"token": token_of(preview)}))
    wait_for_jobs(app)

    row = job_row(app, save)
    assert (row["kind"], row["state"], row["done"], row["total"]) == ("import_save", "done", 40, 40)
    assert mothers(app) == 40
    done = staff_client.get(f"/jobs/{save}", follow_redirects=True)
    page = html_of(done)
    assert done.request.path == "/imports/beneficiaries"  # the upload page, as after a small file's import
    assert "Imported 40 rows: 40 created, 0 updated, 0 unchanged." in page
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).one()
        staff = db.session.scalars(select(User).where(User.email == "staff.cd@example.org")).one()
        assert (event.user_id, event.ip, event.changes["created"]) == (staff.id, "worker", 40)
        db.session.remove()
    # The rows were imported once: confirming again finds nothing waiting.
    again = staff_client.post("/imports/beneficiaries/confirm", data={"token": token_of(preview)},
                              follow_redirects=True)
    assert "This upload is no longer waiting" in html_of(again)
    assert mothers(app) == 40


def test_a_small_file_is_still_checked_in_the_request(jobs_on, staff_client):
    response = upload(staff_client, mothers_file(3))
    assert response.status_code == 200 and "Check, then import" in html_of(response)
    assert job_row_count(jobs_on) == 0


def job_row_count(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count(Job.id)))
        db.session.remove()
        return n


def test_a_large_file_with_problems_lists_them_and_keeps_nothing(jobs_on, staff_client, tmp_path):
    app = jobs_on
    data = mothers_file(40, bad_rows={4: {"year_of_birth": "19x0"}, 30: {"project_code": "TF-XX-9999-01"}})

    check = job_id_of(upload(staff_client, data))
    wait_for_jobs(app)

    page = html_of(staff_client.get(f"/jobs/{check}", follow_redirects=True))
    assert "Nothing saved: the file has problems" in page
    assert "Rows with problems</dt><dd>2</dd>" in page
    # Data rows 4 and 30 are spreadsheet rows 6 and 32 (the header is row 1).
    assert re.search(r'<td class="nowrap">6</td><td><code>year_of_birth</code></td>', page)
    assert re.search(r'<td class="nowrap">32</td><td><code>project_code</code></td>', page)
    assert 'name="token"' not in page
    assert list((tmp_path / "uploads").iterdir()) == []  # the file is not kept
    assert mothers(app) == 0


def test_a_large_file_refused_whole_says_why_on_the_upload_form(jobs_on, staff_client):
    app = jobs_on
    data = mothers_file(40).replace(b"year_of_birth,", b"born,", 1)

    check = job_id_of(upload(staff_client, data))
    wait_for_jobs(app)

    response = staff_client.get(f"/jobs/{check}", follow_redirects=True)
    page = html_of(response)
    assert response.request.path == f"/imports/beneficiaries/jobs/{check}"
    assert '<form method="post" enctype="multipart/form-data"' in page
    assert "year_of_birth" in page and 'class="error"' in page  # the missing column, named on the form
    assert mothers(app) == 0


def test_an_empty_or_binary_large_file_is_refused_at_once(jobs_on, staff_client):
    response = upload(staff_client, b"\x89PNG\r\n\x1a\n" + b"\0" * 2000, filename="photo.png")
    assert response.status_code == 200 and "PNG image" in html_of(response)
    assert job_row_count(jobs_on) == 0


def test_managers_watch_their_countrys_import_jobs_and_only_the_uploader_confirms(jobs_on, staff_client, sign_in):
    app = jobs_on
    check = job_id_of(upload(staff_client, mothers_file(40)))
    wait_for_jobs(app)

    manager = sign_in(role="manager", email="manager.cd@example.org", countries=["CD"])
    assert f'href="/jobs/{check}"' in manager.get("/jobs/").get_data(as_text=True)
    seen = html_of(manager.get(f"/jobs/{check}", follow_redirects=True))
    assert "Would be created</dt><dd>40</dd>" in seen and 'name="token"' not in seen

    other = sign_in(role="staff", email="staff.cf@example.org", countries=["CF"])
    assert other.get(f"/jobs/{check}").status_code == 404
    assert other.get(f"/imports/beneficiaries/jobs/{check}").status_code == 404
    manager_of_cf = sign_in(role="manager", email="manager.cf@example.org", countries=["CF"])
    assert manager_of_cf.get(f"/imports/beneficiaries/jobs/{check}").status_code == 404


def test_a_job_whose_uploader_was_disabled_fails_and_keeps_nothing(jobs_on, staff_client, tmp_path):
    app = jobs_on
    check = job_id_of(upload(staff_client, mothers_file(40)))
    wait_for_jobs(app)
    preview = html_of(staff_client.get(f"/jobs/{check}", follow_redirects=True))
    with app.app_context():
        staff = db.session.scalars(select(User).where(User.email == "staff.cd@example.org")).one()
        staff.active = False
        db.session.commit()
        staff_id = staff.id
        job = factories_job_for_save(staff, token_of(preview))
        db.session.remove()
    with app.app_context():
        assert run_job(job) == "failed"
        db.session.remove()
    row = job_row(app, job)
    assert (row["state"], row["error"]) == ("failed", "NotAllowed")
    with app.app_context():
        db.session.get(User, staff_id).active = True  # to read the job's page
        db.session.commit()
        db.session.remove()
    page = html_of(staff_client.get(f"/jobs/{job}"))
    assert "The person who uploaded the file may no longer import it" in page
    assert list((tmp_path / "uploads").iterdir()) == []
    assert mothers(app) == 0


def factories_job_for_save(user, token: str) -> int:
    """An ``import_save`` job as the confirm page starts it, with its upload taken aside, not yet queued."""
    from tracker.imports.pending import claim_upload
    from tracker.jobs.services import create_job

    claim_upload(token, user_id=user.id, kind="beneficiaries")
    job = create_job(kind="import_save", params={"token": token, "kind": "beneficiaries", "history": False,
                                                 "user_id": user.id}, user=user, country="CD",
                     subject="beneficiaries")
    db.session.commit()
    return job.id


def test_an_import_job_killed_half_way_saves_nothing_then_runs_again_once(jobs_on, staff_client, monkeypatch):
    app = jobs_on
    check = job_id_of(upload(staff_client, mothers_file(250)))
    wait_for_jobs(app)
    preview = html_of(staff_client.get(f"/jobs/{check}", follow_redirects=True))
    with app.app_context():
        staff = db.session.scalars(select(User).where(User.email == "staff.cd@example.org")).one()
        job = factories_job_for_save(staff, token_of(preview))
        db.session.remove()

    from tracker.imports import running

    real_run_import = running.run_import

    def dies_after_200_rows(*args, progress=None, **kwargs):
        def progress_then_die(done, total):
            progress(done, total)
            if done == 200:
                raise Killed  # the worker's process is killed: no except Exception sees it
        return real_run_import(*args, progress=progress_then_die, **kwargs)

    monkeypatch.setattr("tracker.imports.jobs.run_import", dies_after_200_rows)
    died = []

    def doomed_worker():
        with app.app_context():
            try:
                run_job(job)
            except Killed:
                died.append(job)
            finally:
                db.session.remove()

    thread = threading.Thread(target=doomed_worker)
    thread.start()
    thread.join(120)
    assert died == [job]
    row = job_row(app, job)
    assert (row["state"], row["attempts"]) == ("running", 1)  # left running by the dead worker
    assert row["done"] in (0, 100, 200)  # as far as it got
    assert mothers(app) == 0  # nothing of the 200 rows applied was kept

    monkeypatch.setattr("tracker.imports.jobs.run_import", real_run_import)
    app.config["JOBS_STALE_AFTER"] = 0
    with app.app_context():
        assert recover_stale() == [job]
        assert run_job(job) == "done"
        db.session.remove()
    row = job_row(app, job)
    assert (row["state"], row["attempts"], row["done"], row["total"]) == ("done", 2, 250, 250)
    assert mothers(app) == 250


def test_on_rq_a_large_file_is_checked_and_imported_by_the_worker(jobs_on, rq_app, staff_client):  # noqa: F811
    app = rq_app
    check = job_id_of(upload(staff_client, mothers_file(40)))
    assert job_row(app, check)["state"] == "queued"  # waits for `rq worker`
    work(app)
    assert job_row(app, check)["state"] == "done"
    preview = html_of(staff_client.get(f"/jobs/{check}", follow_redirects=True))
    save = job_id_of(staff_client.post("/imports/beneficiaries/confirm", data={"token": token_of(preview)}))
    work(app)
    row = job_row(app, save)
    assert (row["state"], row["done"], row["total"]) == ("done", 40, 40)
    assert mothers(app) == 40
    page = html_of(staff_client.get(f"/jobs/{save}", follow_redirects=True))
    assert "Imported 40 rows: 40 created, 0 updated, 0 unchanged." in page


def test_the_job_page_shows_progress_while_the_import_runs(jobs_on, staff_client):
    app = jobs_on
    with app.app_context():
        staff = db.session.scalars(select(User).where(User.email == "staff.cd@example.org")).one()
        job = Job(kind="import_save", state="running", params="{}", subject="beneficiaries", country="CD",
                  started_by_id=staff.id, progress_done=1500, progress_total=6000, attempts=1)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
        db.session.remove()
    response = staff_client.get(f"/jobs/{job_id}")
    page = html_of(response)
    assert response.headers["Refresh"] == "3"
    assert '<progress class="job-progress" value="1500" max="6000">' in page
    assert "1,500 of 6,000 rows" in page


def test_a_check_whose_file_is_gone_says_to_upload_it_again(jobs_on, staff_client, tmp_path):
    app = jobs_on
    with app.app_context():
        staff = db.session.scalars(select(User).where(User.email == "staff.cd@example.org")).one()
        from tracker.imports.jobs import start_check
        from tracker.imports.kinds import get_kind

        # A token no file was kept under: the file expired (one hour) or was purged before the job ran.
        job = start_check(get_kind("beneficiaries"), "A" * 43, staff, False).id
        db.session.remove()
    wait_for_jobs(app)
    assert job_row(app, job)["state"] == "done"
    page = html_of(staff_client.get(f"/jobs/{job}", follow_redirects=True))
    assert "The file uploaded is no longer on the server (it waits one hour). Upload it again." in page
    assert '<form method="post" enctype="multipart/form-data"' in page
