"""What the disbursements import in batches does to stay cheap per row, without changing what it writes: its audit
events are stored as the very text row by row stores, it asks a rate once per currency and day, and it reads no
personal field of the mothers and children a file names."""
from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import delete, event, text

from tests.disbursements.test_disbursement_import import GOOD, csv_bytes, fees_line, line
from tracker.crypto import KeyRing
from tracker.extensions import db as _db
from tracker.imports.kinds import get_kind
from tracker.imports.reading import parse_upload
from tracker.imports.running import run_import
from tracker.models import Disbursement

# What differs between two imports of one file: the new ids and the moments.
_VARYING = re.compile(r'"(id|entered_at|submitted_at)": \[null, ("[^"]*"|\d+)\]')


def _run(data: bytes, *, batch: bool, user, history=False):
    kind = get_kind("disbursements")
    if not batch:
        kind = dataclasses.replace(kind, apply_batch=None)
    return run_import(kind, parse_upload(data, "d.csv", kind), user=user, dry_run=False, history=history)


def _stored_events(after: int) -> list[tuple[str, str, str]]:
    rows = _db.session.execute(text(
        "SELECT action, entity_id, cast(changes AS text) FROM audit_events "
        "WHERE entity = 'disbursements' AND id > :after ORDER BY id"), {"after": after}).all()
    return [(action, entity_id, _VARYING.sub(r'"\1": [null, ?]', changes)) for action, entity_id, changes in rows]


def _last_event() -> int:
    return _db.session.scalar(text("SELECT coalesce(max(id), 0) FROM audit_events"))


def _both(data: bytes, user, **options) -> list[list[tuple[str, str, str]]]:
    stored = []
    for batch in (False, True):
        after = _last_event()
        result = _run(data, batch=batch, user=user, **options)
        assert result.committed and not result.errors
        stored.append(_stored_events(after))
        _db.session.execute(delete(Disbursement))
        _db.session.commit()
    return stored


def test_batches_store_the_audit_text_rows_store(rq, people):
    row_by_row, in_batches = _both(csv_bytes(*GOOD, line("PAY-0005", "outreach", payee='Radio "Maendeleo" é')),
                                   people["staff"])
    assert in_batches == row_by_row
    assert [e[:2] for e in in_batches] == [(action, f"PAY-000{n}") for n in (1, 2, 3, 5)
                                          for action in ("create", "submit")] + [("import", None)]
    create = in_batches[6][2]   # the outreach row's create event, as the column holds it
    assert create.startswith('{"id": [null, ?], "reference": [null, "PAY-0005"], ')
    assert '"payee": [null, "Radio \\"Maendeleo\\" \\u00e9"], "amount": [null, "30000.00"]' in create
    assert in_batches[7][2] == '{"status": ["draft", "submitted"]}'


def test_history_in_batches_stores_the_audit_text_rows_store(rq, people, app):
    app.config["TRACKER_LIVE_SINCE"] = "2025-12-31"
    history = csv_bytes(line("H-1", paid_on="2025-09-20", payment_reference="BANK-1"),
                        fees_line("H-2", paid_on="2025-09-20", payment_reference="BANK-2"))
    row_by_row, in_batches = _both(history, people["admin"], history=True)
    assert in_batches == row_by_row
    assert [e[:2] for e in in_batches] == [("create", "H-1"), ("create", "H-2"), ("import", None)]


def test_history_in_batches_asks_a_rate_once_per_currency_and_day(rq, people, app):
    app.config["TRACKER_LIVE_SINCE"] = "2025-12-31"
    asked = []

    def count(_conn, _cursor, statement, *_args):
        if "exchange_rates" in statement:
            asked.append(statement)

    history = csv_bytes(line("H-1", entered_on="2025-09-15", paid_on="2025-09-20", payment_reference="BANK-1"),
                        line("H-2", entered_on="2025-09-15", paid_on="2025-09-21", payment_reference="BANK-2"),
                        line("H-3", entered_on="2025-10-02", paid_on="2025-10-03", payment_reference="BANK-3"),
                        line("H-4", entered_on="2025-09-15", amount="120.50", currency="USD", paid_on="2025-09-22",
                             payment_reference="BANK-4"))
    event.listen(_db.engine, "before_cursor_execute", count)
    try:
        result = _run(history, batch=True, user=people["admin"], history=True)
    finally:
        event.remove(_db.engine, "before_cursor_execute", count)
    assert result.committed and result.created == 4
    # CDF on 15 September (two rows) and on 2 October; USD needs no rate.
    assert len(asked) == 2
    usd = dict(_db.session.execute(text("SELECT reference, usd_amount FROM disbursements")).all())
    # 30,000 CDF at 0.00035 (the rate from 1 January) = 10.50 USD; at 0.0004 (from 1 October) = 12.00 USD.
    assert usd == {"H-1": 1050, "H-2": 1050, "H-3": 1200, "H-4": 12050}


