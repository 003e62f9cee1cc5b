"""The audit log: read, filter (user, action, record type and number, dates) and export as CSV."""
from __future__ import annotations

import json

from flask import render_template, request
from flask_babel import lazy_gettext as _l

from tracker import audit
from tracker.admin.blueprint import bp
from tracker.admin.forms import AuditFilterForm
from tracker.admin.queries import EXPORT_HEADER, audit_choices, audit_page, audit_select
from tracker.auth.permissions import permission
from tracker.database import writes_on_get
from tracker.exports import csv_response
from tracker.extensions import db
from tracker.vocab import LABELS
from tracker.web import SelectChoice, page_number

#: Rows in one export; a larger log is exported by narrowing the dates.
EXPORT_LIMIT = 100_000

#: What the filter's choices say for the actions written in the log (the code follows the label, as the
#: table shows codes); an action not named here is shown by its code.
ACTION_LABELS = {
    "view": _l("Record opened"),
    "search": _l("Mother looked up by name or code"),
    "show_personal": _l("Personal data shown"),
    "export": _l("Exported"),
    "export_personal": _l("Exported with personal data"),
    "import": _l("Imported"),
    "issue_report": _l("Report issued"),
    "download_report": _l("Report downloaded"),
    "sign_in": _l("Signed in"),
    "sign_in_failed": _l("Sign-in refused"),
    "sign_out": _l("Signed out"),
    "account_locked": _l("Account locked"),
    "password_changed": _l("Password changed"),
    "password_reset": _l("Password reset"),
    "two_factor_enabled": _l("Second factor turned on"),
    "two_factor_reset": _l("Second factor reset"),
    "recovery_codes_created": _l("Recovery codes made"),
    "recovery_code_used": _l("Recovery code used"),
    "api_token_created": _l("API token created"),
    "api_token_revoked": _l("API token revoked"),
    "api_request": _l("API request"),
    "access_changed": _l("Access changed"),
    "data_key_rotated": _l("Data key rotated"),
    "seed_demo": _l("Demo data loaded"),
    **{code: LABELS[code] for code in ("create", "update", "delete", "submit", "approve", "reject", "pay", "void")},
}
#: The same for the record types (tables) most searched for.
ENTITY_LABELS = {
    "beneficiaries": _l("Mothers"),
    "children": _l("Children"),
    "paternity_claims": _l("Paternity claims"),
    "income_projects": _l("Income-generating activities"),
    "disbursements": _l("Disbursements"),
    "projects": _l("Projects"),
    "users": _l("Users"),
    "donors": _l("Donors"),
    "pledges": _l("Pledges"),
    "contributions": _l("Contributions"),
    "allocations": _l("Allocations"),
    "exchange_rates": _l("Exchange rates"),
    "budget_lines": _l("Budget lines"),
    "issued_reports": _l("Donor reports"),
    "api_tokens": _l("API tokens"),
}


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
    return render_template("admin/audit.html", form=form, page=page, args=_query_args(filters))


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
