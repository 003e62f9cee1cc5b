"""Users, their role and their country scope."""
from __future__ import annotations

import datetime as dt
import secrets

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.models._helpers import one_of
from tracker.models.base import SECRET, Base, Encrypted, UTCDateTime, now_utc

ROLES = ("admin", "manager", "staff", "donor")


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


#: Anyone, signed in or not (sign-in page, report verification, static files).
PUBLIC = "public"
#: Any signed-in user.
SIGNED_IN = "signed_in"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "staff": frozenset({
        "records.view", "records.edit", "personal.show", "records.import", "records.export",
        "disbursements.enter", "jobs.view",
    }),
    "manager": frozenset({
        "records.view", "records.edit", "personal.show", "records.import", "records.export",
        "disbursements.enter", "disbursements.approve", "funding.view", "funding.manage",
        "reports.issue", "reports.read", "jobs.view", "claims.dashboard", "funding.plan",
    }),
    "admin": frozenset({
        "records.view", "records.export", "funding.view", "funding.manage", "reports.read",
        "admin.users", "admin.rates", "admin.audit", "records.import_history", "jobs.view",
        "claims.dashboard",
    }),
    "donor": frozenset({"reports.read"}),
}

ALL_PERMISSIONS = frozenset().union(*ROLE_PERMISSIONS.values()) | {PUBLIC, SIGNED_IN}


def role_has(role: str, name: str) -> bool:
    if name in (PUBLIC, SIGNED_IN):
        return True
    return name in ROLE_PERMISSIONS.get(role, ())


class User(UserMixin, Base):
    __tablename__ = "users"
    __audited__ = True
    __table_args__ = (
        one_of("role", ROLES),
        CheckConstraint("(role = 'donor') = (donor_id IS NOT NULL)", name="donor_link"),
        CheckConstraint("email = lower(email)", name="email_lower"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255), info=SECRET)
    role: Mapped[str] = mapped_column(String(10))
    donor_id: Mapped[int | None] = mapped_column(ForeignKey("donors.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(5), default="en")
    #: Part of every session cookie; replacing it ends all of the user's sessions.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token, info=SECRET)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=now_utc)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    totp_secret: Mapped[str | None] = mapped_column(Encrypted, info=SECRET)
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The last TOTP time step accepted, so one code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    donor = relationship("Donor")
    country_links: Mapped[list[UserCountry]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"

    # Flask-Login: the cookie names the user *and* the current session token,
    # so that replacing the token signs out every session at once.
    def get_id(self) -> str:
        return f"{self.id}.{self.session_token}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    @property
    def countries(self) -> list[str]:
        return sorted(link.country for link in self.country_links)

    @property
    def sees_all_countries(self) -> bool:
        return self.role == "admin"

    def can(self, permission: str) -> bool:
        """Whether this user's role grants ``permission`` (every view declares one: tracker/auth/permissions.py)."""
        return role_has(self.role, permission)


class UserCountry(Base):
    __tablename__ = "user_countries"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True)

    user: Mapped[User] = relationship(back_populates="country_links")
