"""The main navigation: each entry shows only to users whose role may use it."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from tracker.auth.permissions import declared_permission

#: (endpoint, label); an endpoint not (yet) registered is skipped.
NAV = (
    ("projects.index", _l("Projects")),
)


@dataclass(frozen=True)
class NavItem:
    url: str
    label: str
    current: bool


def nav_items() -> list[NavItem]:
    if not current_user.is_authenticated:
        return []
    items = []
    for endpoint, label in NAV:
        if endpoint not in current_app.view_functions:
            continue
        if not current_user.can(declared_permission(endpoint)):
            continue
        blueprint = endpoint.split(".")[0]
        items.append(NavItem(url_for(endpoint), str(label), (request.blueprint == blueprint)))
    return items


def init_app(app) -> None:
    app.jinja_env.globals.update(nav_items=nav_items, current_locale=lambda: str(get_locale() or "en"))
