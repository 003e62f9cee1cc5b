"""Logging lines carry the request's id; configuration is read from the environment when the app is made."""
import io
import logging
import logging.config
import re

import pytest

import config
from tracker import create_app, crypto
from tracker.logs import LINE_FORMAT, RequestId, logging_config

HEX16 = re.compile(r"^[0-9a-f]{16}$")


def test_every_answer_carries_a_request_id_of_its_own(client):
    first = client.get("/healthz").headers["X-Request-Id"]
    second = client.get("/login").headers["X-Request-Id"]
    assert HEX16.match(first) and HEX16.match(second)
    assert first != second


def test_a_request_id_from_the_client_is_ignored_without_a_trusted_proxy(client):
    answer = client.get("/healthz", headers={"X-Request-Id": "proxy-made-id-0001"})
    assert HEX16.match(answer.headers["X-Request-Id"])


def test_a_trusted_proxys_request_id_is_kept_and_a_malformed_one_replaced(make_app):
    proxied = make_app(TRUSTED_PROXIES=1).test_client()
    assert proxied.get("/healthz", headers={"X-Request-Id": "proxy-made-id-0001"}).headers["X-Request-Id"] \
        == "proxy-made-id-0001"
    for bad in ("short", "has space in it", "x" * 65, "<script>alert(1)</script>"):
        assert HEX16.match(proxied.get("/healthz", headers={"X-Request-Id": bad}).headers["X-Request-Id"]), bad


def test_a_line_logged_during_a_request_names_its_id(app, client):
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestId())
    handler.setFormatter(logging.Formatter(LINE_FORMAT))
    level = app.logger.level
    app.logger.addHandler(handler)
    app.logger.setLevel(logging.DEBUG)  # tracker/security.py writes a DEBUG line per request
    try:
        answer = client.get("/healthz")
        with app.app_context():
            app.logger.warning("outside any request")
    finally:
        app.logger.removeHandler(handler)
        app.logger.setLevel(level)
    lines = out.getvalue().splitlines()
    assert any(f"DEBUG [{answer.headers['X-Request-Id']}] tracker: GET /healthz 200" in line for line in lines), lines
    assert any("WARNING [-] tracker: outside any request" in line for line in lines), lines


def test_the_logging_configuration_is_accepted_by_dictconfig():
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        logging.config.dictConfig(logging_config("warning"))
        assert root.level == logging.WARNING
        [handler] = root.handlers
        assert any(isinstance(f, RequestId) for f in handler.filters)
        assert logging.getLogger("weasyprint").level == logging.WARNING
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        root.setLevel(saved[0])
        for handler in saved[1]:
            root.addHandler(handler)


# --- configuration from the environment -----------------------------------------------------------------------------


def test_the_environment_is_read_when_the_app_is_made_not_when_config_is_imported(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("ACADEMIC_YEAR_START_MONTH", "1")
    monkeypatch.setenv("REPORT_MIN_CELL", "5")
    app = create_app(config.ProductionConfig, SECRET_KEY="k" * 64, TRACKER_DATA_KEY=crypto.generate_key())
    assert app.config["ACADEMIC_YEAR_START_MONTH"] == 1
    assert app.config["REPORT_MIN_CELL"] == 5
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"
    assert config.ProductionConfig.ACADEMIC_YEAR_START_MONTH == 9  # the class itself is untouched


def test_empty_variables_count_as_unset_and_values_are_parsed():
    settings = config.read_environment(config.ProductionConfig, {
        "TRUSTED_PROXIES": "2", "SQLITE_BUSY_TIMEOUT": "2.5", "TRACKER_LIVE_SINCE": "2025-12-31",
        "SECRET_KEY": "   ", "LOGIN_RATE_LIMIT": "", "UNRELATED": "x",
    })
    import datetime as dt

    assert settings == {"TRUSTED_PROXIES": 2, "SQLITE_BUSY_TIMEOUT": 2.5, "TRACKER_LIVE_SINCE": dt.date(2025, 12, 31)}


@pytest.mark.parametrize("name, raw, says", [
    ("TRUSTED_PROXIES", "one", "TRUSTED_PROXIES must be a whole number of proxies; got 'one'."),
    ("SQLITE_BUSY_TIMEOUT", "15s", "SQLITE_BUSY_TIMEOUT must be a number of seconds; got '15s'."),
    ("TRACKER_LIVE_SINCE", "31/12/2025", "TRACKER_LIVE_SINCE must be a date in the form YYYY-MM-DD; got '31/12/2025'."),
])
def test_a_malformed_variable_stops_the_start_naming_it(name, raw, says):
    with pytest.raises(SystemExit) as stopped:
        config.read_environment(config.ProductionConfig, {name: raw})
    assert str(stopped.value.code) == says


def test_the_test_configuration_reads_only_its_database_from_the_environment():
    settings = config.read_environment(config.TestingConfig, {
        "TRACKER_TEST_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1/x", "DATABASE_URL": "sqlite:///prod.db",
        "SECRET_KEY": "from-the-machine", "TRACKER_LIVE_SINCE": "2020-01-01",
    })
    assert settings == {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1/x"}
