from flask import render_template, request
from flask_login import current_user

from tracker.auth.permissions import permission
from tracker.auth.scope import get_scoped_or_404, user_countries
from tracker.disbursements.queries import Row, list_select
from tracker.funding.engine import funding_picture
from tracker.funding.queries import project_page
from tracker.funding.waterfall import waterfall
from tracker.models import PROJECT_STATUSES, Project
from tracker.projects.blueprint import bp
from tracker.projects.queries import project_allocations, project_rows
from tracker.web import page_number, paginate


@bp.route("/")
@permission("records.view")
def index():
    country = request.args.get("country") or None
    status = request.args.get("status") if request.args.get("status") in PROJECT_STATUSES else None
    rows = project_rows(current_user, country=country, status=status)
    return render_template(
        "projects/index.html",
        rows=rows,
        countries=user_countries() or sorted({r.country for r in project_rows(current_user)}),
        statuses=PROJECT_STATUSES,
        chosen_country=country,
        chosen_status=status,
    )


#: Payments a page of a project's page.
PAYMENTS_PER_PAGE = 50


@bp.route("/<code>")
@permission("records.view")
def show(code: str):
    """The project: its facts, its funding figures and allocations (for those who see funding), its children at
    risk of missing next term and its payments (for anyone who sees its records: codes, never names)."""
    project = get_scoped_or_404(Project, code=code)
    # The engine's picture of this one project for the default period, as the review shows it.
    picture = funding_picture(scope=f"project:{project.code}", countries=user_countries(), with_children=True)
    figures = picture.projects[0]
    funding = None
    if current_user.can("funding.view"):
        funding = {"figures": figures, "picture": picture, "waterfall": waterfall(picture),
                   "allocations": project_allocations(project.id)}
    payments = paginate(list_select(current_user, project=project.code), page_number(), PAYMENTS_PER_PAGE,
                        row=lambda r: Row(*r))
    return render_template("projects/show.html", page=project_page(project), funding=funding,
                           at_risk=picture.children_at_risk, at_risk_cost=figures.at_risk_cost,
                           academic_year=picture.academic_year, payments=payments)
