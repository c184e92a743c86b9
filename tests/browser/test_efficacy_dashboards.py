"""Debian's chromium, driven by Playwright: the efficacy dashboards of the demo study render their
figures (server-side SVG, nothing fetched from elsewhere).

With ``EDC_SCREENSHOTS=<folder>`` the test also writes the screenshots linked from the README
(``efficacy-study-dashboard.png``, ``efficacy-participant-dashboard.png``).
"""

import os
from pathlib import Path

import pytest

from tests.conftest import DEMO_PASSWORD as PASSWORD
from trials.models import Participant

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(seeded_demo):
    """The demo study (``load_protocol``, ``seed_demo``)."""


def test_the_efficacy_dashboards_render_their_figures_in_a_browser(page, live_server, demo, tmp_path):
    folder = Path(os.environ.get("EDC_SCREENSHOTS") or tmp_path)
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", "datamanager")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home/")

    page.goto(f"{live_server.url}/efficacy/")
    page.wait_for_selector("h1:has-text('Efficacy: study dashboard')")
    figures = page.locator("svg.edc-plot")
    assert figures.count() == 8
    box = figures.first.bounding_box()
    assert box["width"] > 300 and box["height"] > 150
    page.screenshot(path=str(folder / "efficacy-study-dashboard.png"), full_page=True)

    followed = Participant.objects.get(study_id="YC-005")  # a year after infusion
    page.goto(f"{live_server.url}/efficacy/participants/{followed.pk}/")
    page.wait_for_selector("h1:has-text('Efficacy')")
    assert page.locator("svg.edc-plot").count() == 9
    page.locator("#endpoint-table details summary").nth(10).click()  # a value opens its inputs
    assert page.locator("#endpoint-table details[open]").count() == 1
    page.screenshot(path=str(folder / "efficacy-participant-dashboard.png"), full_page=True)
    assert all(url.startswith(live_server.url) for url in requests), "a page fetched something elsewhere"
