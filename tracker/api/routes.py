"""The read-only JSON API: funding figures, projects, issued reports, disbursements, children at risk, claims,
the allocation planner's proposal.

Every route declares the permission a token's user needs (as on the web);
:func:`tracker.auth.permissions.enforce` authenticates the bearer token and
checks it before the view runs (tracker/api/auth.py). Views parse their
parameters (tracker/api/params.py), read through the country scope of the
token's user (tracker/auth/scope.py) and the funding engine, and answer JSON.
Only figures and codes leave: never a payee, a name or another personal field.
"""
from __future__ import annotations

from flask import jsonify, make_response, request
from flask_login import current_user
from sqlalchemy import func, select

from tracker import audit
from tracker.api import params
from tracker.api.blueprint import bp
from tracker.api.openapi import document
from tracker.api.problems import ApiError
from tracker.auth.permissions import PUBLIC, permission
from tracker.auth.scope import scoped_select, user_countries
from tracker.countries import is_country
from tracker.disbursements.queries import Row, list_select
from tracker.extensions import db
from tracker.funding import planner
from tracker.funding.engine import FundingPicture, ScopeError, funding_picture, parse_scope
from tracker.funding.plan_serialise import plan_dict
from tracker.funding.serialise import PROJECT_KEYS, amount_text, figures_dict, picture_dict
from tracker.models import CATEGORIES, DISBURSEMENT_STATES, PROJECT_STATUSES, IssuedReport, Project
from tracker.models.base import today
from tracker.registry import claim_figures, claim_public
from tracker.reports import archive


def _user():
    return current_user._get_current_object()


def _envelope(items: list, total: int, limit: int, offset: int):
    return jsonify({"items": items, "total": total, "limit": limit, "offset": offset,
                    **params.page_links(total, limit, offset)})


# --- the funding picture ---------------------------------------------------------------------------------------------

def _engine_countries(user) -> list[str] | None:
    """Donors read the Fund's own picture; everyone else the projects of their countries."""
    return None if user.role == "donor" else user_countries(user)


def _check_scope(user, scope: str) -> None:
    """Donors: the fund only (403); a country or project outside the user's countries: 404, as on the web."""
    kind, value = parse_scope(scope)
    if kind == "fund":
        return
    if user.role == "donor":
        raise ApiError(403, "a donor's token reads the whole fund only: use scope=fund", parameter="scope")
    if kind == "country":
        countries = user_countries(user)
        if not is_country(value) or (countries is not None and value not in countries):
            raise ApiError(404, f"no country {value} in your scope", parameter="scope")
    elif db.session.scalar(scoped_select(Project, user).where(Project.code == value)) is None:
        raise ApiError(404, f"no project {value} in your scope", parameter="scope")


def _picture(*, with_children: bool) -> FundingPicture:
    user = _user()
    scope = params.scope()
    date_from, date_to = params.engine_period()
    _check_scope(user, scope)
    try:
        return funding_picture(scope=scope, date_from=date_from, date_to=date_to,
                               countries=_engine_countries(user), with_children=with_children)
    except ScopeError as error:  # checked above; kept so that a new engine rule still answers 422, never 500
        raise ApiError(422, str(error)) from None


@bp.route("/funding")
@permission("reports.read")
def funding():
    """The funding picture of DESIGN section 3, as ``flask report funding-gap --format json`` prints it."""
    params.refuse_unknown("scope", "from", "to")
    body = picture_dict(_picture(with_children=False))
    if _user().role == "donor":
        # Counts of children, small ones included, are for the programme: the donor reports never publish them.
        for figures in (body["totals"], *body["projects"]):
            figures["children_at_risk"] = None
    return jsonify(body)


@bp.route("/projects")
@permission("funding.view")
def projects():
    """Each project of the user's countries with its funding figures for the period, by code."""
    params.refuse_unknown("country", "status", "from", "to", "limit", "offset")
    user = _user()
    country = request.args.get("country")
    status = params.choice("status", PROJECT_STATUSES)
    limit, offset = params.page()
    date_from, date_to = params.engine_period()
    scope = "fund"
    if country is not None:
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            raise ApiError(400, f"query parameter 'country' must be a two-letter ISO code; got {country[:20]!r}",
                           parameter="country")
        scope = f"country:{country.upper()}"
        _check_scope(user, scope)
    try:
        picture = funding_picture(scope=scope, date_from=date_from, date_to=date_to,
                                  countries=user_countries(user), with_children=False)
    except ScopeError as error:  # see _picture
        raise ApiError(422, str(error)) from None
    rows = [p for p in picture.projects if status is None or p.status == status]
    items = [{**figures_dict(p, PROJECT_KEYS), "title": p.title, "status": p.status}
             for p in rows[offset:offset + limit]]
    return _envelope(items, len(rows), limit, offset)


@bp.route("/children-at-risk")
@permission("records.view")
def children_at_risk():
    """Children whose next school term the balance does not cover, by code (DESIGN section 3)."""
    params.refuse_unknown("scope", "from", "to", "limit", "offset")
    limit, offset = params.page()
    picture = _picture(with_children=True)
    items = [{"project_code": c.project_code, "child_code": c.child_code, "mother_code": c.mother_code,
              "term": c.term, "fee": amount_text(c.fee), "currency": c.currency, "fee_usd": amount_text(c.fee_usd)}
             for c in picture.children_at_risk[offset:offset + limit]]
    return _envelope(items, len(picture.children_at_risk), limit, offset)


# --- the allocation planner ----------------------------------------------------------------------------------------

