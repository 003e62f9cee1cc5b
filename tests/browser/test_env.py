"""Why the browser tests are skipped: the reason printed by `make test` names what is missing and how to get it."""
from __future__ import annotations

import json

from tests.browser import env


def test_missing_chromium_is_named_with_its_package(monkeypatch, tmp_path):
    monkeypatch.setattr(env, "CHROMIUM", tmp_path / "chromium")
    assert env.skip_reason() == f"{tmp_path / 'chromium'} not found (apt-get install chromium)"


def test_missing_axe_core_names_the_npm_step(monkeypatch, tmp_path):
    chromium = tmp_path / "chromium"
    chromium.touch()
    monkeypatch.setattr(env, "CHROMIUM", chromium)
    monkeypatch.setattr(env, "AXE_PACKAGE", tmp_path / "axe-core")
    monkeypatch.setattr(env, "AXE_SCRIPT", tmp_path / "axe-core" / "axe.min.js")
    assert env.skip_reason() == "axe-core is not installed (npm ci --prefix tests/browser)"


def test_an_axe_core_other_than_the_pinned_one_is_refused(monkeypatch, tmp_path):
    chromium = tmp_path / "chromium"
    chromium.touch()
    package = tmp_path / "axe-core"
    package.mkdir()
    (package / "axe.min.js").write_text("")
    (package / "package.json").write_text(json.dumps({"version": "4.0.0"}))
    monkeypatch.setattr(env, "CHROMIUM", chromium)
    monkeypatch.setattr(env, "AXE_PACKAGE", package)
    monkeypatch.setattr(env, "AXE_SCRIPT", package / "axe.min.js")
    assert env.skip_reason() == "axe-core 4.0.0 is installed, 4.14.1 is pinned (npm ci --prefix tests/browser)"


def test_the_pinned_version_is_the_one_in_the_lock_file():
    lock = json.loads((env.HERE / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/axe-core"]["version"] == "4.14.1"
    assert env._pinned_axe_version() == "4.14.1"
