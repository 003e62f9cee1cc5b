"""A large file imported through the browser: the upload answers at once, the job's page refreshes itself (no
script) with the rows checked, then saved, until 100 %, and ends on the same pages as a small file's import.

The app runs with its default ``IMPORT_JOB_BYTES`` (32 KB): the file of 1,000 mothers is about 65 KB. Each job is
paced to last at least 5 seconds (half a second per hundred rows at least), so that the page, which
refreshes every 3 seconds, is seen while the work is under way whatever the speed of the machine.
"""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from config import Config
from tests import factories
from tests.browser.conftest import SKIP_REASON
from tests.browser.test_journeys import sign_in
from tests.live import LiveServer
from tracker.extensions import db
from tracker.models import Beneficiary

pytestmark = [pytest.mark.browser, pytest.mark.skipif(SKIP_REASON is not None, reason=f"{SKIP_REASON}")]

if SKIP_REASON is None:
    from playwright.sync_api import Error, expect
else:  # pragma: no cover - the tests are skipped
    expect = Error = None

PROJECT = "TF-CD-2026-01"
ROWS = 1000
#: The least time a job spends per hundred rows here (its progress is reported every hundred rows).
PACE_SECONDS = 0.5
JOB_PAGE = re.compile(r"^/jobs/(\d+)$")


@pytest.fixture
def live_server(make_app, tmp_path):
    """The app as deployed: large files go to jobs, run by the in-process worker."""
    app = make_app(SERVER_NAME=None, PREFERRED_URL_SCHEME="http", WTF_CSRF_ENABLED=True,
                   IMPORT_JOB_BYTES=Config.IMPORT_JOB_BYTES, IMPORT_UPLOAD_DIR=str(tmp_path / "uploads"))
    server = LiveServer(app)
    yield server
    server.stop()


@pytest.fixture
def world(live_server):
    with live_server.app.app_context():
        factories.ProjectFactory(code=PROJECT, title="Assistance Nord-Kivu", country="CD")
        factories.UserFactory(role="staff", email="staff@example.org", name="Staff Member", countries=["CD"])
        db.session.remove()


@pytest.fixture
def paced(monkeypatch):
    """Each import job lasts at least ``ROWS / 100 * PACE_SECONDS`` seconds."""
    from tracker.imports import jobs

    real = jobs.run_import

    def run_import(*args, progress=None, **kwargs):
        last = [time.monotonic()]

        def paced_progress(done, total):
            wait = PACE_SECONDS - (time.monotonic() - last[0])
            if wait > 0:
                time.sleep(wait)
            last[0] = time.monotonic()
            progress(done, total)

        return real(*args, progress=paced_progress, **kwargs)

    monkeypatch.setattr(jobs, "run_import", run_import)


def mothers_csv(path) -> int:
    lines = ["code,project_code,full_name,phone,village,year_of_birth,enrolled_on,consent_services,"
             "consent_reporting"]
    lines += [f",{PROJECT},Mother Number {i},,Kavumu,{1980 + i % 20},2026-02-03,yes,no" for i in range(ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path.stat().st_size


def watch_job(v) -> tuple[int, list[tuple[str, int, int]]]:
    """Stay on the job's page as it refreshes itself, until it leads elsewhere; the job's id and what each
    refresh showed: (state, rows done, rows in all)."""
    page = v.page
    job_id = int(JOB_PAGE.match(urlsplit(page.url).path).group(1))
    seen: list[tuple[str, int, int]] = []
    deadline = time.monotonic() + 120
    while JOB_PAGE.match(urlsplit(page.url).path) and time.monotonic() < deadline:
        try:
            page.wait_for_load_state("load")
            if not seen:
                v.check("job under way")
            state = page.locator("h1 .badge").inner_text(timeout=2000)
            bar = page.locator("progress.job-progress")
            if bar.count():
                seen.append((state, int(bar.get_attribute("value")), int(bar.get_attribute("max"))))
            else:
                seen.append((state, 0, 0))
            with page.expect_event("framenavigated", timeout=10_000):
                pass  # the Refresh header reloads the page every 3 seconds
        except Error as error:  # the page refreshed while it was read: read the new one
            if "Timeout" in str(error):
                continue
            if "context was destroyed" not in str(error) and "navigat" not in str(error):
                raise
    return job_id, seen


def test_a_large_file_is_checked_and_imported_by_jobs_whose_progress_reaches_100_percent(
        visit, world, live_server, paced, tmp_path):
    app = live_server.app
    path = tmp_path / "mothers.csv"
    assert mothers_csv(path) > Config.IMPORT_JOB_BYTES
    v = visit()
    page = v.page
    sign_in(v, "staff@example.org")
    v.goto("/imports/beneficiaries", "upload mothers")
    page.get_by_label("Spreadsheet (CSV UTF-8 or XLSX)").set_input_files(path)
    started = time.monotonic()
    page.get_by_role("button", name="Check the file").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    assert time.monotonic() - started < 5, "the upload waited for the check"

    check_id, seen = watch_job(v)
    v.check("checked")
    assert len(seen) >= 2, f"the check's page was seen {len(seen)} time(s) while it ran"
    assert {state for state, _done, _total in seen} <= {"Waiting", "Running"}
    done = [d for _state, d, _total in seen]
    assert done == sorted(done) and all(total in (0, ROWS) for _s, _d, total in seen)
    assert any(0 < d < ROWS for d in done), f"no progress seen under way: {seen}"
    assert urlsplit(page.url).path == f"/imports/beneficiaries/jobs/{check_id}"
    expect(page.get_by_role("heading", level=1)).to_have_text("Check, then import")
    expect(page.locator(".tiles div", has_text="Would be created").locator("dd")).to_have_text("1,000")

    page.get_by_role("button", name=f"Import {ROWS} rows").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    save_id, seen = watch_job(v)
    v.check("imported")
    assert len(seen) >= 2 and any(0 < d < ROWS for _s, d, _t in seen), seen
    assert urlsplit(page.url).path == "/imports/beneficiaries"
    expect(page.get_by_role("status").first).to_contain_text(f"Imported {ROWS} rows: {ROWS} created")

    # Both jobs reached 100 %: the list shows each one's bar full.
    v.goto("/jobs/", "jobs")
    for job_id in (check_id, save_id):
        row = page.get_by_role("row").filter(has=page.get_by_role("link", name=str(job_id), exact=True))
        bar = row.locator("progress.job-progress")
        assert (bar.get_attribute("value"), bar.get_attribute("max")) == (str(ROWS), str(ROWS))
        expect(row).to_contain_text("Done")
        expect(row).to_contain_text("1,000 of 1,000 rows")
    with app.app_context():
        assert db.session.scalar(select(func.count(Beneficiary.id))) == ROWS
        db.session.remove()
