"""Configuration read from the environment.

``TRACKER_ENV`` picks the class: ``development`` (what ``make run`` and the
``flask`` command in a checkout use), ``testing`` or ``production`` (the
default, so that a server started without it never runs in debug mode).
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


class Config:
    ENV_NAME = "base"
    DEBUG = False
    TESTING = False
    SECRET_KEY = os.environ.get("SECRET_KEY")
    #: Fernet keys for personal fields; comma-separated, the first encrypts.
    TRACKER_DATA_KEY = os.environ.get("TRACKER_DATA_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE_DIR / 'tracker.db'}"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    LANGUAGES = ("en", "fr")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    #: Month in which the academic year starts (9 = September).
    ACADEMIC_YEAR_START_MONTH = int(os.environ.get("ACADEMIC_YEAR_START_MONTH", "9"))
    #: Smallest count a donor sees as a number; smaller ones show as "<N".
    REPORT_MIN_CELL = int(os.environ.get("REPORT_MIN_CELL", "10"))
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


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    # Two keys: the tests also exercise reading data written under the second.
    TRACKER_DATA_KEY = (
        "3q2-7wnrQ0tYkHEX2rpyoFMIjljyKXwETpMWEFrRv0A=,"
        "Zm0yw1mQiN2NGF_3rJ2s3lBjj_XnHf1CezJ6tFvVbVg="
    )
    SQLALCHEMY_DATABASE_URI = os.environ.get("TRACKER_TEST_DATABASE_URL") or "sqlite://"
    WTF_CSRF_ENABLED = False
    SERVER_NAME = "localhost"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
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
