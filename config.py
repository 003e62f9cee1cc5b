"""Configuration: a class per environment, and the settings read from the environment when the app is made.

``TRACKER_ENV`` picks the class: ``development`` (what ``make run`` and the
``flask`` command in a checkout use), ``testing`` or ``production`` (the
default, so that a server started without it never runs in debug mode).

The classes hold constants only. What the environment may set is listed in
``FROM_ENVIRONMENT`` and read by :func:`read_environment` inside
``create_app``, not when this module is imported: an app made after a
variable changed sees the change, and a bad value stops the start with a
message naming the variable.
"""
import datetime as dt
import os
from decimal import Decimal, InvalidOperation
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _text(name: str, raw: str) -> str:
    return raw


def _number(kind, what: str):
    def parse(name: str, raw: str):
        try:
            return kind(raw)
        except ValueError:
            raise SystemExit(f"{name} must be {what}; got {raw!r}.") from None
    return parse


def _base_url(name: str, raw: str) -> str:
    """An absolute http(s) address without a query, kept without its trailing slash."""
    from urllib.parse import urlsplit

    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SystemExit(f"{name} must be the address the public reaches the Fund's site at, such as "
                         f"https://tracker.example.org; got {raw!r}.")
    return raw.strip().rstrip("/")


def _switch(name: str, raw: str) -> bool:
    """On or off: 1/true/yes/on or 0/false/no/off, in any case."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be on or off (1/true/yes/on or 0/false/no/off); got {raw!r}.")


def _usd(name: str, raw: str) -> Decimal:
    """A sum of US dollars, not negative, with at most two decimals (``10000`` or ``2500.50``)."""
    try:
        value = Decimal(raw.strip())
        cents = value.quantize(Decimal("0.01")) if value.is_finite() else None  # InvalidOperation: absurd sizes
    except InvalidOperation:
        cents = None
    if cents is None or cents < 0 or value != cents:
        raise SystemExit(f"{name} must be a sum of US dollars, not negative, with at most two decimals, "
                         f"such as 10000 or 2500.50; got {raw!r}.")
    return cents


def _iso_date(name: str, raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a date in the form YYYY-MM-DD; got {raw!r}.") from None


#: Settings the environment may give: setting -> (environment variable, parser). An empty variable is unset.
FROM_ENVIRONMENT = {
    "SECRET_KEY": ("SECRET_KEY", _text),
    "TRACKER_DATA_KEY": ("TRACKER_DATA_KEY", _text),
    "SQLALCHEMY_DATABASE_URI": ("DATABASE_URL", _text),
    "SQLITE_BUSY_TIMEOUT": ("SQLITE_BUSY_TIMEOUT", _number(float, "a number of seconds")),
    "LOG_LEVEL": ("LOG_LEVEL", _text),
    "RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", _text),
    "REDIS_URL": ("REDIS_URL", _text),
    "JOBS_QUEUE": ("JOBS_QUEUE", _text),
    "JOBS_STALE_AFTER": ("JOBS_STALE_AFTER", _number(float, "a number of seconds")),
    "LOGIN_RATE_LIMIT": ("LOGIN_RATE_LIMIT", _text),
    "API_RATE_LIMIT": ("API_RATE_LIMIT", _text),
    "TRACKER_LIVE_SINCE": ("TRACKER_LIVE_SINCE", _iso_date),
    "IMPORT_PARSE_SECONDS": ("IMPORT_PARSE_SECONDS", _number(float, "a number of seconds")),
    "IMPORT_JOB_BYTES": ("IMPORT_JOB_BYTES", _number(int, "a number of bytes")),
    "TRUSTED_PROXIES": ("TRUSTED_PROXIES", _number(int, "a whole number of proxies")),
    "ACADEMIC_YEAR_START_MONTH": ("ACADEMIC_YEAR_START_MONTH", _number(int, "a month number from 1 to 12")),
    "REPORT_MIN_CELL": ("REPORT_MIN_CELL", _number(int, "a whole number")),
    "CLAIM_STALLED_DAYS": ("CLAIM_STALLED_DAYS", _number(int, "a whole number of days")),
    "PUBLIC_BASE_URL": ("PUBLIC_BASE_URL", _base_url),
    "PUBLIC_CLAIMS_DASHBOARD": ("PUBLIC_CLAIMS_DASHBOARD", _switch),
    "IATI_REPORTING_ORG_REF": ("IATI_REPORTING_ORG_REF", _text),
    "IATI_REPORTING_ORG_NAME": ("IATI_REPORTING_ORG_NAME", _text),
    "IATI_REPORTING_ORG_NAME_FR": ("IATI_REPORTING_ORG_NAME_FR", _text),
    "ALLOCATION_FOUR_EYES_USD": ("ALLOCATION_FOUR_EYES_USD", _usd),
}


def read_environment(config, environ=None) -> dict:
    """The settings of ``config``'s ``ENVIRONMENT`` that the environment gives, parsed."""
    environ = os.environ if environ is None else environ
    settings = {}
    for setting, (name, parse) in getattr(config, "ENVIRONMENT", {}).items():
        raw = (environ.get(name) or "").strip()
        if raw:
            settings[setting] = parse(name, raw)
    return settings


