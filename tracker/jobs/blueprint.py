"""The ``jobs`` blueprint. Its views attach themselves to it; ``tracker/jobs/__init__.py`` imports them."""
from flask import Blueprint

bp = Blueprint("jobs", __name__)
