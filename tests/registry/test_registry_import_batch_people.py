"""The beneficiaries, children and enrolments imports in batches give what row by row gives (``Kind.apply_batch``
beside ``apply_row``): the same records with the same codes, the same audit events, the same errors in the same
order; and a batch the database refuses is applied again row by row, which names the row.

Each file mixes good rows (new records, records found, repeats, corrections, also of records made earlier in the
same file) and bad rows of every message; the good rows alone are imported in the second test of each kind.
Expected figures are worked out by hand in the comments.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select, text

from tests import factories
from tests.registry.batch_helpers import both, kinds_of, run
from tests.registry.test_registry_imports import (
    BENEFICIARY_COLUMNS,
    CD,
    CF,
    CHILD_COLUMNS,
    ENROLMENT_COLUMNS,
    NEXT_YEAR,
)
from tracker.crypto import keyring
from tracker.extensions import db as _db
from tracker.models import (
    AuditEvent,
    Beneficiary,
    Child,
    CodeSequence,
    Disbursement,
    Enrolment,
    User,
)
from tracker.models.base import now_utc, today
from tracker.registry import import_batch

STAFF = "staff.cd@example.org"
M42, M43 = "CD-M-00042", "CD-M-00043"
THIS_YEAR = today().year


def _staff():
    factories.UserFactory(role="staff", email=STAFF, countries=["CD"])


def _rows(mixed):
    """The rows of a mixed file, and the errors expected: ``row N: ...`` for each row given one."""
    rows = [row for row, _said in mixed]
    errors = [f"row {number}: {said}" for number, (_row, said) in enumerate(mixed, start=2) if said]
    return rows, errors


def _good(mixed):
    return [row for row, said in mixed if not said]


def _staff_user():
    return _db.session.scalar(select(User).where(User.email == STAFF))


# --- beneficiaries ---------------------------------------------------------------------------------------------------

def mothers_world():
    """Projects CD (active), TF-CD-2019-01 (closed) and CF; CD-M-00042 Furaha Mwamini (1990, Ibanda, no phone),
    CF-M-00001, and registered after them another Furaha Mwamini born in 1990, CD-M-00041 (Kalehe); the CD counter
    at 42. A staff member of CD."""
    with factories.one_commit():
        _staff()
        cd = factories.ProjectFactory(code=CD, country="CD")
        factories.ProjectFactory(code="TF-CD-2019-01", country="CD", status="closed")
        cf = factories.ProjectFactory(code=CF, country="CF")
        factories.BeneficiaryFactory(project=cd, number=42, name="Furaha Mwamini", year_of_birth=1990,
                                     village="Ibanda", enrolled_on=dt.date(2025, 1, 15))
        factories.BeneficiaryFactory(project=cf, number=1, name="Grace Ndoye", year_of_birth=1992)
        factories.BeneficiaryFactory(project=cd, number=41, name="Furaha Mwamini", year_of_birth=1990,
                                     village="Kalehe", enrolled_on=dt.date(2025, 1, 15))
        _db.session.add_all([CodeSequence(country="CD", kind="M", last_value=42),
                             CodeSequence(country="CF", kind="M", last_value=1)])


ZAWADI = ["", CD, "Zawadi Later", "+243 810 000 007", "Mugunga", "1999", "2025-04-01", "yes", "yes"]
MOTHERS = [
    (["", CD, "Amani Kahindo", "", "", "1994", "2025-02-03", "yes", "no"], ""),  # new: CD-M-00043
    (["", "TF-ZZ-2025-99", "Unknown Project", "", "", "1994", "2025-02-03", "yes", "no"],
     "project_code: TF-ZZ-2025-99 is not known in your countries"),
    ([M42, CD, "Furaha Mwamini", "", "", "1990", "2025-01-15", "yes", "yes"], ""),  # hers, nothing new
    (["", CF, "Other Country", "", "", "1994", "2025-02-03", "yes", "no"],
     "project_code: TF-CF-2025-01 is not known in your countries"),
    (["", "", "No Project", "", "", "1994", "2025-02-03", "yes", "no"], "project_code: is required"),
    ([M42, CD, "Furaha Mwamini", "+243 810 000 002", "", "1990", "2025-01-15", "yes", "yes"], ""),  # her phone
    (["", CD, "", "", "", "1994", "2025-02-03", "yes", "no"], "full_name: is required"),
    (["", CD, "N" * 201, "", "", "1994", "2025-02-03", "yes", "no"],
     "full_name: is too long (at most 200 characters)"),
    (["", CD, "AMANI KAHINDO", "", "Kavumu", "1994", "2025-02-03", "yes", "no"], ""),  # row 2's, a village
    (["", CD, "Bad Year", "", "", "twenty", "2025-02-03", "yes", "no"], "year_of_birth: twenty is not a whole number"),
    (["", CD, "Future Born", "", "", NEXT_YEAR, "2025-02-03", "yes", "no"],
     f"year_of_birth: must be at most {THIS_YEAR}"),
    (["", CD, "Bad Date", "", "", "1994", "03/02/2025", "yes", "no"],
     "enrolled_on: 03/02/2025 is not a date in the form YYYY-MM-DD"),
    (["CD-M-00050", CD, "Neema Bahati", "", "", "1998", "2025-02-10", "oui", "2025-03-01"], ""),  # counter to 50
    (["CF-M-00001", CD, "Someone", "", "", "1994", "2025-02-03", "yes", "no"],  # found in CF: another project
     "code: CF-M-00001 exists already with other details"),
    ([M42, CD, "Somebody Else", "", "", "1990", "2025-01-15", "yes", "yes"],
     "code: CD-M-00042 exists already with other details"),
    (ZAWADI, ""),  # new: CD-M-00051
    (["", CD, "Bad Consent", "", "", "1994", "2025-02-03", "maybe", "no"],
     "consent_services: maybe is not a date in the form YYYY-MM-DD"),
    (["", CD, "Future Consent", "", "", "1994", "2025-02-03", "yes", f"{NEXT_YEAR}-01-01"],
     "consent_reporting: is in the future"),
    (ZAWADI, ""),  # the same again: hers now
    (["", CD, "Too Young", "", "", "2020", "2025-02-03", "yes", "no"],
     "year_of_birth: she would be under 10 years old at enrolment"),
    (["", "TF-CD-2019-01", "Closed Project", "", "", "1994", "2025-02-03", "yes", "no"],
     "project_code: project TF-CD-2019-01 is closed"),
    # By name: CD-M-00042, registered first (CD-M-00041 would have her village corrected).
    (["", CD, "furaha  mwamini", "", "Ibanda", "1990", "2025-01-15", "yes", "yes"], ""),
    (["", CD, "Long Phone", "0" * 41, "", "1994", "2025-02-03", "yes", "no"],
     "phone: is too long (at most 40 characters)"),
    (["CF-M-00077", CD, "Wrong Country", "", "", "1994", "2025-02-03", "yes", "no"],
     "code: CF-M-00077 is not a mother's code of CD such as CD-M-00042"),
    (["CD-M-00000", CD, "Zero Code", "", "", "1994", "2025-02-03", "yes", "no"],
     "code: CD-M-00000 is not a valid code"),
    ([M42, CD, "Furaha Mwamini", "9" * 41, "", "1990", "2025-01-15", "yes", "yes"],  # a correction refused
     "phone: is too long (at most 40 characters)"),
    (["", CD, "Amani Kahindo", "", "V" * 121, "1994", "2025-02-03", "yes", "no"],  # one of row 2's, refused
     "village: is too long (at most 120 characters)"),
    (["", CD, "Too Many", "", "", "1994", "2025-02-03", "yes", "no", "extra"],
     "the row has 10 cells, the header has 9"),
    ([M43, CD, "Other Woman", "", "", "1980", "2025-02-03", "yes", "no"],  # the code row 2 was given
     "code: CD-M-00043 exists already with other details"),
]


def test_mothers_in_batches_refuse_what_rows_refuse_with_the_same_messages(rq):
    rows, errors = _rows(MOTHERS)
    runs = both(mothers_world, "beneficiaries", BENEFICIARY_COLUMNS, rows, (Beneficiary,), user_email=STAFF)
    assert runs[0].outcome == runs[1].outcome == (errors, 3, 2, 3, False)
    assert runs[0].records == runs[1].records
    assert runs[0].events == runs[1].events == []


def test_mothers_in_batches_get_the_codes_records_and_events_rows_get(rq):
    runs = both(mothers_world, "beneficiaries", BENEFICIARY_COLUMNS, _good(MOTHERS), (Beneficiary, CodeSequence),
                user_email=STAFF)
    row_by_row, in_batches = runs
    assert in_batches.outcome == row_by_row.outcome == ([], 3, 2, 3, True)
    assert in_batches.records == row_by_row.records
    assert in_batches.events == row_by_row.events
    mothers = {m["code"]: m for m in in_batches.records["beneficiaries"]}
    assert sorted(mothers) == ["CD-M-00041", "CD-M-00042", "CD-M-00043", "CD-M-00050", "CD-M-00051", "CF-M-00001"]
    assert [(m["full_name"], m["phone"], m["village"]) for m in (mothers[c] for c in sorted(mothers))] == [
        ("Furaha Mwamini", None, "Kalehe"),
        ("Furaha Mwamini", "+243 810 000 002", "Ibanda"), ("Amani Kahindo", None, "Kavumu"),
        ("Neema Bahati", None, None), ("Zawadi Later", "+243 810 000 007", "Mugunga"), ("Grace Ndoye", None, None)]
    assert (mothers["CD-M-00050"]["consent_services_on"], mothers["CD-M-00050"]["consent_reporting_on"]) == (
        dt.date(2025, 2, 10), dt.date(2025, 3, 1))
    assert [(c["country"], c["last_value"]) for c in in_batches.records["code_sequences"]] == [("CD", 51), ("CF", 1)]
    assert kinds_of(in_batches.events) == [
        ("create", "beneficiaries", "CD-M-00043"), ("update", "beneficiaries", "CD-M-00042"),
        ("update", "beneficiaries", "CD-M-00043"), ("create", "beneficiaries", "CD-M-00050"),
        ("create", "beneficiaries", "CD-M-00051"), ("import", "beneficiaries", None)]
    created, phone, village = (e[5] for e in in_batches.events[:3])
    assert (phone, village) == ({"phone": "(personal)"}, {"village": "(personal)"})
    assert (created["full_name"], created["name_hash"], created["code"], created["number"], created["children_seq"]) \
        == ("(personal)", "(secret)", [None, "CD-M-00043"], [None, 43], [None, 0])
    assert "phone" not in created and "village" not in created  # empty


def test_mothers_registered_in_batches_are_encrypted_and_never_in_the_trail(rq):
    mothers_world()
    result = run("beneficiaries", [ZAWADI], BENEFICIARY_COLUMNS, batch=True, user=_staff_user())
    assert result.created == 1
    name, phone, village = _db.session.execute(text(
        "SELECT full_name, phone, village FROM beneficiaries WHERE code = 'CD-M-00043'")).one()
    assert [keyring().decrypt(token) for token in (name, phone, village)] == [
        "Zawadi Later", "+243 810 000 007", "Mugunga"]
    assert not {"Zawadi", "810 000 007", "Mugunga"} & {token[:40] for token in (name, phone, village)}
    trail = " ".join(str(e.changes) for e in _db.session.scalars(select(AuditEvent)))
    assert "Zawadi" not in trail and "810 000 007" not in trail and "Mugunga" not in trail


def _another_mother(code: str, number: int, name: str):
    project_id = _db.session.scalar(text("SELECT id FROM projects WHERE code = :c"), {"c": CD})
    _db.session.add(Beneficiary(code=code, country="CD", number=number, project_id=project_id, full_name=name,
                                name_hash=keyring().name_hash(name), year_of_birth=1980,
                                enrolled_on=dt.date(2025, 1, 2), status="active", children_seq=0))
    _db.session.flush()


def test_a_mother_code_taken_between_the_look_up_and_the_write_is_named_on_its_row(rq, monkeypatch):
    """Someone registers CD-M-00050 after the batch looked its codes up: the database refuses the batch, and row by
    row then names row 6 (Neema Bahati, CD-M-00050 in the file) as it would have."""
    mothers_world()
    real = import_batch._look_up_mothers

    def then_someone_else(rows, ctx, known):
        real(rows, ctx, known)
        _another_mother("CD-M-00050", 50, "Other Woman")

    monkeypatch.setattr(import_batch, "_look_up_mothers", then_someone_else)
    result = run("beneficiaries", _good(MOTHERS), BENEFICIARY_COLUMNS, batch=True, user=_staff_user(),
                 may_fall_back=True)
    assert [str(e) for e in result.errors] == ["row 6: code: CD-M-00050 exists already with other details"]
    assert result.committed is False


def test_a_refused_batch_applied_row_by_row_gives_the_codes_row_by_row_gives(rq, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    from tracker.imports import batching

    real, calls = batching.Writes.write, []

    def refuse_once(self):
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("INSERT", {}, Exception("refused for the test"))
        return real(self)

    row_by_row = both(mothers_world, "beneficiaries", BENEFICIARY_COLUMNS, _good(MOTHERS),
                      (Beneficiary, CodeSequence), user_email=STAFF)[0]
    monkeypatch.setattr(batching.Writes, "write", refuse_once)
    refused = both(mothers_world, "beneficiaries", BENEFICIARY_COLUMNS, _good(MOTHERS),
                   (Beneficiary, CodeSequence), user_email=STAFF, may_fall_back=True)[1]
    assert len(calls) == 1  # the first write (before row 4's correction) was refused; the rest went row by row
    assert refused.outcome == row_by_row.outcome == ([], 3, 2, 3, True)
    assert refused.records == row_by_row.records
    assert refused.events == row_by_row.events


# --- children --------------------------------------------------------------------------------------------------------

def children_world():
    """CD-M-00042 (born 1990, children_seq 1) with CD-C-00042-1 Neema (2016, F); CD-M-00043 (born 1985, no
    child); CF-M-00007 in CF. A staff member of CD."""
    with factories.one_commit():
        _staff()
        cd = factories.ProjectFactory(code=CD, country="CD")
        m42 = factories.BeneficiaryFactory(project=cd, number=42, name="Furaha Mwamini", year_of_birth=1990,
                                           children_seq=1)
        factories.ChildFactory(mother=m42, number=1, first_name="Neema", year_of_birth=2016, sex="F")
        factories.BeneficiaryFactory(project=cd, number=43, name="Amani Kahindo", year_of_birth=1985, children_seq=0)
        cf = factories.ProjectFactory(code=CF, country="CF")
        factories.BeneficiaryFactory(project=cf, number=7, name="Grace Ndoye", year_of_birth=1990)


CHILDREN = [
    (["", M42, "Baraka", "2018", "m"], ""),  # new: CD-C-00042-2
    (["", "CD-M-09999", "Neema", "2016", "F"], "mother_code: CD-M-09999 is not known in your countries"),
    (["", M42, "Neema", "2016", "F"], ""),  # her first child, found by name
    (["", "CF-M-00007", "Neema", "2016", "F"], "mother_code: CF-M-00007 is not known in your countries"),
    (["CD-C-00042-1", M42, "Neema", "2016", "F"], ""),  # the same, by code
    (["", "", "Neema", "2016", "F"], "mother_code: is required"),
    (["CD-C-00042-5", M42, "Imani", "2020", "F"], ""),  # new, numbered 5 by the file
    (["", M42, "", "2016", "F"], "first_name: is required"),
    (["", M42, "N" * 101, "2016", "F"], "first_name: is too long (at most 100 characters)"),
    (["", M42, "Zawadi", "2021", "F"], ""),  # new: CD-C-00042-6, after the 5 given
    (["", M42, "Neema", "twenty", "F"], "year_of_birth: twenty is not a whole number"),
    (["", M42, "Early", "1995", "F"], "year_of_birth: is too early: the mother was born in 1990"),
    (["", M42, "Baraka", "2018", "M"], ""),  # row 2's child again
    (["", M42, "Neema", "2016", "X"], "sex: X is not one of: F, M"),
    (["", M43, "Amani", "2010", "F"], ""),  # new: CD-C-00043-1
    (["CD-C-00043-2", M42, "Other", "2016", "F"],
     "code: CD-C-00043-2 is not a code of a child of CD-M-00042 (such as CD-C-00042-1)"),
    (["CD-C-00042-0", M42, "Zero", "2016", "F"], "code: CD-C-00042-0 is not a valid code"),
    (["CD-C-00042-1", M42, "Somebody", "2016", "F"], "code: CD-C-00042-1 exists already with other details"),
    (["CD-C-00042-2", M42, "Baraka", "2018", "M"], ""),  # the code row 2 was given, same child
    (["CD-C-00042-6", M42, "Other", "2021", "F"], "code: CD-C-00042-6 exists already with other details"),
    (["", M42, "Neema", "2016", "F", "extra"], "the row has 6 cells, the header has 5"),
]


def test_children_in_batches_refuse_what_rows_refuse_with_the_same_messages(rq):
    rows, errors = _rows(CHILDREN)
    runs = both(children_world, "children", CHILD_COLUMNS, rows, (Child,), user_email=STAFF)
    assert runs[0].outcome == runs[1].outcome == (errors, 4, 0, 4, False)
    assert runs[0].events == runs[1].events == []


def test_children_in_batches_get_the_codes_records_and_events_rows_get(rq):
    runs = both(children_world, "children", CHILD_COLUMNS, _good(CHILDREN), (Child, Beneficiary), user_email=STAFF)
    row_by_row, in_batches = runs
    assert in_batches.outcome == row_by_row.outcome == ([], 4, 0, 4, True)
    assert in_batches.records == row_by_row.records
    assert in_batches.events == row_by_row.events
    assert [(c["code"], c["number"], c["first_name"], c["year_of_birth"], c["sex"])
            for c in in_batches.records["children"]] == [
        ("CD-C-00042-1", 1, "Neema", 2016, "F"), ("CD-C-00042-2", 2, "Baraka", 2018, "M"),
        ("CD-C-00042-5", 5, "Imani", 2020, "F"), ("CD-C-00042-6", 6, "Zawadi", 2021, "F"),
        ("CD-C-00043-1", 1, "Amani", 2010, "F")]
    assert [(m["code"], m["children_seq"]) for m in in_batches.records["beneficiaries"]] == [
        (M42, 6), (M43, 1), ("CF-M-00007", 0)]
    # Each child, then her mother's counter moved on (a code from the file below it moves nothing).
    assert [(k, e, i, changes) for (_id, k, e, i, _u, changes) in in_batches.events if k == "update"] == [
        ("update", "beneficiaries", M42, {"children_seq": [1, 2]}),
        ("update", "beneficiaries", M42, {"children_seq": [2, 5]}),
        ("update", "beneficiaries", M42, {"children_seq": [5, 6]}),
        ("update", "beneficiaries", M43, {"children_seq": [0, 1]})]
    assert kinds_of(in_batches.events) == [
        ("create", "children", "CD-C-00042-2"), ("update", "beneficiaries", M42),
        ("create", "children", "CD-C-00042-5"), ("update", "beneficiaries", M42),
        ("create", "children", "CD-C-00042-6"), ("update", "beneficiaries", M42),
        ("create", "children", "CD-C-00043-1"), ("update", "beneficiaries", M43), ("import", "children", None)]
    assert in_batches.events[0][5]["first_name"] == "(personal)"
    raw = _db.session.scalar(text("SELECT first_name FROM children WHERE code = 'CD-C-00042-6'"))
    assert raw != "Zawadi" and keyring().decrypt(raw) == "Zawadi"


def test_a_child_code_taken_between_the_look_up_and_the_write_is_named_on_its_row(rq, monkeypatch):
    """Someone adds CD-C-00042-5 (another child) after the batch looked its codes up: row 5 (Imani, CD-C-00042-5
    in the file) is named, as row by row names it."""
    children_world()
    real = import_batch._look_up_children

    def then_someone_else(rows, ctx, known):
        real(rows, ctx, known)
        mother_id = _db.session.scalar(select(Beneficiary.id).where(Beneficiary.code == M42))
        _db.session.add(Child(code="CD-C-00042-5", mother_id=mother_id, number=5, first_name="Other",
                              year_of_birth=2019, sex="M"))
        _db.session.flush()

    monkeypatch.setattr(import_batch, "_look_up_children", then_someone_else)
    result = run("children", _good(CHILDREN), CHILD_COLUMNS, batch=True, user=_staff_user(),
                 may_fall_back=True)
    assert [str(e) for e in result.errors] == ["row 5: code: CD-C-00042-5 exists already with other details"]
    assert result.committed is False


# --- enrolments ------------------------------------------------------------------------------------------------------

C1, C2 = "CD-C-00042-1", "CD-C-00042-2"


def enrolments_world():
    """CD-C-00042-1 (born 2016) enrolled for 2024-2025 (EP Mapendo, P2, 40000 CDF, 3 terms; term 3 asked for, in
    CDF); CD-C-00042-2 (born 2018), not enrolled; CF-C-00007-1 in CF. A staff member of CD."""
    with factories.one_commit():
        _staff()
        cd = factories.ProjectFactory(code=CD, country="CD")
        mother = factories.BeneficiaryFactory(project=cd, number=42, name="Furaha Mwamini", year_of_birth=1990)
        first = factories.ChildFactory(mother=mother, number=1, first_name="Neema", year_of_birth=2016)
        factories.ChildFactory(mother=mother, number=2, first_name="Baraka", year_of_birth=2018, sex="M")
        enrolment = factories.EnrolmentFactory(child=first, academic_year="2024-2025", school="EP Mapendo", grade="P2",
                                               fee_per_term=Decimal("40000.00"), currency="CDF", terms=3)
        cf_mother = factories.BeneficiaryFactory(project=factories.ProjectFactory(code=CF, country="CF"), number=7,
                                                 name="Grace Ndoye")
        factories.ChildFactory(mother=cf_mother, number=1, first_name="Esther")
    with factories.one_commit():
        _asked_for(enrolment, term=3, currency="CDF")


def _asked_for(enrolment, *, term: int, currency: str):
    """A school-fee payment of ``enrolment``'s term entered (a draft)."""
    child = _db.session.get(Child, enrolment.child_id)
    mother = _db.session.get(Beneficiary, child.mother_id)
    staff = _staff_user()
    _db.session.add(Disbursement(
        reference=f"D-{enrolment.id}-{term}", project_id=mother.project_id, category="school_fees",
        beneficiary_id=mother.id, child_id=child.id, enrolment_id=enrolment.id, term=term, payee="EP Mapendo",
        amount=Decimal("40000.00"), currency=currency, entered_on=dt.date(2025, 3, 1), status="draft",
        entered_by_id=staff.id, entered_at=now_utc()))
    _db.session.flush()


