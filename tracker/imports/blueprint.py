"""The ``imports`` blueprint. Its views attach themselves to it; ``tracker/imports/__init__.py`` imports them."""
from flask import Blueprint

bp = Blueprint("imports", __name__)
