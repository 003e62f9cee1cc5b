from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tracker import audit
from tracker import validation as v
from tracker.auth.permissions import permission
from tracker.auth.scope import user_countries
from tracker.dashboard.blueprint import bp
from tracker.dashboard.review import SORTS, build_review
from tracker.database import writes_on_get
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.funding.engine import ScopeError
from tracker.funding.serialise import amount_text
from tracker.iati.data import PeriodError, iati_export
from tracker.iati.xml import to_xml


def _params():
    """Country, period and sort from the query string, with a message for what is wrong."""
    args, problems = request.args, []
    countries = user_countries()
    country = (args.get("country") or "").upper() or None
    if country and countries is not None and country not in countries:
        abort(404)
    dates = {}
    for name in ("from", "to"):
        try:
            dates[name] = v.date(args.get(name, ""), name, required=False, not_future=False)
        except Invalid as error:
            problems.append(_("%(label)s: %(value)s", label=_("From") if name == "from" else _("To"),
                               value=error.errors[name]))
            dates[name] = None
    if dates["from"] and dates["to"] and dates["to"] < dates["from"]:
        problems.append(_("The period ends before it starts; the default period is shown."))
        dates = {"from": None, "to": None}
    sort = args.get("sort") if args.get("sort") in SORTS else "gap"
    return countries, country, dates, sort, problems


@bp.route("/review/")
@permission("funding.view")
def review():
    countries, country, dates, sort, problems = _params()
    try:
        data = build_review(scope=f"country:{country}" if country else "fund", date_from=dates["from"],
                            date_to=dates["to"], countries=countries, sort=sort)
    except ScopeError as error:
        problems.append(str(error))
        data = build_review(scope="fund", date_from=None, date_to=None, countries=countries, sort=sort)
    return render_template(
        "dashboard/review.html", r=data, p=data.picture, problems=problems, sort=sort, sorts=SORTS,
        country=country, countries=countries or sorted({pr.country for pr in data.picture.projects}),
        args={k: val for k, val in request.args.items() if k in ("country", "from", "to", "sort") and val},
    )


EXPORTS = ("projects", "categories", "pledges", "children", "months")


@bp.route("/review/export/<table>.csv")
@writes_on_get
@permission("funding.view")
def export(table: str):
    from tracker.exports import csv_response

    if table not in EXPORTS:
        abort(404)
    countries, country, dates, sort, problems = _params()
    try:
        if problems:
            raise ScopeError(problems[0])
        data = build_review(scope=f"country:{country}" if country else "fund", date_from=dates["from"],
                            date_to=dates["to"], countries=countries, sort=sort)
    except ScopeError as error:
        flash(_("Nothing exported: %(problem)s", problem=str(error)), "error")
        return redirect(url_for("dashboard.review", **{k: v for k, v in request.args.items()
                                                        if k in ("country", "sort")}))
    p = data.picture
    if table == "projects":
        from tracker.funding.serialise import csv_rows

        rows = list(csv_rows(p))
        header, body = rows[0], rows[1:]
    elif table == "categories":
        header = ["category", "need", "disbursed"]
        body = [[c, amount_text(n), amount_text(d)] for c, (n, d) in p.by_category.items()]
    elif table == "pledges":
        # The first seven columns are those of earlier releases; the pledge's own currency follows.
        header = ["donor", "reference", "pledged_on", "pledged_usd", "received_usd", "outstanding", "age_days",
                  "currency", "amount", "received", "remaining", "usd_rate", "exchange_difference",
                  "project_code", "country"]
        body = [[x.donor, x.reference, x.pledged_on, amount_text(x.usd_amount), amount_text(x.received_usd),
                 amount_text(x.outstanding), x.age_days, x.currency, amount_text(x.amount), amount_text(x.received),
                 amount_text(x.remaining), f"{x.usd_rate:f}", amount_text(x.exchange_difference),
                 x.project_code or "", x.country or ""] for x in data.pledges]
    elif table == "children":
        header = ["project_code", "child_code", "mother_code", "school", "term", "fee", "currency", "fee_usd"]
        body = [[c.project_code, c.child_code, c.mother_code, c.school, c.term, amount_text(c.fee), c.currency,
                 amount_text(c.fee_usd)] for c in p.children_at_risk]
    else:
        header = ["month", "received_usd"]
        body = [[m.month.strftime("%Y-%m"), amount_text(m.amount)] for m in data.months]
    audit.record(db.session, "export", entity="review", entity_id=table, changes={"rows": len(body)})
    db.session.commit()
    return csv_response(f"review-{table}.csv", header, body)


@bp.route("/review/iati.xml")
@writes_on_get
@permission("funding.view")
def iati():
    """The IATI 2.03 activity file of the user's projects (the review's country; its period, if one is chosen)."""
    countries, country, dates, _sort, problems = _params()
    problem = problems[0] if problems else None
    if problem is None:
        try:
            data = iati_export(date_from=dates["from"], date_to=dates["to"], countries=countries, country=country)
        except PeriodError:  # only a start after today is left once _params() has checked the dates
            problem = _("the period ends before it starts")
    if problem is not None:
        flash(_("Nothing exported: %(problem)s", problem=problem), "error")
        return redirect(url_for("dashboard.review", **{k: v for k, v in request.args.items()
                                                        if k in ("country", "sort")}))
    scope = (f"country:{country}" if country else "fund" if countries is None
             else "countries:" + ",".join(sorted(countries)))
    audit.record(db.session, "export", entity="iati", entity_id=scope, changes=data.audit_changes())
    db.session.commit()
    response = Response(to_xml(data), mimetype="application/xml")  # no-store and nosniff: tracker/security.py
    response.headers.set("Content-Disposition", "attachment", filename="iati-activities.xml")
    return response