ENROLMENTS = [
    ([C1, "EP Mapendo", "2025-2026", "P3", "45000.50", "CDF", "3"], ""),  # new
    (["CD-C-00042-9", "EP Mapendo", "2024-2025", "P3", "45000", "CDF", "3"],
     "child_code: CD-C-00042-9 is not known in your countries"),
    ([C1, "EP Mapendo", "2024-2025", "P2", "40000", "CDF", "3"], ""),  # hers, as recorded
    (["CF-C-00007-1", "EP Bangui", "2024-2025", "P3", "15000", "XAF", "3"],
     "child_code: CF-C-00007-1 is not known in your countries"),
    (["", "EP Mapendo", "2024-2025", "P3", "45000", "CDF", "3"], "child_code: is required"),
    ([C1, "EP Mapendo", "2024-2025", "P2B", "40000", "CDF", "3"], ""),  # another grade: corrected
    ([C2, "EP Amani", "2024/2025", "P1", "30000", "CDF", "3"],
     "academic_year: 2024/2025 is not an academic year such as 2025-2026"),
    ([C2, "EP Amani", "2035-2036", "P1", "30000", "CDF", "3"], "academic_year: 2035-2036 is out of range"),
    ([C2, "EP Amani", "2025-2026", "P1", "30000", "cdf", "2"], ""),  # new
    ([C2, "EP Amani", "2024-2025", "P1", "45,000", "CDF", "3"],
     "fee_per_term: '45,000' is not a plain amount like 1250.50 (digits and one dot only: no spaces, no commas)"),
    ([C2, "EP Amani", "2024-2025", "P1", "0", "CDF", "3"], "fee_per_term: the amount must be greater than zero"),
    ([C2, "EP Amani", "2024-2025", "P1", "30000", "CDF", "5"], "terms: must be at most 4"),
    ([C2, "S" * 201, "2024-2025", "P1", "30000", "CDF", "3"], "school: is too long (at most 200 characters)"),
    ([C2, "EP Amani", "2024-2025", "P1", "30000", "ZZZ", "3"],
     "currency: ZZZ is not an ISO 4217 currency code such as USD"),
    ([C2, "EP Amani", "2025-2026", "P1", "32000", "CDF", "2"], ""),  # row 10's fee corrected
    ([C2, "EP Amani", "2019-2020", "P1", "30000", "CDF", "3"], "academic_year: the child was born in 2018"),
    ([C1, "EP Mapendo", "2024-2025", "P2B", "40000", "CDF", "2"], "terms: term 3 has a payment already"),
    ([C1, "EP Mapendo", "2024-2025", "P2B", "40", "USD", "3"], "currency: payments in CDF exist already"),
    ([C1, "EP Mapendo", "2024-2025", "P2B", "abc", "CDF", "3"],
     "fee_per_term: 'abc' is not a plain amount like 1250.50 (digits and one dot only: no spaces, no commas)"),
    ([C1, "EP Mapendo", "2025-2026", "P3", "45000.50", "CDF", "3"], ""),  # row 2 again
]


