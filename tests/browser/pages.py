"""Every page a role can open with GET, read from the app's URL map (tests/browser/test_page_widths.py).

A route is a page of a role when its declared permission is the role's. Its parameters are filled from the
records the demo holds in the role's scope (:func:`examples`); a route left out is listed in :data:`SKIPPED`
or :func:`skipped` with the reason, so that a new page is visited unless somebody says why not.
"""
from __future__ import annotations

import hashlib
import re

from flask import Flask, url_for
from sqlalchemy import select

from tracker.auth.permissions import declared_permission
from tracker.extensions import db
from tracker.models.users import PUBLIC, role_has

#: Endpoints that are not pages to look at, and why.
SKIPPED = {
    "static": "static files, not pages",
    "main.healthz": "a health check answering JSON, not a page",
    "auth.login_code": "reached only in the middle of a sign-in: visited there, by the manager's sign-in",
    "reports.verify": "public: visited signed out, beside the sign-in page",
    "disbursements.correct": "opened only by whoever entered a payment, after withdrawing it: measured at 390 and "
                             "1366 px by the journey in tests/browser/test_pay_from_case.py",
}
#: Blueprints that are not screens.
SKIPPED_BLUEPRINTS = {"api": "the JSON API (bearer tokens), no page"}
#: A route whose path ends so downloads a file.
DOWNLOAD = re.compile(r"(\.csv|\.xlsx|\.xml|\.pdf|\.<fmt>|/pdf)$")


def skipped(app: Flask) -> dict[str, str]:
    """Every GET route not visited, with why."""
    out = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        reason = _skip_reason(rule)
        if reason:
            out[rule.rule] = reason
    return out


def _skip_reason(rule) -> str | None:
    blueprint = rule.endpoint.partition(".")[0]
    if rule.endpoint in SKIPPED:
        return SKIPPED[rule.endpoint]
    if blueprint in SKIPPED_BLUEPRINTS:
        return SKIPPED_BLUEPRINTS[blueprint]
    if DOWNLOAD.search(rule.rule):
        return "a download (CSV, XLSX, XML or PDF), not a page"
    return None


def pages(app: Flask, role: str, examples: dict[str, list]) -> list[str]:
    """The paths of every GET page ``role`` may open: routes without parameters, and each route with
    parameters once per example of them (``examples``: argument name -> values; a route whose argument has
    no example is left out, and :func:`unfilled` names it)."""
    out = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or _skip_reason(rule):
                continue
            needed = declared_permission(rule.endpoint)
            if needed == PUBLIC or not role_has(role, needed):
                continue
            arguments = sorted(rule.arguments)
            if any(not _values(examples, rule.endpoint, a) for a in arguments):
                continue
            for values in _combinations(rule.endpoint, arguments, examples):
                out.append(url_for(rule.endpoint, **values))
    return out


def unfilled(app: Flask, role: str, examples: dict) -> list[str]:
    """The routes of ``role`` left out of :func:`pages` for want of an example of their parameters."""
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or _skip_reason(rule):
            continue
        with app.app_context():
            needed = declared_permission(rule.endpoint)
        if needed == PUBLIC or not role_has(role, needed):
            continue
        if any(not _values(examples, rule.endpoint, a) for a in rule.arguments):
            out.append(rule.rule)
    return sorted(out)


def _values(examples: dict, endpoint: str, argument: str) -> list:
    """The examples of a route's argument: the route's own when it has some (even none), else the argument's."""
    own = examples.get((endpoint, argument))
    return own if own is not None else examples.get(argument, [])


def _combinations(endpoint: str, arguments: list[str], examples: dict) -> list[dict]:
    combos = [{}]
    for a in arguments:
        values = _values(examples, endpoint, a)
        combos = [{**c, a: v} for c in combos for v in values]
    return combos


