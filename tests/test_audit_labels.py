"""The audit log speaks both languages: every action the code records has a label in English and in French, and
a record's code links to its page only for a reader who may open it.

The actions are found in the code itself (``audit.record(session, "action", ...)``, the ``"action": ...`` of
events written in bulk, the automatic ``create``/``update``/``delete``): a new action without a label fails here.
"""
from __future__ import annotations

import ast
import datetime as dt
import html
import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from flask_babel import force_locale
from sqlalchemy import select

from tests import factories
from tracker import audit
from tracker.admin.audit_labels import ACTION_LABELS
from tracker.demo.guard import DEMO_MARK
from tracker.disbursements.services import TRANSITIONS
from tracker.extensions import db as _db
from tracker.models import User

SOURCE = Path(__file__).resolve().parent.parent / "tracker"
#: Actions the code names through a variable rather than a literal, and what the variable can hold.
INDIRECT = {
    "transition.name": set(TRANSITIONS),
    "DEMO_MARK": {DEMO_MARK},
    "action": {"create", "update", "delete"},       # tracker/audit.py, the automatic events of every flush
    "event['action']": {"create", "update"},          # tracker/imports/batching.py, events gathered for bulk rows
    # The audit page's own filters (tracker/admin/routes_audit.py): they read the log, they record nothing.
    "form.action.data or None": set(),
    "filters['action']": set(),
}


def _strings(node) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def recorded_actions() -> set[str]:
    """Every action name the tracker's code can write to the audit log."""
    found: set[str] = set()
    unknown: list[str] = []
    for path in SOURCE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            action = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "audit":
                action = node.args[1] if len(node.args) > 1 else next(
                    (k.value for k in node.keywords if k.arg == "action"), None)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "AuditEvent":
                action = next((k.value for k in node.keywords if k.arg == "action"), None)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "action":
                        action = value
            if action is None:
                continue
            names = _strings(action)
            text = ast.unparse(action).replace('"', "'")
            if text in INDIRECT:
                found |= INDIRECT[text]
            elif names and not isinstance(action, (ast.Name, ast.Attribute, ast.Subscript)):
                found |= names
            else:
                unknown.append(f"{path.relative_to(SOURCE.parent)}:{node.lineno}: {text}")
    assert not unknown, f"actions recorded through a variable this test does not know: {unknown}"
    return found - {""}


def test_the_code_records_the_actions_this_test_knows_of():
    actions = recorded_actions()
    # A sample from each way of recording, so that the search above cannot silently find nothing.
    assert {"two_factor_enabled", "two_factor_disabled", "sign_in", "approve", "void", "create", "seed_demo",
            "download_report", "api_request"} <= actions


def test_every_recorded_action_has_a_label():
    assert sorted(recorded_actions() - set(ACTION_LABELS)) == []


def test_every_action_label_is_translated_into_french(app):
    path = SOURCE / "translations" / "fr" / "LC_MESSAGES" / "messages.mo"
    with path.open("rb") as handle:
        catalogue = read_mo(handle)
    missing = []
    for action in sorted(recorded_actions()):
        with app.test_request_context(), force_locale("en"):
            english = str(ACTION_LABELS[action])
        message = catalogue.get(english)
        if message is None or not message.string:
            missing.append((action, english))
    assert missing == []


def test_the_second_factor_reads_as_words_in_both_languages(app):
    with app.test_request_context():
        with force_locale("en"):
            assert str(ACTION_LABELS["two_factor_enabled"]) == "Second factor enabled"
        with force_locale("fr"):
            assert str(ACTION_LABELS["two_factor_enabled"]) == "Deuxième facteur activé"


# --- the page -------------------------------------------------------------------------------------------------------

