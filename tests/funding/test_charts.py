"""The funding charts (tracker/funding/charts.py, tracker/charts.py, templates/charts/chart.svg).

A desk officer reads them without help: a title, a legend, a value axis in US dollars, a label on every bar, the
source at the foot; colour-blind-safe colours and never red; everything inside the chart at print and screen size,
in English and in French. Expected figures are worked out by hand here.
"""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from flask import render_template
from flask_babel import force_locale

from tests import factories
from tracker.chart_measure import nice_ticks, text_width
from tracker.charts import PRINT, SCREEN
from tracker.funding.charts import (
    NOT_TIED,
    allocations_by_category,
    category_chart,
    chart_source,
    months_chart,
    projects_chart,
    share_by_need,
)
from tracker.funding.engine import FundingPicture, MonthAmount, ProjectFigures, ScopeTotals, funding_picture
from tracker.models import CATEGORIES

D = Decimal
SVG = "{http://www.w3.org/2000/svg}"
SOURCE = "Source: the Fund's records, figures as of 6 December 2026."
#: Okabe–Ito (need, allocated, paid, with the light ones' outlines), the text greys, the grid and axis greys.
PALETTE = {"#56B4E9", "#3a8fc7", "#0072B2", "#E69F00", "#b37a00", "#1d2433", "#4b5565", "#e1e5ec", "#8c95a6"}
LONG_TITLE = ("Legal, psychosocial and education support for mothers of children born of SEA in the "
              "communes of Cité Soleil, Carrefour, Delmas and Martissant, Port-au-Prince")


def project(pid, code, country="CD", need="0.00", allocated="0.00", disbursed="0.00", by_category=None):
    return ProjectFigures(id=pid, code=code, title=f"Title of {code}", country=country, need=D(need),
                          allocated=D(allocated), disbursed=D(disbursed),
                          by_category={c: (D(n), D(p)) for c, (n, p) in (by_category or {}).items()})


def picture(projects):
    by_category = {c: (D("0.00"), D("0.00")) for c in CATEGORIES}
    for p in projects:
        for c, (need, paid) in p.by_category.items():
            by_category[c] = (by_category[c][0] + need, by_category[c][1] + paid)
    return FundingPicture(scope="fund", date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 12, 6),
                          as_of=dt.date(2026, 12, 6), academic_year="2026-2027", fund=None, totals=ScopeTotals(),
                          by_category=by_category, projects=projects, children_at_risk=[], missing_rates=[])


def values(chart):
    return chart.text_of("value")


def svg(chart):
    """The chart as the template draws it, parsed."""
    return ET.fromstring(render_template("charts/chart.svg", chart=chart, chart_id="t"))


def colours(root):
    return {el.get(attr) for el in root.iter() for attr in ("fill", "stroke") if el.get(attr)}


def outside(chart):
    """Texts that reach outside the chart's viewBox, with their extents (widths measured as the layout does)."""
    out = []
    for t in chart.texts:
        w = text_width(t.text, t.size, t.bold)
        if t.rotate == -90:
            left, right, top, bottom = t.x - t.size, t.x, t.y - w, t.y
        else:
            left = {"start": t.x, "middle": t.x - w / 2, "end": t.x - w}[t.anchor]
            left, right, top, bottom = left, left + w, t.y - t.size * 0.8, t.y + t.size * 0.25
        if left < 0 or right > chart.width or top < 0 or bottom > chart.height:
            out.append((t.text, round(left, 1), round(right, 1), round(top, 1), round(bottom, 1)))
    return out


# --- sharing allocations across categories ---------------------------------------------------------------------------

def test_an_allocation_is_shared_by_need_with_the_largest_remainders(rq):
    # 75.00 over needs 100.00 (medical), 50.01 (school fees), 50.00 (IGA); total need 200.01. In cents:
    #   medical      7500 × 10000 / 20001 = 3749 rest 16251
    #   school_fees  7500 ×  5001 / 20001 = 1875 rest  5625
    #   iga          7500 ×  5000 / 20001 = 1874 rest 18126
    # 3749 + 1875 + 1874 = 7498: the two cents left go to the largest rests, IGA then medical (not school fees,
    # which comes first among the categories but lost least).
    shares = share_by_need(D("75.00"), {"medical": D("100.00"), "school_fees": D("50.01"), "iga": D("50.00")})
    assert shares == {"medical": D("37.50"), "school_fees": D("18.75"), "iga": D("18.75")}
    assert sum(shares.values()) == D("75.00")


