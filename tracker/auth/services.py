"""Users: creation, password rules, sign-in checks, lockout and the end of sessions."""
from __future__ import annotations

import functools
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from tracker import audit
from tracker.auth.tokens import revoke_all_tokens
from tracker.countries import is_country
from tracker.extensions import db
from tracker.models import ROLES, Donor, User, UserCountry
from tracker.models.base import now_utc
from tracker.models.users import new_session_token

PASSWORD_MIN = 12
#: Long passphrases are welcome; the bound only keeps hashing cheap.
PASSWORD_MAX = 256
#: The 10,000 most common passwords, lower-cased (see docs/security.md for their source).
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"
#: A hash to compare against when the e-mail is unknown, so timing tells nothing.
_DUMMY_HASH = generate_password_hash("not-a-real-password-for-timing")


class UserError(ValueError):
    """A user cannot be created or changed as asked; the message says why."""


@functools.cache
def common_passwords() -> frozenset[str]:
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as handle:
        return frozenset(line.rstrip("\n") for line in handle if line.strip())


def password_problem(password: str) -> str | None:
    """Why ``password`` is not acceptable, or ``None``.

    At least 12 characters, any characters (spaces and every script included),
    and not one of the 10,000 most common passwords whatever its case.
    """
    password = password or ""
    if len(password) < PASSWORD_MIN:
        return str(_l("The password must have at least %(n)d characters.", n=PASSWORD_MIN))
    if len(password) > PASSWORD_MAX:
        return str(_l("The password must have at most %(n)d characters.", n=PASSWORD_MAX))
    if password.lower() in common_passwords() or password.strip().lower() in common_passwords():
        return str(_l("This password is one of the most common ones; choose another."))
    return None


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_user_fields(*, role: str, countries, donor_name: str | None) -> tuple[list[str], Donor | None]:
    """The checked countries and donor for a user of ``role``; raises :class:`UserError`.

    Staff and managers need at least one country; donors need a donor; admins
    see every country and take none.
    """
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
    return countries, donor


def create_user(*, email: str, role: str, password: str, countries=(), donor_name: str | None = None,
                name: str | None = None, locale: str = "en") -> User:
    """Create a user after checking every rule; flushes, the caller commits.

    The password was chosen by someone other than its holder (the operator at
    the command line, an admin on screen), so ``password_changed_at`` stays
    empty: with ``PASSWORD_MUST_BE_OWN`` the holder replaces it at sign-in.
    """
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise UserError(f"{email!r} is not an e-mail address")
    countries, donor = check_user_fields(role=role, countries=countries, donor_name=donor_name)
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


