"""Small helpers shared by the registry's routes."""
from __future__ import annotations

from flask import make_response, request
from flask_login import current_user

from tracker.auth.scope import scoped_select
from tracker.extensions import db
from tracker.models import Project
from tracker.money import CURRENCIES, PROGRAMME_CURRENCIES


def page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 100000 else 1


def project_choices(*, open_only: bool = True, country: str | None = None) -> list[tuple[str, str]]:
    stmt = scoped_select(Project, current_user).with_only_columns(Project.code, Project.title).order_by(Project.code)
    if country:
        stmt = stmt.where(Project.country == country)
    if open_only:
        stmt = stmt.where(Project.status != "closed")
    return [(code, f"{code} · {title}") for code, title in db.session.execute(stmt)]


def scoped_project(code: str) -> Project | None:
    return db.session.scalars(scoped_select(Project, current_user).where(Project.code == code)).one_or_none()


def currency_choices(preferred: str | None = None) -> list[tuple[str, str]]:
    first = [c for c in ((preferred,) if preferred else ()) + PROGRAMME_CURRENCIES if c]
    seen, out = set(), []
    for code in first + sorted(CURRENCIES):
        if code not in seen:
            seen.add(code)
            out.append((code, code))
    return out


def private(response):
    """A page that shows a record must not be kept by the browser or a proxy."""
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


def local_currency(country: str) -> str:
    from tracker.countries import PROGRAMME_COUNTRIES

    return PROGRAMME_COUNTRIES.get(country, "USD")


