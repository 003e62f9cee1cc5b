"""Issuing donor reports and keeping them: rendered once, stored with their SHA-256, never re-rendered.

Issuing records the report (number, scope, period, language, addressee,
issuer) at once and renders the PDF as a job (tracker/jobs: RQ or the
in-process worker), so a long rendering never holds a request or other users,
and a restart does not lose it; the report's page links to the job's, which
shows the progress.
Every download serves the stored bytes, and anyone can check a copy against
the archive by its SHA-256.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, String, func, literal, or_, select
from sqlalchemy.exc import IntegrityError

from tracker import audit
from tracker.auth.scope import sees_whole_fund, user_countries
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.funding.engine import ScopeError, parse_scope
from tracker.jobs import kinds
from tracker.jobs.kinds import JobRun
from tracker.jobs.queue import start_job
from tracker.models import Donor, IssuedReport, Job, Project, User
from tracker.models.base import now_utc, today

log = logging.getLogger(__name__)


def next_number(year: int) -> str:
    """``TF-2026-0007``: the next number of the year."""
    prefix = f"TF-{year}-"
    last = db.session.scalar(select(func.max(IssuedReport.number)).where(IssuedReport.number.like(prefix + "%")))
    n = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{n:04d}"


def check_request(*, scope: str, date_from, date_to, lang: str) -> None:
    """Refuse what cannot be a report: an unknown scope or project, a period ending before it starts."""
    try:
        kind, value = parse_scope(scope)
    except ScopeError as error:
        raise Invalid(str(error), "scope") from None
    if kind == "project" and db.session.scalar(select(Project.id).where(Project.code == value)) is None:
        raise Invalid(_l("unknown project %(code)s", code=value), "scope")
    if date_from and date_to and date_to < date_from:
        raise Invalid(_l("the period ends before it starts"), "date_to")
    if lang not in ("en", "fr"):
        raise Invalid(_l("unknown language"), "lang")


def verify_url() -> str:
    """Where a reader checks an issued report: ``PUBLIC_BASE_URL`` + ``/verify`` (DESIGN section 4).

    In production the setting is required, so that a report never prints the
    address of whichever host or proxy the issuer happened to use; elsewhere
    the request's own address stands in for it.
    """
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + "/verify"
    if current_app.config.get("ENV_NAME") == "production":
        raise Invalid(_l("Reports cannot be issued until the administrator sets PUBLIC_BASE_URL, the address "
                         "donors use to verify a report."), "")
    return url_for("reports.verify", _external=True)


def issue_report(*, scope: str, date_from: dt.date, date_to: dt.date, lang: str, donor: Donor | None,
                 user: User) -> IssuedReport:
    """Record a report as issued (status ``rendering``) and commit; the caller starts :func:`start_rendering`."""
    check_request(scope=scope, date_from=date_from, date_to=date_to, lang=lang)
    verify_url()  # refused before a number is taken
    for _attempt in range(5):
        report = IssuedReport(number=next_number(today().year), scope=scope, period_from=date_from,
                              period_to=date_to, as_of=today(), lang=lang, donor=donor, issued_by_id=user.id,
                              issued_at=now_utc(), status="rendering")
        try:
            with db.session.begin_nested():
                db.session.add(report)
                db.session.flush()
            break
        except IntegrityError:
            continue  # another manager took the number a moment ago
    else:
        raise Invalid(_l("could not give the report a number; try again"), "")
    audit.record(db.session, "issue_report", entity="issued_reports", entity_id=report.number,
                 changes={"scope": [None, scope], "lang": [None, lang]})
    db.session.commit()
    return report


#: The steps of rendering a report, its job's progress: the figures read, the PDF laid out, the PDF stored.
RENDER_STEPS = 3


def render_issued(report_id: int, verify_url: str, progress=None) -> None:
    """Render and store the PDF of a recorded report; the work of a ``render_report`` job.

    The PDF, its hash and the state ``issued`` are stored in one commit at the end, so a rendering that
    fails or is killed leaves the report ``rendering`` with nothing half-saved (the job marks it failed,
    :func:`_render_failed`). A report no longer ``rendering`` is left alone: a job run again after a
    restart does not render an issued report twice.
    """
    from tracker.reports.render import render_report

    progress = progress or (lambda done, total=None: None)
    report = db.session.get(IssuedReport, report_id)
    if report is None or report.status != "rendering":
        db.session.commit()
        return

    def figures_read():
        db.session.commit()  # end the read transaction before the long layout
        progress(1, RENDER_STEPS)

    rendered = render_report(scope=report.scope, date_from=report.period_from, date_to=report.period_to,
                             lang=report.lang, donor=report.donor, number=report.number, verify_url=verify_url,
                             before_layout=figures_read)
    progress(2, RENDER_STEPS)
    report = db.session.get(IssuedReport, report_id)
    if report.status != "rendering":  # another run stored it meanwhile
        db.session.commit()
        return
    report.pdf = rendered.pdf
    report.sha256 = hashlib.sha256(rendered.pdf).hexdigest()
    report.pages = rendered.pages
    report.size = len(rendered.pdf)
    report.status = "issued"
    db.session.commit()
    progress(3, RENDER_STEPS)


def _render_job(run: JobRun) -> None:
    render_issued(run.params["report_id"], run.params["verify_url"], progress=run.progress)


def _render_failed(params: dict, reason: str) -> None:
    """The job failed (an error, or its worker died twice): the report is marked failed, without a PDF."""
    report = db.session.get(IssuedReport, params["report_id"])
    if report is not None and report.status == "rendering":
        log.warning("rendering report %s failed: %s", report.number, reason)
        report.status = "failed"
        report.error = reason


RENDER_KIND = kinds.register(kinds.Kind(
    name="render_report", run=_render_job, label=_l("Report rendering"), unit=_l("steps"),
    result=("reports.show", "number"), on_failed=_render_failed))


def _scope_country(scope: str) -> str | None:
    """The country whose managers may watch a report's job; ``None`` for the whole Fund."""
    kind, _sep, value = scope.partition(":")
    if kind == "country":
        return value
    if kind == "project":
        return db.session.scalar(select(Project.country).where(Project.code == value))
    return None