def test_equal_remainders_go_to_the_category_listed_first(rq):
    # 100.00 over three equal needs: 3333 cents each, one cent left, three equal rests: it goes to school fees,
    # first of CATEGORIES, though the needs are given in another order.
    shares = share_by_need(D("100.00"), {"medical": D("1.00"), "iga": D("1.00"), "school_fees": D("1.00")})
    assert shares == {"medical": D("33.33"), "iga": D("33.33"), "school_fees": D("33.34")}
    # 0.02 over the same: nothing each, two cents left, to school fees then IGA.
    shares = share_by_need(D("0.02"), {"medical": D("1.00"), "iga": D("1.00"), "school_fees": D("1.00")})
    assert shares == {"medical": D("0.00"), "iga": D("0.01"), "school_fees": D("0.01")}


def test_categories_without_need_get_no_share_and_a_project_without_need_is_not_tied(rq):
    with_need = project(1, "A", allocated="10.00",
                        by_category={"school_fees": ("30.00", "5.00"), "legal": ("0.00", "2.00"),
                                     "iga": ("10.00", "0")})
    without = project(2, "B", allocated="4.00", by_category={"medical": ("0.00", "1.00")})
    nothing = project(3, "C", by_category={"medical": ("8.00", "0")})
    # A: 10.00 × 30/40 = 7.50 to school fees, 10.00 × 10/40 = 2.50 to IGA, nothing to legal (no need).
    assert allocations_by_category([with_need, without, nothing]) == {
        "school_fees": D("7.50"), "iga": D("2.50"), NOT_TIED: D("4.00")}


def test_the_category_chart_compares_need_with_allocations_shared_by_need_and_payments(rq):
    a = project(1, "A", need="200.01", allocated="75.00", disbursed="30.00",
                by_category={"medical": ("100.00", "20.00"), "school_fees": ("50.01", "10.00"), "iga": ("50.00", "0")})
    b = project(2, "B", allocated="12.00", disbursed="0.00")
    chart = category_chart(picture([a, b]), SOURCE)
    labels = chart.text_of("label")
    # Categories in their usual order, those with nothing left out, then the row of B's allocation.
    assert labels == ["School fees", "Income-generating activity", "Medical", "Not tied to a category"]
    assert values(chart) == ["$50", "$19", "$10",     # school fees: 50.01, 18.75, 10.00
                             "$50", "$19", "$0",      # IGA: 50.00, 18.75, 0
                             "$100", "$38", "$20",    # medical: 100.00, 37.50, 20.00
                             "$0", "$12", "$0"]       # not tied: B's 12.00
    assert [s.name for s in chart.legend] == ["Need", "Allocated (shared by need)", "Paid in the period"]
    assert "shared across each project's categories in proportion to their need" in chart.description
    assert chart.text_of("note") == [
        "Allocations are made to projects: each project's allocation is shared across its categories in "
        "proportion to their need."]
    # The tooltips keep the cents: the shared allocations add up to the projects' 87.00.
    allocated = [r.title for r in chart.bars() if "Allocated" in r.title]
    assert [t.rsplit(": ", 1)[1] for t in allocated] == ["$18.75", "$18.75", "$37.50", "$12.00"]


def test_the_engine_figures_shared_by_need_on_the_database(db):
    p = factories.ProjectFactory(code="TF-CD-2025-09", title="Shared by need")
    for category, amount in (("medical", "100.00"), ("school_fees", "50.01"), ("iga", "50.00")):
        factories.BudgetLineFactory(project=p, year=2025, category=category, amount_usd=D(amount))
    factories.AllocationFactory(project=p, amount_usd=D("75.00"), allocated_on=dt.date(2025, 6, 1))
    db.session.flush()
    figures = funding_picture(date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 12, 31), with_children=False)
    assert allocations_by_category(figures.projects) == {
        "medical": D("37.50"), "school_fees": D("18.75"), "iga": D("18.75")}