@pytest.fixture
def events(app):
    """A CD mother, child, claim and payment; a CF mother; events about each and about a staff user."""
    with app.app_context():
        with factories.one_commit():
            cd = factories.ProjectFactory(code="TF-CD-2025-01", country="CD")
            cf = factories.ProjectFactory(code="TF-CF-2025-01", country="CF")
            mother = factories.BeneficiaryFactory(project=cd, number=1, name="Amina Secret")
            child = factories.ChildFactory(mother=mother, number=1, first_name="Kito")
            claim = factories.PaternityClaimFactory(child=child)
            payment = factories.DisbursementFactory(project=cd, beneficiary=mother, reference="DB-CD-2026-000007")
            other = factories.BeneficiaryFactory(project=cf, number=2)
            staff = factories.UserFactory(role="staff", email="nadia@example.org", countries=["CD"])
        when = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
        rows = [
            ("two_factor_enabled", "users", str(staff.id)),
            ("view", "beneficiaries", mother.code),
            ("view", "children", child.code),
            ("view", "paternity_claims", str(claim.id)),
            ("approve", "disbursements", payment.reference),
            ("view", "beneficiaries", other.code),
            ("view", "projects", cd.code),
        ]
        for n, (action, entity, key) in enumerate(rows):
            event = audit.record(_db.session, action, entity=entity, entity_id=key)
            event.at = when + dt.timedelta(minutes=n)
        _db.session.commit()
        return {"staff": staff.id, "mother": mother.code, "child": child.code, "claim": claim.id,
                "payment": payment.reference, "other": other.code}


def record_cells(response) -> list[str]:
    body = response.get_data(as_text=True)
    cells = re.findall(r'<td data-action="[a-z_]+">.*?</td>\s*<td>(.*?)</td>', body, re.S)
    return [re.sub(r"\s+", " ", html.unescape(c)).strip() for c in cells]


def test_audit_log_shows_readable_actions_and_record_codes_linked_for_an_admin(app, admin_client, events):
    response = admin_client.get("/admin/audit/?date_from=2026-01-05&date_to=2026-01-05")
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "Second factor enabled" in body and "<code>two_factor_enabled</code>" not in body
    cells = record_cells(response)
    assert cells == [  # newest first
        '<span class="audit-entity">Projects</span> <a href="/projects/TF-CD-2025-01" class="audit-record">'
        'TF-CD-2025-01</a>',
        f'<span class="audit-entity">Mothers</span> <a href="/mothers/{events["other"]}" class="audit-record">'
        f'{events["other"]}</a>',
        f'<span class="audit-entity">Disbursements</span> <a href="/disbursements/{events["payment"]}" '
        f'class="audit-record">{events["payment"]}</a>',
        f'<span class="audit-entity">Paternity claims</span> <a href="/claims/{events["claim"]}" '
        f'class="audit-record">claim of {events["child"]}</a>',
        f'<span class="audit-entity">Children</span> <a href="/children/{events["child"]}" class="audit-record">'
        f'{events["child"]}</a>',
        f'<span class="audit-entity">Mothers</span> <a href="/mothers/{events["mother"]}" class="audit-record">'
        f'{events["mother"]}</a>',
        f'<span class="audit-entity">Users</span> <a href="/admin/users/{events["staff"]}" class="audit-record">'
        f'nadia@example.org</a>',
    ]
    # Codes only: never a beneficiary's name.
    assert "Amina" not in body and "Kito" not in body


def test_audit_log_links_resolve_for_the_admin(app, admin_client, events):
    body = admin_client.get("/admin/audit/?date_from=2026-01-05&date_to=2026-01-05").get_data(as_text=True)
    links = re.findall(r'<a href="([^"]+)" class="audit-record">', body)
    assert len(links) == 7
    for link in links:
        assert admin_client.get(link).status_code == 200, link


def test_audit_log_in_french(app, sign_in, events):
    client = sign_in(role="admin", email="admin.fr@example.org", locale="fr")
    body = html.unescape(client.get("/admin/audit/?action=two_factor_enabled").get_data(as_text=True))
    assert "Deuxième facteur activé" in body
    assert re.search(r'<span class="audit-entity">Utilisateurs</span>\s*<a href="/admin/users/\d+" '
                     r'class="audit-record">nadia@example.org</a>', body)


def test_records_a_reader_may_not_open_are_shown_by_their_key_without_a_link(app, events):
    from tracker.admin.audit_records import record_links
    from tracker.admin.queries import audit_page

    with app.test_request_context():
        staff = _db.session.scalar(select(User).where(User.email == "nadia@example.org"))
        rows = audit_page(1, date_from=dt.date(2026, 1, 5), date_to=dt.date(2026, 1, 5)).items
        links = record_links(rows, staff)
    # Staff of CD: the CD records, not the CF mother; no user page (admins only).
    assert ("beneficiaries", events["mother"]) in links
    assert ("beneficiaries", events["other"]) not in links
    assert links[("users", str(events["staff"]))].url is None
    assert links[("users", str(events["staff"]))].text == "nadia@example.org"