def start_rendering(report: IssuedReport, verify_url: str) -> Job:
    """Render as a job (tracker/jobs): on RQ or the in-process worker; here and now with
    ``REPORTS_RENDER_INLINE``. The report's page links to the job's."""
    app = current_app._get_current_object()
    params = {"report_id": report.id, "verify_url": verify_url}
    return start_job(kind=RENDER_KIND.name, params=params, user=db.session.get(User, report.issued_by_id),
                     country=_scope_country(report.scope), subject=report.number, total=RENDER_STEPS,
                     inline=bool(app.config.get("REPORTS_RENDER_INLINE")))


def readable_reports(user: User) -> Select:
    """The issued reports ``user`` may read; every list and lookup of them (web, PDF, API) goes through here.

    - A donor: those addressed to her and those addressed to no donor, once issued.
    - An admin: every one.
    - Anyone else (a manager): the scopes she could issue a report for, whoever issued it: her
      countries, the projects in them, and the whole Fund only when her countries hold every project
      (:func:`tracker.auth.scope.sees_whole_fund`, the rule the issuing form follows). Any other
      report does not exist for her (404).
    """
    stmt = select(IssuedReport)
    if user.role == "donor":
        return stmt.where(IssuedReport.status == "issued",
                          or_(IssuedReport.donor_id == user.donor_id, IssuedReport.donor_id.is_(None)))
    countries = user_countries(user)
    if countries is None:
        return stmt
    projects = select(literal("project:", String) + Project.code).where(Project.country.in_(countries))
    readable = [IssuedReport.scope.in_([f"country:{c}" for c in countries]), IssuedReport.scope.in_(projects)]
    if sees_whole_fund(user):
        readable.append(IssuedReport.scope == "fund")
    return stmt.where(or_(*readable))


def readable_report(user: User, number: str) -> IssuedReport | None:
    """Report ``number`` if ``user`` may read it (see :func:`readable_reports`)."""
    return db.session.scalars(readable_reports(user).where(IssuedReport.number == number)).one_or_none()


def find_by_sha256(digest: str) -> IssuedReport | None:
    digest = (digest or "").strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        return None
    return db.session.scalars(
        select(IssuedReport).where(IssuedReport.sha256 == digest, IssuedReport.status == "issued")
    ).one_or_none()


def find_by_bytes(data: bytes) -> IssuedReport | None:
    return find_by_sha256(hashlib.sha256(data).hexdigest())