def initial_password() -> str:
    """A random password an admin hands over once (about 100 bits; never a common one)."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


# --- signing in ------------------------------------------------------------------------------------------------------


def is_locked(user: User, now=None) -> bool:
    """Whether ``user`` is locked out at ``now`` (a lock lifts by itself when ``locked_until`` passes)."""
    return user.locked_until is not None and user.locked_until > (now or now_utc())


def authenticate(email: str, password: str) -> User | None:
    """The active, unlocked user whose password this is, or ``None``.

    The attempt is counted *before* the password is checked (:func:`take_attempt`), in one
    statement with the check of the lock, so that attempts sent at once never get more than
    ``LOGIN_MAX_FAILURES`` passwords checked before the lock; a right password gives its
    attempt back. Commits that count at once (and ends the transaction before any hashing) so
    that no lock is held while a password is hashed; the caller commits the rest.

    Every refusal is audited (without what was typed: it could be a password
    typed in the wrong field). A right password does not yet sign in: the caller finishes with
    :func:`complete_sign_in`, after the second factor when there is one, so a
    right password does not reset the count of wrong codes either.
    """
    now = now_utc()
    email = normalise_email(email)
    user = db.session.scalars(select(User).where(User.email == email)).one_or_none()
    if user is None or not user.active:
        user_id = user.id if user else None
        db.session.commit()  # hold no lock while hashing: on SQLite a writer's lock is the whole database's
        check_password_hash(_DUMMY_HASH, password or "")
        audit.record(db.session, "sign_in_failed", entity="users", entity_id=user_id)
        # Not the e-mail typed: it could be a password typed in the wrong field.
        current_app.logger.info("sign-in refused: unknown or disabled account")
        return None
    user_id, stored_hash = user.id, user.password_hash  # read before take_attempt's commit expires them
    attempt = take_attempt(user, now=now)
    if attempt is None:
        # Locked, or every attempt the lock allows is being checked right now: refused unchecked, even with
        # the right password. The dummy check takes the time of a real one; the message does not say so.
        check_password_hash(_DUMMY_HASH, password or "")
        audit.record(db.session, "sign_in_failed", entity="users", entity_id=user_id, user_id=user_id,
                     changes={"reason": "locked"})
        current_app.logger.info("sign-in refused: user %s is locked", user_id)
        return None
    if not check_password_hash(stored_hash, password or ""):
        count_failure(user, now=now, attempt=attempt)
        return None
    give_back_attempt(user)
    return user


def take_attempt(user: User, *, now=None) -> int | None:
    """Count an attempt (a password or code about to be checked) as a failure until it proves right; commits.

    One UPDATE checks that the account is not locked and that fewer than
    ``LOGIN_MAX_FAILURES`` failures are counted, and adds one: attempts sent
    at once take their turn (PostgreSQL's row lock, SQLite's write lock), so at
    most ``LOGIN_MAX_FAILURES`` of them are ever checked before the lock.
    Returns the attempt's number in the row (1 to ``LOGIN_MAX_FAILURES``), or
    ``None`` when the account is locked or every attempt it has left is
    already taken. Committed at once: the other attempts must see it, and
    nothing stays locked while the password or code is checked.
    """
    now = now or now_utc()
    failed = func.coalesce(User.failed_logins, 0)
    attempt = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.locked_until.is_(None), User.locked_until <= now),
               failed < current_app.config["LOGIN_MAX_FAILURES"])
        .values(failed_logins=failed + 1)
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    db.session.commit()
    return attempt


def give_back_attempt(user: User) -> None:
    """The password or code of an attempt taken by :func:`take_attempt` was right: it is no failure."""
    db.session.execute(
        update(User).where(User.id == user.id, User.failed_logins > 0)
        .values(failed_logins=User.failed_logins - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(user, ["failed_logins", "locked_until"])


def count_failure(user: User, *, now=None, step: str | None = None, attempt: int | None = None) -> bool:
    """Record a wrong password or code; the ``LOGIN_MAX_FAILURES``-th in a row locks the account.

    ``attempt`` is the number :func:`take_attempt` gave the attempt before it
    was checked: it is counted already. Without it (a password checked first,
    as when re-authenticating inside a session) the count is raised here, in
    one UPDATE, so that attempts sent in parallel all count. Returns whether
    this failure locked the account.
    """
    now = now or now_utc()
    config = current_app.config
    audit.record(db.session, "sign_in_failed", entity="users", entity_id=user.id, user_id=user.id,
                 changes={"step": step} if step else None)
    current_app.logger.info("sign-in refused: wrong %s for user %s",
                            "code" if step == "second_factor" else "password", user.id)
    count = attempt
    if count is None:
        count = db.session.execute(
            update(User).where(User.id == user.id)
            .values(failed_logins=func.coalesce(User.failed_logins, 0) + 1)
            .returning(User.failed_logins)
            .execution_options(synchronize_session=False)
        ).scalar_one()
    locked = count >= config["LOGIN_MAX_FAILURES"]
    if locked:
        until = now + config["LOGIN_LOCK_DURATION"]
        db.session.execute(
            update(User).where(User.id == user.id).values(failed_logins=0, locked_until=until)
            .execution_options(synchronize_session=False)
        )
        audit.record(db.session, "account_locked", entity="users", entity_id=user.id, user_id=user.id,
                     changes={"until": until.isoformat(timespec="seconds")})
        current_app.logger.warning("user %s locked until %s after %d failures", user.id,
                                   until.isoformat(timespec="seconds"), count)
    db.session.expire(user, ["failed_logins", "locked_until"])
    return locked


def complete_sign_in(user: User, *, second_factor: str | None = None) -> None:
    """The user proved who they are: clear the failure count and audit the sign-in."""
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now_utc()
    audit.record(db.session, "sign_in", entity="users", entity_id=user.id, user_id=user.id,
                 changes={"second_factor": second_factor} if second_factor else None)
    current_app.logger.info("user %s signed in%s", user.id, f" with a {second_factor}" if second_factor else "")


def check_password(user: User, password: str) -> bool:
    """Re-authentication inside a session (before changing a password or a second factor).

    A wrong password counts towards the lock like a wrong sign-in.
    """
    if check_password_hash(user.password_hash, password or ""):
        return True
    count_failure(user, step="reauthenticate")
    return False


# --- passwords and sessions ------------------------------------------------------------------------------------------


def end_sessions(user: User) -> None:
    """End every session of ``user`` at once, remember-me cookies included.

    The token is part of every session's id and is checked on every request
    (:func:`tracker.auth.sessions.load_user`).
    """
    user.session_token = new_session_token()


def set_password(user: User, password: str, *, own: bool = True) -> int:
    """Replace the password, end every session (the caller re-issues the current one) and revoke
    every API token of the user (audited); returns how many tokens were revoked.

    ``own`` is false for a password an admin hands over: it must then be
    replaced at the next sign-in when ``PASSWORD_MUST_BE_OWN`` is set.
    """
    problem = password_problem(password)
    if problem:
        raise UserError(problem)
    user.password_hash = generate_password_hash(password)
    user.password_changed_at = now_utc() if own else None
    end_sessions(user)
    return revoke_all_tokens(user=user, reason="password_changed" if own else "password_reset")


def must_change_password(user: User) -> bool:
    return bool(current_app.config.get("PASSWORD_MUST_BE_OWN")) and user.password_changed_at is None
