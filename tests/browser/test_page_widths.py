"""No page of any role scrolls sideways, on a phone (390 px) or a laptop (1366 px), and axe-core finds nothing
serious on any of them (issue 18).

The pages are read from the app's URL map (tests/browser/pages.py), so that a new page is visited without
anybody adding it here: every GET route of the role, its parameters filled with records of the demo. What is
not visited is listed there with the reason (downloads, the JSON API, static files, routes whose parameters
have no example); the test fails first when a new route is in neither list.

The demo is seeded into the test's database. The manager and the administrator sign in with a second factor,
as in production (``TWO_FACTOR_REQUIRED_ROLES``); the staff member and the manager read the pages in French,
the administrator and the donor in English, so that both languages' widths are met.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import select

from tests.browser import pages
from tests.browser.conftest import SKIP_REASON

pytestmark = [pytest.mark.browser, pytest.mark.skipif(SKIP_REASON is not None, reason=f"{SKIP_REASON}")]

WIDTHS = (390, 1366)
ROLES = {  # role: (e-mail, language)
    "staff": ("staff@example.org", "fr"),
    "manager": ("manager@example.org", "fr"),
    "admin": ("admin@example.org", "en"),
    "donor": ("donor@example.org", "en"),
}
#: Routes of a role whose parameters the demo gives no example of, and why they are not visited.
NO_EXAMPLE = {
    "/imports/<kind_name>/jobs/<int:job_id>": "an import's result needs an import run in the background first "
                                              "(tests/browser/test_import_progress.py visits it)",
    "/review/plans/<int:plan_id>": "a plan is made in the planner first (tests/browser/test_planner.py makes one and "
                                   "measures its page at 390 and 1366 px, in English and French)",
}
#: Routes a role may open but holds nothing for.
NOTHING_FOR_ROLE = {("donor", "/imports/<kind_name>"): "a donor may import nothing (the page answers 404)"}
#: Pages answered with an error on a plain GET, and why.
NOT_A_PLAIN_GET = {
    "/reports/preview": "shows a report only for the form's values (tests/browser/test_report_preview.py)",
}
WIDTH_SCRIPT = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


def _passwords() -> dict[str, str]:
    from tracker.demo import DEMO_USERS

    return {u["email"]: u["password"] for u in DEMO_USERS}


@pytest.fixture
def demo(live_server):
    """The demo's records, a report issued to its donor and a job; the manager and the administrator enrolled
    with a second factor, which the app requires of them as in production."""
    from tracker.demo import seed_demo
    from tracker.extensions import db
    from tracker.models import Donor, User

    app = live_server.app
    app.config["TWO_FACTOR_REQUIRED_ROLES"] = ("admin", "manager")
    secrets = {}
    with app.app_context():
        seed_demo(seed=1, scale=1, progress=lambda message: None)
        manager = db.session.scalars(select(User).where(User.email == "manager@example.org")).one()
        donor = db.session.scalars(select(User).where(User.email == "donor@example.org")).one()
        staff = db.session.scalars(select(User).where(User.email == "staff@example.org")).one()
        pages.stand_ins(db.session.get(Donor, donor.donor_id), manager.id, staff.id)
        for role, (email, locale) in ROLES.items():
            user = db.session.scalars(select(User).where(User.email == email)).one()
            user.locale = locale
            if role in app.config["TWO_FACTOR_REQUIRED_ROLES"]:
                secrets[email] = user.totp_secret = pyotp.random_base32()
                user.totp_enabled_at = dt.datetime.now(dt.UTC)
        db.session.commit()
        examples = {role: pages.examples(role, donor_id=donor.donor_id) for role in ROLES}
        visits = {role: pages.pages(app, role, examples[role]) for role in ROLES}
        unfilled = {role: pages.unfilled(app, role, examples[role]) for role in ROLES}
        db.session.remove()
    return {"visits": visits, "unfilled": unfilled, "secrets": secrets}


def _measure(v, path: str, width: int, problems: list[str]) -> None:
    """The page's width against the screen's, and axe-core; what is wrong is added to ``problems``."""
    page = v.page
    v.checked.add(urlsplit(page.url).path)
    scroll, client = page.evaluate(WIDTH_SCRIPT)
    if scroll > client:
        problems.append(f"{path} at {width} px is {scroll} px wide: it scrolls sideways")
    try:
        v._axe(path, f"{width} px")
    except AssertionError as error:
        problems.append(str(error))


def _sign_in(v, email: str, secret: str | None, problems: list[str], width: int) -> None:
    page = v.page
    page.goto(v.url("/login"))
    v.checked.add("/login")  # measured signed out, at both widths
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(_passwords()[email])
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state("load")
    if secret:
        assert urlsplit(page.url).path == "/login/code", f"{email} was not asked for a second factor"
        _measure(v, "/login/code", width, problems)
        page.locator("input[name=code]").fill(pyotp.TOTP(secret).now())
        page.locator("form button[type=submit]").first.click()
        page.wait_for_load_state("load")
    assert not urlsplit(page.url).path.startswith("/login"), f"{email} was not signed in: {page.url}"


def _every_page_is_visited_or_skipped_with_a_reason(demo, app):
    """A new route is visited, skipped for a reason said in tests/browser/pages.py, or listed here."""
    for role, routes in demo["unfilled"].items():
        routes = {r for r in routes if (role, r) not in NOTHING_FOR_ROLE}
        assert set(routes) <= set(NO_EXAMPLE), (
            f"routes of {role} with no example of their parameters: give tests/browser/pages.py an example, "
            f"or say in NO_EXAMPLE why not: {sorted(set(routes) - set(NO_EXAMPLE))}")
    # What each role visits, by hand: its lists, one record of each kind, their forms.
    assert {"/mothers/", "/mothers/CD-M-00001", "/approvals/", "/projects/TF-CD-2024-01", "/admin/audit/",
            "/reports/", "/claims/dashboard", "/claims/dashboard/claims"} <= set(demo["visits"]["admin"]) | set(
        demo["visits"]["manager"])
    assert "/claims/dashboard" in demo["visits"]["manager"] and "/claims/dashboard" not in demo["visits"]["staff"]
    assert "/approvals/" not in demo["visits"]["staff"] and "/admin/users/" not in demo["visits"]["manager"]
    assert demo["visits"]["donor"] == ["/", "/account", "/account/password", "/account/two-factor", "/reports/",
                                       "/reports/TF-2026-0001"]
    skipped = pages.skipped(app)
    assert skipped["/disbursements/export.<fmt>"].startswith("a download")
    assert skipped["/api/v1/funding"].startswith("the JSON API")


def test_no_page_of_any_role_scrolls_sideways_and_axe_finds_nothing_serious(demo, visit, live_server):
    """Every page of each role (first: the list of them is whole), at 390 and 1366 px."""
    _every_page_is_visited_or_skipped_with_a_reason(demo, live_server.app)
    problems: list[str] = []
    signed_out = visit()
    for width in WIDTHS:
        signed_out.page.set_viewport_size({"width": width, "height": 900})
        for path in ("/login", "/verify"):
            signed_out.page.goto(signed_out.url(path))
            _measure(signed_out, path, width, problems)
    for role, (email, _locale) in ROLES.items():
        v = visit()
        v.page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        _sign_in(v, email, demo["secrets"].get(email), problems, WIDTHS[0])
        for width in WIDTHS:
            v.page.set_viewport_size({"width": width, "height": 900})
            for path in demo["visits"][role]:
                if path in NOT_A_PLAIN_GET:
                    continue
                response = v.page.goto(v.url(path))
                if response.status != 200:
                    problems.append(f"{path} ({role}) answered {response.status}")
                    continue
                _measure(v, f"{path} ({role})", width, problems)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)


def test_the_width_check_sees_a_page_wider_than_the_screen(visit):
    """The check above measures what it says: a table forced wider than a phone makes the page scroll."""
    v = visit()
    v.page.set_viewport_size({"width": 390, "height": 900})
    v.page.goto(v.url("/login"))
    problems: list[str] = []
    _measure(v, "/login", 390, problems)
    assert problems == []
    v.page.add_style_tag(content="main { width: 600px; max-width: none; }")
    _measure(v, "/login", 390, problems)
    assert problems == ["/login at 390 px is 600 px wide: it scrolls sideways"]
