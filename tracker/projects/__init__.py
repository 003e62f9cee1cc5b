from flask import Blueprint

bp = Blueprint("projects", __name__)

from tracker.projects import routes  # noqa: E402,F401
