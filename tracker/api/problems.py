"""Errors of the API as ``application/problem+json`` (RFC 9457), never HTML.

Every error under ``/api/v1`` goes through :func:`problem`: the handlers of the
API raise :class:`ApiError`, and the app's error handlers (tracker/__init__.py,
tracker/security.py) answer with :func:`http_problem` for any HTTP error of an
API path, unknown paths, 405, 429 and 500 included, and a busy database (503).
"""
from __future__ import annotations

from flask import Response, json, request
from werkzeug.exceptions import HTTPException

PREFIX = "/api/v1"
MEDIA_TYPE = "application/problem+json"

#: Status -> (type slug, title). The type is a stable URI reference clients can switch on.
TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("too-large", "Request too large"),
    422: ("invalid-parameter", "Invalid parameter"),
    429: ("too-many-requests", "Too many requests"),
    500: ("internal-error", "Internal server error"),
    #: The database was busy with other requests at the same moment (tracker/errors.py): retry after Retry-After.
    503: ("busy", "Busy, try again"),
}


class ApiError(Exception):
    """An error a handler of the API answers with; ``parameter`` names the query parameter at fault."""

    def __init__(self, status: int, detail: str, *, parameter: str | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.parameter = parameter
        self.headers = headers or {}


def is_api_request() -> bool:
    path = request.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def problem(status: int, detail: str, *, parameter: str | None = None, headers: dict | None = None) -> Response:
    slug, title = TITLES.get(status, ("error", "Error"))
    body = {"type": f"/api/v1/problems/{slug}", "title": title, "status": status, "detail": detail}
    if parameter:
        body["parameter"] = parameter
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_api_error(error: ApiError) -> Response:
    return problem(error.status, error.detail, parameter=error.parameter, headers=error.headers)


def http_problem(error: HTTPException | None, status: int) -> Response:
    """The problem for an HTTP error raised anywhere while answering an API path."""
    if status == 404:
        detail = f"there is no API resource at {request.path}; see /api/v1/openapi.json"
        if request.url_rule is not None:  # a route matched: the record it names does not exist for this token
            detail = "no such resource, or not in your scope"
    elif status == 405:
        allowed = sorted(getattr(error, "valid_methods", None) or ["GET"])
        detail = f"{request.method} is not allowed on {request.path}; the API is read-only (allowed: " \
                 f"{', '.join(allowed)})"
        return problem(405, detail, headers={"Allow": ", ".join(allowed)})
    elif status == 429:
        detail = "too many requests with this token; wait and retry (limit: " + \
                 str(getattr(error, "description", "") or "see the API documentation") + ")"
        headers = {}
        retry = getattr(error, "retry_after", None)
        if retry:
            headers["Retry-After"] = str(retry)
        return problem(429, detail, headers=headers)
    elif status == 500:
        detail = "the server failed to answer this request; it has been logged"
    else:
        detail = (getattr(error, "description", None) or TITLES.get(status, ("", "Error"))[1])
    return problem(status, str(detail))