# --- what every chart shows ------------------------------------------------------------------------------------------

PROJECTS = [
    project(1, "TF-CD-2025-01", "CD", "94500.00", "29400.00", "25934.12"),
    project(2, "TF-HT-2024-01", "HT", "49300.00", "40600.00", "30912.50"),
    project(3, "TF-CD-2026-01", "CD", "56500.00", "0.00", "0.00"),
    project(4, "TF-LR-2022-01", "LR"),
]
TITLES = {1: "Holistic assistance to survivors of SEA and their children, Ituri", 2: LONG_TITLE,
          3: "Paternity claims, legal aid and child support for survivors of SEA, Kasaï", 4: "Closed"}


def test_the_projects_chart_groups_projects_by_country_with_titles_codes_and_every_value(rq):
    chart = projects_chart(PROJECTS, TITLES, SOURCE)
    assert chart.text_of("title") == ["Need, allocations and payments by project"]
    # Countries in the order their first project comes; projects in the order given; the empty one left out.
    assert chart.text_of("heading") == ["Democratic Republic of the Congo", "Haiti"]
    assert chart.text_of("code") == ["TF-CD-2025-01", "TF-CD-2026-01", "TF-HT-2024-01"]
    labels = chart.text_of("label")
    assert labels[0] == TITLES[1] and labels[1] == TITLES[3]
    assert labels[2].endswith("…") and LONG_TITLE.startswith(labels[2][:-1].rstrip())
    assert len(chart.bars()) == 9 and values(chart) == [
        "$94,500", "$29,400", "$25,934", "$56,500", "$0", "$0", "$49,300", "$40,600", "$30,912"]
    assert [s.name for s in chart.legend] == ["Need", "Allocated", "Paid in the period"]
    assert chart.text_of("unit") == ["US dollars"]
    # 94,500 in at most five round steps: 20,000 (five steps, to 100,000).
    assert chart.text_of("tick") == ["0", "20,000", "40,000", "60,000", "80,000", "100,000"]
    assert chart.text_of("note") == ["1 project with no need, allocation or payment in the period is not shown."]
    assert chart.text_of("source") == [SOURCE]
    assert outside(chart) == []


def test_a_long_title_is_clipped_to_leave_room_for_its_code(rq):
    chart = projects_chart([PROJECTS[1]], TITLES, SOURCE)
    label = next(t for t in chart.texts if t.kind == "label")
    code = next(t for t in chart.texts if t.kind == "code")
    assert label.text.endswith("…")
    assert label.x + text_width(label.text, label.size) < code.x
    assert code.x + text_width(code.text, code.size) <= PRINT.width - 8
    # On screen the title takes two lines before it is clipped.
    lines = projects_chart([PROJECTS[1]], TITLES, SOURCE, sizes=SCREEN).text_of("label")
    assert len(lines) == 2 and LONG_TITLE.startswith(lines[0])


def test_a_huge_title_is_clipped_everywhere_even_in_tooltips(rq):
    titles = {2: "W000000 " * 131072}
    for sizes in (PRINT, SCREEN):
        drawn = render_template("charts/chart.svg", chart=projects_chart([PROJECTS[1]], titles, SOURCE, sizes=sizes),
                                chart_id="t")
        assert len(drawn) < 10_000 and "W000000 W000000" in drawn


def test_a_zero_bar_says_0_plainly_and_nothing_is_red(rq):
    chart = projects_chart([PROJECTS[2]], TITLES, SOURCE)
    need, allocated, paid = chart.bars()
    assert (allocated.width, paid.width) == (0, 0) and need.width > 0
    assert values(chart) == ["$56,500", "$0", "$0"]
    assert allocated.stroke is None and paid.stroke is None  # no outline drawing a line where nothing is
    root = svg(chart)
    assert colours(root) <= PALETTE
    assert not any(re.fullmatch(r"#(c0392b|a4262c|f00|ff0000|d62728)", c, re.IGNORECASE) for c in colours(root))


