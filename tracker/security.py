"""What every request and response goes through: headers, session limits, sign-in throttling.

- Security headers on every response: a strict Content-Security-Policy (no
  inline script or style anywhere in the templates), ``nosniff``,
  ``Referrer-Policy``, no framing, HSTS in production, and ``no-store`` on
  everything but static files, so no page, PDF or export stays in a cache
  (static files are cached under the hash of their content: tracker/static_files.py).
- The public pages (``PUBLIC_PAGES``: the same figures for everyone, no
  record of anyone) are the exception: a stricter policy still, cacheable
  for an hour, and never a cookie, whoever asks (:class:`PublicPagesSessionInterface`).
- The session's idle and absolute limits (:mod:`tracker.auth.sessions`).
- Users who must still choose their own password or enrol a second factor
  reach nothing else until they have.
- Per-IP rate limits on the sign-in forms (Flask-Limiter; in memory, or in
  Redis when ``RATELIMIT_STORAGE_URI`` is set, as several workers need).
- Per-token rate limits on the JSON API (``API_RATE_LIMIT``; tracker/api).
- The Werkzeug debugger only ever runs in development.
"""
from __future__ import annotations

import logging
import traceback

from flask import Flask, current_app, redirect, render_template, request, url_for
from flask.helpers import get_debug_flag
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from sqlalchemy import inspect as sa_inspect
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "img-src 'self' data:",
    "style-src 'self'",
])

#: The public pages' own policy: nothing but the page's own stylesheet and images; no form, no frame, no script.
PUBLIC_PAGE_POLICY = "; ".join([
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])
#: Public pages (tracker/public) and how long a cache may keep a successful answer, in seconds. They show the
#: same aggregated figures to everyone: no cookie is ever set on them (whoever is signed in), and their
#: successful answers carry :data:`PUBLIC_PAGE_POLICY`; an error answers as any other page, uncached.
PUBLIC_PAGES = {"public.claims": 3600}

#: Endpoints a user who must still enrol a second factor may use.
OPEN_WHILE_ENROLLING = frozenset({"auth.two_factor_setup", "auth.two_factor_start", "auth.two_factor_confirm",
                                  "auth.logout", "static"})
#: Endpoints a user who must still replace a password set by someone else may use.
OPEN_WHILE_CHANGING_PASSWORD = frozenset({"auth.password", "auth.logout", "static"})
#: The sign-in forms, throttled per IP address on POST.
SIGN_IN_ENDPOINTS = ("auth.login", "auth.login_code")


def init_app(app: Flask) -> None:
    """Call after the blueprints are registered: the checks here run after the permission check."""
    _refuse_debugger_outside_development(app)
    if app.config.get("TRUSTED_PROXIES"):
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    _rate_limit_sign_in(app)

    from tracker.auth import sessions

    app.session_interface = PublicPagesSessionInterface()
    app.before_request(finish_sign_in_first)
    app.after_request(sessions.touch)
    app.after_request(security_headers)
    app.after_request(log_request)
    _redact_database_errors_in_logs()


def _refuse_debugger_outside_development(app: Flask) -> None:
    # `flask run --debug` (FLASK_DEBUG=1) would serve the debugger's console whatever DEBUG says.
    if app.config.get("ENV_NAME") != "development" and (app.debug or get_debug_flag()):
        raise SystemExit("The tracker runs in debug mode only with TRACKER_ENV=development: "
                         "the debugger would let anyone run code on the server. Unset FLASK_DEBUG.")


def _rate_limit_sign_in(app: Flask) -> None:
    """One limiter per app, wrapping the sign-in views of this app only."""
    limiter = Limiter(key_func=get_remote_address, default_limits=[],
                      storage_uri=app.config.get("RATELIMIT_STORAGE_URI") or "memory://",
                      key_prefix="tracker")
    limiter.init_app(app)
    app.extensions["tracker.limiter"] = limiter
    if limiter.enabled:
        limit = limiter.shared_limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], scope="sign-in",
                                     methods=["POST"])
        for endpoint in SIGN_IN_ENDPOINTS:
            app.view_functions[endpoint] = limit(app.view_functions[endpoint])
        _rate_limit_api(app, limiter)

    @app.errorhandler(429)
    def too_many(error):
        from tracker.api.problems import http_problem, is_api_request

        if is_api_request():
            return http_problem(error, 429)
        current_app.logger.warning("sign-in attempts throttled for %s", request.remote_addr)
        return render_template("auth/too_many.html"), 429


def _rate_limit_api(app: Flask, limiter: Limiter) -> None:
    """Each API token has ``API_RATE_LIMIT`` (its hash is the key; the public description is limited by address)."""
    from tracker.api.auth import rate_limit, rate_limit_key

    limit = limiter.shared_limit(rate_limit, scope="api", key_func=rate_limit_key)
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.startswith("api."):
            app.view_functions[endpoint] = limit(view)


