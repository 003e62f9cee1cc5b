"""What the browser tests need from the machine, checked without importing Playwright.

Read by tests/browser/conftest.py (to skip with a reason) and by tests/conftest.py
(to say in the terminal summary of ``make test`` that they were skipped, and why).
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
AXE_PACKAGE = HERE / "node_modules" / "axe-core"
AXE_SCRIPT = AXE_PACKAGE / "axe.min.js"


def _pinned_axe_version() -> str:
    return json.loads((HERE / "package.json").read_text())["devDependencies"]["axe-core"]


def skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright for Python is not installed (pip install -r requirements-dev.txt)"
    if not AXE_SCRIPT.exists():
        return "axe-core is not installed (npm ci --prefix tests/browser)"
    installed = json.loads((AXE_PACKAGE / "package.json").read_text()).get("version")
    if installed != _pinned_axe_version():
        return f"axe-core {installed} is installed, {_pinned_axe_version()} is pinned (npm ci --prefix tests/browser)"
    return None
