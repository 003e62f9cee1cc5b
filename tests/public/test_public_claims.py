"""The public claims page (``GET /public/claims``): off by default, suppressed figures as of last month's end,
English or French, a strict policy of its own, cacheable, and never a cookie."""
from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from tests import factories
from tests.conftest import AuthActions
from tests.reports.test_claims_command import ALL_CODES, build_claims
from tracker.auth import sessions
from tracker.extensions import db, login_manager
from tracker.models import Child, ClaimStep, PaternityClaim
from tracker.models.base import today

URL = "/public/claims"
POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
          "frame-ancestors 'none'")
MONTHS = ("January February March April May June July August September October November December").split()
MONTHS_FR = ("janvier février mars avril mai juin juillet août septembre octobre novembre décembre").split()


@pytest.fixture
def on(app):
    app.config["PUBLIC_CLAIMS_DASHBOARD"] = True  # put back after the test (tests/conftest.py: app)
    return app


@pytest.fixture
def claims(app):
    with app.app_context():
        build_claims()


def last_month_end() -> dt.date:
    return today().replace(day=1) - dt.timedelta(days=1)


def page(client, url=URL, **kwargs) -> str:
    response = client.get(url, **kwargs)
    assert response.status_code == 200
    return response.get_data(as_text=True)


