"""The disbursements import in batches gives what row by row gives: the same rows, the same audit events, the
same errors (``Kind.apply_batch`` beside ``apply_row``)."""
from __future__ import annotations

import dataclasses
import html
import io
import re

from sqlalchemy import delete, func, select

from tests.disbursements.test_disbursement_import import CHILD, GOOD, csv_bytes, fees_line, line
from tracker.extensions import db as _db
from tracker.imports.kinds import get_kind
from tracker.imports.reading import parse_upload
from tracker.imports.running import run_import
from tracker.models import AuditEvent, Disbursement

_SKIP = {"id", "entered_at", "submitted_at", "paid_at"}


def _run(data: bytes, *, batch: bool, user, history=False):
    kind = get_kind("disbursements")
    if not batch:
        kind = dataclasses.replace(kind, apply_batch=None)
    return run_import(kind, parse_upload(data, "d.csv", kind), user=user, dry_run=False, history=history)


def _state(after: int):
    rows = [{k: v for k, v in vars(d).items() if not k.startswith("_") and k not in _SKIP and not k.endswith("_id")}
            for d in _db.session.scalars(select(Disbursement).order_by(Disbursement.id))]
    events = []
    for e in _db.session.scalars(select(AuditEvent).where(AuditEvent.entity == "disbursements", AuditEvent.id > after)
                                 .order_by(AuditEvent.id)):
        changes = {k: v for k, v in (e.changes or {}).items() if k not in _SKIP and not k.endswith("_id")}
        events.append((e.action, e.entity_id, e.user_id is not None, changes))
    return rows, events


def _both(data: bytes, user, **options):
    """Import ``data`` row by row, note what it gave, undo it, import it in batches; both results."""
    results, states = [], []
    for batch in (False, True):
        after = _db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
        result = _run(data, batch=batch, user=user, **options)
        results.append(([str(e) for e in result.errors], result.created, result.unchanged))
        states.append(_state(after))
        _db.session.execute(delete(Disbursement))
        _db.session.commit()
    return results, states


FILE = csv_bytes(
    *GOOD,
    fees_line("PAY-0004", term="2"),
    fees_line("PAY-0005", term="2"),                      # the term is held by PAY-0004
    fees_line("PAY-0006", term="9"),
    line("PAY-0002", "iga", income="IGA-CD-0001", payee="Tailoring supplies", amount="350000"),
    line("PAY-0007", mother="CD-M-00999"),
    line("PAY-0008", child=CHILD, year="2024-2025"),
    line("PAY-0009", project="TF-CF-2025-01"),
)


def test_batches_refuse_what_rows_refuse_with_the_same_messages(rq, people):
    results, states = _both(FILE, people["staff"])
    assert results[0] == results[1]
    assert results[0][0]  # the file has bad rows: nothing saved either way
    assert states[0] == states[1] == ([], [])


def test_batches_write_the_rows_and_events_rows_write(rq, people):
    good = csv_bytes(*GOOD, fees_line("PAY-0004", term="2"), line("PAY-0005", "outreach"))
    results, states = _both(good, people["staff"])
    assert results[0] == results[1] == ([], 5, 0)
    assert states[0][0] == states[1][0]
    assert [e[:2] for e in states[0][1]] == [e[:2] for e in states[1][1]]
    for a, b in zip(states[0][1], states[1][1], strict=True):
        assert a == b
    assert [e[0] for e in states[1][1]] == ["create", "submit"] * 5 + ["import"]


def test_history_in_batches_is_the_history_row_by_row(rq, people, app):
    app.config["TRACKER_LIVE_SINCE"] = "2025-12-31"
    history = csv_bytes(line("H-1", paid_on="2025-09-20", payment_reference="BANK-1"),
                        fees_line("H-2", paid_on="2025-09-20", payment_reference="BANK-2"))
    results, states = _both(history, people["admin"], history=True)
    assert results[0] == results[1] == ([], 2, 0)
    assert states[0][0] == states[1][0]
    assert [e[:2] for e in states[0][1]] == [e[:2] for e in states[1][1]]
    for a, b in zip(states[0][1], states[1][1], strict=True):
        assert a == b
    assert [e[0] for e in states[1][1]] == ["create", "create", "import"]


