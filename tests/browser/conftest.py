"""Debian's chromium, driven by Playwright (no browser download): the fixture every browser test uses.

Every page a browser test opens is watched for Content-Security-Policy violations (the browser's
``securitypolicyviolation`` events and its console messages): a test whose pages break the policy fails,
so each journey also checks that its pages work under the policy (tests/security/test_csp.py).
"""

import os
import shutil

import pytest

from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("EDC_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="Debian's chromium is not installed (.ci/run installs it)")
    for item in items:
        if item.get_closest_marker("browser") and not shutil.which(CHROMIUM):
            item.add_marker(skip)


# Runs in every document before its own scripts; the report goes to Python through the exposed binding.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => window.edcCspViolation({
    page: document.location.href, directive: e.violatedDirective, blocked: e.blockedURI,
    sample: e.sample, source: e.sourceFile, line: e.lineNumber,
}));
"""


@pytest.fixture
def csp_violations():
    """The policy violations seen by the ``page`` fixture's browser: the test fails at its end unless the
    list is empty (a test that provokes violations on purpose empties it)."""
    violations: list[dict] = []
    yield violations
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(map(str, violations)))


@pytest.fixture
def page(live_server, monkeypatch, csp_violations):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.expose_function("edcCspViolation", lambda violation: csp_violations.append(violation))
        context.add_init_script(REPORT_VIOLATIONS)
        page = context.new_page()
        page.on("console", lambda message: _console(message, page, csp_violations))
        page.set_default_timeout(15000)
        yield page
        page.wait_for_timeout(200)  # lets the last pages' reports arrive
        browser.close()


def log_in(page, live_server, username, password=PASSWORD):
    """Signs in as ``username`` (anyone signed in before is signed out) and waits for the home page."""
    page.context.clear_cookies()
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/home/")


CONSOLE_PROBLEMS = (
    "Content Security Policy",
    "Content-Security-Policy",
    "Error with Permissions-Policy header",
)


def _console(message, page, violations):
    """Chromium also logs each refusal ("Refused to execute inline script because it violates the
    following Content Security Policy directive…"), including some that raise no event, and any feature
    of the Permissions-Policy header it does not know."""
    if any(problem in message.text for problem in CONSOLE_PROBLEMS):
        violations.append({"page": page.url, "console": message.text})
