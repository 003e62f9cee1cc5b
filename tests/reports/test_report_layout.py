"""The sample donor reports, as a desk officer gets them: issued from the demo data, read back word by word.

The module seeds the demo once, issues the Fund's report of this year in
English and in French and DR Congo's report in French (each for a donor, so
that the addressed donor's pages are in them), and writes them to
``test-artifacts/reports/`` for a reviewer to open. Then it reads every word's
box on every page (pdfplumber) and checks the layout rules of DESIGN section 4:
no text outside the page's content box, no heading left as the last line of a
page; and that the French report is French throughout. Each check has a control
that renders a page breaking the rule and shows the check sees it.
"""
from __future__ import annotations

import io
import re
from html import unescape
from pathlib import Path

import pdfplumber
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from tests import factories
from tests.conftest import _empty_tables, _make_app
from tracker.extensions import db
from tracker.funding.engine import default_period
from tracker.models import Contribution, Donor, IssuedReport, Partner, Pledge, Project
from tracker.reports import archive
from tracker.reports.data import build_report
from tracker.reports.pdf import render_pdf
from tracker.reports.render import report_html
from tracker.vocab import LABELS

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"
PUBLIC = "https://tracker.example.org"

MM = 72 / 25.4
#: report.css: A4, margins 22 mm (top) 18 mm (sides) 20 mm (bottom), in PDF points.
PAGE_W, PAGE_H = 210 * MM, 297 * MM
LEFT, RIGHT, TOP, BOTTOM = 18 * MM, PAGE_W - 18 * MM, 22 * MM, PAGE_H - 20 * MM
#: Half a point: glyph boxes are rounded by the PDF writer and the reader.
SLACK = 0.5

SAMPLES = {"fund-en": ("fund", "en"), "fund-fr": ("fund", "fr"), "country-CD-fr": ("country:CD", "fr")}


# --- reading a PDF ----------------------------------------------------------------------------------------------------

def words_of(pdf: bytes) -> list[list[dict]]:
    """Every page's words with their boxes (x0, x1, top, bottom in points from the top left) and fonts."""
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [page.extract_words(extra_attrs=["fontname", "size"], keep_blank_chars=False)
                for page in document.pages]


def outside_content_box(pages: list[list[dict]]) -> list[str]:
    """Words that leave the content box: body text beyond a margin, or running heads and feet beyond the sides.

    The running title, number and verification line sit in the top and bottom
    margins by design (CSS margin boxes); they must still keep within the side
    margins. Everything else must lie wholly inside the content box.
    """
    faults = []
    for number, words in enumerate(pages, start=1):
        for w in words:
            furniture = w["bottom"] <= TOP + SLACK or w["top"] >= BOTTOM - SLACK
            sideways = w["x0"] < LEFT - SLACK or w["x1"] > RIGHT + SLACK
            off_page = w["top"] < 0 or w["bottom"] > PAGE_H
            if sideways or off_page or (not furniture and (w["top"] < TOP - SLACK or w["bottom"] > BOTTOM + SLACK)):
                faults.append(f"page {number}: {w['text']!r} at x {w['x0']:.1f}–{w['x1']:.1f}, "
                              f"y {w['top']:.1f}–{w['bottom']:.1f}")
    return faults


def lines_of(words: list[dict]) -> list[list[dict]]:
    """A page's body words (no running heads or feet) grouped into lines, top to bottom."""
    body = sorted((w for w in words if TOP - SLACK < w["top"] and w["bottom"] < BOTTOM + SLACK),
                  key=lambda w: (round(w["top"]), w["x0"]))
    lines: list[list[dict]] = []
    for w in body:
        if lines and abs(lines[-1][0]["top"] - w["top"]) < 2:
            lines[-1].append(w)
        else:
            lines.append([w])
    return lines


