"""What the audit log shows for the record of each event: its code (a mother's or child's code, a payment's
reference, a user's e-mail...) instead of a table's row number, linked to the record's page when the reader may
open it (her permission, and for records of a country, her country scope).

Only codes, references and e-mail addresses of staff are shown: never a beneficiary's name.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select

from tracker.auth.scope import scoped_select
from tracker.extensions import db
from tracker.models import (
    Beneficiary,
    Child,
    Disbursement,
    Donor,
    IncomeProject,
    PaternityClaim,
    Project,
    User,
)


@dataclass(frozen=True)
class RecordLink:
    text: str
    url: str | None = None


def _numbers(keys: Iterable[str]) -> list[int]:
    return [int(k) for k in keys if k.isascii() and k.isdigit() and len(k) < 10]


def _users(keys, reader) -> dict[str, RecordLink]:
    may = reader.can("admin.users")
    rows = db.session.execute(select(User.id, User.email).where(User.id.in_(_numbers(keys))))
    return {str(i): RecordLink(email, url_for("admin.user", user_id=i) if may else None) for i, email in rows}


def _coded(model, column, endpoint: str, argument: str, permission: str):
    """Records known by a code or reference and scoped by country: linked only when in the reader's scope."""
    def find(keys, reader) -> dict[str, RecordLink]:
        if not reader.can(permission):
            return {}
        stmt = scoped_select(model, reader).with_only_columns(column).where(column.in_(list(keys)))
        return {code: RecordLink(code, url_for(endpoint, **{argument: code})) for code in db.session.scalars(stmt)}
    return find


def _claims(keys, reader) -> dict[str, RecordLink]:
    if not reader.can("records.view"):
        return {}
    stmt = (scoped_select(PaternityClaim, reader).with_only_columns(PaternityClaim.id, Child.code)
            .where(PaternityClaim.id.in_(_numbers(keys))))
    return {str(i): RecordLink(_("claim of %(code)s", code=code), url_for("registry.claim", claim_id=i))
            for i, code in db.session.execute(stmt)}


def _donors(keys, reader) -> dict[str, RecordLink]:
    """A donor is an organisation or a government: its name is no one's personal data."""
    if not reader.can("funding.view"):
        return {}
    rows = db.session.execute(select(Donor.id, Donor.name).where(Donor.id.in_(_numbers(keys))))
    return {str(i): RecordLink(name, url_for("funding.donor", id=i)) for i, name in rows}


def _reports(keys, reader) -> dict[str, RecordLink]:
    from tracker.models import IssuedReport
    from tracker.reports.archive import readable_reports

    if not reader.can("reports.read"):
        return {}
    stmt = readable_reports(reader).with_only_columns(IssuedReport.number).where(IssuedReport.number.in_(list(keys)))
    return {n: RecordLink(n, url_for("reports.show", number=n)) for n in db.session.scalars(stmt)}


#: Record type (table) → what finds the codes and pages of its records.
FINDERS: dict[str, Callable] = {
    "users": _users,
    "beneficiaries": _coded(Beneficiary, Beneficiary.code, "registry.mother", "code", "records.view"),
    "children": _coded(Child, Child.code, "registry.child", "code", "records.view"),
    "paternity_claims": _claims,
    "disbursements": _coded(Disbursement, Disbursement.reference, "disbursements.show", "reference",
                            "records.view"),
    "income_projects": _coded(IncomeProject, IncomeProject.reference, "registry.income_project", "reference",
                              "records.view"),
    "projects": _coded(Project, Project.code, "projects.show", "code", "records.view"),
    "donors": _donors,
    "issued_reports": _reports,
}


def record_links(rows, reader) -> dict[tuple[str, str], RecordLink]:
    """``(entity, entity_id)`` → what to show, for the events of one page of the log (one query per record type).

    A record the reader may not open, or that is gone, is not in the answer: the page shows its key as stored
    (a code, or a row number)."""
    wanted: dict[str, set[str]] = {}
    for row in rows:
        if row.entity in FINDERS and row.entity_id:
            wanted.setdefault(row.entity, set()).add(row.entity_id)
    found: dict[tuple[str, str], RecordLink] = {}
    for entity, keys in wanted.items():
        for key, link in FINDERS[entity](keys, reader).items():
            found[(entity, key)] = link
    return found


def user_link(reader) -> Callable[[int | None], str | None]:
    """The page of the user who acted, for a reader who may manage users."""
    may = reader.can("admin.users")
    return lambda user_id: url_for("admin.user", user_id=user_id) if may and user_id else None