def examples(role: str, *, country: str = "CD", donor_id: int | None = None) -> dict:
    """One record of each kind the demo holds in ``country`` (the staff's and one of the manager's countries),
    for the routes' parameters. Call in an app context."""
    from tracker.imports.kinds import KINDS
    from tracker.models import (
        Beneficiary,
        Child,
        Disbursement,
        Donor,
        Enrolment,
        IncomeProject,
        IssuedReport,
        Job,
        PaternityClaim,
        Project,
        User,
    )

    s = db.session
    # A mother with children and an income activity: her page shows all its parts.
    mother = s.scalars(select(Beneficiary).join(IncomeProject, IncomeProject.beneficiary_id == Beneficiary.id)
                       .join(Child, Child.mother_id == Beneficiary.id).where(Beneficiary.country == country)
                       .order_by(Beneficiary.number).limit(1)).first()
    child = s.scalars(select(Child).join(Enrolment, Enrolment.child_id == Child.id).join(PaternityClaim)
                      .where(Child.code.startswith(country + "-")).order_by(Child.code).limit(1)).first()
    project = s.scalars(select(Project).where(Project.country == country).order_by(Project.code)).first()
    payment = s.scalars(select(Disbursement).join(Project).where(Project.country == country)
                        .order_by(Disbursement.id)).first()
    claim = s.scalars(select(PaternityClaim).where(PaternityClaim.child_id == child.id)).first()
    income = s.scalars(select(IncomeProject).where(IncomeProject.beneficiary_id == mother.id)).first()
    enrolment = s.scalars(select(Enrolment).where(Enrolment.child_id == child.id)).first()
    donor = s.get(Donor, donor_id) if donor_id else s.scalars(select(Donor).order_by(Donor.id)).first()
    report = s.scalars(select(IssuedReport).where(IssuedReport.donor_id == donor.id)).first()
    job = s.scalars(select(Job).where(Job.country == country).order_by(Job.id)).first()
    user = s.scalars(select(User).where(User.role == "staff").order_by(User.id)).first()
    found = {
        "id": [donor.id], "number": [report.number] if report else [], "job_id": [job.id] if job else [],
        "claim_id": [claim.id], "enrolment_id": [enrolment.id], "user_id": [user.id],
        # The import pages the role may use (import, or load past records).
        # One of them: they are one template.
        "kind_name": sorted(name for name, kind in KINDS.items()
                            if role_has(role, kind.permission)
                            or (kind.history_permission and role_has(role, kind.history_permission)))[:1],
    }
    # A parameter named alike in several routes takes the record of that route.
    by_endpoint = {
        "registry.mother": ("code", mother.code), "registry.edit_mother": ("code", mother.code),
        "registry.new_child": ("code", mother.code), "registry.new_income_project": ("code", mother.code),
        "registry.child": ("code", child.code), "registry.edit_child": ("code", child.code),
        "registry.new_claim": ("code", child.code), "registry.new_enrolment": ("code", child.code),
        "projects.show": ("code", project.code), "funding.budget": ("code", project.code),
        "funding.edit_project": ("code", project.code),
        "disbursements.show": ("reference", payment.reference),
        "registry.income_project": ("reference", income.reference),
        "registry.edit_income_project": ("reference", income.reference),
    }
    for endpoint, (name, value) in by_endpoint.items():
        found[(endpoint, name)] = [value]
    # An import's result page needs an import run in the background: no example.
    found[("imports.job_result", "kind_name")] = []
    return found


def stand_ins(donor, issuer_id: int, staff_id: int, country: str = "CD") -> None:
    """What the demo does not make: an issued report for ``donor`` (stand-in bytes), and a failed check of an
    import file by ``staff_id`` (a job the staff member, the manager and the administrator may all see)."""
    import datetime as dt

    from tracker.models import IssuedReport, Job

    db.session.add(Job(kind="import_check", state="failed", params="{}", subject="beneficiaries", country=country,
                       started_by_id=staff_id, progress_done=1, progress_total=3, attempts=1, error="RuntimeError"))
    number = "TF-2026-0001"

    pdf = f"%PDF-1.7 stand-in {number}".encode()
    db.session.add(IssuedReport(number=number, scope="fund", period_from=dt.date(2025, 1, 1),
                                period_to=dt.date(2025, 12, 31), as_of=dt.date(2026, 1, 15), lang="en",
                                donor=donor, issued_by_id=issuer_id, status="issued", pdf=pdf,
                                sha256=hashlib.sha256(pdf).hexdigest(), pages=1, size=len(pdf)))
    db.session.commit()
