"""The ``disbursements`` blueprint. Its views attach themselves to it; the package's ``__init__.py`` imports them."""
from flask import Blueprint

bp = Blueprint("disbursements", __name__)