def finish_sign_in_first():
    """``before_request``: a user who must replace their password or enrol a second factor does that first."""
    if request.endpoint in (None, "static") or request.endpoint in PUBLIC_PAGES or request.blueprint == "api":
        return None  # the API ignores the session: its tokens are made after sign-in is finished; public pages too
    if not current_user.is_authenticated:
        return None
    from tracker.auth import two_factor
    from tracker.auth.services import must_change_password

    user = current_user._get_current_object()
    if must_change_password(user):
        if request.endpoint not in OPEN_WHILE_CHANGING_PASSWORD:
            return redirect(url_for("auth.password"))
    elif two_factor.needs_enrolment(user):
        if request.endpoint not in OPEN_WHILE_ENROLLING:
            return redirect(url_for("auth.two_factor_setup"))
    return None


class PublicPagesSessionInterface(SecureCookieSessionInterface):
    """The signed cookie session, except that a public page never saves it and never answers a cookie.

    Saving the session is the last step of every answer, after the ``after_request`` functions: here, on a
    public page, the Set-Cookie headers that any of them added (Flask-Login's remember-me cookie) go too.
    A signed-in visitor's session is left as it was (its "last seen" does not move).
    """

    def save_session(self, app, session, response) -> None:
        if request.endpoint in PUBLIC_PAGES:
            response.headers.remove("Set-Cookie")  # every one of them
            return
        super().save_session(app, session, response)


def security_headers(response):
    headers = response.headers
    public = request.endpoint in PUBLIC_PAGES and response.status_code == 200
    headers["Content-Security-Policy"] = PUBLIC_PAGE_POLICY if public else CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if current_app.config.get("HSTS_SECONDS"):
        headers["Strict-Transport-Security"] = f"max-age={int(current_app.config['HSTS_SECONDS'])}; includeSubDomains"
    if public:
        headers["Cache-Control"] = f"public, max-age={PUBLIC_PAGES[request.endpoint]}"
    elif request.endpoint != "static":
        # Pages show records of survivors, PDFs and exports carry them: no cache keeps any.
        headers["Cache-Control"] = "no-store"
    return response


def log_request(response):
    """A DEBUG line per request: the route's pattern (never the values in the URL: someone may type a
    name into it), the answer and who asked (an id)."""
    if current_app.logger.isEnabledFor(logging.DEBUG):
        # The user's id from the identity map, never from a column: the view may have committed, and reading an
        # expired attribute would open a new transaction (on SQLite, as a writer) just to write this line.
        state = sa_inspect(current_user._get_current_object(), raiseerr=False)
        user = state.identity[0] if state is not None and state.identity else "-"
        rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
        current_app.logger.debug("%s %s %s user=%s", request.method, rule, response.status_code, user)
    return response


class RedactDatabaseErrors(logging.Filter):
    """A database error is logged with its traceback and its kind, never with the values in its message.

    ``hide_parameters`` keeps SQLAlchemy from printing a statement's values, but
    PostgreSQL itself names the values of a violated key in the error
    ("Key (email)=(...) already exists"). The record keeps the traceback of
    the tracker's code, the SQLSTATE, the table and the constraint.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or record.exc_info[1] is None:
            return True
        from sqlalchemy.exc import StatementError

        error, chain = record.exc_info[1], []
        while error is not None and len(chain) < 10:
            chain.append(error)
            error = error.__cause__ or error.__context__
        database = next((e for e in chain if isinstance(e, StatementError)), None)
        if database is None:
            return True
        original = getattr(database, "orig", None)
        diag = getattr(original, "diag", None)
        details = {
            "sqlstate": getattr(original, "sqlstate", None) or getattr(original, "sqlite_errorname", None),
            "table": getattr(diag, "table_name", None),
            "constraint": getattr(diag, "constraint_name", None),
        }
        summary = f"{type(database).__name__} ({type(original).__name__ if original else '?'}): " + ", ".join(
            f"{k}={v}" for k, v in details.items() if v) + " [message withheld: it may hold values]"
        record.exc_text = ("Traceback (most recent call last):\n"
                           + "".join(traceback.format_tb(record.exc_info[2])) + summary)
        record.exc_info = None
        return True


def _redact_database_errors_in_logs() -> None:
    """On the tracker's loggers (the app's ``tracker`` and each module's ``tracker.*``), once."""
    names = ["tracker"] + [n for n in logging.root.manager.loggerDict if n.startswith("tracker.")]
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactDatabaseErrors) for f in logger.filters):
            logger.addFilter(RedactDatabaseErrors())
