"""The read-only JSON API under ``/api/v1`` (docs/api.md): bearer tokens, problem+json errors, OpenAPI 3.1."""
from tracker.api import routes  # noqa: F401 (attaches the views to bp)
from tracker.api.blueprint import bp

__all__ = ["bp"]
