"""History imports are bounded by the go-live date and audited with their totals (issue 14, point 8).

``flask import disbursements --history`` (and the upload page, for admins)
records payments as paid without four-eyes approval. It needs the go-live date
``TRACKER_LIVE_SINCE`` (2025-12-31 in the tests' settings): without it nothing is
imported; a row paid after it is refused; each history import writes one
``import`` event with the paid rows it added and their USD total.
"""
from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests import factories
from tests.disbursements.test_disbursement_import import (
    HISTORY,
    count,
    csv_bytes,
    fees_line,
    line,
    run,
    stored,
)
from tracker.extensions import db as _db
from tracker.imports.running import ImportRefused
from tracker.models import AuditEvent

#: HISTORY (15.75 + 12.00 + 75.25 USD) and a fourth payment paid on the go-live date itself:
#: 1,234,567 CDF entered 30 December 2025 at the 1 October rate 0.0004 = 493.8268 -> 493.83 USD.
ON_THE_DAY = line("OLD-0004", amount="1234567", entered_on="2025-12-30", paid_on="2025-12-31",
                  payment_reference="BANK-4")
#: 15.75 + 12.00 + 75.25 + 493.83
TOTAL = "596.83"


def import_events() -> list[dict]:
    return [e.changes for e in _db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "import", AuditEvent.entity == "disbursements")
        .order_by(AuditEvent.id))]


def test_a_row_paid_after_the_go_live_date_is_refused_and_nothing_is_saved(people):
    late = line("NEW-0001", amount="30000", entered_on="2026-01-02", paid_on="2026-01-05",
                payment_reference="BANK-9")
    result = run(csv_bytes(*HISTORY, ON_THE_DAY, late), user=people["admin"], history=True)
    assert [str(e) for e in result.errors] == [
        "row 6: paid_on: after the go-live date 2025-12-31; record it through approval"]
    assert not result.committed and count() == 0 and import_events() == []


def test_a_row_paid_on_the_go_live_date_is_history(people):
    result = run(csv_bytes(ON_THE_DAY), user=people["admin"], history=True)
    assert result.committed
    row = stored()["OLD-0004"]
    assert (row["status"], row["paid_on"], row["usd_amount"]) == ("paid", dt.date(2025, 12, 31), Decimal("493.83"))


def test_a_history_import_is_audited_once_with_its_paid_rows_and_usd_total(people):
    result = run(csv_bytes(*HISTORY, ON_THE_DAY), user=people["admin"], history=True)
    assert result.committed and result.created == 4
    [event] = import_events()
    assert event == {"file_rows": 4, "created": 4, "updated": 0, "unchanged": 0, "history": True,
                     "paid_rows": 4, "usd_total": TOTAL, "live_since": "2025-12-31"}
    # The same file again adds nothing, and says so.
    run(csv_bytes(*HISTORY, ON_THE_DAY), user=people["admin"], history=True)
    assert import_events()[1] == {"file_rows": 4, "created": 0, "updated": 0, "unchanged": 4, "history": True,
                                  "paid_rows": 0, "usd_total": "0.00", "live_since": "2025-12-31"}


def test_a_dry_run_and_an_ordinary_import_carry_no_history_figures(people):
    run(csv_bytes(*HISTORY), user=people["admin"], history=True, dry_run=True)
    assert import_events() == []
    run(csv_bytes(fees_line("PAY-0001")), user=people["staff"])
    [event] = import_events()
    assert "usd_total" not in event and event["history"] is False


def test_without_the_go_live_date_history_is_refused_before_any_row(app, people, monkeypatch):
    monkeypatch.setitem(app.config, "TRACKER_LIVE_SINCE", None)
    with pytest.raises(ImportRefused, match="the go-live date is not set"):
        run(csv_bytes(*HISTORY), user=people["admin"], history=True)
    assert count() == 0 and import_events() == []
    # Entering payments for approval does not need it.
    assert run(csv_bytes(fees_line("PAY-0001")), user=people["staff"]).committed


# --- the command and the upload pages ---------------------------------------------------------------------------------

def test_command_without_the_go_live_date_refuses_history(app, cli, monkeypatch):
    monkeypatch.setitem(app.config, "TRACKER_LIVE_SINCE", None)
    result = cli(HISTORY, "--history", "--as", "admin@example.org")
    assert result.exit_code == 1
    assert ("Error: history cannot be imported: the go-live date is not set (TRACKER_LIVE_SINCE=YYYY-MM-DD, "
            "the day payments started going through approval here); nothing was imported") in result.output
    assert count() == 0


def test_command_refuses_a_late_row_and_audits_a_good_file_once(app, cli):
    late = line("NEW-0001", entered_on="2026-01-02", paid_on="2026-01-05", payment_reference="BANK-9")
    refused = cli([*HISTORY, late], "--history", "--as", "admin@example.org")
    assert refused.exit_code == 1
    assert "row 5: paid_on: after the go-live date 2025-12-31; record it through approval" in refused.output
    done = cli([*HISTORY, ON_THE_DAY], "--history", "--as", "admin@example.org")
    assert done.exit_code == 0, done.output
    [event] = import_events()
    assert (event["paid_rows"], event["usd_total"]) == (4, TOTAL)


def _web_admin(app):
    client = app.test_client()
    assert client.post("/login", data={"email": "admin@example.org", "password": factories.PASSWORD}
                       ).status_code == 302
    return client


def _upload(client, rows):
    return client.post("/imports/disbursements", data={"file": (io.BytesIO(csv_bytes(*rows)), "history.csv")},
                       content_type="multipart/form-data")


def test_the_upload_page_imports_history_and_audits_it_once(app, people):
    client = _web_admin(app)
    preview = _upload(client, [*HISTORY, ON_THE_DAY])
    assert preview.status_code == 200
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', preview.get_data(as_text=True)).group(1)
    assert client.post("/imports/disbursements/confirm", data={"token": token}).status_code == 302
    assert count() == 4
    [event] = import_events()
    assert (event["paid_rows"], event["usd_total"], event["history"]) == (4, TOTAL, True)


def test_the_upload_page_refuses_history_without_the_go_live_date(app, people, monkeypatch):
    client = _web_admin(app)
    preview = _upload(client, HISTORY)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', preview.get_data(as_text=True)).group(1)
    monkeypatch.setitem(app.config, "TRACKER_LIVE_SINCE", None)
    # Set no more between the preview and the confirmation: nothing is imported.
    client.post("/imports/disbursements/confirm", data={"token": token})
    assert count() == 0 and import_events() == []
    page = _upload(client, HISTORY).get_data(as_text=True)
    assert "the go-live date is not set" in page and 'name="token"' not in page
    assert count() == 0
