"""Browser tests: the playwright package drives Debian's chromium (never a downloaded browser).

A missing browser fails these tests — it never skips them.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MEADOW_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Playwright's sync API keeps an event loop running in the test thread for the whole session (the browser is
# session-scoped), so pytest-django's database setup and the tests' ORM calls run beside it. They are still
# synchronous: allow them in this test process. (Subprocess tests strip the variable from their environment.)
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SHOTS = Path(
    os.environ.get("MEADOW_SCREENSHOTS", Path(__file__).resolve().parents[2] / "test-results" / "screens")
)

# Assertions wait as long as actions do (30 s): a loaded CI machine can take seconds to answer a page, and a
# wait that ends early fails a correct test.
from playwright.sync_api import expect  # noqa: E402

expect.set_options(timeout=30_000)


class _OneRequestAtATime:
    """The live server's WSGI app, one request at a time. On the embedded default the test database is SQLite in
    memory, and Django's live server shares that one connection between its request threads; a page sends
    requests side by side (a like beside a keepalive impressions flush), and two of them on one SQLite connection
    fail with "cannot open savepoint - SQL statements in progress". Requests still arrive concurrently; they
    only take turns at the database, as they would on a real one. PostgreSQL (no shared connection) is left
    alone."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            return self.app(environ, start_response)


def _serialise_shared_connection() -> None:
    from django.test import testcases

    create = testcases.LiveServerThread._create_server

    def _create_server(self, connections_override=None):
        server = create(self, connections_override=connections_override)
        if connections_override:
            set_app = server.set_app
            server.set_app = lambda app: set_app(_OneRequestAtATime(app))
        return server

    testcases.LiveServerThread._create_server = _create_server


_serialise_shared_connection()

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


# Every page of every browser test runs under the Content-Security-Policy, and a violation fails the test: each
# context (the ``page`` fixture's and those tests open themselves) reports ``securitypolicyviolation`` events
# and Chromium's "Refused to …" console messages to the list below.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => window.__meadowCspViolation(
  `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber} on ${e.documentURI}`));
"""


def watch_csp(context, sink: list[str]):
    context.expose_binding("__meadowCspViolation", lambda _source, text: sink.append(text))
    context.add_init_script(CSP_LISTENER)
    context.on(
        "console",
        lambda msg: sink.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return context


class CSPWatchedBrowser:
    """The browser, whose ``new_context`` watches every context it opens for CSP violations."""

    def __init__(self, browser) -> None:
        self._browser = browser
        self.csp_violations: list[str] = []

    def __getattr__(self, name):
        return getattr(self._browser, name)

    def new_context(self, **kwargs):
        # Service workers are blocked unless a test asks for them (tests/e2e/test_pwa.py): the worker's precache
        # adds a dozen requests behind every first page, and on the embedded default the live server's one
        # in-memory SQLite database then answers the test's own queries "table is locked" more often.
        kwargs.setdefault("service_workers", "block")
        return watch_csp(self._browser.new_context(**kwargs), self.csp_violations)


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield CSPWatchedBrowser(browser)
        browser.close()


@pytest.fixture(autouse=True)
def no_csp_violations(browser):
    """Fails any browser test during which a page broke the Content-Security-Policy."""
    browser.csp_violations.clear()
    yield browser.csp_violations
    violations = list(browser.csp_violations)
    browser.csp_violations.clear()
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations), pytrace=False)


@pytest.fixture(params=["phone", "desktop"])
def page(request, browser):
    viewport = PHONE if request.param == "phone" else DESKTOP
    context = browser.new_context(viewport=viewport, locale="en-US", device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.viewport_name = request.param
    yield page
    context.close()


@pytest.fixture
def shot(page):
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, of=None) -> None:
        """Screenshot the test's page, or ``of`` (another page the test opened, e.g. a second person's)."""
        (of or page).screenshot(path=str(SHOTS / f"{name}-{page.viewport_name}.png"), full_page=True)

    return take


def login(page, live_server, handle: str) -> None:
    """Log ``handle`` in through the login page (factories give every account the same password)."""
    import re

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Handle, e-mail or phone").fill(handle)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/$"))


@pytest.fixture(autouse=True)
def _live_server_quiet_before_flush(live_server):
    """Set up after the live server (and its database), so torn down before the database is flushed: wait until
    the server has no request in hand. A page's last requests (the impressions flushed with fetch(keepalive) on
    pagehide, an htmx call) can still be running when the test ends; on PostgreSQL the flush's TRUNCATE then
    deadlocks with their row locks, and the next test finds the last one's rows."""
    yield
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
        thread.is_alive() and "process_request_thread" in thread.name for thread in threading.enumerate()
    ):
        time.sleep(0.05)
