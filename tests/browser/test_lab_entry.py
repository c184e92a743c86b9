"""Debian's chromium, driven by Playwright: a coordinator enters a haematology panel in the site's units."""

import os
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from edc.localtime import site_today
from labs.models import SiteUnit
from labs.reference_data import load_file
from tests.conftest import PASSWORD, make_participant

pytestmark = pytest.mark.browser
# This site's laboratory reports haemoglobin in g/dL and white cells per microlitre.
SITE_UNITS = {"wbc": "cells/uL", "anc": "cells/uL", "alc": "cells/uL", "hb": "g/dL", "platelets": "10^3/uL"}


def test_coordinator_enters_a_haematology_panel_in_site_units_and_sees_conversion_flag_and_grade(
    page, live_server, coordinator, site_yc, tmp_path
):
    load_file()
    for analyte, unit in SITE_UNITS.items():
        SiteUnit.objects.update_or_create(site=site_yc, analyte=analyte, defaults={"unit": unit})
    today = site_today(site_yc.timezone)
    participant = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    collected = (timezone.now() - timedelta(hours=1)).astimezone(ZoneInfo(site_yc.timezone))

    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", "coordinator")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home/")

    page.goto(f"{live_server.url}/participants/{participant.pk}/casebook/")
    page.locator("tr", has_text="Baseline").locator("a[href$='/forms/labs/']").click()
    page.wait_for_selector("h1:has-text('Laboratory panels')")
    page.click("a:has-text('Haematology')")
    page.wait_for_selector("h1:has-text('Haematology')")

    # The unit of each row defaults to the site's reporting unit.
    assert page.input_value("select[name=r-hb-unit]") == "g/dL"
    assert page.input_value("select[name=r-anc-unit]") == "cells/uL"
    page.fill("input[name=collected_at]", collected.strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=laboratory]", "YC clinical laboratory")
    page.fill("input[name=r-wbc-value]", "2500")
    page.fill("input[name=r-anc-value]", "1500")
    page.fill("input[name=r-alc-value]", "600")
    page.fill("input[name=r-hb-value]", "9.5")
    page.fill("input[name=r-platelets-value]", "210")

    # The preview converts, flags and grades as the coordinator types, before anything is saved.
    page.wait_for_selector("#std-hb:has-text('95 g/L')")
    assert "Grade 2" in page.inner_text("#grade-hb")

    page.click("button:has-text('Save and mark complete')")
    page.wait_for_selector("text=Haematology saved.")
    hb = page.locator("#result-hb").inner_text()
    assert "9.5 g/dL" in hb and "95 g/L" in hb and "115–150 g/L" not in hb and "11.5–15 g/dL" in hb
    assert page.inner_text("#result-hb .lab-flag") == "L"
    assert page.inner_text("#result-hb .lab-grade") == "Grade 2"
    anc = page.locator("#result-anc").inner_text()
    assert "1500 cells/µL" in anc and "1.5 ×10⁹/L" in anc
    assert page.inner_text("#result-anc .lab-flag") == "L"
    assert page.inner_text("#result-anc .lab-grade") == "Grade 1"
    assert page.inner_text("#result-platelets .lab-flag") == ""
    assert page.inner_text("#result-platelets .lab-grade") == "Grade 0"
    page.screenshot(path=str(tmp_path / "labs.png"), full_page=True)
    if os.environ.get("EDC_SCREENSHOT_DIR"):
        page.screenshot(path=os.path.join(os.environ["EDC_SCREENSHOT_DIR"], "labs.png"), full_page=True)
