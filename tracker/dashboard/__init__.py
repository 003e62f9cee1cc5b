"""The managers' underfunding review."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from tracker.dashboard import routes  # noqa: E402,F401
