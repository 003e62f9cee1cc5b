"""The IATI 2.03 activity export (``flask export iati``, ``/review/iati.xml``).

The export of the demo data is validated against the official 2.03 schema
(``tests/api/data/iati-2.03/``, loaded with the network off), its figures are
compared with the funding engine's and with sums worked out here from the raw
rows, and every code, name and payee of the demo is looked for in it. A small
dataset built by hand checks the figures again with the arithmetic in the
comments; the command, the download and their bad input come last.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal as D
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from tests import factories
from tests.conftest import _empty_tables, _make_app
from tracker.auth import services as auth_services
from tracker.extensions import db as _db
from tracker.funding.engine import funding_picture
from tracker.models import (
    Allocation,
    AuditEvent,
    Beneficiary,
    BudgetLine,
    Child,
    Contribution,
    Disbursement,
    Donor,
    Enrolment,
    IncomeProject,
    Partner,
    Pledge,
    Project,
)
from tracker.models.base import today

SCHEMA_DIR = (Path(__file__).parent / "data" / "iati-2.03").resolve()
REF = "XI-IATI-TFSEA"  # the default IATI_REPORTING_ORG_REF
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


# --- the official schema, without the network -------------------------------------------------------------------------

class _LocalOnly(etree.Resolver):
    """Serves files of one folder only; anything else (a URL above all) resolves to nothing and the load fails."""

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder.resolve()
        self.asked: list[str] = []

    def resolve(self, url, pubid, context):
        self.asked.append(url)
        local = None if "://" in url and not url.startswith("file://") else Path(url.removeprefix("file://"))
        if local is not None and not local.is_absolute():
            local = self.folder / local
        if local is None or local.resolve().parent != self.folder:
            return self.resolve_string("", context)
        return self.resolve_filename(str(local), context)


def _parser(resolver=None):
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    if resolver is not None:
        parser.resolvers.add(resolver)
    return parser


def load_schema(path: Path) -> tuple[etree.XMLSchema, list[str]]:
    resolver = _LocalOnly(path.parent)
    return etree.XMLSchema(etree.parse(str(path), _parser(resolver))), resolver.asked


@pytest.fixture(scope="module")
def schema():
    loaded, asked = load_schema(SCHEMA_DIR / "iati-activities-schema.xsd")
    # Only the three local files were read, whatever lxml might have been tempted to fetch.
    assert sorted(Path(u).name for u in asked) == ["iati-activities-schema.xsd", "iati-common.xsd", "xml.xsd"]
    return loaded


def assert_valid(schema, data: bytes) -> etree._Element:
    document = etree.fromstring(data, _parser())
    assert schema.validate(document), "\n".join(str(e) for e in schema.error_log)
    return document


def test_the_schema_loader_never_fetches_from_the_network(tmp_path):
    # The W3C's own xml.xsd by URL: refused (the load fails) instead of fetched.
    (tmp_path / "remote.xsd").write_text(
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        '<xsd:import namespace="http://www.w3.org/XML/1998/namespace" '
        'schemaLocation="http://www.w3.org/2001/xml.xsd"/></xsd:schema>', encoding="utf-8")
    resolver = _LocalOnly(tmp_path)
    document = etree.parse(str(tmp_path / "remote.xsd"), _parser(resolver))
    with pytest.raises(etree.XMLSchemaParseError):
        etree.XMLSchema(document)
    assert resolver.asked[-1] == "http://www.w3.org/2001/xml.xsd"


def test_the_schema_copy_keeps_its_licence_and_origin():
    assert (SCHEMA_DIR / "LICENSE").read_text(encoding="utf-8").strip()
    readme = (SCHEMA_DIR / "README.md").read_text(encoding="utf-8")
    assert "2.03" in readme and "Creative Commons" in readme
    assert 'version="2.03"' in (SCHEMA_DIR / "iati-activities-schema.xsd").read_text(encoding="utf-8")


# --- reading an export back -------------------------------------------------------------------------------------------

def activities(document) -> dict[str, dict]:
    """Project code -> what the test compares: budgets per year, transactions per type, codes."""
    out = {}
    for act in document.iter("iati-activity"):
        identifier = act.findtext("iati-identifier")
        assert identifier.startswith(REF + "-")
        code = identifier[len(REF) + 1:]
        tx = defaultdict(list)
        for t in act.iter("transaction"):
            value = t.find("value")
            on = dt.date.fromisoformat(t.find("transaction-date").get("iso-date"))
            assert value.get("value-date") == on.isoformat()
            tx[t.find("transaction-type").get("code")].append((on, D(value.text), t.get("ref")))
        budgets = {}
        for b in act.iter("budget"):
            start = dt.date.fromisoformat(b.find("period-start").get("iso-date"))
            end = dt.date.fromisoformat(b.find("period-end").get("iso-date"))
            assert start.year == end.year and start <= end
            assert start.year not in budgets
            budgets[start.year] = D(b.find("value").text)
        out[code] = {
            "budgets": budgets, "tx": tx, "element": act,
            "status": act.find("activity-status").get("code"),
            "dates": {d.get("type"): d.get("iso-date") for d in act.iter("activity-date")},
            "sectors": [(s.get("code"), D(s.get("percentage"))) for s in act.iter("sector")],
            "roles": [(o.get("role"), o.get("ref"), o.findtext("narrative")) for o in act.iter("participating-org")],
            "country": act.find("recipient-country").get("code"),
        }
    return out


def total(rows) -> D:
    return sum((value for _on, value, _ref in rows), D("0.00"))


def texts(document) -> list[str]:
    """Every text node and attribute value of the document."""
    found = [t for t in document.itertext()]
    for element in document.iter():
        found += list(element.attrib.values())
    return found


# --- the demo: one seeding, everything read once ----------------------------------------------------------------------

def _quarter_end(day: dt.date) -> dt.date:
    q = (day.month - 1) // 3 + 1
    return dt.date(day.year, 12, 31) if q == 4 else dt.date(day.year, 3 * q + 1, 1) - dt.timedelta(days=1)


@pytest.fixture(scope="module")
def demo(_schema, database_url, tmp_path_factory):
    """Seed the demo (scale 1, the smallest), export it by the command, read what the tests compare, empty the tables.

    Everything is read inside the fixture so that the tables are empty again
    for the other tests of the module, whatever order they run in.
    """
    app = _make_app(database_url)
    folder = tmp_path_factory.mktemp("iati")
    y2 = today().year
    periods = {
        "all": (None, None),  # the default: from the beginning to today
        # Quarters cut at both ends: Q1 of last year from 15 February, Q2 of this year to 10 May.
        "cut": (dt.date(y2 - 1, 2, 15), dt.date(y2, 5, 10)),
    }
    out = {"xml": {}, "engine": {}}
    try:
        with pytest.MonkeyPatch.context() as mp:
            # scrypt is slow by design; the demo's users do not need it here.
            mp.setattr(auth_services, "generate_password_hash",
                       lambda password: generate_password_hash(password, method="pbkdf2:sha256:1000"))
            with app.app_context():
                assert _db.session.scalar(select(Project.id).limit(1)) is None, "tables not empty"
            seeded = app.test_cli_runner().invoke(args=["seed-demo"])
        assert seeded.exit_code == 0, seeded.output
        runner = app.test_cli_runner()
        for name, (start, end) in periods.items():
            path = folder / f"{name}.xml"
            args = ["export", "iati", "-o", str(path)]
            args += ["--from", start.isoformat(), "--to", end.isoformat()] if start else []
            result = runner.invoke(args=args)
            assert result.exit_code == 0, result.output
            out["xml"][name] = path.read_bytes()
        with app.app_context():
            s = _db.session
            for name, (start, end) in periods.items():
                picture = funding_picture(scope="fund", date_from=start or dt.date(1900, 1, 1),
                                          date_to=end or today(), with_children=False)
                out["engine"][name] = {p.code: p for p in picture.projects}
            out["periods"] = {name: (start, end or today()) for name, (start, end) in periods.items()}
            out["projects"] = {
                p.code: {"title": p.title, "description": p.description, "country": p.country,
                         "status": p.status, "start": p.start_date, "end": p.end_date, "partner": p.partner.name}
                for p in s.scalars(select(Project))}
            out["budget_lines"] = s.execute(select(Project.code, BudgetLine.year, BudgetLine.amount_usd)
                                            .join(BudgetLine.project)).all()
            out["paid"] = s.execute(
                select(Project.code, Disbursement.category, Disbursement.paid_on, Disbursement.usd_amount)
                .join(Disbursement.project).where(Disbursement.status == "paid")).all()
            out["voided_after_payment"] = s.execute(
                select(Project.code, Disbursement.paid_on).join(Disbursement.project)
                .where(Disbursement.status == "voided", Disbursement.paid_on.is_not(None))).all()
            out["allocations"] = s.execute(select(Project.code, Allocation.allocated_on, Allocation.amount_usd)
                                           .join(Allocation.project)).all()
            out["earmarked"] = s.execute(
                select(Project.code, Contribution.reference, Contribution.received_on, Contribution.usd_amount)
                .join(Pledge, Contribution.pledge_id == Pledge.id).join(Project, Pledge.project_id == Project.id)
            ).all()
            out["unattributed"] = s.scalars(
                select(Contribution.reference).outerjoin(Pledge, Contribution.pledge_id == Pledge.id)
                .where(Pledge.project_id.is_(None))).all()
            # Everything of a person: codes, names, phones, villages, payees, schools, payment references.
            person = set()
            for b in s.scalars(select(Beneficiary)):
                person |= {b.code, b.full_name, b.phone, b.village}
            for c in s.scalars(select(Child)):
                person |= {c.code, c.first_name}
            person |= set(s.scalars(select(Disbursement.payee)))
            person |= set(s.scalars(select(Disbursement.reference)))
            person |= set(s.scalars(select(Disbursement.payment_reference)))
            person |= set(s.scalars(select(Enrolment.school)))
            person |= set(s.scalars(select(IncomeProject.reference)))
            out["person"] = {p for p in person if p}
            # Texts of organisations and projects, which may share a word with a place or a first name
            # ("Port-au-Prince", "Mama Tumaini Foundation"): left out before looking for a person's.
            public = set(s.scalars(select(Partner.name))) | set(s.scalars(select(Donor.name)))
            for p in out["projects"].values():
                public |= {p["title"], p["description"]}
            out["public"] = sorted((t for t in public if t), key=len, reverse=True)
            out["audit"] = s.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
            out["audit"] = [(e.entity, e.entity_id, e.changes) for e in out["audit"]]
    finally:
        with app.app_context():
            _db.session.remove()
            _empty_tables()
            _db.engine.dispose()
    return out


def test_the_demo_export_validates_against_the_iati_203_schema(demo, schema):
    for name, data in demo["xml"].items():
        document = assert_valid(schema, data)
        assert document.get("version") == "2.03"
        # One activity per project, and every project has one.
        assert sorted(activities(document)) == sorted(demo["projects"]), name
    # Each run of the command is an audited export.
    assert [(entity, entity_id) for entity, entity_id, _changes in demo["audit"]] == [("iati", "fund")] * 2
    assert demo["audit"][1][2]["activities"] == len(demo["projects"])


@pytest.mark.parametrize("period", ["all", "cut"])
def test_the_demo_figures_equal_the_funding_engines(demo, period):
    found = activities(etree.fromstring(demo["xml"][period], _parser()))
    engine = demo["engine"][period]
    start, end = demo["periods"][period]
    first_year, last_year = (start or dt.date(1900, 1, 1)).year, end.year
    checked = D("0")
    for code, act in found.items():
        assert total(act["tx"]["3"]) == engine[code].disbursed, code
        assert total(act["tx"]["2"]) == engine[code].allocated, code
        need = sum((v for year, v in act["budgets"].items() if first_year <= year <= last_year), D("0.00"))
        assert need == engine[code].need, code
        checked += engine[code].disbursed
    assert checked > 0  # the demo has payments in both periods: the comparison compared something


def test_the_demo_figures_equal_sums_of_the_raw_rows(demo):
    """Recomputed here from the rows: quarters, categories, dates cut to the period, attributions."""
    period = "cut"
    found = activities(etree.fromstring(demo["xml"][period], _parser()))
    start, end = demo["periods"][period]
    quarters = defaultdict(lambda: D("0.00"))
    for code, category, paid_on, usd in demo["paid"]:
        if start <= paid_on <= end:
            q = (paid_on.month - 1) // 3 + 1
            quarters[code, f"{code}-{paid_on.year}-Q{q}-{category}", min(_quarter_end(paid_on), end)] += usd
    budgets = defaultdict(lambda: D("0.00"))
    for code, year, amount in demo["budget_lines"]:
        budgets[code, year] += amount
    allocations = defaultdict(list)
    for code, on, amount in demo["allocations"]:
        if start <= on <= end:
            allocations[code].append((on, amount))
    incoming = defaultdict(list)
    for code, reference, on, usd in demo["earmarked"]:
        if start <= on <= end:
            incoming[code].append((on, usd, reference))
    for code, act in found.items():
        assert {(code, ref, on): value for on, value, ref in act["tx"]["3"]} == {
            k: v for k, v in quarters.items() if k[0] == code}, code
        assert act["budgets"] == {y: v for (c, y), v in budgets.items() if c == code}, code
        assert sorted((on, v) for on, v, _ref in act["tx"]["2"]) == sorted(allocations[code]), code
        assert sorted(act["tx"]["1"]) == sorted(incoming[code]), code
    # The demo has what makes these checks bite: earmarked money, money earmarked for no project, and
    # payments voided after they were paid (in no sum).
    assert any(act["tx"]["1"] for act in found.values())
    every_ref = {ref for act in found.values() for rows in act["tx"].values() for _on, _v, ref in rows}
    assert demo["unattributed"] and not set(demo["unattributed"]) & every_ref
    assert demo["voided_after_payment"]


def test_the_demo_export_names_no_person_no_code_no_payee(demo):
    assert len(demo["person"]) > 1000
    for name, data in demo["xml"].items():
        # Every text node and attribute value, apart; the texts of organisations and projects blanked out.
        text = "\x00".join(texts(etree.fromstring(data, _parser())))
        for public in demo["public"]:
            text = text.replace(public, "\x00")
        found = sorted(p for p in demo["person"] if p in text)
        assert found == [], f"{name}: {found[:20]}"


def test_the_demo_activities_carry_the_required_parts(demo):
    found = activities(etree.fromstring(demo["xml"]["all"], _parser()))
    for code, act in found.items():
        project = demo["projects"][code]
        element = act["element"]
        assert element.get("default-currency") == "USD"
        for tag in ("title", "description"):
            langs = [n.get(XML_LANG) for n in element.find(tag).iter("narrative")]
            assert langs == ["en", "fr"], (code, tag)
        assert element.find("title").findtext("narrative") == project["title"]
        assert [r[:2] for r in act["roles"]] == [("1", REF), ("3", REF), ("4", None)]
        assert act["roles"][2][2] == project["partner"]
        assert act["country"] == project["country"]
        assert act["status"] == {"pipeline": "1", "active": "2", "closed": "4"}[project["status"]]
        assert act["dates"]["1"] == project["start"].isoformat()
        assert act["dates"]["3"] == project["end"].isoformat()
        assert sum(p for _c, p in act["sectors"]) == 100
        assert {c for c, _p in act["sectors"]} <= {"11220", "15180"}


# --- a small dataset, worked out by hand ------------------------------------------------------------------------------

FROM, TO = dt.date(2025, 2, 1), dt.date(2025, 11, 15)
CD_CODE, PIPELINE_CODE, LR_CODE = "TF-CD-2025-07", "TF-CD-2026-07", "TF-LR-2024-07"
#: Things of one person in the small dataset: none may appear in an export.
SECRETS = ("CD-M-00042", "CD-C-00042-1", "Zawadi Secretname", "099 000 0042", "Kavumu-Secret", "Amani Secretchild",
           "Pharmacie Secrète", "École Secrète de Kavumu", "D-SECRET-", "PAY-SECRET-", "Jane Privatedonor")


def _small_world() -> None:
    clerk = factories.UserFactory(role="staff").id
    partner = factories.PartnerFactory(name="Mama Test Foundation", kind="ngo")
    p = factories.ProjectFactory(code=CD_CODE, country="CD", partner=partner, title="Test project, North Kivu",
                                 start_date=dt.date(2025, 3, 1), end_date=dt.date(2026, 6, 30), status="active")
    factories.ProjectFactory(code=PIPELINE_CODE, country="CD", status="pipeline",
                             start_date=dt.date(2026, 1, 1), end_date=dt.date(2027, 12, 31))
    lr = factories.ProjectFactory(code=LR_CODE, country="LR", status="closed", partner__kind="un_entity",
                                  start_date=dt.date(2024, 1, 1), end_date=dt.date(2025, 6, 30))

    for year, category, amount in ((2025, "school_fees", "3000.00"), (2025, "medical", "1000.00"),
                                   (2026, "school_fees", "1500.00"), (2026, "legal", "500.00")):
        factories.BudgetLineFactory(project=p, year=year, category=category, amount_usd=D(amount))
    factories.BudgetLineFactory(project=lr, year=2025, category="admin", amount_usd=D("100.00"))

    for on, amount in ((dt.date(2025, 1, 20), "1000.00"), (dt.date(2025, 4, 10), "2500.00"),
                       (dt.date(2025, 10, 5), "1200.50"), (dt.date(2025, 11, 20), "300.00")):
        factories.AllocationFactory(project=p, allocated_on=on, amount_usd=D(amount))
    factories.AllocationFactory(project=lr, allocated_on=dt.date(2025, 3, 1), amount_usd=D("400.00"))

    mother = factories.BeneficiaryFactory(project=p, number=42, name="Zawadi Secretname", phone="099 000 0042",
                                          village="Kavumu-Secret")
    child = factories.ChildFactory(mother=mother, first_name="Amani Secretchild")
    enrolment = factories.EnrolmentFactory(child=child, school="École Secrète de Kavumu")
    refs = iter(range(1, 100))

    def pay(usd, paid_on, category="medical", status="paid", **extra):
        n = next(refs)
        fields = dict(beneficiary=mother, status=status, category=category, entered_by_id=clerk,
                      entered_on=dt.date(2025, 1, 10), amount=D(usd), currency="USD", usd_amount=D(usd),
                      usd_rate=D("1"), payee="Pharmacie Secrète", reference=f"D-SECRET-{n:03d}")
        if paid_on is not None:
            fields.update(paid_on=paid_on, payment_reference=f"PAY-SECRET-{n:03d}")
        if status == "voided":
            fields["void_reason"] = "entered twice"
        fields.update(extra)
        factories.DisbursementFactory(**fields)

    pay("100.10", dt.date(2025, 1, 15))                      # a: before the period
    pay("200.20", dt.date(2025, 2, 10))                      # b: Q1 medical
    pay("300.30", dt.date(2025, 3, 31))                      # c: Q1 medical, the quarter's last day
    pay("45.00", dt.date(2025, 3, 5), category="school_fees", child=child, enrolment=enrolment, term=1,
        payee=enrolment.school)                              # d: Q1 school fees
    pay("10.00", dt.date(2025, 4, 1))                        # e: Q2 medical, the quarter's first day
    pay("999.00", dt.date(2025, 5, 1), status="voided")      # f: voided after payment: never
    pay("77.00", None, status="approved")                    # g: approved, not paid: never
    pay("25.25", dt.date(2025, 11, 15), category="legal")    # h: Q4 legal, the period's last day
    pay("30.00", dt.date(2025, 11, 16), category="legal")    # i: after the period

    sweden = factories.DonorFactory(name="Kingdom of Sweden", kind="member_state")
    earmarked = factories.PledgeFactory(donor=sweden, project=p, amount=D("1000.00"))
    factories.ContributionFactory(pledge=earmarked, received_on=dt.date(2025, 3, 15), amount=D("800.00"),
                                  reference="CT-SE-1")       # in
    factories.ContributionFactory(pledge=earmarked, received_on=dt.date(2025, 12, 1), amount=D("200.00"),
                                  reference="CT-SE-2")       # after the period
    to_country = factories.PledgeFactory(donor__name="Japan", country="CD", amount=D("500.00"))
    factories.ContributionFactory(pledge=to_country, received_on=dt.date(2025, 4, 1), amount=D("500.00"),
                                  reference="CT-JP-1")       # earmarked for a country: no project's
    factories.ContributionFactory(donor=factories.DonorFactory(name="Norway"), received_on=dt.date(2025, 5, 1),
                                  amount=D("700.00"), reference="CT-NO-1")  # no pledge: no project's
    private = factories.PledgeFactory(donor__name="Jane Privatedonor", donor__kind="private", project=p,
                                      amount=D("50.00"))
    factories.ContributionFactory(pledge=private, received_on=dt.date(2025, 6, 1), amount=D("50.00"),
                                  reference="CT-PR-1")       # in, its donor unnamed


def _export_as_cli(app, tmp_path, *extra) -> tuple[object, Path]:
    path = tmp_path / "activities.xml"
    result = app.test_cli_runner().invoke(args=["export", "iati", "-o", str(path), *extra])
    return result, path


def test_small_dataset_figures_by_hand(app, schema, tmp_path):
    with app.app_context():
        _small_world()
    result, path = _export_as_cli(app, tmp_path, "--from", FROM.isoformat(), "--to", TO.isoformat())
    assert result.exit_code == 0, result.output
    found = activities(assert_valid(schema, path.read_bytes()))
    assert sorted(found) == [CD_CODE, PIPELINE_CODE, LR_CODE]
    cd = found[CD_CODE]

    # Budgets: every year of the budget lines, cut to the project's dates (1 March 2025 to 30 June 2026).
    # 2025: 3000.00 + 1000.00 = 4000.00; 2026: 1500.00 + 500.00 = 2000.00
    assert cd["budgets"] == {2025: D("4000.00"), 2026: D("2000.00")}
    periods = [(b.find("period-start").get("iso-date"), b.find("period-end").get("iso-date"))
               for b in cd["element"].iter("budget")]
    assert periods == [("2025-03-01", "2025-12-31"), ("2026-01-01", "2026-06-30")]
    # Sectors: school fees 3000.00 + 1500.00 = 4500.00 of 6000.00 = 75.00 % primary education, the rest 25.00 %.
    assert cd["sectors"] == [("11220", D("75.00")), ("15180", D("25.00"))]

    # Commitments: the allocations of 10 April (2500.00) and 5 October (1200.50); 20 January and
    # 20 November are outside the period. 2500.00 + 1200.50 = 3700.50
    assert [(on, v) for on, v, _ref in cd["tx"]["2"]] == [(dt.date(2025, 4, 10), D("2500.00")),
                                                         (dt.date(2025, 10, 5), D("1200.50"))]
    assert total(cd["tx"]["2"]) == D("3700.50")

    # Disbursements per quarter and category (b to i above):
    # Q1 medical 200.20 + 300.30 = 500.50 and Q1 school fees 45.00, dated 31 March;
    # Q2 medical 10.00, dated 30 June; Q4 legal 25.25, dated 15 November (the period's end, before the quarter's).
    # a and i are outside the period, f was voided, g is not paid. 500.50 + 45.00 + 10.00 + 25.25 = 580.75
    assert cd["tx"]["3"] == [  # in order of date, then of category
        (dt.date(2025, 3, 31), D("500.50"), f"{CD_CODE}-2025-Q1-medical"),
        (dt.date(2025, 3, 31), D("45.00"), f"{CD_CODE}-2025-Q1-school_fees"),
        (dt.date(2025, 6, 30), D("10.00"), f"{CD_CODE}-2025-Q2-medical"),
        (dt.date(2025, 11, 15), D("25.25"), f"{CD_CODE}-2025-Q4-legal"),
    ]
    assert total(cd["tx"]["3"]) == D("580.75")

    # Incoming funds: Sweden's 800.00 of 15 March and the private gift of 50.00 of 1 June, both against pledges
    # earmarked for the project; Sweden's second instalment is after the period; Japan's (earmarked for CD)
    # and Norway's (no pledge) belong to no one project. 800.00 + 50.00 = 850.00
    assert sorted(cd["tx"]["1"]) == [(dt.date(2025, 3, 15), D("800.00"), "CT-SE-1"),
                                     (dt.date(2025, 6, 1), D("50.00"), "CT-PR-1")]
    providers = [t.find("provider-org/narrative").text for t in cd["element"].iter("transaction")
                 if t.find("transaction-type").get("code") == "1"]
    assert providers == ["Kingdom of Sweden", "Private donor"]  # a private donor may be a person: unnamed

    # The engine agrees for the same period.
    with app.app_context():
        engine = funding_picture(scope=f"project:{CD_CODE}", date_from=FROM, date_to=TO, with_children=False)
    assert (engine.projects[0].disbursed, engine.projects[0].allocated) == (D("580.75"), D("3700.50"))
    # need 2025 = 4000.00: the budget of the period's one year.
    assert engine.projects[0].need == cd["budgets"][2025]


def test_small_dataset_statuses_dates_and_organisations(app, schema, tmp_path):
    with app.app_context():
        _small_world()
    result, path = _export_as_cli(app, tmp_path, "--from", FROM.isoformat(), "--to", TO.isoformat())
    assert result.exit_code == 0, result.output
    found = activities(assert_valid(schema, path.read_bytes()))
    # active 2: planned and actual start, planned end; pipeline 1: planned dates only;
    # closed 4: its end (30 June 2025) has come by the period's end, so the actual end too.
    assert (found[CD_CODE]["status"], found[CD_CODE]["dates"]) == (
        "2", {"1": "2025-03-01", "2": "2025-03-01", "3": "2026-06-30"})
    assert (found[PIPELINE_CODE]["status"], found[PIPELINE_CODE]["dates"]) == (
        "1", {"1": "2026-01-01", "3": "2027-12-31"})
    assert (found[LR_CODE]["status"], found[LR_CODE]["dates"]) == (
        "4", {"1": "2024-01-01", "2": "2024-01-01", "3": "2025-06-30", "4": "2025-06-30"})
    # No budget line: the one sector, assistance to survivors.
    assert found[PIPELINE_CODE]["sectors"] == [("15180", D("100"))]
    assert found[CD_CODE]["roles"] == [
        ("1", REF, "Trust Fund in Support of Victims of Sexual Exploitation and Abuse"),
        ("3", REF, "Trust Fund in Support of Victims of Sexual Exploitation and Abuse"),
        ("4", None, "Mama Test Foundation")]
    partner_types = {code: act["element"].find("participating-org[@role='4']").get("type")
                     for code, act in found.items()}
    assert partner_types[CD_CODE] is None and partner_types[LR_CODE] == "40"  # an NGO: type unknown; UN: 40


def test_small_dataset_export_names_no_one(app, tmp_path):
    with app.app_context():
        _small_world()
    result, path = _export_as_cli(app, tmp_path)
    assert result.exit_code == 0, result.output
    raw = path.read_text(encoding="utf-8")
    assert [s for s in SECRETS if s in raw] == []
    assert "Kingdom of Sweden" in raw  # states that give are named: the search looks at the right file


def test_the_reporting_organisation_comes_from_the_settings(make_app, schema, tmp_path):
    other = make_app(IATI_REPORTING_ORG_REF="XM-DAC-99999", IATI_REPORTING_ORG_NAME="Test Fund")
    with other.app_context():
        factories.ProjectFactory(code="TF-CD-2025-01")
    result, path = _export_as_cli(other, tmp_path)
    assert result.exit_code == 0, result.output
    document = assert_valid(schema, path.read_bytes())
    assert document.findtext("iati-activity/iati-identifier") == "XM-DAC-99999-TF-CD-2025-01"
    assert document.find("iati-activity/reporting-org").get("ref") == "XM-DAC-99999"
    assert document.findtext("iati-activity/reporting-org/narrative") == "Test Fund"


# --- the command ------------------------------------------------------------------------------------------------------

def test_the_command_writes_the_file_and_records_the_export(app, schema, tmp_path):
    with app.app_context():
        _small_world()
    result, path = _export_as_cli(app, tmp_path)
    assert result.exit_code == 0, result.output
    assert "3 activities" in result.output
    assert len(activities(assert_valid(schema, path.read_bytes()))) == 3
    with app.app_context():
        event = _db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
        assert (event.entity, event.entity_id, event.ip) == ("iati", "fund", "cli")
        assert event.changes == {"activities": 3, "from": None, "to": today().isoformat()}


@pytest.mark.parametrize("args, message", [
    (["--from", "2025-13-01"], "Invalid value for --from: 2025-13-01 is not a date in the form YYYY-MM-DD"),
    (["--to", "15/11/2025"], "Invalid value for --to: 15/11/2025 is not a date in the form YYYY-MM-DD"),
    (["--from", "2025-06-01", "--to", "2025-01-01"],
     "Invalid value for --to: the period ends before it starts: --from 2025-06-01 is after --to 2025-01-01"),
    (["--from", "2999-01-01"], "Invalid value for --to: the period ends before it starts: --from 2999-01-01 is "
                               f"after --to {today().isoformat()} (today)"),
])
def test_a_bad_period_is_a_clear_usage_error_and_writes_nothing(app, tmp_path, args, message):
    result, path = _export_as_cli(app, tmp_path, *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not path.exists()


def test_the_command_needs_a_file(app):
    result = app.test_cli_runner().invoke(args=["export", "iati"])
    assert result.exit_code == 2 and "'-o' / '--output'" in result.output


# --- the download -----------------------------------------------------------------------------------------------------

@pytest.fixture
def world(app):
    with app.app_context():
        _small_world()
        _db.session.remove()


def test_a_manager_downloads_the_projects_of_their_countries(world, app, sign_in, schema):
    manager = sign_in(role="manager", email="iati.manager@example.org", countries=["CD"])
    response = manager.get(f"/review/iati.xml?from={FROM}&to={TO}")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.headers["Content-Disposition"] == "attachment; filename=iati-activities.xml"
    assert response.headers["Cache-Control"] == "no-store"
    found = activities(assert_valid(schema, response.data))
    assert sorted(found) == [CD_CODE, PIPELINE_CODE]  # not LR's
    assert total(found[CD_CODE]["tx"]["3"]) == D("580.75")  # the period of the query string
    assert [s for s in SECRETS if s in response.get_data(as_text=True)] == []
    with app.app_context():
        event = _db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
        assert (event.entity, event.entity_id) == ("iati", "countries:CD")
        assert event.changes == {"activities": 2, "from": FROM.isoformat(), "to": TO.isoformat()}


def test_an_admin_downloads_every_project_and_a_country_narrows_it(world, sign_in, schema):
    admin = sign_in(role="admin", email="iati.admin@example.org", countries=[])
    everything = activities(assert_valid(schema, admin.get("/review/iati.xml").data))
    assert sorted(everything) == [CD_CODE, PIPELINE_CODE, LR_CODE]
    liberia = activities(assert_valid(schema, admin.get("/review/iati.xml?country=LR").data))
    assert sorted(liberia) == [LR_CODE]


def test_a_country_outside_the_managers_countries_is_404(world, sign_in):
    manager = sign_in(role="manager", email="iati.manager@example.org", countries=["CD"])
    assert manager.get("/review/iati.xml?country=LR").status_code == 404


def test_staff_donors_and_strangers_get_no_file(world, app, sign_in):
    staff = sign_in(role="staff", email="iati.staff@example.org", countries=["CD"])
    assert staff.get("/review/iati.xml").status_code == 403
    with app.app_context():
        donor_id = factories.DonorFactory(name="Kingdom of Norway").id
    donor = sign_in(role="donor", email="iati.donor@example.org", donor_id=donor_id)
    assert donor.get("/review/iati.xml").status_code == 404
    anonymous = app.test_client().get("/review/iati.xml")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")


def test_a_period_ending_before_it_starts_sends_back_to_the_review(world, app, sign_in):
    manager = sign_in(role="manager", email="iati.manager@example.org", countries=["CD"])
    response = manager.get("/review/iati.xml?from=2025-11-15&to=2025-02-01&country=CD")
    assert response.status_code == 302
    assert response.headers["Location"] == "/review/?country=CD"
    page = manager.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nothing exported" in page
    with app.app_context():
        assert _db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all() == []


def test_the_review_links_to_the_download(world, sign_in):
    manager = sign_in(role="manager", email="iati.manager@example.org", countries=["CD"])
    page = manager.get("/review/?country=CD&from=2025-02-01").get_data(as_text=True)
    assert 'href="/review/iati.xml?country=CD&amp;from=2025-02-01"' in page
