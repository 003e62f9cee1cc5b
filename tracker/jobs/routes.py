"""Watching jobs: the list (managers their countries', admins all, staff their own) and one job's page."""
from __future__ import annotations

from flask import abort, make_response, redirect, render_template, request
from flask_login import current_user

from tracker.auth.permissions import permission
from tracker.jobs import queries
from tracker.jobs.blueprint import bp

#: Seconds between the refreshes of a job's page while the job is queued or running.
REFRESH_SECONDS = 3


def refreshing(response, active: bool):
    """While work is under way the page reloads itself every :data:`REFRESH_SECONDS` (the ``Refresh`` header: no
    script), unless the person turned that off (``?refresh=off``, a link on the page, for someone whose screen
    reader starts over at each reload); it is never cached."""
    if active and request.args.get("refresh") != "off":
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def refresh_state(active: bool) -> str | None:
    """``"on"``, ``"off"`` (turned off by the person), or ``None`` when nothing is under way."""
    if not active:
        return None
    return "off" if request.args.get("refresh") == "off" else "on"


@bp.route("/jobs/")
@permission("jobs.view")
def index():
    jobs = queries.jobs_for(current_user)
    active = any(j.active for j in jobs)
    return refreshing(make_response(render_template("jobs/index.html", jobs=jobs, refresh=refresh_state(active),
                                                     seconds=REFRESH_SECONDS)), active)


@bp.route("/jobs/<int:job_id>")
@permission("jobs.view")
def show(job_id: int):
    """A job's state and progress; the page refreshes itself while the job waits or runs (:func:`refreshing`),
    and a job done leads to its result, the page the work made."""
    job = queries.job_for(current_user, job_id)
    if job is None:
        abort(404)
    if job.state == "done" and job.result_url:
        return redirect(job.result_url, code=303)
    return refreshing(make_response(render_template("jobs/show.html", job=job, refresh=refresh_state(job.active),
                                                     seconds=REFRESH_SECONDS)), job.active)
