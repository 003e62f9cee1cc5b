"""What both ways of importing disbursements share (row by row in :mod:`~tracker.disbursements.import_kind`,
in batches in :mod:`~tracker.disbursements.import_batch`): the go-live date bounding history, and who the rows
are attributed to."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from tracker.errors import Invalid
from tracker.extensions import db
from tracker.imports.kinds import RowContext
from tracker.models import User


def import_user(ctx: RowContext) -> User:
    if ctx.user is not None:
        return ctx.user
    # On the command line without --as, entries are attributed to the first administrator.
    cached = ctx.cache.get("_admin")
    if cached is None:
        cached = db.session.scalars(select(User).where(User.role == "admin", User.active.is_(True))
                                    .order_by(User.id)).first()
        if cached is None:
            raise Invalid(_l("no administrator exists to attribute the import to; use --as EMAIL"), "")
        ctx.cache["_admin"] = cached
    return cached


def live_since() -> dt.date | None:
    """The go-live date (``TRACKER_LIVE_SINCE``): payments paid up to it may be loaded as history."""
    value = current_app.config.get("TRACKER_LIVE_SINCE")
    if not value:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())


def history_refusal() -> str | None:
    if live_since() is None:
        return str(_l("history cannot be imported: the go-live date is not set (TRACKER_LIVE_SINCE=YYYY-MM-DD, "
                      "the day payments started going through approval here); nothing was imported"))
    return None


def history_audit(cache: dict) -> dict:
    """The paid rows this history import added and their USD total (rows already imported add nothing)."""
    return {"paid_rows": cache.get("_history_rows", 0),
            "usd_total": str(cache.get("_history_usd", Decimal(0)).quantize(Decimal("0.01"))),
            "live_since": live_since().isoformat()}
