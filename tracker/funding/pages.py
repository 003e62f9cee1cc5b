"""What every funding screen shares: the form page, the list exports, and reading a donor or a number
from the request. Kept apart so that the route modules never import one another.
"""
from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _

from tracker import audit
from tracker.extensions import db
from tracker.models import Donor


def donor_or_404(value) -> Donor:
    raw = str(value or "")
    donor = db.session.get(Donor, int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    if donor is None:
        abort(404)
    return donor


def int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


def export_list(fmt: str, entity: str, header: list[str], make_rows):
    """A list as CSV or XLSX, recorded in the audit log like every export (counts, never contents)."""
    from tracker.exports import csv_response, xlsx_response

    if fmt not in ("csv", "xlsx"):
        abort(404)
    rows = make_rows()
    audit.record(db.session, "export", entity=entity, changes={"rows": len(rows)})
    db.session.commit()
    if fmt == "csv":
        return csv_response(f"{entity}.csv", header, rows)
    return xlsx_response(f"{entity}.xlsx", header, rows, sheet_title=entity)


def form_page(form, *, title, crumbs, cancel, submit=None, intro=None, hints=None, datalists=None):
    return render_template(
        "funding/form.html", form=form, title=title, crumbs=crumbs, cancel=cancel, submit=submit or _("Save"),
        intro=intro, hints=hints or {}, datalists=datalists or {},
    )

