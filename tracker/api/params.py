"""Query parameters of the API: 400 when a value is not of its type, 422 when it is but cannot be used."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from flask import request

from tracker.api.problems import ApiError
from tracker.funding.plan_serialise import AMOUNT_PATTERN, parse_order

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_OFFSET = 10_000_000
_INTEGER = re.compile(r"^[+-]?[0-9]{1,30}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_SCOPE = re.compile(r"^(fund|country:[A-Za-z]{2}|project:[A-Za-z0-9][A-Za-z0-9._-]{0,59})$")


def refuse_unknown(*known: str) -> None:
    """A parameter the operation does not take is a mistake worth saying (a typo would silently do nothing)."""
    for name in request.args:
        if name not in known:
            raise ApiError(400, f"unknown query parameter {name!r}; this operation takes: "
                                f"{', '.join(known) or 'none'}", parameter=name)
    for name in known:
        if len(request.args.getlist(name)) > 1:
            raise ApiError(400, f"query parameter {name!r} is given more than once", parameter=name)


def integer(name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        raise ApiError(400, f"query parameter {name!r} must be an integer; got {raw[:40]!r}", parameter=name)
    value = int(raw)
    if value < minimum or value > maximum:
        raise ApiError(422, f"query parameter {name!r} must be between {minimum} and {maximum}; got {value}",
                       parameter=name)
    return value


def page() -> tuple[int, int]:
    """``limit`` (1..200, default 50) and ``offset`` (0 or more)."""
    return (integer("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT),
            integer("offset", 0, minimum=0, maximum=MAX_OFFSET))


def date(name: str) -> dt.date | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not _DATE.fullmatch(raw):
        raise ApiError(400, f"query parameter {name!r} must be a date YYYY-MM-DD; got {raw[:40]!r}", parameter=name)
    try:
        value = dt.date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"query parameter {name!r} is not a real date: {raw!r}", parameter=name) from None
    if value.year < 1900 or value.year > 2199:
        raise ApiError(400, f"query parameter {name!r} must lie between the years 1900 and 2199; got {raw}",
                       parameter=name)
    return value


def period(first: str = "from", last: str = "to") -> tuple[dt.date | None, dt.date | None]:
    date_from, date_to = date(first), date(last)
    if date_from and date_to and date_to < date_from:
        raise ApiError(422, f"the period ends before it starts: {last!r} ({date_to}) is before {first!r} "
                            f"({date_from})", parameter=last)
    return date_from, date_to


def engine_period() -> tuple[dt.date, dt.date]:
    """The period of the funding engine: ``from`` defaults to 1 January of this year, ``to`` to today."""
    from tracker.funding.engine import default_period

    date_from, date_to = period()
    default_from, default_to = default_period()
    if date_from and not date_to and date_from > default_to:
        raise ApiError(422, f"the period ends before it starts: 'from' ({date_from}) is after 'to' (default: today, "
                            f"{default_to}); give 'to' too", parameter="from")
    if date_to and not date_from and date_to < default_from:
        raise ApiError(422, f"the period ends before it starts: 'to' ({date_to}) is before 'from' (default: "
                            f"1 January of this year, {default_from}); give 'from' too", parameter="to")
    return date_from or default_from, date_to or default_to


def scope() -> str:
    raw = request.args.get("scope")
    if raw is None:
        return "fund"
    if not _SCOPE.fullmatch(raw):
        raise ApiError(400, f"query parameter 'scope' must be fund, country:CD or project:CODE; got {raw[:80]!r}",
                       parameter="scope")
    kind, _sep, value = raw.partition(":")
    return f"country:{value.upper()}" if kind == "country" else raw


def amount(name: str):
    """US dollars, digits and at most two decimals (:data:`tracker.funding.plan_serialise.AMOUNT_PATTERN`)."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not re.fullmatch(AMOUNT_PATTERN, raw):
        raise ApiError(400, f"query parameter {name!r} must be an amount in US dollars, 0 or more, with at most two "
                            f"decimals after a dot (such as 1250.50), below a million million; got {raw[:40]!r}",
                       parameter=name)
    return Decimal(raw).quantize(Decimal("0.01"))


def order(name: str, share: str) -> tuple[str, ...]:
    """Project codes separated by commas (:data:`tracker.funding.plan_serialise.ORDER_PATTERN`), for share=order."""
    raw = request.args.get(name)
    if raw is None:
        return ()
    if share != "order":
        raise ApiError(422, f"query parameter {name!r} is for share=order", parameter=name)
    try:
        return parse_order(raw)
    except ValueError as error:
        raise ApiError(400, f"query parameter {name!r}: {error}", parameter=name) from None


def boolean(name: str) -> bool:
    raw = request.args.get(name)
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise ApiError(400, f"query parameter {name!r} must be true or false; got {raw[:40]!r}", parameter=name)
    return raw == "true"


def choice(name: str, allowed) -> str | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if raw not in allowed:
        raise ApiError(400, f"query parameter {name!r} must be one of {', '.join(allowed)}; got {raw[:40]!r}",
                       parameter=name)
    return raw


def code(name: str) -> str | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if len(raw) > 60 or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", raw):
        raise ApiError(400, f"query parameter {name!r} must be a code of letters, digits, '.', '_' or '-'; "
                            f"got {raw[:60]!r}", parameter=name)
    return raw


def page_links(total: int, limit: int, offset: int) -> dict:
    """``next`` and ``previous`` URLs (same parameters, offset moved), or null."""
    def at(new_offset: int) -> str:
        args = request.args.to_dict()
        args["limit"], args["offset"] = str(limit), str(new_offset)
        from urllib.parse import urlencode

        return f"{request.path}?{urlencode(args)}"

    return {
        "next": at(offset + limit) if offset + limit < total else None,
        "previous": at(max(offset - limit, 0)) if offset > 0 else None,
    }
