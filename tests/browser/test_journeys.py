"""The four main journeys of issue 8, end to end in headless Chromium, as a person does them.

Fields are found by their visible labels and buttons and links by their names. Every page reached is
screenshotted, audited by axe-core, checked for <script> elements and weighed (tests/browser/conftest.py).
Journeys 1, 2 and 4 run in English, journey 3 in French.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal

import pyotp
import pytest
from sqlalchemy import select

from tests import factories
from tests.browser.conftest import SKIP_REASON
from tests.conftest import PASSWORD
from tracker.extensions import db
from tracker.models import IssuedReport
from tracker.models.base import today
from tracker.registry.codes import next_number

pytestmark = [pytest.mark.browser, pytest.mark.skipif(SKIP_REASON is not None, reason=f"{SKIP_REASON}")]

if SKIP_REASON is None:
    from playwright.sync_api import expect
else:  # pragma: no cover - the tests are skipped
    expect = None

PROJECT = "TF-CD-2026-01"
SCHOOL = "EP Mapendo"


def academic_year(day: dt.date) -> str:
    """The academic year holding ``day`` (it starts in September, ACADEMIC_YEAR_START_MONTH)."""
    first = day.year if day.month >= 9 else day.year - 1
    return f"{first}-{first + 1}"


@pytest.fixture
def world(live_server):
    """A CD project with 1,000 USD allocated this year, a staff member, a manager (with a second factor), and
    one mother already registered whose child is enrolled at the school for this year at 25.00 USD a term."""
    app = live_server.app
    year = academic_year(today())
    with app.app_context():
        project = factories.ProjectFactory(code=PROJECT, title="Assistance Nord-Kivu", country="CD",
                                           start_date=dt.date(today().year, 1, 1),
                                           end_date=dt.date(today().year + 2, 12, 31))
        factories.AllocationFactory(project=project, amount_usd=Decimal("1000.00"), allocated_on=today())
        mother = factories.BeneficiaryFactory(project=project, number=next_number(db.session, "CD", "M"),
                                              name="Amani Existing", children_seq=1)
        child = factories.ChildFactory(mother=mother, number=1, first_name="Neema")
        factories.EnrolmentFactory(child=child, school=SCHOOL, academic_year=year, grade="P2",
                                   fee_per_term=Decimal("25.00"), currency="USD", terms=3)
        factories.UserFactory(role="staff", email="staff@example.org", name="Staff Member", countries=["CD"])
        manager = factories.UserFactory(role="manager", email="manager@example.org", name="Manager One",
                                        countries=["CD"])
        totp = pyotp.random_base32()
        manager.totp_secret = totp
        manager.totp_enabled_at = dt.datetime.now(dt.UTC)
        db.session.commit()
        ids = {"existing_child": child.code, "year": year, "totp": totp}
        db.session.remove()
    return ids


def sign_in(v, email: str, *, totp: str | None = None, button: str = "Sign in", code_label: str = "Code"):
    page = v.page
    v.goto("/login", "sign-in page")
    page.get_by_label(re.compile("^(E-mail|Adresse électronique)$")).fill(email)
    page.get_by_label(re.compile("^(Password|Mot de passe)$")).fill(PASSWORD)
    page.get_by_role("button", name=button).click()
    if totp:
        v.check("second factor")
        page.get_by_label(code_label).fill(pyotp.TOTP(totp).now())
        page.get_by_role("button", name=button).click()
    v.check("signed in")


def sign_in_by_keyboard(v, email: str):
    """Tab to each field, type, Enter: no mouse. The focused field shows the :focus-visible outline."""
    page = v.page
    v.goto("/login", "sign-in page")
    email_field = page.get_by_label("E-mail")
    for _ in range(10):
        page.keyboard.press("Tab")
        if email_field.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the e-mail field")
    outline = email_field.evaluate("el => [getComputedStyle(el).outlineStyle, getComputedStyle(el).outlineWidth]")
    assert outline[0] != "none" and outline[1] != "0px", f"no visible focus on the e-mail field: {outline}"
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    assert page.get_by_label("Password").evaluate("el => el === document.activeElement")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(v.url("/"))
    v.check("signed in")


def nav(v, name: str, step: str):
    v.page.get_by_role("navigation", name=re.compile("^(Main|Navigation principale)$")).get_by_role("link", name=name,
                                                                                          exact=True).click()
    v.check(step)


def staff_enters_a_term(v, world) -> tuple[str, str]:
    """Journey 1 (in the browser): register a mother and a child, enrol the child, enter the whole term.

    Returns the codes of the new mother and child.
    """
    page = v.page
    sign_in_by_keyboard(v, "staff@example.org")

    nav(v, "Mothers", "mothers")
    page.get_by_role("link", name="Register a mother").click()
    v.check("register a mother")
    page.get_by_label("Project").select_option(label=f"{PROJECT} · Assistance Nord-Kivu")
    page.get_by_label("Full name").fill("Furaha Test")
    # A year of birth in the future is refused, the message tied to its field for screen readers.
    page.get_by_label("Year of birth").fill(str(today().year + 1))
    page.get_by_role("button", name="Register").click()
    v.check("mother form with an error")
    year_field = page.get_by_label("Year of birth")
    expect(year_field).to_have_attribute("aria-invalid", "true")
    error = page.locator("#" + year_field.get_attribute("aria-describedby").split()[-1])
    expect(error).to_have_class(re.compile(r"\berror\b"))
    expect(year_field).to_have_accessible_description(re.compile(re.escape(error.inner_text())))
    page.get_by_label("Full name").fill("Furaha Test")
    year_field.fill("1996")
    page.get_by_label("She consents to receive services").check()
    page.get_by_label("She consents to be counted in reports to donors").check()
    page.get_by_role("button", name="Register").click()
    v.check("mother registered")
    # The first mother of CD has number 1; this one is the second: CD-M-00002.
    mother = "CD-M-00002"
    expect(page.get_by_role("heading", level=1)).to_contain_text(mother)

    page.get_by_role("link", name="Add a child").click()
    v.check("add a child")
    page.get_by_label("First name").fill("Baraka")
    page.get_by_label("Year of birth").fill("2017")
    page.get_by_label("Sex").select_option(label="Boy")
    page.get_by_role("button", name="Save").click()
    v.check("child added")
    child = f"{mother}-1".replace("-M-", "-C-")  # CD-C-00002-1: her first child
    expect(page.get_by_role("heading", level=1)).to_contain_text(child)

    page.get_by_role("link", name="Enrol for a year").click()
    v.check("enrol")
    page.get_by_label("School").fill(SCHOOL)
    page.get_by_label("Academic year").fill(world["year"])
    page.get_by_label("Grade").fill("P4")
    page.get_by_label("Fee per term").fill("40.00")
    page.get_by_label("Currency").select_option("USD")
    page.get_by_label("Terms in the year").select_option("3")
    page.get_by_role("button", name="Save").click()
    v.check("child enrolled")
    expect(page.get_by_role("main")).to_contain_text(SCHOOL)

    nav(v, "Disbursements", "disbursements")
    page.get_by_role("link", name="Enter a whole term").click()
    v.check("whole term")
    page.get_by_label("Project").select_option(label=f"{PROJECT} · Assistance Nord-Kivu")
    page.get_by_role("button", name="Show the children").click()
    v.check("whole term: project chosen")
    page.get_by_label("School").select_option(SCHOOL)
    page.get_by_label("Academic year").fill("2026")  # not a year of the form 2026-2027
    page.get_by_role("button", name="Show the children").click()
    v.check("whole term: a wrong year")
    year_field = page.get_by_label("Academic year")
    expect(year_field).to_have_attribute("aria-invalid", "true")
    expect(year_field).to_have_accessible_description(re.compile(r"\S"))
    year_field.fill(world["year"])
    page.get_by_label("Term", exact=True).select_option("1")
    page.get_by_role("button", name="Show the children").click()
    v.check("whole term: the children")
    table = page.get_by_role("table")
    expect(table.get_by_role("caption")).to_have_text("2 children with term 1 open")
    # The fees come from the enrolments: 25.00 USD for the child already there, 40.00 USD for the new one.
    expect(page.get_by_label(f"Amount for {world['existing_child']} in USD")).to_have_value("25.00")
    expect(page.get_by_label(f"Amount for {child} in USD")).to_have_value("40.00")
    expect(page.get_by_label(f"Include {child}")).to_be_checked()
    # The running total without JavaScript: untick one, recalculate, then select all again (25.00 + 40.00).
    page.get_by_label(f"Include {child}").uncheck()
    page.get_by_role("button", name="Recalculate the total").click()
    v.check("whole term: one unticked, total recalculated")
    expect(page.get_by_label(f"Include {child}")).not_to_be_checked()
    expect(page.locator("#total-usd")).to_have_text(re.compile(r"\b25\.00\b"))
    page.get_by_role("button", name="Select all").click()
    expect(page.get_by_label(f"Include {child}")).to_be_checked()
    expect(page.get_by_label(f"Include {world['existing_child']}")).to_be_checked()
    expect(page.locator("#total-usd")).to_have_text(re.compile(r"\b65\.00\b"))
    page.get_by_role("button", name="Submit the ticked payments for approval").click()
    v.check("term submitted")
    expect(page.get_by_role("status").first).to_contain_text("2 school-fee payments are submitted for approval.")
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows.filter(has_text=child)).to_have_count(1)
    expect(rows.filter(has_text=world["existing_child"])).to_have_count(1)
    return mother, child


def test_journey_1_staff_registers_a_mother_and_child_and_enters_a_term(visit, world):
    v = visit()
    staff_enters_a_term(v, world)


def tile(region, name: str):
    """The figure of a tile (<dt>name</dt><dd>figure</dd>) in a region of the review."""
    return region.locator("div").filter(has=region.page.get_by_text(name, exact=True)).locator("dd")


def test_journey_2_manager_with_two_factor_approves_pays_and_sees_the_review_change(visit, world, live_server):
    live_server.app.config["TWO_FACTOR_REQUIRED_ROLES"] = ("admin", "manager")
    staff = visit()
    mother, child = staff_enters_a_term(staff, world)

    v = visit()
    page = v.page
    sign_in(v, "manager@example.org", totp=world["totp"])
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    nav(v, "Review", "review before")
    # The manager's one country holds every project of this world: she sees the whole Fund.
    mine = page.get_by_role("region", name="The whole Fund")
    # Before: 1,000.00 USD allocated, nothing approved or paid: the balance is 1,000.00.
    # Fees still to fund: 3 terms x 25.00 (the child already there) + 3 terms x 40.00 (the new child) = 195.00.
    expect(tile(mine, "Balance")).to_have_text("$1,000.00")
    expect(tile(mine, "School fees still to fund this year")).to_have_text("$195.00")

    nav(v, "Approvals", "approvals")
    section = page.get_by_role("region", name=re.compile("the longest waiting first"))
    rows = section.get_by_role("row")
    for code in (world["existing_child"], child):
        rows.filter(has_text=code).get_by_role("checkbox").check()
    page.get_by_role("button", name="Approve the ticked ones").click()
    v.check("approved")
    expect(page.get_by_text("Nothing waits for approval.")).to_be_visible()

    page.get_by_role("link", name="Approved, to pay").click()
    v.check("to pay")
    section = page.get_by_role("region", name=re.compile("the longest waiting first"))
    rows = section.get_by_role("row")
    for n, code in enumerate((world["existing_child"], child), start=1):
        row = rows.filter(has_text=code)
        row.get_by_role("checkbox").check()
        row.get_by_role("textbox", name=re.compile("^Payment reference of")).fill(f"BANK-{n:03d}")
    page.get_by_role("button", name="Record the ticked payments").click()
    v.check("paid")
    expect(page.get_by_text("Nothing waits for payment.")).to_be_visible()

    nav(v, "Review", "review after")
    mine = page.get_by_role("region", name="The whole Fund")
    # After paying term 1 of both children (25.00 + 40.00 = 65.00 USD):
    # balance 1,000.00 - 65.00 = 935.00; fees still to fund 195.00 - 65.00 = 130.00.
    expect(tile(mine, "Balance")).to_have_text("$935.00")
    expect(tile(mine, "School fees still to fund this year")).to_have_text("$130.00")
    school_fees = page.get_by_role("region", name="Need and spending by category").get_by_role(
        "row").filter(has=page.get_by_role("rowheader", name="School fees"))
    expect(school_fees.get_by_role("cell").nth(1)).to_have_text(re.compile(r"\b65\.00\b"))


def test_journey_3_a_french_donor_report_downloaded_and_verified(visit, world, live_server, tmp_path):
    app = live_server.app
    with app.app_context():
        donor = factories.DonorFactory(name="Royaume de Norvège")
        factories.UserFactory(role="donor", email="donor@example.org", name="Donor Reader", countries=[],
                              donor_id=donor.id, locale="fr")
        db.session.remove()

    v = visit(locale="fr-FR")
    page = v.page
    # The sign-in page follows the browser's language; the manager's own language is still English.
    sign_in(v, "manager@example.org", totp=world["totp"], button="Se connecter", code_label="Code")
    page.get_by_role("link", name="Manager One").click()
    v.check("account (English)")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    page.get_by_role("combobox", name="Language").select_option(label="Français")
    page.get_by_role("region", name="Language").get_by_role("button", name="Save").click()
    v.check("account in French")
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre compte")

    nav(v, "Rapports", "reports")
    expect(page.get_by_role("heading", level=1)).to_have_text("Rapports aux donateurs")
    page.get_by_role("link", name="Préparer un rapport").click()
    v.check("prepare a report")
    expect(page.get_by_role("heading", level=1)).to_have_text("Préparer un rapport aux donateurs")
    page.get_by_label("Périmètre").select_option(label="L'ensemble du Fonds")
    page.get_by_label("Au", exact=True).fill(today().isoformat())
    page.get_by_label("Langue").select_option(label="Français")
    page.get_by_label("Destinataire").select_option(label="Royaume de Norvège")
    page.get_by_role("button", name="Émettre le rapport").click()
    v.check("report issued, rendering")
    number = page.get_by_role("heading", level=1).inner_text().split()[0]
    expect(page.get_by_role("status").first).to_contain_text(f"Le rapport {number} est émis")
    # The status page refreshes itself every 3 seconds until the worker thread has stored the PDF.
    expect(page.get_by_role("link", name="Télécharger le PDF")).to_be_visible(timeout=120_000)
    v.check("report ready")
    page.get_by_role("button", name="Se déconnecter").click()
    v.check("signed out")

    donor_visit = visit(locale="fr-FR")
    d = donor_visit.page
    sign_in(donor_visit, "donor@example.org", button="Se connecter")
    nav(donor_visit, "Rapports", "donor: reports")
    row = d.get_by_role("row").filter(has=d.get_by_role("link", name=number))
    expect(row.get_by_role("cell").nth(1)).to_have_text("L'ensemble du Fonds")  # the scope as words, not "fund"
    expect(row.locator(".badge")).to_have_text("Disponible")  # the state as words, not "issued"
    d.get_by_role("link", name=number).click()
    donor_visit.check("donor: the report")
    expect(d.get_by_role("heading", level=1)).to_contain_text(number)
    with d.expect_download() as download_info:
        d.get_by_role("link", name="Télécharger le PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"{number}.pdf"
    pdf_path = tmp_path / download.suggested_filename
    download.save_as(pdf_path)
    pdf = pdf_path.read_bytes()
    with app.app_context():
        stored = db.session.scalars(select(IssuedReport).where(IssuedReport.number == number)).one()
        assert (stored.lang, stored.status, stored.donor.name) == ("fr", "issued", "Royaume de Norvège")
        assert hashlib.sha256(pdf).hexdigest() == stored.sha256
        db.session.remove()

    # The public verification page, signed out.
    public = visit(locale="fr-FR")
    q = public.page
    public.goto("/verify", "verify")
    expect(q.get_by_role("heading", level=1)).to_have_text("Vérifier un rapport")
    q.get_by_label("Le fichier PDF").set_input_files(pdf_path)
    q.get_by_role("button", name="Vérifier", exact=True).click()
    public.check("verify: the issued file")
    expect(q.get_by_role("status")).to_contain_text(f"Il s'agit du rapport émis n° {number}.")

    altered = bytearray(pdf)
    altered[len(altered) // 2] ^= 0x01  # one byte changed
    q.get_by_label("Le fichier PDF").set_input_files(
        files=[{"name": f"{number}.pdf", "mimeType": "application/pdf", "buffer": bytes(altered)}])
    q.get_by_role("button", name="Vérifier", exact=True).click()
    public.check("verify: an altered copy")
    expect(q.get_by_role("alert")).to_contain_text("Ce n'est pas un rapport émis.")
    expect(q.get_by_role("status")).to_have_count(0)


CHILDREN_HEADER = "code,mother_code,first_name,year_of_birth,sex\n"


def test_journey_4_staff_imports_a_spreadsheet_with_bad_rows_then_fixes_it(visit, world, tmp_path):
    bad = tmp_path / "children.csv"
    bad.write_text(CHILDREN_HEADER
                   + ",CD-M-00001,Imani,2018,F\n"      # row 2: good
                   + ",CD-M-00099,Tumaini,2019,M\n"    # row 3: no such mother
                   + ",CD-M-00001,Zawadi,20x9,F\n",    # row 4: not a year
                   encoding="utf-8")
    v = visit()
    page = v.page
    sign_in(v, "staff@example.org")
    nav(v, "Import", "imports")
    page.get_by_role("link", name="Upload Children").click()
    v.check("upload children")
    page.get_by_label("Spreadsheet (CSV UTF-8 or XLSX)").set_input_files(bad)
    page.get_by_role("button", name="Check the file").click()
    v.check("errors")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nothing saved: the file has problems")
    lines = [
        "row {}: {}: {}".format(*(c.strip() for c in row.get_by_role("cell").all_inner_texts()))
        for row in page.get_by_role("table", name=re.compile("^Problems")).locator("tbody tr").all()
    ]
    assert lines == [
        "row 3: mother_code: CD-M-00099 is not known in your countries",
        "row 4: year_of_birth: 20x9 is not a whole number",
    ]
    # Each message is tied to its row and column; the upload page offers the corrected file.
    page.get_by_role("link", name="Upload the corrected file").click()
    v.check("upload again")

    good = tmp_path / "children-corrected.csv"
    good.write_text(CHILDREN_HEADER
                    + ",CD-M-00001,Imani,2018,F\n"
                    + ",CD-M-00001,Tumaini,2019,M\n"
                    + ",CD-M-00001,Zawadi,2019,F\n", encoding="utf-8")
    page.get_by_label("Spreadsheet (CSV UTF-8 or XLSX)").set_input_files(good)
    page.get_by_role("button", name="Check the file").click()
    v.check("preview")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check, then import")
    expect(tile(page.get_by_role("main"), "Would be created")).to_have_text("3")
    page.get_by_role("button", name="Import 3 rows").click()
    v.check("imported")
    expect(page.get_by_role("status").first).to_contain_text("3")

    nav(v, "Mothers", "mothers")
    page.get_by_role("link", name="CD-M-00001").click()
    v.check("the mother and her children")
    # Neema (CD-C-00001-1) was there; the three imported children take the next numbers under her code.
    for code in ("CD-C-00001-1", "CD-C-00001-2", "CD-C-00001-3", "CD-C-00001-4"):
        expect(page.get_by_role("link", name=code, exact=True)).to_be_visible()

