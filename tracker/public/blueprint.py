"""The ``public`` blueprint. Its views attach themselves to it; ``tracker/public/__init__.py`` imports them."""
from flask import Blueprint

bp = Blueprint("public", __name__)