class Config:
    ENV_NAME = "base"
    DEBUG = False
    TESTING = False
    #: Settings read from the environment when the app is made.
    ENVIRONMENT = FROM_ENVIRONMENT
    SECRET_KEY = None
    #: Fernet keys for personal fields; comma-separated, the first encrypts.
    TRACKER_DATA_KEY = None
    #: DATABASE_URL in the environment.
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'tracker.db'}"
    #: hide_parameters: an error names the statement but never its values (tokens, hashes, ciphertext) in a log.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    SQLALCHEMY_RECORD_QUERIES = False
    #: Seconds a SQLite transaction waits for the write lock while others write; past it the request gets a
    #: "busy, try again" page (503), never a 500 (tracker/__init__.py: WAL, BEGIN IMMEDIATE; tracker/errors.py).
    SQLITE_BUSY_TIMEOUT = 15.0
    #: The lowest level of the lines logged (DEBUG adds a line per request: tracker/security.py).
    LOG_LEVEL = "INFO"
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = ("en", "fr")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: A session ends after this long without a request...
    SESSION_IDLE_TIMEOUT = dt.timedelta(minutes=30)
    #: ...and this long after sign-in, whatever happens (the remember-me cookie included).
    SESSION_ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
    REMEMBER_COOKIE_DURATION = dt.timedelta(hours=12)
    PERMANENT_SESSION_LIFETIME = dt.timedelta(hours=12)
    #: Wrong passwords (or second-factor codes) in a row that lock an account...
    LOGIN_MAX_FAILURES = 6
    #: ...for this long.
    LOGIN_LOCK_DURATION = dt.timedelta(minutes=15)
    #: Roles that must sign in with a second factor (TOTP); they reach nothing before enrolling.
    TWO_FACTOR_REQUIRED_ROLES = ("admin", "manager")
    #: A password set by someone else (an admin's initial password) must be replaced at sign-in.
    PASSWORD_MUST_BE_OWN = True
    #: Jobs (tracker/jobs): on RQ when REDIS_URL (redis://...) is set, in a thread of the web worker otherwise.
    REDIS_URL = None
    #: The RQ queue the workers listen to (`rq worker --url $REDIS_URL tracker`).
    JOBS_QUEUE = "tracker"
    #: A running job's worker touches its heartbeat this often (seconds)...
    JOBS_HEARTBEAT_SECONDS = 10.0
    #: ...and a running job whose heartbeat is older than this is taken for interrupted: run again once, then failed.
    JOBS_STALE_AFTER = 120.0
    #: Look for interrupted jobs (and queued ones left behind) when the app serves its first request.
    JOBS_RECOVER_ON_START = True
    #: Per-IP limits of the sign-in forms (Flask-Limiter); storage in memory unless
    #: RATELIMIT_STORAGE_URI (redis://...) is set, which several workers need to share counts.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    LOGIN_RATE_LIMIT = "20 per minute;200 per hour"
    #: Requests per API token (tracker/api): Flask-Limiter's notation.
    API_RATE_LIMIT = "300 per minute"
    #: The go-live date (``YYYY-MM-DD``): the day the Fund started recording payments in the tracker. Past
    #: payments paid on or before it may be loaded as history (``flask import disbursements --history``,
    #: admins only, no four-eyes approval); a history row paid after it is refused: later payments are
    #: entered and approved. Unset (the default), every history import is refused.
    TRACKER_LIVE_SINCE = None
    #: An import that creates or updates this many rows refreshes PostgreSQL's planner statistics (ANALYZE).
    IMPORT_ANALYZE_ROWS = 500
    #: Limits of reading one spreadsheet (tracker/imports; figures from bench/hostile_workbooks.py): an XLSX whose
    #: parts would unpack to more than this is refused unread (50,000 disbursements with every column filled
    #: unpack to 37.8 MB as openpyxl and pandas write them, 29.9 MB as Excel does)...
    IMPORT_MAX_UNPACKED_BYTES = 64 * 1024 * 1024
    #: ...and one whose shared strings (its cells' texts, all held in memory while the sheet is read) unpack to
    #: more than this (5.0 MB in that workbook as Excel writes it)...
    IMPORT_MAX_SHARED_STRINGS_BYTES = 20 * 1024 * 1024
    #: ...or number more than this (50,000 rows of 14 columns have 700,000 cells).
    IMPORT_MAX_SHARED_STRINGS = 1_000_000
    #: Seconds reading one file (CSV or XLSX) may take, on the upload page and in ``flask import``: that workbook
    #: takes about 3 s of CPU on a 2-core VM, and the other limits stop a hostile file sooner.
    IMPORT_PARSE_SECONDS = 15.0
    #: An uploaded file larger than this (bytes) is checked, then imported, by a job (tracker/imports/jobs.py), so
    #: that no request reads or imports a large file: 32 KB is about 350 disbursement rows in CSV, 1,500 in XLSX,
    #: well under a second's work; a smaller file gets its preview in the request itself.
    IMPORT_JOB_BYTES = 32 * 1024
    #: Strict-Transport-Security max-age in seconds (0: no header; production sends it).
    HSTS_SECONDS = 0
    #: How many reverse proxies in front set X-Forwarded-For/-Proto (0: none trusted).
    TRUSTED_PROXIES = 0
    #: Month in which the academic year starts (9 = September).
    ACADEMIC_YEAR_START_MONTH = 9
    #: Smallest count a donor sees as a number; smaller ones show as "<N".
    REPORT_MIN_CELL = 10
    #: An open paternity claim whose current step is more than this many days old is stalled (staff worklist).
    CLAIM_STALLED_DAYS = 90
    #: The address the public reaches this site at (``https://tracker.example.org``): an issued report prints
    #: PUBLIC_BASE_URL + ``/verify`` as the place to check it. Required to issue reports in production; elsewhere
    #: the address of the request that issues the report is used.
    PUBLIC_BASE_URL = None
    #: Publish the Fund-wide paternity claims figures at /public/claims, without sign-in (suppressed, as of the
    #: end of the previous month). Off unless set: publishing is the Fund's policy decision (docs/security.md).
    PUBLIC_CLAIMS_DASHBOARD = False
    #: The Fund as IATI reporting organisation (``flask export iati``, /review/iati.xml): its organisation
    #: identifier ({registration agency}-{number}) prefixes every iati-identifier. The default is a
    #: placeholder in the IATI agency's own format; set the identifier the Fund is registered under
    #: before publishing to the IATI Registry.
    IATI_REPORTING_ORG_REF = "XI-IATI-TFSEA"
    IATI_REPORTING_ORG_NAME = "Trust Fund in Support of Victims of Sexual Exploitation and Abuse"
    IATI_REPORTING_ORG_NAME_FR = ("Fonds d'affectation spéciale en faveur des victimes "
                                  "d'exploitation et d'atteintes sexuelles")
    #: An allocation plan (tracker/funding/plans.py) whose total is above this many US dollars allocates nothing
    #: until a second manager confirms it; one at or below it is allocated at once by the manager who made it.
    ALLOCATION_FOUR_EYES_USD = Decimal("10000.00")
    #: Rows per page in lists.
    PAGE_SIZE = 50
    #: Largest request body accepted (spreadsheet uploads are checked at 20 MB).
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024
    #: Keys that must come from the environment in production.
    REQUIRED_SETTINGS = ()


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    DEBUG = True
    #: Missing keys are generated once into instance/ and reused.
    GENERATE_MISSING_KEYS = True
    # The demo's printed passwords keep working (they were set by seed-demo, not by their holders).
    PASSWORD_MUST_BE_OWN = False


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    # Two keys: the tests also exercise reading data written under the second.
    TRACKER_DATA_KEY = (
        "3q2-7wnrQ0tYkHEX2rpyoFMIjljyKXwETpMWEFrRv0A=,"
        "Zm0yw1mQiN2NGF_3rJ2s3lBjj_XnHf1CezJ6tFvVbVg="
    )
    # The suite's own database (tests/conftest.py); nothing else is read from the environment.
    ENVIRONMENT = {"SQLALCHEMY_DATABASE_URI": ("TRACKER_TEST_DATABASE_URL", _text)}
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    SERVER_NAME = "localhost"
    # The suite signs managers and admins in with a password only, and signs in
    # often from one address; tests/security/ turns these back on.
    TWO_FACTOR_REQUIRED_ROLES = ()
    PASSWORD_MUST_BE_OWN = False
    RATELIMIT_ENABLED = False
    # Fixed, whatever the environment: the history-import tests load payments of 2025.
    TRACKER_LIVE_SINCE = dt.date(2025, 12, 31)
    # The job tests (tests/jobs) recover interrupted jobs themselves, at the moment they choose.
    JOBS_RECOVER_ON_START = False
    # Uploads are checked in the request, whatever their size; the tests of import jobs set a size.
    IMPORT_JOB_BYTES = None


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    # "__Host-": the browser keeps these cookies only from HTTPS, for this host and path "/".
    SESSION_COOKIE_NAME = "__Host-session"
    REMEMBER_COOKIE_NAME = "__Host-remember_token"
    PREFERRED_URL_SCHEME = "https"
    HSTS_SECONDS = 365 * 24 * 3600
    REQUIRED_SETTINGS = ("DATABASE_URL", "SECRET_KEY", "TRACKER_DATA_KEY")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env():
    name = os.environ.get("TRACKER_ENV", "production").lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise SystemExit(f"TRACKER_ENV must be one of {', '.join(CONFIGS)}; got {name!r}.") from None
