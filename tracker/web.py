"""Helpers shared by the web pages of every feature: the page number, pagination, the scoped
project lookup and the options of selects.

Options are WTForms ``SelectChoice`` objects (tuples are deprecated by WTForms 3.3).
Every page's ``Cache-Control: no-store`` is set once, by ``security.security_headers``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from flask import current_app, request
from flask_login import current_user
from sqlalchemy import func, select, tuple_
from wtforms.fields.choices import SelectChoice

from tracker.auth.scope import scoped_select
from tracker.countries import PROGRAMME_COUNTRIES
from tracker.extensions import db
from tracker.models import Project
from tracker.money import CURRENCIES, PROGRAMME_CURRENCIES
from tracker.vocab import LABELS

__all__ = [
    "Key", "Page", "SelectChoice", "currency_choices", "keyset_page", "local_currency", "page_number", "paginate",
    "paginate_list",
    "project_choices", "scoped_project", "vocab_choices",
]


def page_number() -> int:
    """The ``?page=`` asked for, or 1 when it is missing or not a plain number."""
    raw = request.args.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 100000 else 1


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int
    #: Keyset pages (:func:`keyset_page`): where the next page starts after and the previous ends before, as
    #: ``?after=`` and ``?before=`` carry them; None where there is no such page. Numbered pages leave both None.
    after: str | None = None
    before: str | None = None
    keyset: bool = False
    #: The list holds more rows than were counted (``total`` is then the cap): "more than 1,000".
    capped: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.before is not None if self.keyset else self.page > 1

    @property
    def several(self) -> bool:
        """Whether there is more than one page (a pager to show)."""
        return self.has_prev or self.has_next or self.pages > 1

    @property
    def has_next(self) -> bool:
        return self.after is not None if self.keyset else self.page < self.pages


def _count(stmt) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def paginate(stmt, page: int, per_page: int | None = None, *, row=lambda r: r) -> Page:
    """One page of a query's rows; a page past the end shows the last one."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    total = _count(stmt)
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page([row(r) for r in rows], page, per_page, total)


@dataclass(frozen=True)
class Key:
    """A column a keyset list is ordered by, and how its value reads back from a URL."""

    column: object
    parse: Callable[[str], object]


#: Separates the values of a key in ``?after=`` and ``?before=`` (never in a date, a number or a code).
_KEY_SEPARATOR = "~"


def _cursor(raw: str | None, keys: list[Key]) -> tuple | None:
    """The key values a ``?after=``/``?before=`` carries, or None if it is missing or not well formed."""
    if not raw or len(raw) > 200:
        return None
    parts = raw.split(_KEY_SEPARATOR)
    if len(parts) != len(keys):
        return None
    try:
        return tuple(key.parse(part) for key, part in zip(keys, parts, strict=True))
    except ValueError:
        return None


def _token(values) -> str:
    return _KEY_SEPARATOR.join(v.isoformat() if isinstance(v, dt.date) else str(v) for v in values)


#: A long list counts its rows up to this many and says "more than 1,000" beyond: counting every payment of a
#: country would cost more than showing a page of them (bench/README.md, "pages.py").
COUNT_CAP = 1000


def keyset_page(stmt, keys: list[Key], *, descending: bool, row=lambda r: r) -> Page:
    """One page of a long list, found from where the page before it ended (``?after=``) or the page after it
    began (``?before=``), not by skipping rows: the database reads an index from that point on, so the last
    page costs what the first does. ``stmt`` is ordered by ``keys`` (unique together, all in one direction,
    matched by an index); ``?page=`` only numbers the page shown. Rows are counted up to :data:`COUNT_CAP`.
    """
    per_page = current_app.config["PAGE_SIZE"]
    total = _count(stmt.limit(COUNT_CAP + 1))
    capped = total > COUNT_CAP
    total = min(total, COUNT_CAP)
    columns = [k.column for k in keys]
    key = tuple_(*columns)
    paged = stmt.add_columns(*columns).order_by(None)
    in_order = paged.order_by(*(c.desc() if descending else c.asc() for c in columns))

    def forward(after: tuple | None) -> tuple[list, bool]:
        """The page from ``after`` on (from the start when None), and whether more rows follow it."""
        found = in_order if after is None else in_order.where(key < tuple_(*after) if descending
                                                              else key > tuple_(*after))
        rows = db.session.execute(found.limit(per_page + 1)).all()
        return rows[:per_page], len(rows) > per_page

    after = _cursor(request.args.get("after"), keys)
    before = _cursor(request.args.get("before"), keys) if after is None else None
    if before is not None:
        # Backwards from ``before``: the rows just ahead of it, in reverse, then put back in order.
        backwards = (paged.where(key > tuple_(*before) if descending else key < tuple_(*before))
                     .order_by(*(c.asc() if descending else c.desc() for c in columns)))
        rows = db.session.execute(backwards.limit(per_page + 1)).all()
        more_before, more_after = len(rows) > per_page, True
        rows = list(reversed(rows[:per_page]))
    else:
        rows, more_after = forward(after)
        more_before = after is not None
    if not rows and (after is not None or before is not None):
        # A stale or edited cursor past either end of the list: the first page instead of an empty one.
        (rows, more_after), more_before = forward(None), False
    n = len(keys)
    first_page = not more_before
    number = 1 if first_page else max(2, page_number())
    return Page([row(tuple(r)[:-n]) for r in rows], number, per_page, total,
                after=_token(tuple(rows[-1])[-n:]) if more_after and rows else None,
                before=_token(tuple(rows[0])[-n:]) if more_before and rows else None, keyset=True, capped=capped)


def paginate_list(items: list, page: int, per_page: int | None = None) -> Page:
    """A page of a list already built in full (a few hundred rows at most, such as the Fund's pledges)."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    total = len(items)
    page = max(1, min(page, max(1, -(-total // per_page))))
    return Page(items[(page - 1) * per_page: page * per_page], page, per_page, total)


def scoped_project(code: str) -> Project | None:
    """The project with this code, if it is in the signed-in user's countries."""
    return db.session.scalars(scoped_select(Project, current_user).where(Project.code == code)).one_or_none()


def project_choices(*, open_only: bool = True, country: str | None = None) -> list[SelectChoice]:
    """The projects the signed-in user may pick, as ``CODE · title``."""
    stmt = scoped_select(Project, current_user).with_only_columns(Project.code, Project.title).order_by(Project.code)
    if country:
        stmt = stmt.where(Project.country == country)
    if open_only:
        stmt = stmt.where(Project.status != "closed")
    return [SelectChoice(code, f"{code} · {title}") for code, title in db.session.execute(stmt)]


def currency_choices(preferred: str | None = None) -> list[SelectChoice]:
    """Every currency, the preferred one and the programme countries' first."""
    first = [c for c in ((preferred,) if preferred else ()) + PROGRAMME_CURRENCIES if c]
    seen, out = set(), []
    for code in first + sorted(CURRENCIES):
        if code not in seen:
            seen.add(code)
            out.append(SelectChoice(code, code))
    return out


def vocab_choices(values: Iterable[str]) -> list[SelectChoice]:
    """Options for stored words (categories, statuses...), labelled in the reader's language.

    The labels stay lazy: a form class built at import time shows them in the language of each request.
    """
    return [SelectChoice(v, LABELS.get(v, v)) for v in values]


def local_currency(country: str) -> str:
    """The currency payments in this country are usually made in (USD for a country we do not run)."""
    return PROGRAMME_COUNTRIES.get(country, "USD")
