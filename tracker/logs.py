"""Logging: one line per record on standard error, each carrying the id of the request it belongs to.

Configured once per process through :func:`logging.config.dictConfig` when the app is made (not under the
tests, whose log capture must keep its own handler). The request id is made for each request, or taken from
the ``X-Request-Id`` a trusted reverse proxy sets (``TRUSTED_PROXIES``), and sent back in the answer's
``X-Request-Id`` header, so that a user's "it failed at 10:42" and the access log (``gunicorn.conf.py``) lead
to the same lines. Records never carry names: see docs/security.md.
"""
from __future__ import annotations

import logging
import logging.config
import re
import secrets

from flask import Flask, current_app, g, has_request_context, request
from flask.logging import default_handler

#: What an id from the proxy must look like to be used (anything else is replaced by our own).
_PROXY_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
LINE_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class RequestId(logging.Filter):
    """Put the current request's id on every record (``-`` outside a request: commands, start-up)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def logging_config(level: str = "INFO") -> dict:
    """The dictConfig of the process: the root logger writes lines to standard error."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestId}},
        "formatters": {"line": {"format": LINE_FORMAT}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "line",
                "filters": ["request_id"],
            },
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        # Libraries that narrate their work at INFO (each step of a PDF, each font subset): warnings only.
        "loggers": {name: {"level": "WARNING"} for name in ("weasyprint", "fontTools")},
    }


def init_app(app: Flask) -> None:
    """Configure the process's logging (outside the tests) and give each request its id."""
    if not app.testing:
        logging.config.dictConfig(logging_config(app.config.get("LOG_LEVEL") or "INFO"))
        app.logger.removeHandler(default_handler)  # the root's handler writes the tracker's lines too
    app.before_request(_assign_request_id)
    app.after_request(_send_request_id)


def _assign_request_id() -> None:
    given = request.headers.get("X-Request-Id", "") if current_app.config.get("TRUSTED_PROXIES") else ""
    g.request_id = given if _PROXY_ID.match(given) else secrets.token_hex(8)


def _send_request_id(response):
    if "request_id" in g:
        response.headers["X-Request-Id"] = g.request_id
    return response
