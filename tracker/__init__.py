"""The Trust Fund victim-assistance grant tracker."""
from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask, current_app, g, has_app_context, has_request_context, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

# openpyxl switches to lxml when it is installed (the IATI export needs it). Keep spreadsheets on its standard-library
# path: uploads are parsed through defusedxml there, and a carriage return in a cell survives an export.
# openpyxl reads this when it is first imported, which is later than this package.
os.environ.setdefault("OPENPYXL_LXML", "False")

import config as config_module
from tracker import audit, crypto, i18n, logs, security
from tracker.extensions import babel, csrf, db, login_manager, migrate

BASE_DIR = Path(__file__).resolve().parent.parent


def create_app(config=None, **overrides) -> Flask:
    """Build the application: configure, then wire extensions, blueprints, errors and commands."""
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        instance_path=str(BASE_DIR / "instance"),
    )
    config = config or config_module.config_from_env()
    app.config.from_object(config)
    environment = config_module.read_environment(config)
    app.config.update(environment)
    app.config.update(overrides)
    logs.init_app(app)
    _resolve_secrets(app, environment)
    register_extensions(app)
    register_blueprints(app)
    security.init_app(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def _resolve_secrets(app: Flask, environment: dict) -> None:
    """Refuse to start in production without the keys; in development make them once."""
    if app.config.get("REQUIRED_SETTINGS"):
        present = {
            "DATABASE_URL": "SQLALCHEMY_DATABASE_URI" in environment,
            "SECRET_KEY": bool(app.config.get("SECRET_KEY")),
            "TRACKER_DATA_KEY": bool(app.config.get("TRACKER_DATA_KEY")),
        }
        missing = [name for name in app.config["REQUIRED_SETTINGS"] if not present.get(name)]
        if missing:
            raise SystemExit(
                "The tracker refuses to start in production without "
                + ", ".join(missing)
                + " in the environment (see README.md, 'Deploying')."
            )
    if app.config.get("GENERATE_MISSING_KEYS"):
        os.makedirs(app.instance_path, exist_ok=True)
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = _instance_secret(app, "secret_key", lambda: os.urandom(32).hex())
        if not app.config.get("TRACKER_DATA_KEY"):
            app.config["TRACKER_DATA_KEY"] = _instance_secret(app, "data_key", crypto.generate_key)


def _instance_secret(app: Flask, name: str, make) -> str:
    path = Path(app.instance_path) / name
    if path.exists():
        value = path.read_text().strip()
        if not value:
            raise SystemExit(f"{path} is empty: remove it to have a new key made, or restore the key.")
        return value
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Write-ahead log: readers and the one writer no longer wait for each other. Kept in the file;
        # an in-memory database answers "memory" and stays as it is.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
        # pysqlite opens transactions late and on its own; take that over so that
        # SAVEPOINTs (per-row undo in imports and batches) work as on PostgreSQL.
        dbapi_connection.isolation_level = None


#: Requests of these methods write: on SQLite their transactions begin as writers.
WRITING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection):
    """On SQLite, a transaction that will write takes the write lock as it begins (``BEGIN IMMEDIATE``).

    SQLite has one writer at a time. A transaction begun as a reader that
    writes later cannot wait for its turn: SQLite refuses it at once
    ("database is locked") when another connection is writing or has written
    since it began. One begun as a writer waits up to the busy timeout
    (``SQLITE_BUSY_TIMEOUT``) for its turn instead. So: writers for requests
    that change things (POST and the like) and for commands (``flask
    seed-demo``, imports, migrations; not ``flask shell``); plain readers for
    GET and HEAD, which never wait under the write-ahead log. A GET view that
    writes (an audited view) is marked with :func:`tracker.database.writes_on_get`,
    a blueprint whose every request writes with ``bp.writes_on_get = True``.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _begins_as_writer() else "BEGIN")


def _begins_as_writer() -> bool:
    if has_request_context():
        if g.get("database_busy"):
            return False  # only the page saying so is left to show: it reads
        if request.method in WRITING_METHODS:
            return True
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        blueprint = current_app.blueprints.get(request.blueprint) if request.blueprint else None
        return bool(getattr(view, "writes_on_get", False) or getattr(blueprint, "writes_on_get", False))
    if has_app_context() and g.get("begin_as_writer"):  # tracker.database.as_writer (a job's import)
        return True
    command = click.get_current_context(silent=True)
    # Not `flask shell`: a transaction left open at its prompt would hold the write lock for as long.
    return command is not None and command.command.name != "shell"


def _engine_options(app: Flask) -> None:
    """SQLite waits up to ``SQLITE_BUSY_TIMEOUT`` seconds for the write lock (pysqlite's own default is 5)."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {**options.get("connect_args", {}), "timeout": app.config["SQLITE_BUSY_TIMEOUT"]}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options  # a new dict: the class attribute is shared


def register_extensions(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        os.makedirs(app.instance_path, exist_ok=True)
    _engine_options(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    i18n.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    crypto.init_app(app)
    audit.init_app(app)

    from tracker.auth import sessions

    # The session's id names the user, their session token and its times: see tracker/auth/sessions.py.
    login_manager.user_loader(sessions.load_user)


def _select_locale():
    if not has_request_context():
        return g.get("lang") if has_app_context() else None  # commands: the default language
    if request.blueprint == "public":
        # The same page for everyone who asks alike (it is cached by URL and Accept-Language): ``?lang=`` or the
        # browser, never the signed-in user's setting, whose loading would touch the session (it sets no cookie).
        from tracker.public.routes import chosen_language

        return chosen_language()
    if getattr(current_user, "is_authenticated", False) and current_user.locale:
        return current_user.locale
    chosen = g.get("lang")
    if chosen:
        return chosen
    return request.accept_languages.best_match(["en", "fr"]) or "en"


def register_blueprints(app: Flask) -> None:
    from tracker.admin.blueprint import bp as admin_bp
    from tracker.api.auth import authenticate as api_authenticate
    from tracker.api.blueprint import bp as api_bp
    from tracker.auth.blueprint import bp as auth_bp
    from tracker.auth.permissions import enforce
    from tracker.dashboard.blueprint import bp as dashboard_bp
    from tracker.disbursements.blueprint import bp as disbursements_bp
    from tracker.funding.blueprint import bp as funding_bp
    from tracker.imports.blueprint import bp as imports_bp
    from tracker.jobs import bp as jobs_bp
    from tracker.jobs.queue import recover_on_start
    from tracker.main.blueprint import bp as main_bp
    from tracker.projects.blueprint import bp as projects_bp
    from tracker.public.blueprint import bp as public_bp
    from tracker.registry.blueprint import bp as registry_bp
    from tracker.reports.blueprint import bp as reports_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(projects_bp, url_prefix="/projects")
    app.register_blueprint(imports_bp, url_prefix="/imports")
    app.register_blueprint(registry_bp)
    app.register_blueprint(disbursements_bp)
    app.register_blueprint(funding_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp)
    app.register_blueprint(public_bp)
    app.extensions["tracker.bearer_auth"] = {api_bp.name: api_authenticate}
    if app.config.get("JOBS_RECOVER_ON_START"):
        recover_on_start(app)  # before the permission check, which answers (a redirect) before any other hook
    app.before_request(enforce)


def register_errorhandlers(app: Flask) -> None:
    from werkzeug.exceptions import HTTPException

    from tracker.api.problems import http_problem, is_api_request

    def render_error(code: int, error=None):
        if is_api_request():  # the API answers problem+json, never a page (tracker/api/problems.py)
            return http_problem(error, code)
        return render_template(f"errors/{code}.html"), code

    for code in (400, 403, 404, 405):
        app.register_error_handler(code, lambda e, code=code: render_error(code, e))

    @app.errorhandler(HTTPException)
    def other_http_error(error):
        return http_problem(error, error.code or 500) if is_api_request() else error

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/400.html", csrf=True), 400

    @app.errorhandler(500)
    def internal_error(error):
        db.session.rollback()
        return render_error(500, error)

    @app.errorhandler(OperationalError)
    def database_busy(error):
        """Others were writing at the same moment (tracker/errors.py): 503, try again; any other kind is a 500."""
        from tracker.api.problems import problem
        from tracker.errors import BUSY_RETRY_AFTER, database_busy_kind

        kind = database_busy_kind(error)
        if kind is None:
            raise error
        db.session.rollback()
        g.database_busy = True
        rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
        app.logger.warning("database busy (%s) on %s %s: answered 503, nothing saved", kind, request.method, rule)
        headers = {"Retry-After": str(BUSY_RETRY_AFTER)}
        if is_api_request():
            return problem(503, "the database was busy with other requests at the same moment; nothing was "
                                "changed; try again in a moment", headers=headers)
        return render_template("errors/503.html"), 503, headers


def register_template_helpers(app: Flask) -> None:
    from tracker import formatting, navigation, static_files

    formatting.init_app(app)
    navigation.init_app(app)
    static_files.init_app(app)  # url_for('static', ...) carries the file's hash


def register_commands(app: Flask) -> None:
    from tracker import cli

    cli.init_app(app)
