"""Spreadsheet imports: the framework the import kinds plug into.

A kind registers itself with :func:`tracker.imports.kinds.register`; the
``flask import`` command and the upload pages under ``/imports`` then read
its files (:mod:`tracker.imports.reading`) and apply them all-or-nothing
(:func:`tracker.imports.running.run_import`).
"""
from tracker.imports import routes  # noqa: F401 (attaches the views to bp)
from tracker.imports.blueprint import bp

__all__ = ["bp"]
