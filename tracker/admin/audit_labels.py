"""Readable names of what the audit log records: its actions and its record types, in the reader's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from tracker.vocab import LABELS

#: What the log's table and its filter say for each action the code records (tests/test_audit_labels.py
#: finds them in the code: a new action without a label fails it); an unknown one is shown by its code.
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
    "two_factor_enabled": _l("Second factor enabled"),
    "two_factor_disabled": _l("Second factor disabled"),
    "two_factor_reset": _l("Second factor reset"),
    "recovery_codes_created": _l("Recovery codes made"),
    "recovery_code_used": _l("Recovery code used"),
    "api_token_created": _l("API token created"),
    "api_token_revoked": _l("API token revoked"),
    "api_request": _l("API request"),
    "access_changed": _l("Access changed"),
    "data_key_rotated": _l("Data key rotated"),
    "seed_demo": _l("Demo data loaded"),
    **{code: LABELS[code] for code in ("create", "update", "delete", "submit", "approve", "reject", "pay", "void",
                                       "withdraw", "correct")},
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
    "allocation_plans": _l("Allocation plans"),
    "exchange_rates": _l("Exchange rates"),
    "budget_lines": _l("Budget lines"),
    "issued_reports": _l("Donor reports"),
    "api_tokens": _l("API tokens"),
    "enrolments": _l("Enrolments"),
    "claim_steps": _l("Claim steps"),
    "income_reports": _l("Income reports"),
    "partners": _l("Partners"),
    "audit_events": _l("Audit log"),
    "review": _l("Review tables"),
    "iati": _l("IATI publication"),
    "api": _l("API"),
}
