"""The second factor: TOTP codes (RFC 6238, with pyotp) and ten one-time recovery codes.

The TOTP secret is stored encrypted (``users.totp_secret``, a personal-data
key). A secret with no ``totp_enabled_at`` is an enrolment in progress: it
only becomes the user's second factor once a code from the app proves the
app holds it. A code is accepted once: the time step it belongs to is
written to ``totp_last_step`` by a guarded UPDATE, so the same code sent
twice, even at the same moment, signs in once. Recovery codes are stored as
salted hashes and marked used the same way.
"""
from __future__ import annotations

import hmac
import secrets

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from tracker import audit
from tracker.extensions import db
from tracker.models import RecoveryCode, User
from tracker.models.base import now_utc

ISSUER = "Trust Fund tracker"
RECOVERY_CODES = 10
#: Codes are read aloud and typed from paper: no 0/o, 1/l/i.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
#: Ten random characters (about 49 bits), so a fast salted hash is enough.
_RECOVERY_HASH = "pbkdf2:sha256:20000"
#: Steps accepted either side of now, for a phone clock a little off.
VALID_WINDOW = 1


def required_for(user: User) -> bool:
    """Whether the user's role must sign in with a second factor (``TWO_FACTOR_REQUIRED_ROLES``)."""
    return user.role in tuple(current_app.config.get("TWO_FACTOR_REQUIRED_ROLES") or ())


def enrolled(user: User) -> bool:
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def needs_enrolment(user: User) -> bool:
    return required_for(user) and not enrolled(user)


# --- enrolment ------------------------------------------------------------------------------------------------------


def start_enrolment(user: User) -> None:
    """Give the user a new secret to scan; their second factor (if any) is unchanged until they confirm."""
    if enrolled(user):
        raise ValueError("already enrolled")
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None


def pending_secret(user: User) -> str | None:
    return user.totp_secret if user.totp_secret and not user.totp_enabled_at else None


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The enrolment QR code as an SVG ``data:`` URI, for an ``<img>`` the CSP allows (``img-src data:``)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Turn the pending secret on when ``code`` comes from it; returns the new recovery codes, or ``None``."""
    secret = pending_secret(user)
    if secret is None or not _accept_totp(user, secret, code):
        return None
    user.totp_enabled_at = now_utc()
    codes = new_recovery_codes(user)
    audit.record(db.session, "two_factor_enabled", entity="users", entity_id=user.id)
    return codes


def disable(user: User, *, by_admin: bool = False) -> None:
    """Remove the second factor and its recovery codes (the caller ends sessions where needed)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record(db.session, "two_factor_reset" if by_admin else "two_factor_disabled",
                 entity="users", entity_id=user.id)


# --- codes -----------------------------------------------------------------------------------------------------------


def normalise(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def looks_like_totp(code: str) -> bool:
    code = normalise(code)
    return len(code) == 6 and code.isdigit()


def verify_totp(user: User, code: str) -> bool:
    """A current code of the user's enabled second factor, never accepted before."""
    if not enrolled(user):
        return False
    return _accept_totp(user, user.totp_secret, code)


def _matching_step(secret: str, code: str) -> int | None:
    code = normalise(code)
    if not looks_like_totp(code):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(now_utc())
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _accept_totp(user: User, secret: str, code: str) -> bool:
    step = _matching_step(secret, code)
    if step is None:
        return False
    taken = db.session.execute(
        update(User).where(User.id == user.id,
                           or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False)
    ).rowcount
    db.session.expire(user, ["totp_last_step"])
    return taken == 1


def new_recovery_codes(user: User) -> list[str]:
    """Ten new one-time codes (the old ones stop working); only their hashes are kept."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=generate_password_hash(raw, method=_RECOVERY_HASH)))
    db.session.flush()
    audit.record(db.session, "recovery_codes_created", entity="users", entity_id=user.id)
    return codes


def unused_recovery_codes(user: User) -> int:
    return len(db.session.scalars(select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all())


def use_recovery_code(user: User, code: str) -> bool:
    """Accept one unused recovery code of the user, once."""
    code = normalise(code)
    if len(code) != 10:
        return False
    for row in db.session.scalars(select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))).all():
        if check_password_hash(row.code_hash, code):
            taken = db.session.execute(
                update(RecoveryCode).where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
                .values(used_at=now_utc()).execution_options(synchronize_session=False)
            ).rowcount
            if taken == 1:
                audit.record(db.session, "recovery_code_used", entity="users", entity_id=user.id, user_id=user.id,
                             changes={"left": unused_recovery_codes(user)})
                return True
            return False
    return False


def verify_second_factor(user: User, code: str) -> str | None:
    """``"totp"`` or ``"recovery_code"`` when ``code`` is one of the user's, else ``None``."""
    if looks_like_totp(code):
        return "totp" if verify_totp(user, code) else None
    return "recovery_code" if use_recovery_code(user, code) else None
