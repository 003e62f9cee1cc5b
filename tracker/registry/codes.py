"""Pseudonymous codes: ``CD-M-00042`` for a mother, ``CD-C-00042-1`` for her first child.

Numbers come from a per-country counter that only goes up, so a code is
never handed out twice, even after a record is removed.
"""
from __future__ import annotations

from sqlalchemy import insert, inspect, select, update
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


def lock_counter(session, country: str, kind: str) -> int:
    """The last number of ``kind`` handed out for ``country``, its counter locked until commit as
    :func:`next_number` locks it (an ``UPDATE``: the row's lock on PostgreSQL, the database's write lock on
    SQLite; created at 0 when missing): for a batch that hands out numbers itself, then stores the last one
    (:func:`store_counter`)."""
    for _attempt in range(3):
        last = session.execute(
            update(CodeSequence).where(CodeSequence.country == country, CodeSequence.kind == kind)
            .values(last_value=CodeSequence.last_value).returning(CodeSequence.last_value)
        ).scalar()
        if last is not None:
            return last
        try:
            with session.begin_nested():
                session.execute(insert(CodeSequence).values(country=country, kind=kind, last_value=0))
            return 0
        except IntegrityError:
            continue  # someone created the counter meanwhile: lock theirs
    raise RuntimeError(f"could not lock the counter of {country}-{kind}")


def store_counter(session, country: str, kind: str, last: int) -> None:
    """Store the last number a batch handed out (its counter locked by :func:`lock_counter`)."""
    session.execute(update(CodeSequence).where(CodeSequence.country == country, CodeSequence.kind == kind)
                    .values(last_value=last).execution_options(synchronize_session=False))
    loaded = session.identity_map.get(inspect(CodeSequence).identity_key_from_primary_key((country, kind)))
    if loaded is not None:
        session.expire(loaded, ["last_value"])
