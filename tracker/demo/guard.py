"""Where demo data may go: only development and testing, and only an empty database or one it seeded."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import AuditEvent, Beneficiary, Project, User

#: The only settings (``ENV_NAME`` of the config class, from ``TRACKER_ENV``) that may get demo data: its
#: sign-ins and passwords are published in the README.
DEMO_ENVIRONMENTS = ("development", "testing")
#: The audit event :func:`seed_demo` writes in the transaction that loads the data: the mark of a database
#: the demo seeded. The audit log is append-only, and only seeding writes this action.
DEMO_MARK = "seed_demo"


class DemoRefused(RuntimeError):
    """Demo data may not go into this application's database; the message says why."""


def database_is_empty() -> bool:
    """True when the database holds no project and no user (nothing would clash with demo data)."""
    return (db.session.scalar(select(Project.id).limit(1)) is None
            and db.session.scalar(select(User.id).limit(1)) is None)


def holds_demo() -> bool:
    """Whether :func:`seed_demo` loaded this database (its audit event is there)."""
    return db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == DEMO_MARK).limit(1)) is not None


def refusal() -> str | None:
    """Why demo data may not be loaded here at all, or ``None``; no flag overrides it.

    - Outside development and testing: the demo's users have published passwords, so a
      production (or unknown) setting never gets them, even on an empty database.
    - A database holding people (users, mothers) that the demo did not load: demo data would mix
      with real records. A database the demo seeded itself may be seeded again (``--force``).
    """
    env = current_app.config.get("ENV_NAME")
    if env not in DEMO_ENVIRONMENTS:
        return (f"seed-demo runs only with TRACKER_ENV=development or testing, not {env}: the demo's sign-ins "
                "and passwords are public. Nothing seeded.")
    if holds_demo():
        return None
    users = db.session.scalar(select(func.count(User.id)))
    mothers = db.session.scalar(select(func.count(Beneficiary.id)))
    if users or mothers:
        people = f"{users} user{'s' if users != 1 else ''}, {mothers} mother{'s' if mothers != 1 else ''}"
        return (f"the database holds people the demo did not load ({people}): demo "
                "data goes only into an empty database or one seed-demo loaded, whatever the flags. "
                "Nothing seeded.")
    return None
