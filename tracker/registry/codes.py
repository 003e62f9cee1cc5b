"""Pseudonymous codes: ``CD-M-00042`` for a mother, ``CD-C-00042-1`` for her first child.

Numbers come from a per-country counter that only goes up, so a code is
never handed out twice, even after a record is removed.
"""
from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from tracker.models import Beneficiary, CodeSequence


def next_number(session, country: str, kind: str) -> int:
    """Take the next number of ``kind`` for ``country`` (locks the counter row until commit)."""
    for _attempt in range(3):
        taken = session.execute(
            update(CodeSequence)
            .where(CodeSequence.country == country, CodeSequence.kind == kind)
            .values(last_value=CodeSequence.last_value + 1)
            .returning(CodeSequence.last_value)
        ).scalar()
        if taken is not None:
            return taken
        try:
            with session.begin_nested():
                session.execute(insert(CodeSequence).values(country=country, kind=kind, last_value=1))
            return 1
        except IntegrityError:
            continue  # someone created the counter meanwhile: take the next one
    raise RuntimeError(f"could not take a number for {country}-{kind}")


def mother_code(country: str, number: int) -> str:
    return f"{country}-M-{number:05d}"


def child_code(mother: Beneficiary, number: int) -> str:
    return f"{mother.country}-C-{mother.number:05d}-{number}"


def take_child_number(session, mother: Beneficiary) -> int:
    """The mother's next child number, taken under a row lock on PostgreSQL."""
    session.execute(select(Beneficiary.id).where(Beneficiary.id == mother.id).with_for_update())
    session.refresh(mother, ["children_seq"])
    mother.children_seq = (mother.children_seq or 0) + 1
    return mother.children_seq