def test_every_bar_has_its_label_in_the_drawn_svg(rq):
    for chart in (projects_chart(PROJECTS, TITLES, SOURCE),
                  category_chart(picture([project(1, "A", need="10", allocated="5", disbursed="1",
                                                  by_category={"legal": ("10", "1")})]), SOURCE),
                  months_chart([MonthAmount(dt.date(2026, m, 1), D(m * 1000)) for m in range(1, 13)], SOURCE)):
        root = svg(chart)
        bars = root.findall(f"{SVG}rect[@class='bar']")
        labels = root.findall(f"{SVG}text[@class='value']")
        assert len(bars) == len(labels) == len(chart.bars()) > 0
        assert all(label.text for label in labels)
        assert root.find(f"{SVG}title").text == chart.title and root.find(f"{SVG}desc").text == chart.description
        assert root.get("role") == "img" and root.get("viewBox") == f"0 0 {chart.width} {chart.height}"


def test_the_months_chart_labels_every_month_and_its_value(rq):
    months = [MonthAmount(dt.date(2025, 11, 1), D("40982.40")), MonthAmount(dt.date(2025, 12, 1), D("0.00")),
              MonthAmount(dt.date(2026, 1, 1), D("111320.78")), MonthAmount(dt.date(2026, 2, 1), D("6499.50"))]
    chart = months_chart(months, SOURCE)
    assert chart.text_of("title") == ["Contributions received by month"]
    # Whole dollars, half-even: 40,982.40 down, 111,320.78 up, 6,499.50 to the even 6,500.
    assert values(chart) == ["$40,982", "$0", "$111,321", "$6,500"]
    # Month names, and the year under the first month and under January.
    assert chart.text_of("label") == ["Nov", "2025", "Dec", "Jan", "2026", "Feb"]
    assert chart.text_of("unit") == ["US dollars"] and chart.text_of("axis") == ["Month received"]
    # 111,320.78 in at most five steps: 25,000 (five steps, to 125,000).
    assert chart.text_of("tick") == ["0", "25,000", "50,000", "75,000", "100,000", "125,000"]
    assert [s.name for s in chart.legend] == ["Contributions received"]
    assert chart.text_of("source") == [SOURCE]
    assert all(t.rotate == 0 for t in chart.texts)  # four wide columns: every value reads across
    assert outside(chart) == []


def test_narrow_columns_write_their_values_upwards_and_month_initials(rq):
    months = [MonthAmount(dt.date(2026, m, 1), D("123456.00")) for m in range(1, 13)]
    with force_locale("fr"):
        chart = months_chart(months, chart_source(dt.date(2026, 12, 6)), sizes=SCREEN)
    assert all(t.rotate == -90 for t in chart.texts if t.kind == "value")
    assert chart.text_of("label")[:3] == ["J", "2026", "F"]
    assert outside(chart) == []


