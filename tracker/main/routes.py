from flask import Response, render_template
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tracker.auth.permissions import PUBLIC, SIGNED_IN, permission
from tracker.dates import academic_year_of
from tracker.extensions import db
from tracker.main import worklists
from tracker.main.blueprint import bp
from tracker.main.queries import reports_for_donor, scope_summary
from tracker.models.base import today
from tracker.web import page_number

#: Rows a page of a worklist's own list (the children whose current term is unpaid).
PER_PAGE = 50


@bp.route("/")
@permission(SIGNED_IN)
def home():
    """Each role's home: what needs doing, each with a count and a link to exactly those rows."""
    role = current_user.role
    if role == "donor":
        return render_template("main/home_donor.html", reports=reports_for_donor(current_user),
                               headline=worklists.donor_headline())
    if role == "manager":
        # The underfunding review (/review/) stays the deep page; the home says what to look at first.
        return render_template("main/home_manager.html", home=worklists.manager_home(current_user, today()),
                               summary=scope_summary(current_user))
    if role == "admin":
        return render_template("main/home_admin.html", home=worklists.admin_home(),
                               summary=scope_summary(current_user))
    on = today()
    return render_template("main/home.html", summary=scope_summary(current_user),
                           work=worklists.staff_worklist(current_user, on), terms=worklists.term_months(3),
                           term_now=worklists.current_term(on, 3))


@bp.route("/worklist/unpaid-terms")
@permission("records.view")
def unpaid_terms():
    """The children of the user's countries whose current term has no school-fee payment asked for."""
    on = today()
    return render_template(
        "main/unpaid_terms.html", page=worklists.unpaid_terms_page(current_user, on, page_number(), PER_PAGE),
        academic_year=academic_year_of(on), terms=worklists.term_months(3),
        term_now=worklists.current_term(on, 3),
    )


@bp.route("/healthz")
@permission(PUBLIC)
def healthz():
    """For the proxy's or orchestrator's health check: 200 when the database answers, else 503; never any data."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return Response("unavailable\n", status=503, mimetype="text/plain")
    db.session.rollback()
    return Response("ok\n", mimetype="text/plain")
