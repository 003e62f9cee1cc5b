"""The ``funding`` blueprint. Its views attach themselves to it; ``tracker/funding/__init__.py`` imports them."""
from flask import Blueprint

bp = Blueprint("funding", __name__)
