"""Helpers shared by the web pages of every feature: the page number, pagination, the scoped
project lookup and the options of selects.

Options are WTForms ``SelectChoice`` objects (tuples are deprecated by WTForms 3.3).
Every page's ``Cache-Control: no-store`` is set once, by ``security.security_headers``.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app, request
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from tracker.auth.scope import scoped_select
from tracker.countries import PROGRAMME_COUNTRIES
from tracker.extensions import db
from tracker.models import Project
from tracker.money import CURRENCIES, PROGRAMME_CURRENCIES
from tracker.vocab import LABELS

__all__ = [
    "Page", "SelectChoice", "currency_choices", "local_currency", "page_number", "paginate", "paginate_list",
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

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(stmt, page: int, per_page: int | None = None, *, row=lambda r: r) -> Page:
    """One page of a query's rows; a page past the end shows the last one."""
    per_page = per_page or current_app.config["PAGE_SIZE"]
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page([row(r) for r in rows], page, per_page, total)


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
