"""The built site in a real browser, with every request outside the site blocked.

Headless Chromium (Debian's `chromium`, driven by playwright) opens the book served on
127.0.0.1 and checks what a reader without internet would see: equations typeset by
MathJax, every figure loaded, the widgets rendered from their embedded state, search
working, no console error, and no request leaving the site. Skips where Chromium is not
installed (`make test` installs it with apt where it can).
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LESSON = "book/01_feedforward/lesson.html"


def _chromium() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.skip("Chromium not found (apt-get install chromium chromium-driver, or set CHROMIUM=/path)")


@pytest.fixture(scope="module")
def site(built_book: Path) -> Iterator[str]:
    """The built book served over HTTP on 127.0.0.1 at an ephemeral port."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(built_book))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class Browser:
    """One Chromium page that records console errors and blocked outside requests."""

    def __init__(self, page, base: str) -> None:
        self.page = page
        self.base = base
        self.outside: list[str] = []
        self.errors: list[str] = []
        page.route("**/*", self._route)
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"{page.url}: {msg.text}"))
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(self.base) or url.startswith("data:") or url.startswith("blob:"):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, path: str) -> None:
        self.page.goto(self.base + path, wait_until="load")
        self.page.wait_for_load_state("networkidle")


@pytest.fixture(scope="module")
def browser(site: str) -> Iterator[Browser]:
    executable = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        b = Browser(page, site)
        yield b
        chromium.close()
    assert not b.outside, f"requests left the site: {b.outside}"
    assert not b.errors, "console errors:\n" + "\n".join(b.errors)


def _mathjax_count(browser: Browser) -> int:
    browser.page.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0", timeout=30_000)
    # Unrendered TeX would leave its delimiters in the text of the page.
    unrendered = browser.page.evaluate(
        "() => [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container')).length"
    )
    assert unrendered == 0, f"{unrendered} math elements were not typeset"
    return browser.page.locator("mjx-container").count()


def _check_images(browser: Browser) -> int:
    # Lazy images load only near the viewport: ask for all of them now, then wait.
    browser.page.evaluate("() => document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
    browser.page.wait_for_function(
        "() => [...document.images].every(i => i.complete)", timeout=30_000
    )
    broken = browser.page.evaluate(
        "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))"
    )
    assert broken == [], f"images that did not load: {broken}"
    return browser.page.locator("img").count()


def test_notation_page_typesets_its_equations(browser: Browser) -> None:
    browser.open("book/notation.html")
    assert _mathjax_count(browser) > 20


def test_landing_page_loads(browser: Browser) -> None:
    import nnlab

    browser.open("index.html")
    browser.page.wait_for_url("**/book/intro.html")
    assert f"nnlab {nnlab.__version__}" in browser.page.inner_text("main")
    _check_images(browser)


def test_chapter_1_renders_maths_figures_and_widgets(browser: Browser) -> None:
    browser.open(LESSON)
    assert _mathjax_count(browser) > 50
    assert _check_images(browser) >= 3  # the static figures
    # The explorer's controls and figure, rendered by the widget manager from the
    # embedded widget state (no kernel).
    browser.page.wait_for_selector(".widget-slider", timeout=30_000)
    assert browser.page.locator(".widget-dropdown select").count() == 1
    browser.page.wait_for_function(
        "() => [...document.querySelectorAll('.nnlab-explorer img')].some(i => i.naturalWidth > 0)",
        timeout=30_000,
    )
    # Labelled equations are numbered and cross-references resolve to them.
    assert browser.page.locator("a[href='#equation-ch1-collapse']").count() >= 1
    _check_images(browser)


def test_search_finds_a_word(browser: Browser) -> None:
    browser.open("search.html?q=perceptron")
    browser.page.wait_for_selector("#search-results li, ul.search li", timeout=30_000)
    results = browser.page.inner_text("#search-results")
    assert "Feedforward networks" in results


def test_no_request_left_the_site_so_far(browser: Browser) -> None:
    # Checked again for every page at teardown; this makes a failure visible by name.
    assert browser.outside == []
    assert browser.errors == []
