"""Pseudonymous codes: numbers per country and kind, never handed out twice."""
from sqlalchemy import select

from tests import factories
from tracker.models import Beneficiary, Child, CodeSequence
from tracker.registry.codes import child_code, mother_code, next_number, take_child_number


def test_numbers_count_up_per_country_and_kind_independently(db):
    taken = [
        ("CD", "M", next_number(db.session, "CD", "M")),
        ("CD", "M", next_number(db.session, "CD", "M")),
        ("CF", "M", next_number(db.session, "CF", "M")),
        ("CD", "C", next_number(db.session, "CD", "C")),
        ("CD", "M", next_number(db.session, "CD", "M")),
        ("CF", "M", next_number(db.session, "CF", "M")),
        ("CF", "M", next_number(db.session, "CF", "M")),
    ]
    db.session.commit()
    assert taken == [
        ("CD", "M", 1), ("CD", "M", 2), ("CF", "M", 1), ("CD", "C", 1), ("CD", "M", 3), ("CF", "M", 2), ("CF", "M", 3),
    ]


def test_numbers_continue_across_transactions(db):
    assert next_number(db.session, "HT", "M") == 1
    db.session.commit()
    db.session.remove()
    assert next_number(db.session, "HT", "M") == 2
    db.session.commit()
    counter = db.session.get(CodeSequence, ("HT", "M"))
    assert counter.last_value == 2


def test_number_of_a_deleted_mother_is_never_reused(db):
    project = factories.ProjectFactory(country="CD")
    mothers = []
    for _ in range(3):
        number = next_number(db.session, "CD", "M")
        mothers.append(factories.BeneficiaryFactory(project=project, number=number, code=mother_code("CD", number)))
    assert [m.code for m in mothers] == ["CD-M-00001", "CD-M-00002", "CD-M-00003"]

    db.session.delete(mothers[-1])
    db.session.commit()

    assert next_number(db.session, "CD", "M") == 4


def test_a_number_taken_in_a_rolled_back_transaction_is_given_again(db):
    """Nothing was saved under it, so handing it out again reuses no code."""
    assert next_number(db.session, "LR", "M") == 1
    db.session.commit()
    assert next_number(db.session, "LR", "M") == 2
    db.session.rollback()
    assert next_number(db.session, "LR", "M") == 2


def test_mother_code_is_country_m_and_five_digits():
    assert mother_code("CD", 42) == "CD-M-00042"
    assert mother_code("CF", 1) == "CF-M-00001"
    assert mother_code("SS", 123456) == "SS-M-123456"  # grows past five digits rather than wrapping


def test_child_code_follows_the_mother_number():
    mother = Beneficiary(country="CD", number=42)
    assert child_code(mother, 1) == "CD-C-00042-1"
    assert child_code(mother, 12) == "CD-C-00042-12"


def test_child_numbers_count_up_per_mother_and_are_never_reused(db):
    mother = factories.BeneficiaryFactory()
    sister = factories.BeneficiaryFactory()

    first = take_child_number(db.session, mother)
    second = take_child_number(db.session, mother)
    other = take_child_number(db.session, sister)
    db.session.commit()
    assert (first, second, other) == (1, 2, 1)

    child = factories.ChildFactory(mother=mother, number=second, code=child_code(mother, second))
    db.session.delete(child)
    db.session.commit()
    assert take_child_number(db.session, mother) == 3
    db.session.commit()
    assert db.session.scalar(select(Beneficiary.children_seq).where(Beneficiary.id == mother.id)) == 3
    assert db.session.scalars(select(Child)).all() == []
