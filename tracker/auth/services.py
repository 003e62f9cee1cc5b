"""Users: creation, password rules and sign-in checks."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from tracker import audit
from tracker.countries import is_country
from tracker.extensions import db
from tracker.models import ROLES, Donor, User, UserCountry
from tracker.models.base import now_utc
from tracker.models.users import new_session_token

PASSWORD_MIN = 12
PASSWORD_MAX = 256
#: A hash to compare against when the e-mail is unknown, so timing tells nothing.
_DUMMY_HASH = generate_password_hash("not-a-real-password-for-timing")


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable, or ``None``."""
    if len(password) < PASSWORD_MIN:
        return str(_l("The password must have at least %(n)d characters.", n=PASSWORD_MIN))
    if len(password) > PASSWORD_MAX:
        return str(_l("The password must have at most %(n)d characters.", n=PASSWORD_MAX))
    return None


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def create_user(*, email: str, role: str, password: str, countries=(), donor_name: str | None = None,
                name: str | None = None, locale: str = "en") -> User:
    """Create a user after checking every rule; flushes, the caller commits.

    Staff and managers need at least one country; donors need a donor; admins
    see every country and take none.
    """
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise UserError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    countries = sorted({c.strip().upper() for c in countries if c.strip()})
    unknown = [c for c in countries if not is_country(c)]
    if unknown:
        raise UserError(f"unknown country {', '.join(unknown)}; use ISO 3166 alpha-2 codes such as CD, CF, SS, HT, LR")
    if role in ("staff", "manager") and not countries:
        raise UserError(f"a {role} needs at least one country (--country CD)")
    if role in ("admin", "donor") and countries:
        raise UserError(f"a {role} takes no country")
    donor = None
    if role == "donor":
        if not donor_name:
            raise UserError("a donor user needs --donor NAME")
        donor = db.session.scalars(select(Donor).where(Donor.name == donor_name)).one_or_none()
        if donor is None:
            raise UserError(f"no donor named {donor_name!r}")
    elif donor_name:
        raise UserError("only donor users are linked to a donor")
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    if db.session.scalars(select(User.id).where(User.email == email)).first() is not None:
        raise UserError(f"a user with e-mail {email} exists already")
    user = User(
        email=email,
        name=(name or email.split("@")[0]).strip()[:120],
        password_hash=generate_password_hash(password),
        role=role,
        donor=donor,
        locale=locale,
        active=True,
    )
    user.country_links = [UserCountry(country=c) for c in countries]
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or ``None`` (the failure is audited)."""
    email = normalise_email(email)
    user = db.session.scalars(select(User).where(User.email == email)).one_or_none()
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password or "")
        # What was typed is not kept: it could be a password typed in the wrong field.
        audit.record(db.session, "sign_in_failed", entity="users", entity_id=user.id if user else None)
        return None
    if not check_password_hash(user.password_hash, password or ""):
        user.failed_logins = (user.failed_logins or 0) + 1
        audit.record(db.session, "sign_in_failed", entity="users", entity_id=user.id, user_id=user.id)
        return None
    user.failed_logins = 0
    user.last_login_at = now_utc()
    audit.record(db.session, "sign_in", entity="users", entity_id=user.id, user_id=user.id)
    return user


def set_password(user: User, password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    user.password_hash = generate_password_hash(password)
    user.session_token = new_session_token()
