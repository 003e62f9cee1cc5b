from flask import Response, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tracker.auth.permissions import PUBLIC, SIGNED_IN, permission
from tracker.extensions import db
from tracker.main.blueprint import bp
from tracker.main.queries import reports_for_donor, scope_summary


@bp.route("/")
@permission(SIGNED_IN)
def home():
    if current_user.role == "donor":
        return render_template("main/home_donor.html", reports=reports_for_donor(current_user))
    if current_user.role == "manager":
        # The underfunding review is the managers' home.
        return redirect(url_for("dashboard.review"))
    return render_template("main/home.html", summary=scope_summary(current_user))


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