def test_a_batch_reads_no_name_of_the_mothers_and_children_it_names(rq, people, monkeypatch):
    decrypted = []
    real = KeyRing.decrypt

    def counting(self, token):
        decrypted.append(token)
        return real(self, token)

    _db.session.expire_all()   # nothing left loaded by the fixture
    monkeypatch.setattr(KeyRing, "decrypt", counting)
    result = _run(csv_bytes(*GOOD), batch=True, user=people["staff"])
    assert result.committed and result.created == 3
    assert decrypted == []


def _dry_run(data: bytes, user):
    kind = get_kind("disbursements")
    return run_import(kind, parse_upload(data, "d.csv", kind), user=user, dry_run=True, history=False)


def test_a_dry_run_in_batches_writes_the_rows_but_no_event(rq, people, monkeypatch):
    """The rows go to the database, for it to check them; their events, which nothing could refuse, are left
    out of a run that is rolled back anyway (counted inside the run's transaction, just after the batch's write)."""
    from tracker.disbursements import import_batch

    real, counts = import_batch._insert, []
    count = text("SELECT (SELECT count(*) FROM disbursements), (SELECT count(*) FROM audit_events)")

    def counting(session, rows, ctx):
        real(session, rows, ctx)
        counts.append(tuple(session.execute(count).one()))

    before = tuple(_db.session.execute(count).one())
    monkeypatch.setattr(import_batch, "_insert", counting)
    result = _dry_run(csv_bytes(*GOOD), people["staff"])
    assert (result.created, result.errors, result.committed) == (3, [], False)
    assert counts == [(before[0] + 3, before[1])]
    result = _run(csv_bytes(*GOOD), batch=True, user=people["staff"])
    assert result.committed
    assert counts[1] == (before[0] + 3, before[1] + 6)   # the import: a create and a submit event per row


def test_a_dry_run_names_the_row_the_database_refuses(rq, people, monkeypatch):
    """As in the import: PAY-0002 entered by someone else between the look-up and the write is row 3's problem."""
    from tests import factories
    from tracker.disbursements import import_batch

    real = import_batch._look_up

    def then_another_user(rows, ctx, known):
        real(rows, ctx, known)
        factories.DisbursementFactory(reference="PAY-0002")
        _db.session.flush()

    monkeypatch.setattr(import_batch, "_look_up", then_another_user)
    result = _dry_run(csv_bytes(*GOOD), people["staff"])
    assert [str(e) for e in result.errors] == ["row 3: reference: PAY-0002 exists already with other details"]


@pytest.mark.postgres_only
def test_postgresql_plans_each_batch_look_up_afresh_but_not_the_writes(rq, people, monkeypatch):
    """A generic plan made while ``disbursements`` was small would scan the whole table for every later batch's
    references; the writes keep PostgreSQL's setting (their foreign-key checks reuse their plans)."""
    if _db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan cache")
    from tracker.disbursements import import_batch

    seen = []
    setting = text("SELECT current_setting('plan_cache_mode')")
    real_look_up, real_insert = import_batch._look_up, import_batch._insert

    def look_up(rows, ctx, known):
        seen.append(("look-up", _db.session.scalar(setting)))
        real_look_up(rows, ctx, known)

    def insert(session, rows, ctx):
        seen.append(("write", session.scalar(setting)))
        real_insert(session, rows, ctx)

    before = _db.session.scalar(setting)   # "auto" unless the server says otherwise
    _db.session.rollback()
    monkeypatch.setattr(import_batch, "_look_up", look_up)
    monkeypatch.setattr(import_batch, "_insert", insert)
    result = _run(csv_bytes(*GOOD), batch=True, user=people["staff"])
    assert result.committed
    assert before != "force_custom_plan"
    assert seen == [("look-up", "force_custom_plan"), ("write", before)]
