"""The ``reports`` blueprint. Its views attach themselves to it; ``tracker/reports/__init__.py`` imports them."""
from flask import Blueprint

bp = Blueprint("reports", __name__)
