"""The main navigation: each entry shows only to users whose role may use it."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from tracker.auth.permissions import declared_permission
from tracker.formatting import locale_code

#: (endpoint, label); an endpoint not (yet) registered is skipped.
NAV = (
    ("dashboard.review", _l("Review")),
    ("dashboard.plan", _l("Planner")),
    ("projects.index", _l("Projects")),
    ("registry.mothers", _l("Mothers")),
    ("registry.claims_list", _l("Paternity claims")),
    ("registry.claims_dashboard", _l("Claims dashboard")),
    ("registry.income_list", _l("Income activities")),
    ("disbursements.index", _l("Disbursements")),
    ("disbursements.approvals", _l("Approvals")),
    ("funding.donors", _l("Donors")),
    ("funding.pledges", _l("Pledges")),
    ("funding.allocations", _l("Allocations")),
    ("reports.index", _l("Reports")),
    ("funding.rates", _l("Exchange rates")),
    ("admin.users", _l("Users")),
    ("admin.audit_log", _l("Audit log")),
    ("imports.index", _l("Import")),
    ("jobs.index", _l("Jobs")),
)


@dataclass(frozen=True)
class NavItem:
    url: str
    label: str
    current: bool


def nav_items() -> list[NavItem]:
    if not current_user.is_authenticated:
        return []
    found = []
    for endpoint, label in NAV:
        if endpoint not in current_app.view_functions:
            continue
        if not current_user.can(declared_permission(endpoint)):
            continue
        found.append((url_for(endpoint), str(label)))
    # The entry of the page is the one of the longest path it starts with: /claims/dashboard is the dashboard's,
    # not the claims list's (/claims/).
    current = max((url for url, _label in found if request.path.startswith(url)), key=len, default=None)
    return [NavItem(url, label, url == current) for url, label in found]


def init_app(app) -> None:
    from tracker.models.base import today

    app.jinja_env.globals.update(nav_items=nav_items, current_locale=locale_code)
    app.context_processor(lambda: {"today_iso": today().isoformat()})
