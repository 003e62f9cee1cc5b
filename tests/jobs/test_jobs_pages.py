"""The jobs' pages: who sees which job, the page refreshing itself while the job runs, the reason of a failure."""
from __future__ import annotations

import re

import pytest

from tests import factories
from tracker.extensions import db
from tracker.models import Job


@pytest.fixture
def jobs(app):
    """A running job of CD, a failed one of LR and a waiting fund-wide one, each started by a different manager."""
    with app.app_context():
        for country in ("CD", "LR"):  # projects in two countries: the whole Fund is no single manager's
            factories.ProjectFactory(code=f"TF-{country}-2025-01", country=country)
        cd = factories.UserFactory(role="manager", countries=["CD"], name="Manager of CD")
        lr = factories.UserFactory(role="manager", countries=["LR"], name="Manager of LR")
        out = {}
        rows = (("cd", "CD", "running", cd, None), ("lr", "LR", "failed", lr, "interrupted"),
                ("fund", None, "queued", lr, None))
        for key, country, state, by, error in rows:
            job = Job(kind="render_report", state=state, params="{}", subject=f"TF-2025-00{len(out) + 1}",
                      country=country, started_by_id=by.id, progress_done=1, progress_total=3, attempts=1,
                      error=error)
            db.session.add(job)
            db.session.commit()
            out[key] = job.id
        db.session.remove()
        return out


def listed(client) -> set[int]:
    page = client.get("/jobs/")
    assert page.status_code == 200
    return {int(n) for n in re.findall(r'href="/jobs/(\d+)"', page.get_data(as_text=True))}


def test_managers_see_their_countries_jobs_and_admins_all(jobs, sign_in, admin_client):
    manager_of_cd = sign_in(role="manager", email="other.cd@example.org", countries=["CD"])
    assert listed(manager_of_cd) == {jobs["cd"]}
    assert manager_of_cd.get(f"/jobs/{jobs['lr']}").status_code == 404
    assert manager_of_cd.get(f"/jobs/{jobs['fund']}").status_code == 404  # the Fund's: not all hers
    assert listed(admin_client) == set(jobs.values())


def test_staff_see_only_their_own_jobs_and_donors_none(app, jobs, staff_client, sign_in):
    assert listed(staff_client) == set()
    assert staff_client.get(f"/jobs/{jobs['cd']}").status_code == 404
    with app.app_context():
        donor = factories.DonorFactory(name="A donor")
        donor_id = donor.id
        db.session.remove()
    donor_client = sign_in(role="donor", email="donor.jobs@example.org", donor_id=donor_id)
    assert donor_client.get("/jobs/").status_code == 404
    assert donor_client.get(f"/jobs/{jobs['cd']}").status_code == 404


def test_a_running_job_shows_its_progress_and_refreshes_itself_without_script(jobs, admin_client):
    page = admin_client.get(f"/jobs/{jobs['cd']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert page.headers["Refresh"] == "3"
    assert '<progress class="job-progress" value="1" max="3">' in html and "1 of 3 steps" in html
    assert "<script" not in html
    # The person may stop the reloading (a screen reader starts over at each), and start it again.
    assert f'<a href="/jobs/{jobs["cd"]}?refresh=off">Stop refreshing</a>' in html
    still = admin_client.get(f"/jobs/{jobs['cd']}?refresh=off")
    assert "Refresh" not in still.headers
    assert f'<a href="/jobs/{jobs["cd"]}">Refresh by itself again</a>' in still.get_data(as_text=True)


def test_a_failed_job_says_why_and_stops_refreshing(jobs, admin_client):
    page = admin_client.get(f"/jobs/{jobs['lr']}")
    html = page.get_data(as_text=True)
    assert "Refresh" not in page.headers and "Stop refreshing" not in html
    assert "Its worker stopped before the end twice" in html


def test_the_page_of_a_report_being_rendered_links_to_its_job(app, jobs, sign_in):
    with app.app_context():
        factories.IssuedReportFactory(number="TF-2025-001", status="rendering", scope="country:CD")
        db.session.remove()
    manager = sign_in(role="manager", email="reader.cd@example.org", countries=["CD"])
    html = manager.get("/reports/TF-2025-001").get_data(as_text=True)
    assert f'href="/jobs/{jobs["cd"]}"' in html
