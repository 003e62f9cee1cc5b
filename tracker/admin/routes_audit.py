"""The audit log: read, filter (user, action, record type and number, dates) and export as CSV."""
from __future__ import annotations

import json

from flask import render_template, request
from flask_login import current_user

from tracker import audit
from tracker.admin.audit_labels import ACTION_LABELS, ENTITY_LABELS
from tracker.admin.audit_records import record_links, user_link
from tracker.admin.blueprint import bp
from tracker.admin.forms import AuditFilterForm
from tracker.admin.queries import EXPORT_HEADER, audit_choices, audit_page, audit_select
from tracker.auth.permissions import permission
from tracker.database import writes_on_get
from tracker.exports import csv_response
from tracker.extensions import db
from tracker.web import SelectChoice, page_number

#: Rows in one export; a larger log is exported by narrowing the dates.
EXPORT_LIMIT = 100_000

def _labelled(codes, labels) -> list[SelectChoice]:
    """``code`` → ``"Label (code)"`` choices in the order of their labels in the reader's language."""
    named = [SelectChoice(code, f"{labels[code]} ({code})" if code in labels else code) for code in codes]
    return sorted(named, key=lambda choice: choice.label.casefold())


def _filters() -> tuple[AuditFilterForm, dict]:
    form = AuditFilterForm(request.args)
    actions, entities, users = audit_choices()
    form.action.choices = [SelectChoice("", "—")] + _labelled(actions, ACTION_LABELS)
    form.entity.choices = [SelectChoice("", "—")] + _labelled(entities, ENTITY_LABELS)
    form.user.choices = [SelectChoice("", "—")] + [SelectChoice(str(i), email) for i, email in users]
    form.validate()
    user = form.user.data if (form.user.data or "").isdigit() else None
    filters = {
        "user_id": int(user) if user else None,
        "action": form.action.data or None,
        "entity": form.entity.data or None,
        "entity_id": (form.entity_id.data or "").strip() or None,
        "date_from": form.date_from.data if not form.date_from.errors else None,
        "date_to": form.date_to.data if not form.date_to.errors else None,
    }
    return form, filters


def _query_args(filters: dict) -> dict:
    return {k: v for k, v in {
        "user": filters["user_id"], "action": filters["action"], "entity": filters["entity"],
        "entity_id": filters["entity_id"],
        "date_from": filters["date_from"].isoformat() if filters["date_from"] else None,
        "date_to": filters["date_to"].isoformat() if filters["date_to"] else None,
    }.items() if v}


@bp.route("/audit/")
@permission("admin.audit")
def audit_log():
    form, filters = _filters()
    page = audit_page(page_number(), **filters)
    return render_template("admin/audit.html", form=form, page=page, args=_query_args(filters),
                           action_labels=ACTION_LABELS, entity_labels=ENTITY_LABELS,
                           records=record_links(page.items, current_user), user_link=user_link(current_user))


@bp.route("/audit/export.csv")
@writes_on_get
@permission("admin.audit")
def audit_export():
    """The filtered events as CSV (formula-safe, via tracker.exports); the export is itself audited."""
    _form, filters = _filters()
    rows = db.session.execute(audit_select(**filters).limit(EXPORT_LIMIT)).all()
    audit.record(db.session, "export", entity="audit_events",
                 changes={"rows": len(rows), "filters": _query_args(filters)})
    db.session.commit()
    data = [[r.id, r.at, r.user_id, r.email, r.action, r.entity, r.entity_id,
             json.dumps(r.changes, sort_keys=True, ensure_ascii=False) if r.changes is not None else None, r.ip]
            for r in rows]
    return csv_response("audit-log.csv", EXPORT_HEADER, data)
