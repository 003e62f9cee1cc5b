"""The checks made on every page of the journeys fail when they should (axe-core, scripts, weight).

The pages here are served by the browser itself (``page.route``) at the live server's address, so that
nothing is added to the app for them.
"""
from __future__ import annotations

import pytest

from tests.browser.conftest import MAX_PAGE_BYTES, SKIP_REASON

pytestmark = [pytest.mark.browser, pytest.mark.skipif(SKIP_REASON is not None, reason=f"{SKIP_REASON}")]

GOOD = """<!doctype html><html lang="en"><head><title>Fine</title></head>
<body><main><h1>Fine</h1><form method="post"><label for="a">Name</label><input id="a" name="a">
<button type="submit">Send</button></form></main></body></html>"""


def serve(v, path: str, html: str):
    v.page.route(v.url(path), lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    v.page.goto(v.url(path))


def test_a_labelled_page_without_script_passes(visit):
    v = visit()
    serve(v, "/fine", GOOD)
    v.check("fine")
    assert [w.path for w in v.weights] == ["/fine"]
    v.weights.clear()  # a page of this test's own: not one of the journeys' pages in the summary


@pytest.mark.parametrize("html, message", [
    (GOOD.replace('<label for="a">Name</label>', ""), "critical label"),
    (GOOD.replace("<h1>Fine</h1>", '<h1 style="color:#bbb;background:#fff">Fine</h1>'), "serious color-contrast"),
    (GOOD.replace('<html lang="en">', "<html>"), "serious html-has-lang"),
    (GOOD.replace("</main>", "</main><script>1</script>"), "has 1 <script> element(s)"),
    (GOOD.replace("<main>", "<main><!--" + "x" * MAX_PAGE_BYTES + "-->"), "KB with its assets (limit 300 KB)"),
])
def test_a_page_that_breaks_a_rule_fails_the_check(visit, html, message):
    v = visit()
    serve(v, "/broken", html)
    with pytest.raises(AssertionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        v.check("broken")
    v.weights.clear()