def test_the_french_charts_are_in_french(rq):
    with force_locale("fr"):
        source = chart_source(dt.date(2026, 12, 6))
        projects = projects_chart(PROJECTS, TITLES, source)
        categories = category_chart(picture([project(1, "A", need="10.00", allocated="12.00",
                                                             by_category={"legal": ("10.00", "0")})]), source)
        months = months_chart([MonthAmount(dt.date(2026, 1, 1), D("1250.50"))], source)
    assert source == "Source\u00a0: registres du Fonds, chiffres au 6 décembre 2026."
    assert projects.text_of("title") == ["Besoins, allocations et paiements par projet"]
    assert projects.text_of("heading") == ["République démocratique du Congo", "Haïti"]
    assert [s.name for s in projects.legend] == ["Besoin", "Alloué", "Décaissé sur la période"]
    assert projects.text_of("unit") == ["Dollars des États-Unis"]
    assert values(projects)[:2] == ["94\u202f500\u00a0$US", "29\u202f400\u00a0$US"]
    assert projects.text_of("tick")[1] == "20\u202f000"
    assert projects.text_of("note") == [
        "1 projet sans besoin, allocation ni paiement sur la période n'est pas représenté."]
    assert categories.text_of("title") == ["Besoins, allocations et paiements par catégorie"]
    assert categories.text_of("label") == ["Assistance juridique"]
    assert [s.name for s in categories.legend][1] == "Alloué (réparti selon le besoin)"
    assert months.text_of("title") == ["Contributions reçues par mois"]
    assert months.text_of("axis") == ["Mois de réception"] and months.text_of("label") == ["janv.", "2026"]
    assert values(months) == ["1\u202f250\u00a0$US"]  # 1,250.50 to the even 1,250
    for chart in (projects, categories, months):
        assert chart.text_of("source") == [source]
        assert outside(chart) == []


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("sizes", [PRINT, SCREEN], ids=["print", "screen"])
def test_every_text_stays_inside_the_chart(rq, lang, sizes):
    projects = [project(i, f"TF-CD-2025-{i:02d}", country, str(i * 123457), str(i * 45678), str(i * 3456))
                for i, country in enumerate(["CD", "CF", "SS", "HT", "LR", "CD"], start=1)]
    titles = {p.id: LONG_TITLE for p in projects}
    by_category = {c: (str(1000 + i * 98765), str(i * 4321)) for i, c in enumerate(CATEGORIES)}
    rich = project(9, "TF-HT-2024-09", "HT", "1", "987654.00", "12", by_category)
    months = [MonthAmount(dt.date(2025 + (m > 12), (m - 1) % 12 + 1, 1), D(m * 98765)) for m in range(1, 25)]
    with force_locale(lang):
        source = chart_source(dt.date(2026, 12, 6))
        charts = [projects_chart(projects, titles, source, sizes=sizes),
                  category_chart(picture([rich]), source, sizes=sizes),
                  months_chart(months, source, sizes=sizes),
                  projects_chart([], {}, source, sizes=sizes),
                  months_chart([], source, sizes=sizes)]
    for chart in charts:
        assert chart.width == sizes.width
        assert outside(chart) == []
        assert all(0 <= r.x and r.x + r.width <= chart.width and 0 <= r.y <= chart.height for r in chart.rects)


def test_an_empty_period_says_so(rq):
    chart = projects_chart([PROJECTS[3]], TITLES, SOURCE)
    assert chart.bars() == [] and chart.text_of("empty") == [
        "No project has a need, an allocation or a payment in the period."]
    assert chart.text_of("title") and chart.text_of("source") == [SOURCE]


# --- scales, text --------------------------------------------------------------------------------------------------

def test_ticks_are_a_few_round_steps():
    assert nice_ticks(D("94500")) == [D(0), D(20000), D(40000), D(60000), D(80000), D(100000)]
    # 220,400: 50,000 is the first step of at most five (ceil(4.4) = 5), to 250,000.
    assert nice_ticks(D("220400"))[-1] == D(250000) and len(nice_ticks(D("220400"))) == 6
    # 120: 25 (five steps of 25 reach 125).
    assert nice_ticks(D("120")) == [D(0), D(25), D(50), D(75), D(100), D(125)]
    # When six labels do not fit, the next round step: 50,000 for 94,500 (two steps, to 100,000).
    assert nice_ticks(D("94500"), lambda ticks: len(ticks) <= 3) == [D(0), D(50000), D(100000)]
    assert nice_ticks(D("0")) == [D(0)]


def test_the_source_line_names_the_day_in_full(rq):
    assert chart_source(dt.date(2026, 12, 6)) == SOURCE


# --- on the review page ------------------------------------------------------------------------------------------

def test_the_review_page_draws_the_three_charts_with_project_titles(app, sign_in):
    manager = sign_in(role="manager", countries=["CD"])
    with app.app_context():
        factories.BudgetLineFactory(project__code="TF-CD-2026-07", project__title="Schooling in Bunia",
                                    year=dt.date.today().year, amount_usd=D("1500.00"))
    page = manager.get("/review/").get_data(as_text=True)
    for title in ("Need, allocations and payments by project", "Need, allocations and payments by category",
                  "Contributions received by month"):
        assert f">{title}</text>" in page
    assert ">Schooling in Bunia</text>" in page and ">TF-CD-2026-07</text>" in page
    assert ">$1,500</text>" in page and ">US dollars</text>" in page
    assert "Source: the Fund&#39;s records, figures as of" in page
