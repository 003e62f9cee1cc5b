"""Small helpers for declaring constraints."""
from sqlalchemy import CheckConstraint


def one_of(column: str, values, name: str | None = None) -> CheckConstraint:
    """A check that ``column`` holds one of ``values`` (a known state or kind)."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name or f"{column}_known")
