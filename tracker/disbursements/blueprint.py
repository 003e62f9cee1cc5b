"""The ``disbursements`` blueprint. Its views attach themselves to it; ``tracker/disbursements/__init__.py`` imports them."""
from flask import Blueprint

bp = Blueprint("disbursements", __name__)
