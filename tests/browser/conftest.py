"""Debian's chromium, driven by Playwright (no browser download): the fixture every browser test uses."""

import os
import shutil

import pytest

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


@pytest.fixture
def page(live_server, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test are still sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15000)
        yield page
        browser.close()
