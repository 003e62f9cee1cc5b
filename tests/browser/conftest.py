"""Real-browser fixtures: Debian's Chromium driven by Playwright against the app on a real server thread.

* ``browser``: one headless Chromium per test session (per xdist worker).
* ``live_server``: the test's app (tables emptied after the test, as everywhere in the suite)
  served by werkzeug on 127.0.0.1 and a free port, in a daemon thread.
* ``visit``: a fresh browser context and page, and ``visit.check(step)`` to call after every page the
  journey reaches: a full-page screenshot, no ``<script>`` element, the page's weight with its assets,
  and axe-core (no ``serious`` or ``critical`` violation).

Screenshots go to a per-test temporary folder, and are copied to ``test-artifacts/browser/<test>/``
when the test fails or when ``BROWSER_SCREENSHOTS=keep``.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser import env
from tests.live import LiveServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: The heaviest page a journey may visit, with its assets (issue 8: light pages on slow links).
MAX_PAGE_BYTES = 300 * 1024
#: axe-core impacts that fail a test.
FAILING_IMPACTS = ("serious", "critical")

SKIP_REASON = env.skip_reason()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_failed = report.failed
    elif report.failed:
        item.browser_failed = True
    return report


@pytest.fixture(scope="session")
def browser():
    if SKIP_REASON:
        pytest.skip(f"browser tests skipped: {SKIP_REASON}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(env.CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live_server(make_app):
    # No SERVER_NAME: url_for and host matching follow the request (127.0.0.1:<port>), as behind a real server.
    # CSRF on, as outside the tests: the browser posts the forms' own tokens.
    app = make_app(SERVER_NAME=None, PREFERRED_URL_SCHEME="http", WTF_CSRF_ENABLED=True)
    server = LiveServer(app)
    yield server
    server.stop()


@dataclass
class PageWeight:
    path: str
    bytes: int


@dataclass
class Visit:
    """One journey's browser context, page, and the checks made on every page it reaches."""

    page: object
    context: object
    base_url: str
    shots: Path
    steps: int = 0
    checked: set = field(default_factory=set)
    reached: list = field(default_factory=list)
    weights: list = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str, step: str):
        self.page.goto(self.url(path))
        self.check(step)

    def check(self, step: str) -> None:
        from playwright.sync_api import Error

        try:
            self._check(step)
        except Error as error:
            # A page that refreshes itself (a report's status while its PDF renders) may navigate during the
            # checks: check the page it became.
            if "context was destroyed" not in str(error) and "navigat" not in str(error):
                raise
            self._check(step + " (after refresh)")

    def _check(self, step: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        self.steps += 1
        name = f"{self.steps:02d}-{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}.png"
        page.screenshot(path=str(self.shots / name), full_page=True)
        path = urlsplit(page.url).path
        self.checked.add(path)
        scripts = page.evaluate("() => document.querySelectorAll('script').length")
        assert scripts == 0, f"{path} ({step}) has {scripts} <script> element(s): no page needs JavaScript"
        weight = PageWeight(path, self._weight())
        self.weights.append(weight)
        assert weight.bytes < MAX_PAGE_BYTES, (
            f"{path} ({step}) weighs {weight.bytes / 1024:.1f} KB with its assets (limit {MAX_PAGE_BYTES // 1024} KB)")
        self._axe(path, step)

    def _weight(self) -> int:
        """The document and its subresources, decoded body sizes, as the browser's Resource Timing API saw them."""
        return int(self.page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation');
            const res = performance.getEntriesByType('resource');
            return [...nav, ...res].reduce((sum, e) => sum + (e.decodedBodySize || 0), 0);
        }"""))

    def _axe(self, path: str, step: str) -> None:
        self.page.add_script_tag(path=str(env.AXE_SCRIPT))
        violations = self.page.evaluate("""async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                               targets: v.nodes.map(n => n.target.join(' '))}));
        }""")
        # Remove the injected script again, so that the next check on this page sees the page's own only.
        self.page.evaluate("() => document.querySelectorAll('script').forEach(s => s.remove())")
        bad = [v for v in violations if v["impact"] in FAILING_IMPACTS]
        assert not bad, f"axe-core on {path} ({step}):\n" + "\n".join(
            f"  {v['impact']} {v['id']} ({v['help']}): {', '.join(v['targets'][:5])}" for v in bad)


@pytest.fixture
def visit(request, browser, live_server, tmp_path):
    """``visit(locale="en")``: a fresh context and page on the live server (call once or more per test)."""
    shots = tmp_path / "screenshots"
    shots.mkdir()
    contexts = []
    visits = []

    def open_visit(locale: str = "en-GB") -> Visit:
        context = browser.new_context(bypass_csp=True, locale=locale, accept_downloads=True,
                                      viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        # No HTTP cache: every page is weighed with all its assets, as on a first visit over a slow link
        # (the Resource Timing API lists no entry for a resource served from the memory cache).
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        v = Visit(page=page, context=context, base_url=live_server.url, shots=shots)
        v.steps = visits[-1].steps if visits else 0  # the screenshots of several contexts numbered in order
        page.on("framenavigated", lambda frame: frame == page.main_frame and frame.url.startswith(v.base_url)
                and v.reached.append(urlsplit(frame.url).path))
        contexts.append(context)
        visits.append(v)
        return v

    yield open_visit

    for context in contexts:
        context.close()
    failed = getattr(request.node, "browser_failed", True)
    if failed or os.environ.get("BROWSER_SCREENSHOTS") == "keep":
        target = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(shots, target)
        print(f"\nscreenshots of {request.node.name}: {target}")
    if not failed:
        for v in visits:
            unchecked = sorted({p for p in v.reached if p not in v.checked})
            assert not unchecked, f"pages reached but not checked (axe, weight, screenshot): {unchecked}"
        weights = [w for v in visits for w in v.weights]
        if weights:
            heaviest = max(weights, key=lambda w: w.bytes)
            request.node.user_properties.append(("heaviest_page", f"{heaviest.path} {heaviest.bytes}"))
