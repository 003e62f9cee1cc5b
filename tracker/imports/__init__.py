"""Spreadsheet imports: the framework the import kinds plug into.

A kind registers itself with :func:`tracker.imports.base.register`; the
``flask import`` command and the upload pages under ``/imports`` then read
its files (:mod:`tracker.imports.files`) and apply them all-or-nothing
(:func:`tracker.imports.base.run_import`).
"""
from flask import Blueprint

bp = Blueprint("imports", __name__)

from tracker.imports import routes  # noqa: E402,F401
