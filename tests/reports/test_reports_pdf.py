"""The donor PDF read back as text (pypdf): the engine's figures are in it, in both languages; no person is.

DESIGN section 4: a report shows the funding engine's figures for its scope
and period, formatted for its language, and never a name, a code, a date of
birth or any other field of one person. Each PDF costs seconds to render, so
the module renders few: a small hand-made dataset rendered once in English (an
issued, numbered report) and once in French (``flask report funding-gap
--format pdf``), and the seeded demo data rendered once in French. The tests
share them through module-scoped fixtures.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import zlib
from decimal import Decimal as D

import pytest
from babel.numbers import format_currency
from pypdf import PdfReader
from sqlalchemy import select

from tests import factories
from tests.conftest import PASSWORD, _empty_tables, _make_app
from tracker.extensions import db
from tracker.funding.engine import funding_picture
from tracker.jobs.queue import backend
from tracker.models import Beneficiary, Child, Donor, IssuedReport, Partner, Project

PERIOD = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
ON_SQLITE = not os.environ.get("TRACKER_TEST_DATABASE_URL", "").startswith("postgresql")
#: A person's code as the registry writes them: ``CD-M-00001`` (mother), ``CD-C-00001-1`` (child).
PERSON_CODE = re.compile(r"[A-Z]{2}-[MC]-\d{5}")

#: The people of the small dataset: (project key, full name, phone, village, child first name or None, consents)
MOTHERS = [
    ("cd", "Zawadi Kibibi Mwambalele", "+243 970 555 123", "Kyeshero-Ngangi", "Nsimirekazi", True),
    ("cd", "Furaha Bisimwakere Lukusanga", "+243 813 444 987", "Mabanga-Kaduki", "Barakaheri", False),
    ("cd", "Riziki Mapendokazi Sikulinga", None, "Ndosho-Katoyi", None, True),
    ("cf", "Pulchérie Yakitéra Ndakalambo", "+236 72 11 22 33", "Galabadja-Mbongo", "Gervaisio", True),
]


# --- helpers ----------------------------------------------------------------------------------------------------------

def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def squash(text: str) -> str:
    """Every run of white space (no-break and narrow no-break spaces, line breaks) as one space."""
    return re.sub(r"\s+", " ", text.replace("\u202f", " ").replace("\u00a0", " ")).strip()


def usd(amount, lang: str) -> str:
    """An amount as the report writes it in ``lang``, white space squashed."""
    return squash(format_currency(amount, "USD", locale=lang, currency_digits=True))


def outline_titles(reader: PdfReader) -> list[str]:
    titles = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(str(item.title))

    walk(reader.outline)
    return titles


def decompressed_streams(data: bytes) -> list[bytes]:
    """Every stream of the file, inflated where it is Flate-encoded (content, fonts, CMaps, metadata)."""
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        raw = match.group(1)
        try:
            out.append(zlib.decompressobj().decompress(raw))
        except zlib.error:
            out.append(raw)
    return out


def encodings(text: str) -> list[bytes]:
    """The ways a string can sit in the bytes of a PDF: UTF-8, Latin-1, UTF-16 (big-endian)."""
    forms = [text.encode("utf-8"), text.encode("utf-16-be")]
    try:
        forms.append(text.encode("latin-1"))
    except UnicodeEncodeError:
        pass
    return forms


def assert_no_person(pdf: bytes, *, names: list[str], codes: list[str], public: list[str] = ()):
    """No name, phone, village or code of a person in the text, outline, metadata or bytes of ``pdf``.

    ``public`` are texts the report may show (titles, partners, donors): a first name that is also a word of
    one of them (a partner called "Mama Tumaini Foundation", a child called Tumaini) is looked for only
    outside them.
    """
    reader = PdfReader(io.BytesIO(pdf))
    text = pdf_text(pdf)
    meta = " ".join(str(v) for v in (reader.metadata or {}).values())
    outline = " ".join(outline_titles(reader))
    everything = squash(" ".join([text, meta, outline]))
    for known in sorted(public, key=len, reverse=True):
        everything = everything.replace(squash(known), " ")
    wanted = sorted({squash(n) for n in names}, key=len, reverse=True)
    found_names = re.findall(r"(?<!\w)(?:" + "|".join(map(re.escape, wanted)) + r")(?!\w)", everything)
    assert not found_names, f"names or personal fields in the report: {found_names[:10]}"
    found_codes = PERSON_CODE.findall(everything) + [c for c in codes if c in everything]
    assert not found_codes, f"person codes in the report: {found_codes[:10]}"
    in_bytes = sorted({form for text in list(codes) + [n for n in names if len(n) >= 6 and not
                                                       any(n in p for p in public)]
                       for form in encodings(text)}, key=len, reverse=True)
    needle = re.compile(b"|".join([rb"[A-Z]{2}-[MC]-\d{5}", *map(re.escape, in_bytes)]))
    for blob in [pdf] + decompressed_streams(pdf):
        found = needle.findall(blob)
        assert not found, f"a person's code or name in the bytes of the PDF: {found[:5]}"


def issue(app, client, **form) -> str:
    """POST /reports/new as a manager and wait for the PDF; the report's number.

    Inline (``REPORTS_RENDER_INLINE``) on PostgreSQL. On SQLite inline rendering fails with "database is
    locked" (tests/reports/test_reports_archive.py, test_inline_rendering_works_on_sqlite), so there the report
    is rendered as a job by the in-process worker, which the helper waits for.
    """
    app.config["REPORTS_RENDER_INLINE"] = not ON_SQLITE
    response = client.post("/reports/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    number = response.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    assert backend(app).join(120)
    return number


# --- the small dataset ------------------------------------------------------------------------------------------------

def _small_dataset() -> dict:
    """Two projects (CD, CF) with budgets, allocations, rates, paid payments, a pledge, and four mothers."""
    clerk = factories.UserFactory(role="staff", countries=["CD", "CF"]).id
    factories.ExchangeRateFactory(currency="CDF", valid_from=dt.date(2025, 1, 1), usd_per_unit=D("0.00035000"))
    factories.ExchangeRateFactory(currency="XAF", valid_from=dt.date(2025, 1, 1), usd_per_unit=D("0.00160000"))
    cd = factories.ProjectFactory(code="TF-CD-2025-01", country="CD",
                                  title="Schooling and health for children born of SEA, Goma",
                                  partner=factories.PartnerFactory(name="Ushirika wa Wamama wa Goma"))
    cf = factories.ProjectFactory(code="TF-CF-2025-01", country="CF",
                                  title="Legal aid and livelihoods, Bangui",
                                  partner=factories.PartnerFactory(name="Association Lumière des Mères"))
    # CD: need 10,000.00 + 2,345.67 = 12,345.67, allocated 4,321.09 -> gap 8,024.58
    factories.BudgetLineFactory(project=cd, year=2025, category="medical", amount_usd=D("10000.00"))
    factories.BudgetLineFactory(project=cd, year=2025, category="school_fees", amount_usd=D("2345.67"))
    factories.BudgetLineFactory(project=cd, year=2024, category="medical", amount_usd=D("99999.00"))  # not 2025
    factories.AllocationFactory(project=cd, amount_usd=D("4321.09"), allocated_on=dt.date(2025, 3, 15))
    # CF: need 1,250.50, allocated 2,000.00 -> gap 0.00
    factories.BudgetLineFactory(project=cf, year=2025, category="legal", amount_usd=D("1250.50"))
    factories.AllocationFactory(project=cf, amount_usd=D("2000.00"), allocated_on=dt.date(2025, 4, 1))
    projects = {"cd": cd, "cf": cf}
    names, codes = [], []
    for key, full_name, phone, village, child_name, consents in MOTHERS:
        mother = factories.BeneficiaryFactory(
            project=projects[key], name=full_name, phone=phone, village=village,
            consent_reporting_on=dt.date(2025, 2, 1) if consents else None)
        names += [full_name, *full_name.split(), village] + ([phone] if phone else [])
        codes.append(mother.code)
        if child_name:
            child = factories.ChildFactory(mother=mother, first_name=child_name, sex="F")
            enrolment = factories.EnrolmentFactory(child=child, academic_year="2025-2026", currency="CDF",
                                                   fee_per_term=D("45000.00"), terms=3)
            names.append(child_name)
            codes.append(child.code)
            if key == "cd":
                factories.PaternityClaimFactory(child=child)
                factories.DisbursementFactory(
                    beneficiary=mother, child=child, enrolment=enrolment, term=1, category="school_fees",
                    payee="EP Mapendo", amount=D("45000.00"), currency="CDF", status="paid",
                    usd_amount=D("15.75"), usd_rate=D("0.00035000"), paid_on=dt.date(2025, 9, 20),
                    payment_reference=f"VIR-{mother.code}", entered_by_id=clerk)
        if key == "cf":
            factories.IncomeProjectFactory(beneficiary=mother, currency="XAF")
    mother = db.session.scalar(select(Beneficiary).where(Beneficiary.project_id == cd.id).limit(1))
    factories.DisbursementFactory(beneficiary=mother, category="medical", amount=D("300000.00"), currency="CDF",
                                  status="paid", usd_amount=D("105.00"), usd_rate=D("0.00035000"),
                                  paid_on=dt.date(2025, 5, 5), payment_reference="VIR-0001", entered_by_id=clerk)
    factories.DisbursementFactory(beneficiary=mother, category="medical", amount=D("987.65"), currency="USD",
                                  status="paid", usd_amount=D("987.65"), usd_rate=D("1"),
                                  paid_on=dt.date(2025, 6, 5), payment_reference="VIR-0002", entered_by_id=clerk)
    cf_mother = db.session.scalar(select(Beneficiary).where(Beneficiary.project_id == cf.id).limit(1))
    factories.DisbursementFactory(beneficiary=cf_mother, category="legal", amount=D("100000.00"), currency="XAF",
                                  payee="Clinique juridique de Bangui", status="paid", usd_amount=D("160.00"),
                                  usd_rate=D("0.00160000"), paid_on=dt.date(2025, 7, 1),
                                  payment_reference="VIR-0003", entered_by_id=clerk)
    donor = factories.DonorFactory(name="Kingdom of Testland")
    pledge = factories.PledgeFactory(donor=donor, amount=D("8000.00"), pledged_on=dt.date(2025, 1, 10))
    factories.ContributionFactory(pledge=pledge, amount=D("7000.00"), received_on=dt.date(2025, 2, 1))
    return {"names": names, "codes": codes}


PARTNERS = {"TF-CD-2025-01": "Ushirika wa Wamama wa Goma", "TF-CF-2025-01": "Association Lumière des Mères"}


def _expected(lang: str) -> dict:
    picture = funding_picture(scope="fund", date_from=PERIOD[0], date_to=PERIOD[1], with_children=False)
    t, f = picture.totals, picture.fund
    return {
        "totals": [usd(x, lang) for x in (t.need, t.allocated, t.gap, t.disbursed, t.school_fee_forward_need)],
        "fund": [usd(x, lang) for x in (f.pledged, f.received, f.outstanding_pledges, f.allocated, f.unallocated,
                                        f.uncovered_gap)],
        # A project's row: its title, then its code and partner, then its figures.
        "project_rows": [f"{p.code} · {PARTNERS[p.code]} {usd(p.need, lang)} {usd(p.allocated, lang)} "
                         f"{usd(p.gap, lang)}" for p in picture.projects],
        "projects": [(p.code, usd(p.need, lang), usd(p.allocated, lang), usd(p.gap, lang)) for p in picture.projects],
    }


@pytest.fixture(scope="module")
def small(_schema, database_url, tmp_path_factory):
    """The small dataset rendered twice: issued in English (numbered) and by the command in French."""
    app = _make_app(database_url)
    out = {}
    try:
        with app.app_context():
            people = _small_dataset()
            manager = factories.UserFactory(role="manager", email="manager@example.org", countries=["CD", "CF"])
            out.update(people, expected={"en": _expected("en"), "fr": _expected("fr")}, manager_email=manager.email)
            db.session.remove()
        client = app.test_client()
        assert client.post("/login", data={"email": out["manager_email"], "password": PASSWORD}).status_code == 302
        issue(app, client, scope="fund", date_from="2025-01-01", date_to="2025-12-31", lang="en", donor="")
        with app.app_context():
            report = db.session.scalars(select(IssuedReport)).one()
            assert report.status == "issued", report.error
            out.update(en=report.pdf, number=report.number)
            db.session.remove()
        target = tmp_path_factory.mktemp("pdf") / "fund-fr.pdf"
        result = app.test_cli_runner().invoke(args=[
            "report", "funding-gap", "--format", "pdf", "--lang", "fr", "--from", "2025-01-01",
            "--to", "2025-12-31", "-o", str(target)])
        assert result.exit_code == 0, result.output
        out["fr"] = target.read_bytes()
        out["text"] = {"en": squash(pdf_text(out["en"])), "fr": squash(pdf_text(out["fr"]))}
    finally:
        with app.app_context():
            db.session.remove()
            _empty_tables()
            db.engine.dispose()
    return out


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_totals_of_the_funding_picture_are_in_the_pdf(small, lang):
    text, expected = small["text"][lang], small["expected"][lang]
    missing = [x for x in expected["totals"] + expected["fund"] if x not in text]
    assert not missing, f"{lang}: figures of funding_picture missing from the PDF: {missing}"


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_need_allocated_and_gap_of_each_project_are_in_the_pdf(small, lang):
    text, expected = small["text"][lang], small["expected"][lang]
    assert len(expected["projects"]) == 2
    for row in expected["project_rows"]:
        assert row in text, f"{lang}: project row {row!r} not in the PDF"


def test_figures_are_formatted_for_the_language(small):
    """Hand-computed: CD need 10,000.00 + 2,345.67; CF need 1,250.50; total gap 8,024.58 + 0;
    paid 105.00 + 987.65 + 2 x 15.75 (school fees) + 160.00 = 1,284.15."""
    en, fr = small["text"]["en"], small["text"]["fr"]
    for figure in ("$12,345.67", "$4,321.09", "$8,024.58", "$1,250.50", "$2,000.00", "$13,596.17", "$1,284.15"):
        assert figure in en, figure
    for figure in ("12 345,67 $US", "4 321,09 $US", "8 024,58 $US", "1 250,50 $US", "2 000,00 $US",
                   "13 596,17 $US", "1 284,15 $US"):
        assert figure in fr, figure
    assert "$12,345.67" not in fr and "12 345,67 $US" not in en
    # The 2024 budget line lies outside the period.
    assert "99,999" not in en and "99 999" not in fr


def test_the_french_pdf_writes_french_amounts_with_no_break_spaces(small):
    raw = pdf_text(small["fr"])
    # Babel: a narrow no-break space groups thousands, a no-break space precedes the currency.
    assert re.search("12[\u202f\u00a0 ]345,67[\u00a0 ]\\$US", raw), "French amount not found as written"


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_no_mother_or_child_name_phone_village_or_code_in_the_pdf(small, lang):
    assert_no_person(small[lang], names=small["names"], codes=small["codes"])


def test_the_person_check_would_see_a_name_or_code_that_is_there(small):
    """Control for the check above: a text the PDF does show (a partner, a project code) is found."""
    with pytest.raises(AssertionError, match="names or personal fields"):
        assert_no_person(small["fr"], names=["Ushirika wa Wamama wa Goma"], codes=[])
    with pytest.raises(AssertionError, match="names or personal fields"):
        assert_no_person(small["en"], names=["Lumière"], codes=[])
    with pytest.raises(AssertionError, match="person codes"):
        assert_no_person(small["en"], names=["Nobody Anywhere"], codes=["TF-CF-2025-01"])
    assert_no_person(small["en"], names=["Lumière"], codes=[], public=["Association Lumière des Mères"])


def test_metadata_and_outline_name_the_report_not_a_person(small):
    for lang, name in (("en", "Funding-gap report"), ("fr", "Rapport sur le déficit de financement")):
        reader = PdfReader(io.BytesIO(small[lang]))
        title = reader.metadata.title
        assert title.startswith(name), title
        assert not reader.attachments
        assert b"/EmbeddedFile" not in small[lang]
    en = PdfReader(io.BytesIO(small["en"]))
    assert small["number"] in en.metadata.title
    # The outline lists the report's parts and its countries; no project has a page of its own.
    titles = outline_titles(en)
    assert {"The funding gap at a glance", "Democratic Republic of the Congo", "Central African Republic",
            "Results", "Definitions and methods"} <= set(titles)
    assert not [t for t in titles if t.startswith("TF-")]


def test_an_issued_report_carries_its_number_and_the_verification_url(small):
    number = small["number"]
    assert re.fullmatch(r"TF-\d{4}-0001", number)
    text = small["text"]["en"]
    assert number in text
    assert "http://localhost/verify" in text
    assert f"recorded under number {number}: anyone can check" in text  # the cover
    # The preview rendered by the command is not numbered and says so.
    fr = small["text"]["fr"]
    assert number not in fr and "/verify" not in fr


def test_every_page_of_an_issued_report_carries_its_number(small):
    reader = PdfReader(io.BytesIO(small["en"]))
    assert len(reader.pages) >= 5
    without = [i + 1 for i, page in enumerate(reader.pages) if small["number"] not in page.extract_text()]
    assert not without, f"pages without the report number: {without}"


def test_the_french_report_is_written_in_french(small):
    fr, en = small["text"]["fr"], small["text"]["en"]
    for english in ("Funding-gap report", "The funding gap at a glance", "Definitions and methods",
                    "Donors and the Fund's money"):
        assert english in en and english not in fr, english
    for french in ("Rapport sur le déficit de financement", "Le déficit de financement en bref", "Besoin", "Alloué",
                   "Déficit"):
        assert french in fr, french


# --- the seeded demo data ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(_schema, database_url, tmp_path_factory, small):
    """``flask seed-demo`` once, and the Fund's report of this year in French (``small`` is done by then)."""
    app = _make_app(database_url)
    runner = app.test_cli_runner()
    try:
        result = runner.invoke(args=["seed-demo"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            mothers = db.session.execute(select(Beneficiary.full_name, Beneficiary.phone, Beneficiary.code)).all()
            children = db.session.execute(select(Child.first_name, Child.code)).all()
            public = (list(db.session.scalars(select(Project.title)))
                      + list(db.session.scalars(select(Project.title_fr).where(Project.title_fr.is_not(None))))
                      + list(db.session.scalars(select(Partner.name)))
                      + list(db.session.scalars(select(Donor.name)))
                      + list(db.session.scalars(select(Donor.name_fr).where(Donor.name_fr.is_not(None)))))
            db.session.remove()
        target = tmp_path_factory.mktemp("demo") / "demo-fr.pdf"
        result = runner.invoke(args=["report", "funding-gap", "--format", "pdf", "--lang", "fr", "-o", str(target)])
        assert result.exit_code == 0, result.output
        return {"pdf": target.read_bytes(), "mothers": mothers, "children": children, "public": public}
    finally:
        with app.app_context():
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


def test_demo_report_in_french_shows_no_mother_or_child(demo):
    mothers, children = demo["mothers"], demo["children"]
    assert len(mothers) >= 500 and len(children) >= 500
    assert all(name and not name.startswith("gAAAA") for name, _phone, _code in mothers)  # decrypted by the ORM
    names = sorted({m for m, _p, _c in mothers} | {p for _m, p, _c in mothers if p} | {c for c, _code in children})
    codes = [code for *_rest, code in mothers] + [code for _n, code in children]
    assert_no_person(demo["pdf"], names=names, codes=codes, public=demo["public"])
    text = squash(pdf_text(demo["pdf"]))
    assert "$US" in text and "TF-CD-" in text  # it is the French report of the Fund, with its projects
