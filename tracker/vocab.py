"""Labels people read for the stored words of the domain (states, categories, kinds)."""
from flask_babel import lazy_gettext as _l

from tracker.i18n import translations

LABELS = {
    # project statuses
    "pipeline": _l("Pipeline"),
    "active": _l("Active"),
    "closed": _l("Closed"),
    # categories
    "school_fees": _l("School fees"),
    "iga": _l("Income-generating activity"),
    "medical": _l("Medical"),
    "psychosocial": _l("Psychosocial"),
    "legal": _l("Legal"),
    "material": _l("Material assistance"),
    "outreach": _l("Outreach"),
    "admin": _l("Administration"),
    # roles
    "manager": _l("Manager"),
    "staff": _l("Programme staff"),
    "donor": _l("Donor"),
    # donor kinds
    "member_state": _l("Member State"),
    "intergovernmental": _l("Intergovernmental body"),
    "ngo": _l("NGO"),
    "private": _l("Private"),
    "withheld_payments": _l("Withheld payments"),
    "un_entity": _l("UN entity"),
    "government": _l("Government"),
    "other": _l("Other"),
    # beneficiaries
    "exited": _l("Exited"),
    "graduated": _l("Graduated"),
    "moved": _l("Moved away"),
    "withdrew": _l("Withdrew"),
    "deceased": _l("Deceased"),
    # claims
    "received": _l("Received"),
    "notified_to_member_state": _l("Notified to the Member State"),
    "dna_sample_collected": _l("DNA sample collected"),
    "dna_result_received": _l("DNA result received"),
    "paternity_established": _l("Paternity established"),
    "not_established": _l("Paternity not established"),
    "withdrawn": _l("Withdrawn"),
    "legally_recognised": _l("Legally recognised"),
    "support_ordered": _l("Support ordered"),
    "support_paid": _l("Support paid"),
    "military": _l("Military"),
    "police": _l("Police"),
    "civilian": _l("Civilian"),
    # income projects
    "planned": _l("Planned"),
    "struggling": _l("Struggling"),
    "closed_successful": _l("Closed, successful"),
    "closed_failed": _l("Closed, failed"),
    # disbursements
    "draft": _l("Draft"),
    "submitted": _l("Submitted"),
    "approved": _l("Approved"),
    "paid": _l("Paid"),
    "rejected": _l("Rejected"),
    "voided": _l("Voided"),
    # enrolment terms
    "pending": _l("Pending approval"),
    "not_requested": _l("Not asked for"),
    # consent filters
    "reporting": _l("Counted in donor reports"),
    "no_reporting": _l("Not counted in donor reports"),
    "no_services": _l("No consent to services"),
    # audit actions
    "create": _l("Entered"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "submit": _l("Submitted for approval"),
    "approve": _l("Approved"),
    "reject": _l("Rejected"),
    "pay": _l("Payment recorded"),
    "void": _l("Voided"),
    "withdraw": _l("Withdrawn to correct it"),
    "correct": _l("Corrected"),
    # sexes
    "F": _l("Girl"),
    "M": _l("Boy"),
}


ROLE_LABELS = {
    "admin": _l("Administrator"),
    "manager": _l("Manager"),
    "staff": _l("Programme staff"),
    "donor": _l("Donor"),
}


def role_label(role) -> str:
    """A role's name (``admin`` is a role here, not the budget category of the same key)."""
    found = ROLE_LABELS.get(role)
    return str(found) if found is not None else str(role or "")


#: The English message of each label: :func:`label` translates it with the request's translations, looked up once
#: (tracker/i18n.py), rather than through the lazy string's own look-up on every call (a list shows hundreds).
#: flask-babel's lazy strings keep their message as their first argument; tests/test_i18n.py checks that
#: every label reads the same both ways, in both languages.
_MESSAGES = {key: lazy._args[0] for key, lazy in LABELS.items()}


def label(value) -> str:
    if value is None:
        return ""
    message = _MESSAGES.get(value)
    return translations().ugettext(message) if message is not None else str(value)
