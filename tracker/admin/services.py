"""What an admin does to users. Each change of access ends the user's sessions at once; disabling a
user and resetting their password or second factor also revoke their API tokens.

Services flush and audit; the route commits. An admin never changes their own
role or disables themselves here (the last admin could lock everyone out);
their own password and second factor are on their account page.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from tracker import audit
from tracker.auth import two_factor
from tracker.auth.services import (
    UserError,
    check_user_fields,
    create_user,
    end_sessions,
    initial_password,
    set_password,
)
from tracker.auth.tokens import revoke_all_tokens
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.models import Donor, User, UserCountry


def _check_access(role: str, countries, donor_id: int | None) -> tuple[list[str], Donor | None]:
    """The countries and donor for ``role``, or :class:`Invalid` with a message for the field at fault."""
    countries = sorted(set(countries or ()))
    if role in ("staff", "manager") and not countries:
        raise Invalid({"countries": _l("Staff and managers need at least one country.")})
    if role in ("admin", "donor") and countries:
        raise Invalid({"countries": _l("Admins see every country and donors none: choose no country.")})
    donor = db.session.get(Donor, donor_id) if donor_id else None
    if role == "donor" and donor is None:
        raise Invalid({"donor": _l("A donor user reads the reports of one donor: choose it.")})
    if role != "donor" and donor_id:
        raise Invalid({"donor": _l("Only donor users are linked to a donor.")})
    try:
        return check_user_fields(role=role, countries=countries, donor_name=donor.name if donor else None)
    except UserError as error:
        raise Invalid(str(error)) from None


def _not_self(user: User, by: User) -> None:
    if user.id == by.id:
        raise Invalid(_l("You cannot change your own access here; ask another admin."))


def create(*, email: str, name: str, role: str, countries, donor_id: int | None, locale: str) -> tuple[User, str]:
    """A new user with a random initial password, returned once for the admin to hand over.

    The user must replace it at their first sign-in (``PASSWORD_MUST_BE_OWN``).
    """
    countries, donor = _check_access(role, countries, donor_id)
    email = (email or "").strip().lower()
    if db.session.scalars(select(User.id).where(User.email == email)).first() is not None:
        raise Invalid({"email": _l("A user with this e-mail exists already.")})
    password = initial_password()
    try:
        user = create_user(email=email, role=role, password=password, countries=countries,
                           donor_name=donor.name if donor else None, name=name, locale=locale)
    except UserError as error:
        raise Invalid(str(error)) from None
    return user, password


def change_access(*, user: User, role: str, countries, donor_id: int | None, by: User) -> bool:
    """Change the role, countries and donor of ``user``; returns whether anything changed."""
    _not_self(user, by)
    countries, donor = _check_access(role, countries, donor_id)
    before = {"role": user.role, "countries": user.countries, "donor_id": user.donor_id}
    after = {"role": role, "countries": countries, "donor_id": donor.id if donor else None}
    if before == after:
        return False
    user.role = role
    user.donor = donor
    user.country_links = [UserCountry(country=c) for c in countries]
    end_sessions(user)
    audit.record(db.session, "access_changed", entity="users", entity_id=user.id,
                 changes={k: [before[k], after[k]] for k in before if before[k] != after[k]})
    db.session.flush()
    return True


def set_active(*, user: User, active: bool, by: User) -> None:
    """Disable (every session ends, every API token is revoked, sign-in refused) or enable a user.

    Enabling brings no token back: the user makes new ones.
    """
    _not_self(user, by)
    if user.active == active:
        return
    user.active = active
    end_sessions(user)
    if not active:
        revoke_all_tokens(user=user, reason="user_disabled")
    db.session.flush()


def reset_two_factor(*, user: User, by: User) -> None:
    """Remove the user's second factor (a lost phone); they enrol again at their next sign-in.

    Whoever has the lost phone may have the account: its sessions end and its API tokens are revoked.
    """
    _not_self(user, by)
    two_factor.disable(user, by_admin=True)
    end_sessions(user)
    revoke_all_tokens(user=user, reason="two_factor_reset")
    db.session.flush()


def reset_password(*, user: User, by: User) -> str:
    """A new random password, to hand over once; it must be replaced at sign-in. Also lifts a lock."""
    _not_self(user, by)
    password = initial_password()
    set_password(user, password, own=False)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(db.session, "password_reset", entity="users", entity_id=user.id)
    db.session.flush()
    return password
