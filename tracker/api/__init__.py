"""The read-only JSON API under ``/api/v1`` (docs/api.md): bearer tokens, problem+json errors, OpenAPI 3.1."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
#: Every API request is audited and marks its token used: on SQLite each begins as a writer.
bp.writes_on_get = True

from tracker.api import routes  # noqa: E402,F401
from tracker.api.problems import ApiError, from_api_error  # noqa: E402

bp.register_error_handler(ApiError, from_api_error)