def headings_of(html: str) -> set[str]:
    """The texts of the report's headings (h2, h3), white space squashed."""
    found = re.findall(r"<h[23][^>]*>(.*?)</h[23]>", html, flags=re.S)
    return {re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", h))).strip() for h in found}


def stranded_headings(pages: list[list[dict]], headings: set[str]) -> list[str]:
    """Headings that end a page: the last body line of the page is, or ends with, a bold heading's text."""
    stranded = []
    for number, words in enumerate(pages, start=1):
        lines = lines_of(words)
        if not lines:
            continue
        last = lines[-1]
        text = " ".join(w["text"] for w in last)
        bold = all("Bold" in w["fontname"] for w in last)
        # A heading long enough to wrap ends the page with its last line: match the end of a heading too.
        if bold and any(h == text or (h.endswith(text) and len(text) > 3) for h in headings):
            stranded.append(f"page {number}: {text!r}")
    return stranded


def page_text(pages: list[list[dict]]) -> str:
    return "\n".join(" ".join(w["text"] for w in words) for words in pages)


# --- the samples ------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def samples(_schema, database_url):
    """``flask seed-demo``, then three reports issued as a manager would, for a donor with a French name."""
    app = _make_app(database_url, PUBLIC_BASE_URL=PUBLIC)
    out: dict = {"pdf": {}, "html": {}}
    try:
        result = app.test_cli_runner().invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with app.app_context(), app.test_request_context():
            start, end = default_period()  # this year to today, as the issue form proposes
            # The donor that gave most often this year among those that pledged this year and have a French name.
            pledged = select(Pledge.donor_id).where(Pledge.pledged_on >= start)
            donor = db.session.scalars(
                select(Donor).join(Contribution, Contribution.donor_id == Donor.id)
                .where(Contribution.received_on >= start, Donor.id.in_(pledged), Donor.name_fr.is_not(None),
                       Donor.name_fr != Donor.name)
                .group_by(Donor.id).order_by(func.count(Contribution.id).desc(), Donor.id)).first()
            assert donor is not None, "the demo has a donor with a French name who pledged and gave this year"
            out["donor"] = (donor.name, donor.name_fr)
            out["titles"] = db.session.execute(
                select(Project.code, Project.title, Project.title_fr).where(Project.country == "CD")).all()
            out["proper_fr"] = ([PUBLIC + "/verify"] + list(db.session.scalars(select(Partner.name)))
                                + [d.name_in("fr") for d in db.session.scalars(select(Donor))]
                                + [p.title_in("fr") for p in db.session.scalars(select(Project))])
            manager = factories.UserFactory(role="manager", countries=["CD", "CF", "SS", "HT", "LR"])
            for name, (scope, lang) in SAMPLES.items():
                report = archive.issue_report(scope=scope, date_from=start, date_to=end, lang=lang, donor=donor,
                                              user=manager)
                archive.render_issued(report.id, archive.verify_url())
                report = db.session.get(IssuedReport, report.id)
                assert report.status == "issued", report.error
                out["pdf"][name] = report.pdf
                (ARTIFACTS / f"{name}.pdf").write_bytes(report.pdf)
                with force_locale(lang):
                    out["html"][name] = report_html(build_report(scope=scope, date_from=start, date_to=end,
                                                                 lang=lang, donor=donor), for_pdf=True)
            db.session.remove()
        out["words"] = {name: words_of(pdf) for name, pdf in out["pdf"].items()}
        out["text"] = {name: page_text(words) for name, words in out["words"].items()}
        return out
    finally:
        with app.app_context():
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


def test_the_samples_are_written_for_a_reviewer(samples):
    for name in SAMPLES:
        written = (ARTIFACTS / f"{name}.pdf").read_bytes()
        assert written.startswith(b"%PDF-") and written == samples["pdf"][name]


# --- layout -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(SAMPLES))
def test_no_word_lies_outside_the_content_box(samples, name):
    faults = outside_content_box(samples["words"][name])
    assert not faults, f"{name}: " + "; ".join(faults[:10])


def test_the_content_box_check_sees_a_table_running_past_the_margin():
    """Control: a table of unbreakable amounts wider than the page is reported."""
    css = (Path(__file__).resolve().parents[2] / "tracker/static/css/report.css").read_text()
    cells = "".join(f"<td class='num'>{n:,}.00 $US</td>" for n in range(100000, 100012))
    pdf, _pages = render_pdf(f"<html><body><section><table><tr>{cells}</tr></table></section></body></html>",
                             css.replace("url(../fonts/", "url(static/fonts/"))
    faults = outside_content_box(words_of(pdf))
    assert faults and any("100,011.00" in f for f in faults)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_no_heading_is_the_last_line_of_a_page(samples, name):
    headings = headings_of(samples["html"][name])
    assert len(headings) >= 8
    stranded = stranded_headings(samples["words"][name], headings)
    assert not stranded, f"{name}: headings left at the foot of a page: {stranded}"


def test_the_heading_check_sees_a_heading_at_the_foot_of_a_page():
    """Control: with headings free to end a page, a heading pushed to the foot is reported; with the report's
    stylesheet, the same page keeps it with its text."""
    css = (Path(__file__).resolve().parents[2] / "tracker/static/css/report.css").read_text()
    css = css.replace("url(../fonts/", "url(static/fonts/")
    html = ("<html><body><section><div style='height: 243mm'>Filler</div><h3>Stranded heading</h3>"
            "<p style='margin-top: 12mm'>Its text</p></section></body></html>")
    free, _pages = render_pdf(html, css.replace("break-after: avoid", "break-after: auto"))
    kept, _pages = render_pdf(html, css)
    assert stranded_headings(words_of(free), {"Stranded heading"}) == ["page 1: 'Stranded heading'"]
    assert stranded_headings(words_of(kept), {"Stranded heading"}) == []


@pytest.mark.parametrize("name", list(SAMPLES))
def test_codes_are_never_broken_across_lines(samples, name):
    text = samples["text"][name]
    codes = set(re.findall(r"TF-[A-Z]{2}-\d{4}-\d{2}", text))
    assert codes, "the report names its projects by code"
    # A broken code leaves a line ending in "TF-" or "TF-CD-" and the rest on the next line.
    broken = re.findall(r"\bTF-(?:[A-Z]{2}-(?:\d{4}-)?)?\n", text)
    assert not broken, f"{name}: codes broken across lines: {broken}"


def test_a_country_never_gets_more_than_one_page_and_projects_none(samples):
    """The page count follows the countries: each country's page, and no page of one project."""
    with pdfplumber.open(io.BytesIO(samples["pdf"]["fund-en"])) as document:
        firsts = [" ".join(w["text"] for w in lines_of(words)[0]) if lines_of(words) else ""
                  for words in samples["words"]["fund-en"]]
        pages = len(document.pages)
    for country in ("Democratic Republic of the Congo", "Central African Republic", "South Sudan", "Haiti",
                    "Liberia"):
        assert firsts.count(country) == 1, (country, firsts)
    assert not [f for f in firsts if re.fullmatch(r"TF-[A-Z]{2}-\d{4}-\d{2}", f)]
    # cover, the ask, charts, countries at a glance, 5 countries, results, the Fund's claims (on the results' last
    # page when it fits there, else a page of its own), donors, methods: at most 17.
    assert pages <= 17, pages


# --- the Fund's paternity claims -------------------------------------------------------------------------------------

#: The section's heading, its line saying whose claims these are, and its sentence, in each language.
CLAIMS_SECTION = {
    "en": ("Paternity claims across the Fund", "All of the Fund's claims, in every country, as of",
           r"\d+ claims received; \d+ open, of which (\d+|fewer than 10) stalled: no step for more than 90 days\."),
    "fr": ("Demandes de reconnaissance de paternité dans l'ensemble du Fonds",
           "Toutes les demandes suivies par le Fonds, dans tous les pays, au",
           r"\d+ demandes reçues ; \d+ en cours, dont (\d+|moins de 10) en souffrance : aucune étape depuis plus de "
           r"90 jours\."),
}


def squashed(text: str) -> str:
    """White space, no-break spaces included, as single spaces."""
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_every_report_gives_the_funds_claims_whatever_its_scope(samples, name):
    heading, whose, sentence = CLAIMS_SECTION[SAMPLES[name][1]]
    text = squashed(samples["text"][name])
    assert heading in text and whose in text
    assert re.search(sentence, text), f"{name}: no sentence of totals"


@pytest.mark.parametrize("name", list(SAMPLES))
def test_no_code_of_a_child_or_a_mother_is_in_a_report(samples, name):
    """The demo's claims are children's: none of their codes (``CD-C-00042-1``), nor a mother's, is printed."""
    text = samples["text"][name]
    assert not re.findall(r"\b[A-Z]{2}-[CM]-\d{3,}", text)


def test_the_claims_check_sees_a_childs_code():
    """Control: a page naming a child by code is caught by the same pattern."""
    pdf, _pages = render_pdf("<html><body><p>Claim of CD-C-00042-1, notified</p></body></html>")
    assert re.findall(r"\b[A-Z]{2}-[CM]-\d{3,}", page_text(words_of(pdf))) == ["CD-C-00042"]


# --- French -----------------------------------------------------------------------------------------------------------

def test_the_french_country_report_names_the_country_and_the_donor_in_french(samples):
    text = re.sub(r"\s+", " ", samples["text"]["country-CD-fr"])
    name, name_fr = samples["donor"]
    assert "République démocratique du Congo" in text
    assert f"Établi pour {name_fr}" in text
    assert f"Établi pour {name}" not in text
    for code, title, title_fr in samples["titles"]:
        if title_fr and title_fr != title:
            assert title not in text, f"{code}: English title in the French report"


WORD = re.compile(r"[^\W\d_][\w'’-]{3,}")

#: Words spelt the same in English and French that the French reports use (read from the reports, checked by hand).
SAME_IN_BOTH = {
    "Administration", "Allocations", "allocation", "allocations", "Contribution", "Contributions", "contributions",
    "Total", "total", "Congo", "programme", "personnel", "dollar", "dollars", "cent", "cents", "page", "code",
    "date", "pays", "pour", "psychosocial", "Organisation", "International", "internationale", "SHA-256",
    "closes",  # "Closes sans pension" (claims), the English "closes the gap" (the ask)
    "Source",  # under each chart
    "correction",  # the Fund's claims: "a correction replaces the step it corrects" (definitions)
    "pair",  # "each pair of steps" (claims, definitions); "au pair le plus proche" (rounding half to even)
}


def test_the_french_reports_carry_no_english_category_state_or_label(samples):
    """No English category or state label, and no English word of the English report, in the French ones.

    Names that are the same in both languages are left out first: partners' names (proper names, never
    translated), the donors' names as the Fund publishes them in French, the projects' French titles, the
    verification address and the codes (references, which hold digits).
    """
    with force_locale("en"):
        english_labels = {str(v) for v in LABELS.values()}
    proper = set()
    for text in samples["proper_fr"]:
        proper |= set(WORD.findall(text))
    en_words = set(WORD.findall(samples["text"]["fund-en"]))
    for name in ("fund-fr", "country-CD-fr"):
        text = re.sub(r"\s+", " ", samples["text"][name])
        labels = sorted(x for x in english_labels if len(x) > 3 and re.search(rf"\b{re.escape(x)}\b", text)
                        and x not in SAME_IN_BOTH)
        assert not labels, f"{name}: English labels {labels}"
        left = sorted(w for w in en_words & set(WORD.findall(text))
                      if w not in SAME_IN_BOTH and w not in proper and not re.search(r"\d", w))
        assert not left, f"{name}: English words left in the French report: {left}"
