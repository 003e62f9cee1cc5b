"""Personal fields are encrypted at rest, found by a keyed name hash, and rotatable."""
import hashlib
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select, text

from config import TestingConfig
from tests import factories
from tracker import crypto
from tracker.crypto import DataKeyError, KeyRing
from tracker.models import AuditEvent, Beneficiary, Child

FIRST_KEY, SECOND_KEY = (k.strip() for k in TestingConfig.TRACKER_DATA_KEY.split(","))

NAME = "Bénédicte Mukendi"
PHONE = "+243 812 345 678"
VILLAGE = "Kavumu"
CHILD = "Amani"


@pytest.fixture
def mother(db):
    mother = factories.BeneficiaryFactory(name=NAME, phone=PHONE, village=VILLAGE)
    factories.ChildFactory(mother=mother, first_name=CHILD)
    return mother


def test_mother_personal_fields_are_not_stored_in_clear(db, mother):
    row = db.session.execute(text("select full_name, phone, village from beneficiaries")).one()
    for raw, clear in zip(row, (NAME, PHONE, VILLAGE)):
        assert raw != clear
        assert clear not in raw
        assert "Mukendi" not in raw
        # ...but it is her value, under the data key.
        assert Fernet(FIRST_KEY.encode()).decrypt(raw.encode()).decode() == clear


def test_child_first_name_is_not_stored_in_clear(db, mother):
    raw = db.session.execute(text("select first_name from children")).scalar()
    assert raw != CHILD
    assert CHILD not in raw
    assert Fernet(FIRST_KEY.encode()).decrypt(raw.encode()).decode() == CHILD


def test_personal_fields_read_back_in_clear_through_the_model(db, mother):
    mother_id = mother.id
    db.session.expire_all()
    again = db.session.get(Beneficiary, mother_id)
    assert (again.full_name, again.phone, again.village) == (NAME, PHONE, VILLAGE)
    assert db.session.scalars(select(Child.first_name)).one() == CHILD


def test_same_name_encrypts_differently_each_time(db):
    first = factories.BeneficiaryFactory(name=NAME)
    second = factories.BeneficiaryFactory(name=NAME)
    raws = db.session.execute(
        text("select full_name from beneficiaries where id in (:a, :b)"), {"a": first.id, "b": second.id}
    ).scalars().all()
    assert len(set(raws)) == 2


def test_personal_data_never_reaches_the_sqlite_file(db, mother, dialect):
    if dialect != "sqlite":
        pytest.skip("reads the SQLite database file")
    db.session.commit()
    db.engine.dispose()  # let go of the file so that every page is written out
    path = Path(db.engine.url.database)
    blobs = [path.read_bytes()]
    blobs += [p.read_bytes() for p in path.parent.glob(path.name + "-*")]  # -wal, -journal if any
    assert len(blobs[0]) > 0
    for clear in (NAME, "Mukendi", PHONE, "812 345 678", VILLAGE, CHILD):
        for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
            needle = clear.encode(encoding)
            assert not any(needle in blob for blob in blobs), f"{clear!r} found in the database file ({encoding})"


def test_she_is_found_by_her_name_typed_any_which_way(db, mother):
    ring = crypto.keyring()
    typed = ring.name_hash("  bénédicte   MUKENDI ")
    assert typed == ring.name_hash("Bénédicte Mukendi")
    assert typed == ring.name_hash("Benedicte Mukendi")

    found = db.session.scalars(select(Beneficiary.code).where(Beneficiary.name_hash == typed)).all()
    assert found == [mother.code]


def test_a_different_name_finds_no_one(db, mother):
    ring = crypto.keyring()
    other = ring.name_hash("Bénédicte Mukenda")
    assert other != ring.name_hash(NAME)
    assert db.session.scalars(select(Beneficiary.id).where(Beneficiary.name_hash == other)).all() == []


def test_name_hash_is_keyed(db, mother):
    stored = db.session.execute(text("select name_hash from beneficiaries")).scalar()
    # A plain digest of the normalised name would let anyone confirm a guess.
    assert stored != hashlib.sha256(b"benedicte mukendi").hexdigest()
    assert KeyRing(SECOND_KEY).name_hash(NAME) != stored


def test_normalise_name_folds_case_accents_and_spaces():
    assert crypto.normalise_name("  Marie-Claire \t Ngoyi\n") == "marie-claire ngoyi"
    assert crypto.normalise_name("BÉNÉDICTE") == "benedicte"


def test_value_written_under_the_second_key_is_read(db, mother):
    token = Fernet(SECOND_KEY.encode()).encrypt(b"Katana").decode()
    db.session.execute(text("update beneficiaries set village = :token"), {"token": token})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Beneficiary, mother.id).village == "Katana"


def test_rotation_re_encrypts_under_the_first_key(db, mother, runner):
    token = Fernet(SECOND_KEY.encode()).encrypt(b"Katana").decode()
    db.session.execute(text("update beneficiaries set village = :token"), {"token": token})
    db.session.commit()

    result = runner.invoke(args=["data-key", "rotate"])

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    full_name, village = db.session.execute(text("select full_name, village from beneficiaries")).one()
    first_only = Fernet(FIRST_KEY.encode())
    assert first_only.decrypt(village.encode()) == b"Katana"
    assert first_only.decrypt(full_name.encode()) == NAME.encode()
    with pytest.raises(InvalidToken):
        Fernet(SECOND_KEY.encode()).decrypt(village.encode())
    child_raw = db.session.execute(text("select first_name from children")).scalar()
    assert first_only.decrypt(child_raw.encode()) == CHILD.encode()


def test_rotation_keeps_her_findable_and_writes_no_personal_data_to_the_audit(db, mother, runner):
    result = runner.invoke(args=["data-key", "rotate"])
    assert result.exit_code == 0, result.output

    typed = crypto.keyring().name_hash("benedicte mukendi")
    assert db.session.scalars(select(Beneficiary.code).where(Beneficiary.name_hash == typed)).all() == [mother.code]
    rotated = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "data_key_rotated")).all()
    assert len(rotated) == 1
    assert rotated[0].changes == {"beneficiaries": [None, 1], "children": [None, 1], "jobs": [None, 0],
                                  "users": [None, 0]}


def test_a_token_under_an_unknown_key_cannot_be_read():
    token = KeyRing(FIRST_KEY).encrypt("Kavumu")
    with pytest.raises(DataKeyError):
        KeyRing(SECOND_KEY).decrypt(token)


@pytest.mark.parametrize("keys", ["", " , ", "not-a-fernet-key", FIRST_KEY + ",short"])
def test_key_ring_refuses_missing_or_malformed_keys(keys):
    with pytest.raises(DataKeyError):
        KeyRing(keys)
