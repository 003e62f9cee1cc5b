"""Two imports numbering mothers or children at the same moment never hand out a code twice, in batches as row by
row: a batch takes the country's counter (mothers) or the mothers' rows (children) with the lock row by row takes,
before its first number, and holds it until the import commits; the other import waits, then numbers after it.

Two threads, each in its own app context (and so its own ``db.session``), released together by a barrier. SQLite
serialises writers on the whole database file, so there is no race to test there: PostgreSQL only.
"""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from tests import factories
from tests.registry.batch_helpers import run
from tests.registry.test_registry_imports import BENEFICIARY_COLUMNS, CD, CHILD_COLUMNS
from tracker.extensions import db as _db
from tracker.models import Beneficiary, Child, CodeSequence

pytestmark = pytest.mark.postgres_only

MOTHERS = 40


@pytest.fixture
def pg_app(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: SQLite serialises writers on the whole file, so there is no row-level race")
    return app


def _together(app, imports) -> list:
    """Run each ``(kind, header, rows, batch)`` import in its own thread, released together; their results."""
    barrier = threading.Barrier(len(imports))
    results: list = [None] * len(imports)

    def one(index, kind, header, rows, batch):
        with app.test_request_context():
            barrier.wait()
            try:
                results[index] = run(kind, rows, header, batch=batch)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=one, args=(i, *args)) for i, args in enumerate(imports)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _mothers(prefix: str) -> list[list[str]]:
    return [["", CD, f"{prefix} Mother {n:02d}", "", "", "1990", "2025-02-03", "yes", "no"] for n in range(MOTHERS)]


@pytest.mark.parametrize("second_in_batches", [True, False], ids=["against-batches", "against-row-by-row"])
def test_two_files_of_mothers_at_once_get_two_runs_of_codes(pg_app, second_in_batches):
    with pg_app.app_context():
        factories.ProjectFactory(code=CD, country="CD")
    first, second = _together(pg_app, [("beneficiaries", BENEFICIARY_COLUMNS, _mothers("First"), True),
                                       ("beneficiaries", BENEFICIARY_COLUMNS, _mothers("Second"), second_in_batches)])
    assert (first.committed, first.created, second.committed, second.created) == (True, MOTHERS, True, MOTHERS)
    with pg_app.app_context():
        numbers = {}
        for code, name in _db.session.execute(select(Beneficiary.code, Beneficiary.full_name)):
            numbers.setdefault(name.split()[0], []).append(int(code.split("-")[2]))
        counter = _db.session.scalar(select(CodeSequence.last_value).where(CodeSequence.country == "CD"))
    # One file numbered 1 to 40, the other 41 to 80, whichever went first: each held the counter to its commit.
    assert sorted(sorted(n) for n in numbers.values()) == [list(range(1, 41)), list(range(41, 81))]
    assert counter == 2 * MOTHERS


@pytest.mark.parametrize("second_in_batches", [True, False], ids=["against-batches", "against-row-by-row"])
def test_two_files_of_children_at_once_number_each_mother_s_children_apart(pg_app, second_in_batches):
    with pg_app.app_context():
        with factories.one_commit():
            project = factories.ProjectFactory(code=CD, country="CD")
            codes = [factories.BeneficiaryFactory(project=project, number=n, year_of_birth=1990).code
                     for n in range(1, MOTHERS + 1)]
    first_rows = [["", code, "Amani", "2015", "F"] for code in codes]
    second_rows = [["", code, "Baraka", "2017", "M"] for code in codes]
    first, second = _together(pg_app, [("children", CHILD_COLUMNS, first_rows, True),
                                       ("children", CHILD_COLUMNS, second_rows, second_in_batches)])
    assert (first.committed, first.created, second.committed, second.created) == (True, MOTHERS, True, MOTHERS)
    with pg_app.app_context():
        children = _db.session.execute(select(Child.code, Child.number, Child.first_name)).all()
        seqs = set(_db.session.scalars(select(Beneficiary.children_seq)))
    # Each mother: one child numbered 1, the other 2, and her counter at 2.
    assert len({code for code, _n, _name in children}) == 2 * MOTHERS
    assert sorted({name: None for *_rest, name in children}) == ["Amani", "Baraka"]
    for name in ("Amani", "Baraka"):
        assert len({n for _c, n, first_name in children if first_name == name}) == 1  # a file's children, one number
    assert seqs == {2}
