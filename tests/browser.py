"""Real-browser testing, shared by every test package (a pytest plugin registered from
``tests/conftest.py``): the app served over real HTTP, Debian's Chromium driven by Playwright,
axe-core for accessibility, and screenshots people can look at.

Fixtures: ``live_server`` (a function: Flask app in, base URL out), ``browser`` (one Chromium for
the session), ``page`` (a fresh context per test), ``screenshot`` (a function: page and name in,
PNG path out). Helpers: ``run_axe`` and ``assert_no_axe_violations``. A test that uses
``browser`` or ``page`` is marked ``browser`` automatically.

Nothing here is mocked and nothing is downloaded: Chromium is ``/usr/bin/chromium`` and axe-core
is ``node_modules/axe-core``, both put there by ``scripts/install`` (which ``scripts/test`` runs
first). ``playwright install`` is never used: it fetches browsers from the internet, which no
machine here reaches. When either is missing the browser tests FAIL, with what to run, rather
than skip: CI runs on a clean checkout through ``scripts/test``, so a missing browser means the
install is broken, and a skipped accessibility check would read as a passed one. To run the suite
without a browser on purpose, deselect them: ``pytest -m "not browser"``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# Chromium runs as root in containers, so without its sandbox; and the network here is closed, so
# everything that phones home (updates, sync, safe-browsing lists) is off: with those
# connections refused, Chromium otherwise stalls and logs errors.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
MIN_TARGET_PX = 44                 # WCAG 2.5.5 Target Size (Enhanced, AAA), as DESIGN.md asks

# The WCAG levels the project holds itself to (DESIGN.md: AAA contrast and target size).
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag2aaa", "wcag21a", "wcag21aa",
                                          "wcag21aaa", "wcag22aa"]},
    "rules": {"color-contrast-enhanced": {"enabled": True}},
}
INSTALL_HINT = "run ./scripts/install (it installs chromium with apt and axe-core with npm)"


def pytest_collection_modifyitems(items):
    for item in items:
        if {"browser", "page"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


# --- the app over real HTTP ---------------------------------------------------------------------

@pytest.fixture
def live_server() -> Iterator[Callable[..., str]]:
    """``live_server(app)`` serves the app on 127.0.0.1 on a free port, from a background thread
    with werkzeug's multithreaded server (a browser fetches in parallel), and returns the base
    URL, ``http://127.0.0.1:PORT``. Every server is shut down at teardown.

    The staff session cookie is Secure unless KAIFONG_PUBLIC_URL is plain http, and the tests
    keep it so, as in production. Chromium keeps Secure cookies from http://127.0.0.1 as well as
    from http://localhost: both are "potentially trustworthy" origins (checked with Chromium 156;
    test_browser_login asserts the Secure cookie arrives). 127.0.0.1 rather than localhost
    spares a name lookup that may try ::1 first, where nothing listens."""
    running: list[tuple[object, threading.Thread]] = []

    def serve(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        running.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- Chromium ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole session (starting it takes about a second)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: {INSTALL_HINT}; or deselect the browser tests with "
                    "-m 'not browser'", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A page in a fresh context (its own cookies and storage), British English by default,
    closed after the test. Short timeouts: a page that does not answer in 10 s is broken.

    It asks for ``live_server`` only so that the servers stop after the page has closed (pages
    that keep a live connection open would otherwise talk to a server going away). A fixture
    that makes the app should come before ``page`` in a test's arguments, for the same reason."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB",
                                  timezone_id="Asia/Hong_Kong")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    wanted = os.environ.get("KAIFONG_SCREENSHOTS", "").strip()
    if wanted:
        directory = Path(wanted)
        directory.mkdir(parents=True, exist_ok=True)
        return directory
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def screenshot(screenshot_dir) -> Callable[..., Path]:
    """``screenshot(page, name)`` writes the whole page to ``NAME.png`` under KAIFONG_SCREENSHOTS
    (by default pytest's temporary directory) and returns the path."""
    def take(page, name: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "page"
        path = screenshot_dir / f"{safe}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


# --- accessibility -------------------------------------------------------------------------------

def run_axe(page) -> list[dict]:
    """The axe-core violations on the page as it is now, at the project's WCAG levels."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS.relative_to(ROOT)} is missing: {INSTALL_HINT}", pytrace=False)
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, not added as a <script> (add_script_tag): the
        # console's Content-Security-Policy (script-src 'self') blocks inline scripts, and a
        # context with bypass_csp would hide what the policy does to the page itself. The
        # trailing expression keeps Playwright from taking the source for a function to call.
        page.evaluate(_axe_source() + "\n;true")
    result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    return result["violations"]


@functools.cache
def _axe_source() -> str:
    return AXE_JS.read_text(encoding="utf-8")


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation.get('impact')}): {violation['help']}"
                     f"  [{violation.get('helpUrl', '')}]")
        for node in violation["nodes"]:
            lines.append(f"    at {json.dumps(node['target'], ensure_ascii=False)}")
    return "\n".join(lines)


def assert_no_axe_violations(page) -> None:
    violations = run_axe(page)
    assert not violations, (f"axe-core found {len(violations)} violation(s) on {page.url}:\n"
                            + describe_violations(violations))


def assert_accessible(page, what: str = "") -> None:
    """The page passes axe-core and every control is at least 44x44 CSS px (``what`` names the
    page in the failure message)."""
    assert_no_axe_violations(page)
    small = small_targets(page)
    prefix = f"{what}: " if what else ""
    assert not small, f"{prefix}targets under 44x44 CSS px:\n" + "\n".join(small)


def small_targets(page, selector: str = "a, button, input:not([type=hidden]), select, textarea",
                  minimum: int = MIN_TARGET_PX) -> list[str]:
    """The visible elements matching ``selector`` whose box is under ``minimum`` CSS px either
    way, each described with its size, for an assertion message (empty when all are big
    enough)."""
    small = []
    for element in page.locator(selector).all():
        box = element.bounding_box()
        if box is None:                   # not rendered (display: none)
            continue
        if box["width"] < minimum or box["height"] < minimum:
            html = element.evaluate("e => e.outerHTML.slice(0, 120)")
            small.append(f"{box['width']:.0f}x{box['height']:.0f}: {html}")
    return small
