"""The ``auth`` blueprint. Its views attach themselves to it; ``tracker/auth/__init__.py`` imports them."""
from flask import Blueprint

bp = Blueprint("auth", __name__)
