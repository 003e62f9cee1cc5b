"""The ``registry`` blueprint. Its views attach themselves to it; ``tracker/registry/__init__.py`` imports them."""
from flask import Blueprint

bp = Blueprint("registry", __name__)