@bp.route("/plan")
@permission("funding.plan")
def plan():
    """The planner's proposal for an amount (default: the Fund's unallocated money), as ``flask plan allocations
    --format json`` prints it, over the projects of the user's countries. It allocates nothing."""
    params.refuse_unknown("amount", "with_pledges", "scope", "to", "share", "order")
    user = _user()
    amount = params.amount("amount")
    with_pledges = params.boolean("with_pledges")
    scope = params.scope()
    date_to = params.date("to")
    share = params.choice("share", planner.SHARES) or "need"
    order = params.order("order", share)
    _check_scope(user, scope)
    try:
        proposal = planner.propose(amount=amount, with_pledges=with_pledges, scope=scope, date_to=date_to,
                                   countries=user_countries(user), share=share, order=order)
    except planner.PlanError as error:  # the order names a project outside the scope
        raise ApiError(422, f"query parameter 'order': {error}", parameter="order") from None
    except ScopeError as error:  # checked above; see _picture
        raise ApiError(422, str(error)) from None
    return jsonify(plan_dict(proposal))


# --- paternity claims -----------------------------------------------------------------------------------------------

@bp.route("/claims/summary")
@permission("reports.read")
def claims_summary():
    """Paternity claims by Member State (DESIGN section 3), as ``flask report claims --format json`` prints them.

    Whoever may read the claims dashboard gets its figures for their countries as of ``to`` (default today);
    a donor gets the public figures (``--public``): the whole Fund, as of the last month end on or before
    ``to`` and before this month, small counts suppressed, whatever their scope.
    """
    params.refuse_unknown("to")
    to = params.date("to")
    user = _user()
    if user.can("claims.dashboard"):
        summary = claim_figures.claims_summary(to or today(), user_countries(user))
        return jsonify(claim_figures.summary_json(summary))
    return jsonify(claim_public.public_json(claim_public.public_summary(today(), to)))


# --- disbursements ---------------------------------------------------------------------------------------------------

@bp.route("/disbursements")
@permission("records.view")
def disbursements():
    """Disbursements of the user's countries, newest first: codes and amounts only, never the payee."""
    params.refuse_unknown("status", "category", "project", "from", "to", "limit", "offset")
    user = _user()
    status = params.choice("status", DISBURSEMENT_STATES)
    category = params.choice("category", CATEGORIES)
    project = params.code("project")
    limit, offset = params.page()
    date_from, date_to = params.period()
    if project and db.session.scalar(scoped_select(Project, user).where(Project.code == project)) is None:
        raise ApiError(404, f"no project {project} in your scope", parameter="project")
    stmt = list_select(user, project=project, category=category, status=status, date_from=date_from,
                       date_to=date_to)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = [{
        "reference": r.reference, "project_code": r.project_code, "category": r.category,
        "mother_code": r.mother_code, "child_code": r.child_code, "academic_year": r.academic_year, "term": r.term,
        "amount": amount_text(r.amount), "currency": r.currency,
        "usd_amount": None if r.usd_amount is None else amount_text(r.usd_amount), "status": r.status,
        "entered_on": r.entered_on.isoformat(), "paid_on": r.paid_on.isoformat() if r.paid_on else None,
    } for r in (Row(*row) for row in db.session.execute(stmt.limit(limit).offset(offset)))]
    return _envelope(items, total, limit, offset)


# --- issued reports --------------------------------------------------------------------------------------------------

def _report_json(report: IssuedReport) -> dict:
    return {
        "number": report.number, "scope": report.scope, "period_from": report.period_from.isoformat(),
        "period_to": report.period_to.isoformat(), "as_of": report.as_of.isoformat(), "lang": report.lang,
        "status": report.status, "issued_at": report.issued_at.isoformat(), "fund_wide": report.donor_id is None,
        "sha256": report.sha256, "pages": report.pages, "size": report.size,
        "pdf": f"/api/v1/reports/{report.number}/pdf" if report.status == "issued" and report.pdf is not None
        else None,
    }


def _readable(number: str) -> IssuedReport:
    """The report if this user may read it (:func:`tracker.reports.archive.readable_reports`), else 404, as on
    the web."""
    user = _user()
    if len(number) > 20:
        raise ApiError(404, f"no report {number[:20]}… for you")
    report = archive.readable_report(user, number)
    if report is None:
        raise ApiError(404, f"no report {number} for you")
    return report


@bp.route("/reports")
@permission("reports.read")
def reports():
    """Issued donor reports, newest first, as on the web (:func:`tracker.reports.archive.readable_reports`)."""
    params.refuse_unknown("limit", "offset")
    user = _user()
    limit, offset = params.page()
    stmt = archive.readable_reports(user)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    found = db.session.scalars(stmt.order_by(IssuedReport.issued_at.desc(), IssuedReport.id.desc())
                               .limit(limit).offset(offset)).all()
    return _envelope([_report_json(r) for r in found], total, limit, offset)


@bp.route("/reports/<number>")
@permission("reports.read")
def report(number: str):
    params.refuse_unknown()
    return jsonify(_report_json(_readable(number)))


@bp.route("/reports/<number>/pdf")
@permission("reports.read")
def report_pdf(number: str):
    """The stored bytes, exactly as issued; the download is audited as on the web."""
    params.refuse_unknown()
    found = _readable(number)
    if found.status != "issued" or found.pdf is None:
        raise ApiError(404, f"report {number} has no PDF yet (status: {found.status})")
    audit.record(db.session, "download_report", entity="issued_reports", entity_id=found.number)
    db.session.commit()
    response = make_response(found.pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{found.number}.pdf"'
    return response


# --- the description -------------------------------------------------------------------------------------------------

@bp.route("/openapi.json")
@permission(PUBLIC)
def openapi():
    """The OpenAPI 3.1 description of this API (public: it holds no data)."""
    return jsonify(document())
