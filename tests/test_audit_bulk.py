"""Audit events written in bulk (the batch imports): the same events, stored as the same JSON text, as the ones a
flush or :func:`tracker.audit.record` writes; and rows written as tuples stored as a Core INSERT stores them."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import insert, select, text

from tracker import audit
from tracker.bulk import insert_tuples
from tracker.models import AuditEvent, Beneficiary, Disbursement, ExchangeRate, Partner


def test_creation_changes_as_json_are_the_text_json_dumps_writes():
    changes = audit.creation_changes_json(
        Disbursement, ("id", "reference", "child_id", "payee", "amount", "entered_on"),
        same={"status": "submitted", "top_up": False, "paid_on": None, "version_id": 1})
    row = (12, "PAY-1", None, 'École "Les Anges" \\ Goma\t', Decimal("45000.00"), dt.date(2025, 9, 15))
    # In the model's column order; the empty child_id and paid_on left out; strings as json.dumps escapes them.
    assert changes(row) == (
        '{"id": [null, 12], "reference": [null, "PAY-1"], '
        '"payee": [null, "\\u00c9cole \\"Les Anges\\" \\\\ Goma\\t"], "amount": [null, "45000.00"], '
        '"entered_on": [null, "2025-09-15"], "status": [null, "submitted"], "top_up": [null, false], '
        '"version_id": [null, 1]}')


def test_creation_changes_as_json_name_personal_fields_without_their_values():
    changes = audit.creation_changes_json(Beneficiary, ("code", "full_name", "phone", "enrolled_on"),
                                          same={"village": "Kavumu", "name_hash": "abc123"})
    text_ = changes(("CD-M-00001", "Amina Kavira", None, dt.date(2025, 2, 1)))
    assert text_ == ('{"code": [null, "CD-M-00001"], "full_name": "(personal)", "name_hash": "(secret)", '
                     '"village": "(personal)", "enrolled_on": [null, "2025-02-01"]}')
    assert "Amina" not in text_ and "Kavumu" not in text_ and "abc123" not in text_


def _stored_changes(db) -> list[str | None]:
    return list(db.session.scalars(text("SELECT cast(changes AS text) FROM audit_events ORDER BY id")))


def test_events_written_in_bulk_store_the_text_record_stores(db):
    changes = {"amount": [None, "1.50"], "payee": [None, "École"]}
    audit.record(db.session, "create", entity="disbursements", entity_id="PAY-1", changes=changes)
    db.session.flush()
    as_json = audit.JSONText('{"amount": [null, "1.50"], "payee": [null, "\\u00c9cole"]}')
    audit.insert_events(db.session, [
        {"action": "create", "entity": "disbursements", "entity_id": "PAY-2", "changes": changes, "user_id": None},
        {"action": "create", "entity": "disbursements", "entity_id": "PAY-3", "changes": as_json, "user_id": None},
    ])
    db.session.commit()
    assert _stored_changes(db) == ['{"amount": [null, "1.50"], "payee": [null, "\\u00c9cole"]}'] * 3
    assert [e.changes for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))] == [changes] * 3


def test_empty_changes_written_in_bulk_are_stored_as_a_core_insert_stores_them(db):
    row = {"action": "login", "entity": None, "entity_id": None, "changes": None, "user_id": None}
    db.session.execute(insert(AuditEvent.__table__), [row | {"at": audit.now_utc(), "ip": None}])
    audit.insert_events(db.session, [dict(row)])
    db.session.commit()
    first, second = _stored_changes(db)
    assert first == second


def test_rows_written_as_tuples_are_stored_as_a_core_insert_stores_them(db):
    moment = dt.datetime(2025, 9, 15, 8, 30, 5, 120, tzinfo=dt.UTC)
    values = {"at": moment, "user_id": None, "action": "create", "entity": "x", "entity_id": "1",
              "changes": {"note": [None, "été"]}, "ip": "10.0.0.1"}
    db.session.execute(insert(AuditEvent.__table__), [values])
    insert_tuples(db.session, AuditEvent, ("action", "entity", "entity_id", "changes"),
                  [("create", "x", "1", {"note": [None, "été"]})],
                  same={"at": moment, "user_id": None, "ip": "10.0.0.1"})
    insert_tuples(db.session, ExchangeRate, ("currency", "valid_from", "usd_per_unit"),
                  [("CDF", dt.date(2025, 1, 1), Decimal("0.00035"))])
    db.session.commit()
    core, bulk = db.session.execute(text(
        "SELECT cast(at AS text), user_id, action, entity, entity_id, cast(changes AS text), ip "
        "FROM audit_events ORDER BY id")).all()
    assert core == bulk
    # Money(8) as an integer count of 10^-8, the date as a date: what the types write.
    assert db.session.execute(text(
        "SELECT currency, cast(valid_from AS text), usd_per_unit FROM exchange_rates")).one() == (
        "CDF", "2025-01-01", 35000)


def test_rows_written_as_tuples_give_their_ids_in_the_order_of_the_rows(db):
    names = ["Zawadi", "Amani", "Neema", "Baraka"]
    ids = insert_tuples(db.session, Partner, ("name",), [(n,) for n in names], same={"kind": "ngo"}, key="name")
    db.session.commit()
    by_id = dict(db.session.execute(select(Partner.id, Partner.name)).all())
    assert [by_id[i] for i in ids] == names
    assert len(set(ids)) == 4


def test_a_column_left_out_gets_its_default_as_with_a_core_insert(db):
    insert_tuples(db.session, Partner, ("name",), [("Zawadi",)])
    db.session.commit()
    assert db.session.execute(select(Partner.name, Partner.kind)).one() == ("Zawadi", "ngo")
