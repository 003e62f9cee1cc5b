"""Small helpers for declaring constraints, and for the texts a record keeps in English and in French."""
from sqlalchemy import CheckConstraint


def one_of(column: str, values, name: str | None = None) -> CheckConstraint:
    """A check that ``column`` holds one of ``values`` (a known state or kind)."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name or f"{column}_known")


def in_language(lang: str, english: str, french: str | None) -> str:
    """``french`` when ``lang`` is French (``fr``, ``fr_CA``...) and ``french`` is not blank, else ``english``."""
    if (lang or "").lower().startswith("fr") and french and french.strip():
        return french
    return english
