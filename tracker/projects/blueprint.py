"""The ``projects`` blueprint. Its views attach themselves to it; ``tracker/projects/__init__.py`` imports them."""
from flask import Blueprint

bp = Blueprint("projects", __name__)
