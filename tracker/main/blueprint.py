"""The ``main`` blueprint. Its views attach themselves to it; ``tracker/main/__init__.py`` imports them."""
from flask import Blueprint

bp = Blueprint("main", __name__)
