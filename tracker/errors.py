"""The one error type services raise for input they refuse, and the database errors that mean "busy".

Routes show the messages next to the form fields; imports report them as
``row N: column: message``; commands print them and exit 1.

A database that was busy with other people's changes at the same moment
(:func:`database_busy_kind`) is no bug: the app answers 503 with
``Retry-After`` and a page (or problem) saying to try again
(tracker/__init__.py, ``register_errorhandlers``).
"""
from __future__ import annotations


class Invalid(ValueError):
    """Input a service refuses: ``errors`` maps a field (or ``""``) to a message.

    A field may have several messages (a list): ``messages`` keeps each one, ``errors`` joins them with "; ".
    """

    def __init__(self, errors, field: str = ""):
        if not isinstance(errors, dict):
            errors = {field: errors}  # one message (a str or a lazy translation) for one field
        self.messages = {k: [str(m) for m in (v if isinstance(v, (list, tuple)) else [v])]
                         for k, v in errors.items()}
        self.errors = {k: "; ".join(v) for k, v in self.messages.items()}
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in self.errors.items()))


class Errors:
    """Collects what several checks refuse, so that a service reports every field's problem at once.

    ``check(parse, ...)`` runs one parser and returns its value, or ``None`` when it refused (its messages are
    kept); ``add`` keeps a message; ``raise_any()`` raises one :class:`Invalid` holding them all, if any.
    A check that needs a value another check refused is skipped (its value is ``None``)::

        errors = Errors()
        currency = errors.check(v.currency, values["currency"])
        amount = errors.check(v.amount, values["amount"], "amount", currency)
        errors.raise_any()
    """

    def __init__(self):
        self.messages: dict[str, list[str]] = {}

    def add(self, message, field: str = "") -> None:
        self.messages.setdefault(field, []).append(str(message))

    def merge(self, error: Invalid) -> None:
        for field, messages in error.messages.items():
            for message in messages:
                if message not in self.messages.get(field, ()):
                    self.add(message, field)

    def check(self, parse, *args, **kwargs):
        try:
            return parse(*args, **kwargs)
        except Invalid as error:
            self.merge(error)
            return None

    def has(self, *fields: str) -> bool:
        return any(f in self.messages for f in fields)

    def __bool__(self) -> bool:
        return bool(self.messages)

    def raise_any(self) -> None:
        if self.messages:
            raise Invalid(dict(self.messages))


#: Seconds a client is asked to wait (``Retry-After``) before trying again after the database was busy.
BUSY_RETRY_AFTER = 2
#: PostgreSQL's SQLSTATEs for "other transactions held or changed the same rows at the same moment".
_POSTGRES_BUSY = {"40001": "serialization failure", "40P01": "deadlock", "55P03": "lock not available"}


def database_busy_kind(error) -> str | None:
    """What kind of "busy" a database error (a SQLAlchemy ``OperationalError``) is, or ``None`` for another error.

    Busy: SQLite's "database is locked" (the write lock was not free within the
    busy timeout), PostgreSQL's serialization failures, deadlocks and lock
    timeouts. Trying the same request again can succeed. Only codes and the
    fixed wording of SQLite's message are read, never values.
    """
    original = getattr(error, "orig", None)
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate:
        return _POSTGRES_BUSY.get(sqlstate)
    name = getattr(original, "sqlite_errorname", None) or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return name
    first_line = (str(original).splitlines() or [""])[0].strip() if original is not None else ""
    if first_line == "database is locked" or first_line.startswith("database table is locked"):
        return first_line.split(":")[0]
    return None
