"""Watching jobs: the list (managers their countries', admins all, staff their own) and one job's page."""
from __future__ import annotations

from flask import abort, make_response, redirect, render_template
from flask_login import current_user

from tracker.auth.permissions import permission
from tracker.jobs import queries
from tracker.jobs.blueprint import bp

#: Seconds between the refreshes of a job's page while the job is queued or running.
REFRESH_SECONDS = 3


@bp.route("/jobs/")
@permission("jobs.view")
def index():
    jobs = queries.jobs_for(current_user)
    response = make_response(render_template("jobs/index.html", jobs=jobs,
                                             refresh=REFRESH_SECONDS if any(j.active for j in jobs) else None))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/jobs/<int:job_id>")
@permission("jobs.view")
def show(job_id: int):
    """A job's state and progress; the page refreshes itself (``<meta http-equiv="refresh">``, no script)
    while the job waits or runs, and a job done leads to its result, the page the work made."""
    job = queries.job_for(current_user, job_id)
    if job is None:
        abort(404)
    if job.state == "done" and job.result_url:
        return redirect(job.result_url, code=303)
    response = make_response(render_template("jobs/show.html", job=job,
                                             refresh=REFRESH_SECONDS if job.active else None))
    response.headers["Cache-Control"] = "no-store"
    return response