def test_a_batch_the_database_refuses_is_applied_row_by_row(rq, people, monkeypatch):
    """A refused batch (here refused once, as a race would) falls back to a savepoint per row: same result."""
    from sqlalchemy.exc import IntegrityError

    from tracker.disbursements import import_batch

    real, calls = import_batch._insert, []

    def refuse_once(session, rows, ctx):
        calls.append(len(rows))
        if len(calls) == 1:
            raise IntegrityError("INSERT", {}, Exception("refused for the test"))
        return real(session, rows, ctx)

    good = csv_bytes(*GOOD, fees_line("PAY-0004", term="2"))
    row_by_row = _run(good, batch=False, user=people["staff"])
    expected = _state(0)[0]
    _db.session.execute(delete(Disbursement))
    _db.session.commit()
    monkeypatch.setattr(import_batch, "_insert", refuse_once)
    in_batches = _run(good, batch=True, user=people["staff"])
    assert calls == [4]  # one batch, refused; its four rows then went in one by one
    assert (in_batches.created, in_batches.errors) == (row_by_row.created, row_by_row.errors) == (4, [])
    assert _state(0)[0] == expected


def test_the_row_the_database_refuses_in_a_batch_is_named(rq, people, monkeypatch):
    """Someone enters PAY-0002 for another mother after the batch looked its references up and before it writes:
    the database refuses the batch, and the fallback names row 3 (PAY-0002) as row by row would."""
    from tests import factories
    from tracker.disbursements import import_batch

    good = csv_bytes(*GOOD, fees_line("PAY-0004", term="2"))
    real = import_batch._look_up

    def then_another_user(rows, ctx, known):
        real(rows, ctx, known)
        factories.DisbursementFactory(reference="PAY-0002")  # another mother, in another project
        _db.session.flush()

    monkeypatch.setattr(import_batch, "_look_up", then_another_user)
    result = _run(good, batch=True, user=people["staff"])
    assert [str(e) for e in result.errors] == ["row 3: reference: PAY-0002 exists already with other details"]
    assert result.committed is False  # all-or-nothing: the three good rows are not saved either


THREE_PROBLEMS = [
    "row 3: mother_code: CD-M-09999 is not known in your countries",
    "row 3: currency: XXX is not an ISO 4217 currency code such as USD",
    "row 3: entered_on: 2026-13-01 is not a date in the form YYYY-MM-DD",
]


def test_a_row_with_three_problems_reports_all_three_row_by_row_and_in_batches(rq, people):
    data = csv_bytes(GOOD[0], line("PAY-0003", mother="CD-M-09999", currency="XXX", entered_on="2026-13-01"))
    (row_by_row, in_batches), _states = _both(data, people["staff"])
    assert row_by_row == in_batches == (THREE_PROBLEMS, 1, 0)
    assert _db.session.scalar(select(func.count(Disbursement.id))) == 0


def test_the_preview_of_a_small_file_lists_the_three_problems_of_a_row(app, rq, people, tmp_path):
    from tests.conftest import AuthActions

    app.config["IMPORT_UPLOAD_DIR"] = str(tmp_path / "uploads")
    data = csv_bytes(GOOD[0], line("PAY-0003", mother="CD-M-09999", currency="XXX", entered_on="2026-13-01"))
    client = app.test_client()
    assert AuthActions(client).login("staff@example.org").status_code == 302
    page = client.post("/imports/disbursements", data={"file": (io.BytesIO(data), "payments.csv")},
                       content_type="multipart/form-data").get_data(as_text=True)
    cells = [" ".join(re.sub(r"<[^>]+>", " ", html.unescape(row)).split())
             for row in re.findall(r"<tr><td class=\"nowrap\">(.*?)</tr>", page, re.S)]
    assert cells == [p.replace("row ", "").replace(": ", " ", 2) for p in THREE_PROBLEMS]
    assert "1 row has a problem" in html.unescape(page)
    assert _db.session.scalar(select(func.count(Disbursement.id))) == 0
