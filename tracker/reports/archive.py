"""Issuing donor reports and keeping them: rendered once, stored with their SHA-256, never re-rendered.

Issuing records the report (number, scope, period, language, addressee,
issuer) at once and renders the PDF in a worker thread, so a long rendering
never holds a request or other users; the status page shows the progress.
Every download serves the stored bytes, and anyone can check a copy against
the archive by its SHA-256.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, String, func, literal, or_, select
from sqlalchemy.exc import IntegrityError

from tracker import audit
from tracker.auth.scope import sees_whole_fund, user_countries
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.funding.engine import ScopeError, parse_scope
from tracker.models import Donor, IssuedReport, Project, User
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


def issue_report(*, scope: str, date_from: dt.date, date_to: dt.date, lang: str, donor: Donor | None,
                 user: User) -> IssuedReport:
    """Record a report as issued (status ``rendering``) and commit; the caller starts :func:`start_rendering`."""
    check_request(scope=scope, date_from=date_from, date_to=date_to, lang=lang)
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


def render_issued(report_id: int, verify_url: str) -> None:
    """Render and store the PDF of a recorded report (in a worker thread or synchronously)."""
    from tracker.reports.render import render_report

    report = db.session.get(IssuedReport, report_id)
    if report is None or report.status != "rendering":
        return
    number = report.number
    try:
        rendered = render_report(scope=report.scope, date_from=report.period_from, date_to=report.period_to,
                                 lang=report.lang, donor=report.donor, number=number, verify_url=verify_url,
                                 before_layout=db.session.commit)
        report = db.session.get(IssuedReport, report_id)
        report.pdf = rendered.pdf
        report.sha256 = hashlib.sha256(rendered.pdf).hexdigest()
        report.pages = rendered.pages
        report.size = len(rendered.pdf)
        report.status = "issued"
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        log.exception("rendering report %s failed", number)
        report = db.session.get(IssuedReport, report_id)
        report.status = "failed"
        report.error = type(error).__name__
        db.session.commit()


def start_rendering(report: IssuedReport, verify_url: str) -> None:
    """Render in a worker thread with its own application context and session."""
    app = current_app._get_current_object()
    report_id, issuer_id = report.id, report.issued_by_id

    def work():
        with app.app_context():
            try:
                with audit.acting_as(issuer_id, "worker"):
                    render_issued(report_id, verify_url)
            finally:
                db.session.remove()

    # End this request's transaction first: on SQLite an open read would lock the worker's write out.
    db.session.commit()
    if app.config.get("REPORTS_RENDER_INLINE"):
        work()
        return
    threading.Thread(target=work, name=f"render-{report.number}", daemon=True).start()


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
