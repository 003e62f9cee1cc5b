from flask import render_template, request
from flask_login import current_user

from tracker.auth.permissions import permission
from tracker.auth.scope import get_scoped_or_404, user_countries
from tracker.funding.engine import funding_picture
from tracker.funding.queries import project_page
from tracker.funding.waterfall import waterfall
from tracker.models import PROJECT_STATUSES, Project
from tracker.projects.blueprint import bp
from tracker.projects.queries import project_rows


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


@bp.route("/<code>")
@permission("records.view")
def show(code: str):
    project = get_scoped_or_404(Project, code=code)
    funding = None
    if current_user.can("funding.view"):
        # The engine's picture of this one project for the default period, as the review shows it.
        picture = funding_picture(scope=f"project:{project.code}", countries=user_countries(), with_children=False)
        funding = {"figures": picture.projects[0], "picture": picture, "waterfall": waterfall(picture)}
    return render_template("projects/show.html", page=project_page(project), funding=funding)
