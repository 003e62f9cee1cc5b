"""Configuration: production refuses to start without its secrets; development makes them once."""
import re
import stat

import pytest
from cryptography.fernet import Fernet

import config
import tracker
from tracker import create_app, crypto
from tracker.crypto import DataKeyError

REQUIRED = ("DATABASE_URL", "SECRET_KEY", "TRACKER_DATA_KEY")


@pytest.fixture
def bare_env(monkeypatch):
    """No secrets in the environment, whatever the machine running the tests has."""
    for name in (*REQUIRED, "TRACKER_ENV"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def production_app(**overrides):
    settings = {"SECRET_KEY": None, "TRACKER_DATA_KEY": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    settings.update(overrides)
    return create_app(config.ProductionConfig, **settings)


def _missing_named(message: str) -> set[str]:
    return {name for name in REQUIRED if re.search(rf"\b{name}\b", message)}


def test_production_refuses_to_start_without_any_secret(bare_env):
    with pytest.raises(SystemExit) as stopped:
        production_app()
    message = str(stopped.value.code)
    assert "refuses to start" in message
    assert _missing_named(message) == set(REQUIRED)


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_names_exactly_the_missing_secret(bare_env, missing):
    if missing != "DATABASE_URL":
        bare_env.setenv("DATABASE_URL", "postgresql+psycopg://tracker@db.example/tracker")
    secrets = {"SECRET_KEY": "k" * 64, "TRACKER_DATA_KEY": crypto.generate_key()}
    if missing in secrets:
        secrets[missing] = None
    with pytest.raises(SystemExit) as stopped:
        production_app(**secrets)
    assert _missing_named(str(stopped.value.code)) == {missing}


def test_production_treats_an_empty_secret_as_missing(bare_env):
    bare_env.setenv("DATABASE_URL", "")
    with pytest.raises(SystemExit) as stopped:
        production_app(SECRET_KEY="", TRACKER_DATA_KEY=crypto.generate_key())
    assert _missing_named(str(stopped.value.code)) == {"DATABASE_URL", "SECRET_KEY"}


def test_production_refuses_a_malformed_data_key(bare_env):
    bare_env.setenv("DATABASE_URL", "postgresql+psycopg://tracker@db.example/tracker")
    with pytest.raises(DataKeyError):
        production_app(SECRET_KEY="k" * 64, TRACKER_DATA_KEY="not-a-fernet-key")


@pytest.fixture
def production(bare_env):
    bare_env.setenv("DATABASE_URL", "postgresql+psycopg://tracker@db.example/tracker")
    return production_app(SECRET_KEY="k" * 64, TRACKER_DATA_KEY=crypto.generate_key())


def test_production_runs_without_debug_and_with_secure_cookies(production):
    assert production.debug is False
    assert production.testing is False
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["REMEMBER_COOKIE_SECURE"] is True
    assert production.config["SESSION_COOKIE_HTTPONLY"] is True
    assert production.config["PREFERRED_URL_SCHEME"] == "https"
    assert production.config.get("WTF_CSRF_ENABLED", True) is True


def test_production_session_cookie_is_secure_httponly_and_lax(production):
    # The sign-in page puts a CSRF token in the session, so it sets the cookie.
    response = production.test_client().get("/login")
    assert response.status_code == 200
    # Production names it "__Host-session": the browser then keeps it only from HTTPS, for this host.
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("__Host-session="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite"} <= attributes
    assert "SameSite=Lax" in cookie


def test_production_is_the_default_environment(bare_env):
    assert config.config_from_env() is config.ProductionConfig


@pytest.mark.parametrize("name, expected", [("development", config.DevelopmentConfig),
                                            ("Testing", config.TestingConfig),
                                            ("production", config.ProductionConfig)])
def test_tracker_env_picks_the_configuration(bare_env, name, expected):
    bare_env.setenv("TRACKER_ENV", name)
    assert config.config_from_env() is expected


def test_unknown_tracker_env_stops_with_a_message(bare_env):
    bare_env.setenv("TRACKER_ENV", "staging")
    with pytest.raises(SystemExit, match="TRACKER_ENV must be one of"):
        config.config_from_env()


def test_testing_configuration_is_not_debug(app):
    assert app.testing is True
    assert app.debug is False


# --- development ------------------------------------------------------------------------------


@pytest.fixture
def instance_in_tmp(bare_env, tmp_path):
    """create_app takes its instance folder from tracker.BASE_DIR; point it at a temporary folder."""
    bare_env.setattr(tracker, "BASE_DIR", tmp_path)
    return tmp_path / "instance"


def development_app(**overrides):
    settings = {"SECRET_KEY": None, "TRACKER_DATA_KEY": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    settings.update(overrides)
    return create_app(config.DevelopmentConfig, **settings)


def test_development_generates_missing_keys_into_the_instance_folder(instance_in_tmp):
    app = development_app()

    secret_file, key_file = instance_in_tmp / "secret_key", instance_in_tmp / "data_key"
    assert app.instance_path == str(instance_in_tmp)
    assert app.config["SECRET_KEY"] == secret_file.read_text().strip()
    assert app.config["TRACKER_DATA_KEY"] == key_file.read_text().strip()
    assert len(app.config["SECRET_KEY"]) == 64  # 32 random bytes in hex
    Fernet(app.config["TRACKER_DATA_KEY"].encode())  # a usable key
    for path in (secret_file, key_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_development_reuses_the_keys_it_made(instance_in_tmp):
    first = development_app()
    second = development_app()
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]
    assert second.config["TRACKER_DATA_KEY"] == first.config["TRACKER_DATA_KEY"]
    # Data encrypted by one run is read by the next.
    with first.app_context():
        token = crypto.keyring().encrypt("Kavumu")
    with second.app_context():
        assert crypto.keyring().decrypt(token) == "Kavumu"


def test_development_keeps_keys_given_in_the_environment(instance_in_tmp):
    given = crypto.generate_key()
    app = development_app(SECRET_KEY="given-secret", TRACKER_DATA_KEY=given)
    assert app.config["SECRET_KEY"] == "given-secret"
    assert app.config["TRACKER_DATA_KEY"] == given
    assert not (instance_in_tmp / "secret_key").exists()
    assert not (instance_in_tmp / "data_key").exists()


def test_development_runs_in_debug(instance_in_tmp):
    assert development_app().debug is True


# --- the four-eyes threshold of allocation plans ----------------------------------------------------------------------

def test_the_four_eyes_threshold_of_allocation_plans_is_10000_usd_unless_the_environment_says():
    from decimal import Decimal

    assert config.Config.ALLOCATION_FOUR_EYES_USD == Decimal("10000.00")
    for raw, value in (("2500.5", Decimal("2500.50")), (" 0 ", Decimal("0.00")), ("25000", Decimal("25000.00"))):
        settings = config.read_environment(config.ProductionConfig, {"ALLOCATION_FOUR_EYES_USD": raw})
        assert settings == {"ALLOCATION_FOUR_EYES_USD": value}


@pytest.mark.parametrize("raw", ["ten thousand", "-5", "10.001", "NaN", "Infinity", "1e40", "10,000"])
def test_a_bad_four_eyes_threshold_stops_the_start_naming_it(raw):
    with pytest.raises(SystemExit) as stopped:
        config.read_environment(config.ProductionConfig, {"ALLOCATION_FOUR_EYES_USD": raw})
    assert str(stopped.value.code) == (
        "ALLOCATION_FOUR_EYES_USD must be a sum of US dollars, not negative, with at most two decimals, such as "
        f"10000 or 2500.50; got {raw!r}.")
