"""The ``dashboard`` blueprint. Its views attach themselves to it; ``tracker/dashboard/__init__.py`` imports them."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__)
