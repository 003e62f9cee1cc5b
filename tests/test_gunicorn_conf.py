"""gunicorn.conf.py: the settings the README's deploy command runs with."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from gunicorn.config import Config

CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


def load(monkeypatch, **env) -> Config:
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "GUNICORN_BIND", "TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = Config()
    for name, value in runpy.run_path(str(CONF)).items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_threads_in_a_few_workers_on_the_loopback(monkeypatch):
    config = load(monkeypatch)
    assert (config.worker_class_str, config.workers, config.threads) == ("gthread", 3, 4)
    assert config.bind == ["127.0.0.1:8000"]
    assert config.timeout == 30


def test_the_environment_sets_workers_threads_timeout_and_address(monkeypatch):
    config = load(monkeypatch, WEB_CONCURRENCY="5", GUNICORN_THREADS="8", GUNICORN_TIMEOUT="60",
                  GUNICORN_BIND="0.0.0.0:9000")
    assert (config.workers, config.threads, config.timeout, config.bind) == (5, 8, 60, ["0.0.0.0:9000"])


def test_the_access_log_never_carries_a_query_string(monkeypatch):
    config = load(monkeypatch)
    assert config.accesslog == "-"
    log_format = config.access_log_format
    # %(U)s is the path alone; %(r)s (the request line) and %(q)s (the query) would carry the query string.
    assert "%(U)s" in log_format
    assert "%(r)s" not in log_format and "%(q)s" not in log_format
    # The id the app sends back in X-Request-Id (tracker/logs.py), as in the app's own lines.
    assert "%({x-request-id}o)s" in log_format


@pytest.mark.parametrize("proxies, believed", [("0", []), ("1", ["127.0.0.1", "::1"])])
def test_forwarded_headers_are_believed_only_behind_a_trusted_proxy(monkeypatch, proxies, believed):
    config = load(monkeypatch, TRUSTED_PROXIES=proxies)
    assert config.forwarded_allow_ips == believed


def test_no_control_socket_is_opened(monkeypatch):
    assert load(monkeypatch).control_socket_disable is True
