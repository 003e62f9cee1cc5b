"""The ``api`` blueprint. Its views attach themselves to it; ``tracker/api/__init__.py`` imports them."""
from flask import Blueprint

from tracker.api.problems import ApiError, from_api_error

bp = Blueprint("api", __name__, url_prefix="/api/v1")
#: Every API request is audited and marks its token used: on SQLite each begins as a writer.
bp.writes_on_get = True

bp.register_error_handler(ApiError, from_api_error)