def test_enrolments_in_batches_refuse_what_rows_refuse_with_the_same_messages(rq):
    rows, errors = _rows(ENROLMENTS)
    runs = both(enrolments_world, "enrolments", ENROLMENT_COLUMNS, rows, (Enrolment,), user_email=STAFF)
    assert runs[0].outcome == runs[1].outcome == (errors, 2, 2, 2, False)
    assert runs[0].events == runs[1].events == []


def test_enrolments_in_batches_make_the_records_and_events_rows_make(rq):
    runs = both(enrolments_world, "enrolments", ENROLMENT_COLUMNS, _good(ENROLMENTS), (Enrolment,),
                user_email=STAFF)
    row_by_row, in_batches = runs
    assert in_batches.outcome == row_by_row.outcome == ([], 2, 2, 2, True)
    assert in_batches.records == row_by_row.records
    assert in_batches.events == row_by_row.events
    assert [(e["id"], e["academic_year"], e["school"], e["grade"], e["fee_per_term"], e["currency"], e["terms"])
            for e in in_batches.records["enrolments"]] == [
        (1, "2024-2025", "EP Mapendo", "P2B", Decimal("40000.00"), "CDF", 3),
        (2, "2025-2026", "EP Mapendo", "P3", Decimal("45000.50"), "CDF", 3),
        (3, "2025-2026", "EP Amani", "P1", Decimal("32000.00"), "CDF", 2)]
    assert [(k, e, i, changes) for (_id, k, e, i, _u, changes) in in_batches.events if k == "update"] == [
        ("update", "enrolments", "1", {"grade": ["P2", "P2B"]}),
        ("update", "enrolments", "3", {"fee_per_term": ["30000.00", "32000.00"]})]
    assert kinds_of(in_batches.events) == [
        ("create", "enrolments", "2"), ("update", "enrolments", "1"), ("create", "enrolments", "3"),
        ("update", "enrolments", "3"), ("import", "enrolments", None)]


