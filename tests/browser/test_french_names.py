"""A French-speaking manager gives a donor and a project their names in French, in headless Chromium.

Fields are found by their visible labels (in French: her account's language), buttons and links by their names.
The pages are checked as every journey's (axe-core, no <script>, weight; tests/browser/conftest.py), on a wide
screen and again on a phone's (390 pixels), where nothing may widen the page.
"""
from __future__ import annotations

import pytest

from tests import factories
from tests.browser.conftest import SKIP_REASON
from tests.browser.test_journeys import sign_in
from tracker.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.skipif(SKIP_REASON is not None, reason=f"{SKIP_REASON}")]

if SKIP_REASON is None:
    from playwright.sync_api import expect
else:  # pragma: no cover - the tests are skipped
    expect = None

PROJECT = "TF-CD-2025-01"


@pytest.fixture
def world(live_server):
    """A CD project with a budget for two years, Norway, and a manager of CD whose language is French."""
    with live_server.app.app_context():
        project = factories.ProjectFactory(code=PROJECT, title="Holistic assistance to survivors, Ituri",
                                           country="CD")
        for year in (2025, 2026):
            factories.BudgetLineFactory(project=project, year=year, category="school_fees")
        donor = factories.DonorFactory(name="Norway", country="NO")
        factories.UserFactory(role="manager", email="manager@example.org", name="Gestionnaire", countries=["CD"],
                              locale="fr")
        db.session.commit()
        ids = {"norway": donor.id}
        db.session.remove()
    return ids


def phone_width_keeps_the_page(v, step: str) -> None:
    """The page at 390 pixels: checked again, and nothing wider than the screen."""
    v.page.set_viewport_size({"width": 390, "height": 900})
    v.check(step + " (phone)")
    assert v.page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), step
    v.page.set_viewport_size({"width": 1280, "height": 900})


def test_a_french_manager_names_a_donor_and_a_project_in_french(visit, world):
    v = visit(locale="fr-FR")
    page = v.page
    sign_in(v, "manager@example.org", button="Se connecter")

    v.goto(f"/donors/{world['norway']}/edit", "donor form")
    phone_width_keeps_the_page(v, "donor form")
    page.get_by_label("Nom en français").fill("Norvège")
    page.get_by_role("button", name="Enregistrer").click()
    v.check("donor page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Norway")
    expect(page.locator("dl.facts dd[lang=fr]")).to_have_text("Norvège")
    phone_width_keeps_the_page(v, "donor page")

    v.goto(f"/projects/{PROJECT}/edit", "project form")
    page.get_by_label("Intitulé en français").fill("Assistance globale aux victimes, Ituri")
    page.get_by_role("button", name="Enregistrer").click()
    v.check("project page")
    expect(page.locator("dl.facts dd[lang=fr]")).to_have_text("Assistance globale aux victimes, Ituri")
    phone_width_keeps_the_page(v, "project page")

    v.goto(f"/projects/{PROJECT}/edit", "project form again")
    page.get_by_label("Intitulé en français").fill("")
    page.get_by_role("button", name="Enregistrer").click()
    v.check("project page without a French title")
    expect(page.get_by_text("Intitulé en français")).to_have_count(0)
