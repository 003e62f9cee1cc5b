"""The ``admin`` blueprint. Its views attach themselves to it; ``tracker/admin/__init__.py`` imports them."""
from flask import Blueprint

bp = Blueprint("admin", __name__)