def test_an_enrolment_made_between_the_look_up_and_the_write_is_named_on_its_rows(rq, monkeypatch):
    """Someone enrols CD-C-00042-2 for 2025-2026 in USD, and asks for its first term, after the batch looked the
    enrolments up: rows 5 and 6 (that enrolment in CDF) are refused as row by row refuses them."""
    enrolments_world()
    real = import_batch._look_up_enrolments

    def then_someone_else(rows, ctx, known):
        real(rows, ctx, known)
        child_id = _db.session.scalar(select(Child.id).where(Child.code == C2))
        enrolment = Enrolment(child_id=child_id, school="EP Kavumu", academic_year="2025-2026", grade="P1",
                              fee_per_term=Decimal("20.00"), currency="USD", terms=3)
        _db.session.add(enrolment)
        _db.session.flush()
        _asked_for(enrolment, term=1, currency="USD")

    monkeypatch.setattr(import_batch, "_look_up_enrolments", then_someone_else)
    result = run("enrolments", _good(ENROLMENTS), ENROLMENT_COLUMNS, batch=True, user=_staff_user(),
                 may_fall_back=True)
    assert [str(e) for e in result.errors] == ["row 5: currency: payments in USD exist already",
                                               "row 6: currency: payments in USD exist already"]
    assert result.committed is False


def test_a_code_the_database_cannot_compare_is_named_on_its_row_as_row_by_row_names_it(rq, dialect):
    """A NUL inside a mother's code, after the first 8 KB of the file (the reader looks for binary data there):
    PostgreSQL refuses the text itself, so the batch's look-up fails; the batch then goes row by row, which names
    row 403 as it always has. SQLite compares it, and finds no such mother."""
    rows = [["", M42, "Baraka", "2018", "M"], *[["CD-C-00042-1", M42, "Neema", "2016", "F"]] * 400,
            ["", "CD-M-0\x0000042", "Neema", "2016", "F"]]
    runs = both(children_world, "children", CHILD_COLUMNS, rows, (Child,), user_email=STAFF, may_fall_back=True)
    said = ("row 403: the value is too long or not valid for the database" if dialect == "postgresql"
            else "row 403: mother_code: CD-M-0\x0000042 is not known in your countries")
    assert runs[0].outcome == runs[1].outcome == ([said], 1, 0, 400, False)
