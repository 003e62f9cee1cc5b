"""Reads for the admin pages: users and the audit log, as plain rows."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, func, select

from tracker.extensions import db
from tracker.models import AuditEvent, Donor, RecoveryCode, User, UserCountry
from tracker.models.base import now_utc
from tracker.web import Page, paginate


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    name: str
    role: str
    countries: tuple[str, ...]
    donor: str | None
    active: bool
    two_factor: bool
    locked: bool
    last_login_at: dt.datetime | None


def user_rows() -> list[UserRow]:
    links: dict[int, list[str]] = {}
    for user_id, country in db.session.execute(select(UserCountry.user_id, UserCountry.country)
                                               .order_by(UserCountry.country)):
        links.setdefault(user_id, []).append(country)
    stmt = (select(User.id, User.email, User.name, User.role, Donor.name, User.active, User.totp_enabled_at,
                   User.locked_until, User.last_login_at)
            .outerjoin(Donor, User.donor_id == Donor.id).order_by(User.active.desc(), User.email))
    now = now_utc()
    return [UserRow(i, email, name, role, tuple(links.get(i, ())), donor, active, enabled is not None,
                    locked is not None and locked > now, last)
            for i, email, name, role, donor, active, enabled, locked, last in db.session.execute(stmt)]


def recovery_codes_left(user_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))) or 0


# --- audit log ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRow:
    id: int
    at: dt.datetime
    user_id: int | None
    user_email: str | None
    action: str
    entity: str | None
    entity_id: str | None
    changes: dict | None
    ip: str | None


EXPORT_HEADER = ["id", "at", "user_id", "user_email", "action", "entity", "entity_id", "changes", "ip"]


def audit_select(*, user_id: int | None = None, action: str | None = None, entity: str | None = None,
                 entity_id: str | None = None, date_from: dt.date | None = None,
                 date_to: dt.date | None = None) -> Select:
    """Events matching the filters, newest first; dates are whole UTC days, both included."""
    stmt = (select(AuditEvent.id, AuditEvent.at, AuditEvent.user_id, User.email, AuditEvent.action,
                   AuditEvent.entity, AuditEvent.entity_id, AuditEvent.changes, AuditEvent.ip)
            .outerjoin(User, AuditEvent.user_id == User.id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()))
    if user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == user_id)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if entity:
        stmt = stmt.where(AuditEvent.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if date_from:
        stmt = stmt.where(AuditEvent.at >= _start_of(date_from))
    if date_to:
        stmt = stmt.where(AuditEvent.at < _start_of(date_to + dt.timedelta(days=1)))
    return stmt


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), dt.UTC)


def audit_page(page: int, **filters) -> Page:
    return paginate(audit_select(**filters), page, row=lambda r: AuditRow(*r))


def audit_choices() -> tuple[list[str], list[str], list[tuple[int, str]]]:
    """The actions, entities and users found in the log, for the filters."""
    actions = list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
    entities = list(db.session.scalars(select(AuditEvent.entity).distinct().where(AuditEvent.entity.is_not(None))
                                       .order_by(AuditEvent.entity)))
    users = [(i, email) for i, email in db.session.execute(select(User.id, User.email).order_by(User.email))]
    return actions, entities, users
