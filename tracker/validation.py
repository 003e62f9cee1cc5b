"""Parsing what people type or import into typed values, with clear messages.

Each parser raises :class:`tracker.errors.Invalid` naming the field, so a
form shows the message beside the field and an import reports
``row N: column: message``.
"""
from __future__ import annotations

import datetime as dt
import re

from flask_babel import lazy_gettext as _l

from tracker import money
from tracker.countries import is_country
from tracker.errors import Invalid
from tracker.models.base import today

MAX_TEXT = 1000
#: Control characters refused in text (a tab is allowed).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f]")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"\d{4}-\d{2}")
_INTEGER = re.compile(r"-?\d{1,9}")
_ACADEMIC_YEAR = re.compile(r"(\d{4})-(\d{4})")


def text(value, field: str, *, required: bool = True, max_length: int = 200) -> str | None:
    value = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if not value:
        if required:
            raise Invalid(_l("is required"), field)
        return None
    if len(value) > max_length:
        raise Invalid(_l("is too long (at most %(n)d characters)", n=max_length), field)
    if _CONTROL.search(value):
        raise Invalid(_l("holds control characters"), field)
    return value


def date(value, field: str, *, required: bool = True, not_future: bool = True) -> dt.date | None:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        parsed = value
    else:
        raw = (value or "").strip()
        if not raw:
            if required:
                raise Invalid(_l("is required"), field)
            return None
        try:
            parsed = dt.date.fromisoformat(raw)
            if not _DATE.fullmatch(raw):
                raise ValueError
        except ValueError:
            raise Invalid(_l("%(value)s is not a date in the form YYYY-MM-DD", value=raw[:40]), field) from None
    if parsed.year < 1900:
        raise Invalid(_l("is too far in the past"), field)
    if not_future and parsed > today():
        raise Invalid(_l("is in the future"), field)
    return parsed


def month(value, field: str) -> dt.date:
    """``2025-03`` (or a date) as the first day of that month."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    raw = (value or "").strip()
    if not _MONTH.fullmatch(raw):
        raise Invalid(_l("%(value)s is not a month in the form YYYY-MM", value=raw[:40] or "''"), field)
    year, mon = int(raw[:4]), int(raw[5:])
    if not 1 <= mon <= 12 or year < 1900:
        raise Invalid(_l("%(value)s is not a month in the form YYYY-MM", value=raw), field)
    first = dt.date(year, mon, 1)
    if first > today():
        raise Invalid(_l("is in the future"), field)
    return first


def integer(value, field: str, *, minimum: int | None = None, maximum: int | None = None,
            required: bool = True) -> int | None:
    if isinstance(value, bool):
        raise Invalid(_l("must be a whole number"), field)
    if isinstance(value, int):
        number = value
    else:
        raw = (value or "").strip() if value is not None else ""
        if not raw:
            if required:
                raise Invalid(_l("is required"), field)
            return None
        if not _INTEGER.fullmatch(raw):
            raise Invalid(_l("%(value)s is not a whole number", value=raw[:40]), field)
        number = int(raw)
    if minimum is not None and number < minimum:
        raise Invalid(_l("must be at least %(n)d", n=minimum), field)
    if maximum is not None and number > maximum:
        raise Invalid(_l("must be at most %(n)d", n=maximum), field)
    return number


def year_of_birth(value, field: str = "year_of_birth") -> int:
    return integer(value, field, minimum=1900, maximum=today().year)


def choice(value, field: str, choices, *, required: bool = True) -> str | None:
    raw = (value or "").strip() if isinstance(value, str) or value is None else str(value)
    if not raw:
        if required:
            raise Invalid(_l("is required"), field)
        return None
    if raw not in choices:
        raise Invalid(_l("%(value)s is not one of: %(choices)s", value=raw[:40], choices=", ".join(choices)), field)
    return raw


def country(value, field: str = "country") -> str:
    raw = (value or "").strip().upper()
    if not is_country(raw):
        raise Invalid(_l("%(value)s is not an ISO 3166 country code such as CD", value=raw[:10] or "''"), field)
    return raw


def currency(value, field: str = "currency") -> str:
    raw = (value or "").strip().upper()
    if not money.is_currency(raw):
        raise Invalid(_l("%(value)s is not an ISO 4217 currency code such as USD", value=raw[:10] or "''"), field)
    return raw


def amount(value, field: str, currency_code: str | None, *, allow_zero: bool = False):
    try:
        return money.parse_amount(value, currency_code, allow_zero=allow_zero)
    except money.MoneyError as error:
        raise Invalid(str(error), field) from None


def boolean_or_date(value, field: str, default_date: dt.date) -> dt.date | None:
    """Consent columns: ``yes``/``no`` (or ``oui``/``non``, ``1``/``0``), or the date it was given."""
    raw = (value or "").strip().lower()
    if raw in ("yes", "y", "oui", "o", "true", "1", "x"):
        return default_date
    if raw in ("no", "n", "non", "false", "0", ""):
        return None
    return date(raw, field)


def academic_year(value, field: str = "academic_year") -> str:
    raw = (value or "").strip()
    match = _ACADEMIC_YEAR.fullmatch(raw)
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        raise Invalid(_l("%(value)s is not an academic year such as 2025-2026", value=raw[:20] or "''"), field)
    if not 2000 <= int(match.group(1)) <= today().year + 1:
        raise Invalid(_l("%(value)s is out of range", value=raw), field)
    return raw