class Cells(HTMLParser):
    """The text of each table's body and foot cells (``td``), by table."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[tuple[str, str]]] = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "td":
            self._in = (dict(attrs).get("class") or "", [])

    def handle_data(self, data):
        if self._in is not None:
            self._in[1].append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._in is not None:
            self.tables[-1].append((self._in[0], "".join(self._in[1]).strip()))
            self._in = None


def test_404_while_the_setting_is_off(app, client, claims):
    assert app.config["PUBLIC_CLAIMS_DASHBOARD"] is False  # the default
    response = client.get(URL)
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"  # an error is not cached
    assert "Set-Cookie" not in response.headers


def test_shown_when_on_as_of_the_end_of_last_month(on, client, claims):
    html = page(client)
    end = last_month_end()
    assert f"Figures as of {end.day} {MONTHS[end.month - 1]} {end.year}, for the whole Fund." in html
    assert "Paternity claims by Member State" in html
    assert "Pakistan" in html and "Uruguay" in html and "<td class=\"code\">PK</td>" in html
    assert "All Member States" in html
    assert "&lt;10" in html and "stands for a number from 1 to 9" in html
    assert "stands for 10 or more" in html
    assert "more than 90 days" in html


def test_the_headers_policy_cache_and_vary(on, client, claims):
    response = client.get(URL)
    assert response.headers["Content-Security-Policy"] == POLICY
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert "Accept-Language" in response.headers["Vary"]
    assert "Cookie" not in response.headers["Vary"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_no_cookie_for_a_new_visitor(on, client, claims):
    response = client.get(URL)
    assert "Set-Cookie" not in response.headers
    assert client.get_cookie("session") is None


def test_no_cookie_for_a_signed_in_visitor_who_stays_signed_in(on, app, claims, clock):
    with app.app_context():
        factories.UserFactory(role="manager", email="keeps@example.org", countries=["CD"], locale="fr")
    client = app.test_client()
    assert AuthActions(client).login("keeps@example.org", remember="y").status_code == 302
    clock.advance(minutes=5)  # "last seen" would be written on any other page now
    response = client.get(URL)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert 'lang="en"' in response.get_data(as_text=True)  # the page's language, not the user's setting
    home = client.get("/")
    assert home.status_code == 200 and "Set-Cookie" in home.headers  # still signed in; the app writes again


def test_the_signed_in_user_is_not_even_loaded(on, app, claims):
    with app.app_context():
        factories.UserFactory(role="manager", email="loads@example.org", countries=["CD"])
    client = app.test_client()
    assert AuthActions(client).login("loads@example.org").status_code == 302
    loaded = []
    login_manager.user_loader(lambda value: loaded.append(value) or sessions.load_user(value))
    try:
        assert client.get(URL).status_code == 200
        assert loaded == []
        assert client.get("/").status_code == 200 and loaded  # any other page does
    finally:
        login_manager.user_loader(sessions.load_user)


def test_french_by_query_string_or_browser(on, client, claims):
    end = last_month_end()
    assert "<dt>Notified to the Member State</dt>" in page(client, f"{URL}?lang=en")  # English first, then:
    html = page(client, f"{URL}?lang=fr")
    assert "<dt>Reçu</dt>" in html and "<dt>Prélèvement ADN effectué, Résultat ADN reçu</dt>" in html
    assert '<html lang="fr">' in html
    assert "Demandes en reconnaissance de paternité par État Membre" in html
    assert f"{end.day} {MONTHS_FR[end.month - 1]} {end.year}" in html
    assert "Ouganda" not in html and "Pakistan" in html
    assert "Tous les États Membres" in html
    browser = page(client, headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr">' in browser
    assert '<html lang="en">' in page(client, f"{URL}?lang=en", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in page(client, f"{URL}?lang=de", headers={"Accept-Language": "en"})
    # The switch links both languages and says which is shown.
    assert 'href="/public/claims?lang=en"' in html and 'href="/public/claims?lang=fr"' in html
    assert re.search(r'lang="fr" aria-current="page">Français<', html)


def test_no_code_name_or_other_date_of_a_claim(on, client, claims):
    html = page(client)
    for code in ALL_CODES:
        assert code not in html
        assert code.replace("-C-", "-M-")[:-2] not in html  # the mothers' codes
    assert "TF-CD-2026-01" not in html and "TF-LR-2026-01" not in html
    assert not re.search(r"\d{4}-\d{2}-\d{2}", html)
    end = last_month_end()
    months = "|".join(MONTHS)
    dates = re.findall(rf"\d{{1,2}} (?:{months}) \d{{4}}", html)
    assert dates == [f"{end.day} {MONTHS[end.month - 1]} {end.year}"]
    assert set(re.findall(r"\b(?:19|20)\d{2}\b", html)) == {str(end.year)}
    # No link into the app: the language switch and the stylesheet only.
    # (The stylesheet's address carries the hash of its content: tracker/static_files.py.)
    links = [re.sub(r"\?v=[0-9a-f]{12}$", "", link) for link in re.findall(r'(?:href|src)="([^"]+)"', html)]
    assert sorted(set(links)) == ["/public/claims?lang=en", "/public/claims?lang=fr", "/static/css/public.css"]


def test_counts_from_1_to_9_show_as_less_than_10(on, client, claims):
    parser = Cells()
    parser.feed(page(client))
    counts, by_step, medians = parser.tables
    values = [text for kind, text in counts + by_step if kind != "code"]
    # Every count of these eight claims is under 10: each is 0 or "<10", never the number itself.
    assert values and set(values) <= {"0", "<10"}
    assert "<10" in values
    # No median rests on 10 claims.
    assert {text for kind, text in medians if kind != "code"} == {"—"}


def test_a_claim_recorded_today_changes_nothing(on, app, client, claims):
    before = page(client)
    with app.app_context():
        project = factories.ProjectFactory(code="TF-CD-2026-09", country="CD")
        child = factories.ChildFactory(mother=factories.BeneficiaryFactory(project=project, number=950))
        factories.PaternityClaimFactory(child=child, member_state="BR", status_on=today(),
                                        steps=[ClaimStep(step="received", occurred_on=today())])
        # and a step of today on a claim already counted (UY's open one, at "notified")
        claim = db.session.scalars(select(PaternityClaim).join(PaternityClaim.child)
                                   .where(Child.code == "CD-C-00906-1")).one()
        db.session.add(ClaimStep(claim=claim, step="dna_sample_collected", occurred_on=today()))
        db.session.commit()
    assert page(client) == before


def test_page_and_what_it_links_weigh_under_100_kb(on, client, claims):
    response = client.get(URL)
    html = response.get_data()
    total = len(html)
    linked = re.findall(rb'<link[^>]+href="([^"]+)"|<img[^>]+src="([^"]+)"', html)
    urls = [a or b for a, b in linked]
    assert [re.sub(rb"\?v=[0-9a-f]{12}$", b"", url) for url in urls] == [b"/static/css/public.css"]
    for url in urls:
        fetched = client.get(url.decode())
        assert fetched.status_code == 200
        total += len(fetched.get_data())
        fetched.close()
    assert total < 100 * 1024


def test_a_merged_row_is_named_other_member_states(on, client, monkeypatch):
    """Where no hiding protects a Member State's row, its claims join an "other Member States" row (DESIGN
    section 3): the page names the row and the Member States in it, and says why."""
    from dataclasses import replace

    from tracker.public import routes
    from tracker.registry.claim_figures import ClaimFacts
    from tracker.registry.claim_public import publish

    received = {"received": dt.date(2026, 6, 1)}
    facts = [ClaimFacts(i, f"XX-C-{i:05d}-1", "AR" if i < 12 else "BR", received) for i in range(14)]
    summary = publish(facts, dt.date(2026, 6, 30), 90, 10)
    summary.member_states[-1] = replace(summary.member_states[-1], member_state="")
    summary.merged = ["BR"]
    monkeypatch.setattr(routes, "public_summary", lambda day: summary)
    html = page(client)
    assert '<th scope="row">Other Member States</th><td class="code">BR</td>' in html
    assert "shown together as “Other Member States”" in html
    assert "Brazil" not in html and "XX-C-" not in html
