"""Declarative base, column types and mixins shared by every model.

``Money`` stores a Decimal exactly as a scaled integer (cents for amounts,
1e-8 for rates) so that SQLite, which has no exact decimal type, and
PostgreSQL keep the same value to the last digit. ``UTCDateTime`` keeps
moments as aware UTC datetimes on both. ``Encrypted`` stores personal
fields as Fernet tokens.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, MetaData, Text
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def today() -> dt.date:
    return now_utc().date()


class Money(TypeDecorator):
    """A Decimal stored exactly as an integer count of ``10**-scale`` units.

    Binding a value with more decimals than the scale raises instead of
    rounding silently; floats are refused.
    """

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int = 2):
        super().__init__()
        self.scale = scale

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, bool) or isinstance(value, float):
            raise TypeError(f"Money columns take Decimal or int, not {type(value).__name__}")
        value = Decimal(value)
        scaled = value.scaleb(self.scale)
        if not scaled.is_finite() or scaled != scaled.to_integral_value():
            raise ValueError(f"{value} does not fit {self.scale} decimal places")
        return int(scaled)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.scale).quantize(Decimal(1).scaleb(-self.scale))

    @property
    def python_type(self):
        return Decimal


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every database (naive values are refused)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use tracker.models.base.now_utc()")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    @property
    def python_type(self):
        return dt.datetime


class Encrypted(TypeDecorator):
    """Text encrypted at rest with the application's data keys."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        from tracker.crypto import keyring

        return keyring().encrypt(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        from tracker.crypto import keyring

        return keyring().decrypt(value)

    @property
    def python_type(self):
        return str


#: Column ``info`` markers read by the audit trail.
PERSONAL = {"personal": True}
SECRET = {"secret": True}
