from flask import redirect, render_template, url_for
from flask_login import current_user

from tracker.auth.permissions import SIGNED_IN, permission
from tracker.main import bp
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
