"""The one error type services raise for input they refuse.

Routes show the messages next to the form fields; imports report them as
``row N: column: message``; commands print them and exit 1.
"""
from __future__ import annotations


class Invalid(ValueError):
    """Input a service refuses: ``errors`` maps a field (or ``""``) to a message."""

    def __init__(self, errors, field: str = ""):
        if not isinstance(errors, dict):
            errors = {field: errors}  # one message (a str or a lazy translation) for one field
        self.errors = {k: str(v) for k, v in errors.items()}
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in self.errors.items()))
