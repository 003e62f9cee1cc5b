"""The markup the layout's CSS relies on (issue 18): the menu that collapses on a phone, tables in a named region
that scrolls by keyboard, lists that stack into cards with each value labelled, codes that never break.

tests/browser/test_page_widths.py measures the pages in a browser; these check the markup without one.
"""
from __future__ import annotations

import re

from tests import factories


def test_the_menu_is_a_bar_and_a_phone_menu_that_opens_without_javascript(staff_client):
    html = staff_client.get("/mothers/").get_data(as_text=True)
    bar = html.index('<div class="menu-bar">')
    phone = html.index('<details class="menu-phone">')
    assert bar < phone
    assert "<summary>Menu</summary>" in html[phone:]
    # The same links in both: the CSS shows one of them.
    assert html.count('href="/mothers/" aria-current="page"') == 2
    assert html.count(">Sign out</button>") == 2


def test_a_list_of_mothers_is_a_labelled_region_of_cards_whose_cells_name_their_column(app, staff_client):
    with app.app_context():
        project = factories.ProjectFactory(country="CD")
        factories.BeneficiaryFactory(project=project, number=7, code="CD-M-00007")
    html = staff_client.get("/mothers/").get_data(as_text=True)
    region = re.search(r'<div class="table-region" role="region" tabindex="0" aria-labelledby="([^"]+)">\s*'
                       r'<table class="cards">', html)
    assert region, "the mothers' table is not in a named, focusable region"
    assert f'<caption id="{region.group(1)}"' in html
    assert re.search(r'<td data-label="Code"><a class="code" href="/mothers/CD-M-00007">CD-M-00007</a></td>', html)
    assert '<td data-label="Consent: services / reports">' in html


def test_a_filter_label_sits_with_its_control(staff_client):
    html = staff_client.get("/disbursements/").get_data(as_text=True)
    assert re.search(r'<div class="filter"><label for="f-project">Project</label>\s*<select id="f-project"', html)
    assert '<div class="filter"><label for="f-mother">Mother</label><input id="f-mother"' in html
