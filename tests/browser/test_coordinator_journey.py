"""Debian's chromium, driven by Playwright: a coordinator's first participant, end to end."""

import os
from datetime import timedelta

import pytest

from crfs.demo import record_screening_forms
from edc.localtime import site_today
from tests.conftest import PASSWORD
from trials.models import Participant

pytestmark = pytest.mark.browser


def test_coordinator_screens_consents_enrolls_and_sees_the_reanchored_schedule(
    page, live_server, coordinator, site_yc, tmp_path
):
    today = site_today(site_yc.timezone)
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", "coordinator")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home/")

    page.click("text=Screen a new participant")
    page.fill("input[name=initials]", "WJ")
    page.fill("input[name=year_of_birth]", "1988")
    page.select_option("select[name=sex]", "F")
    page.fill("input[name=screening_date]", (today - timedelta(days=12)).isoformat())
    page.click("button:has-text('Save')")
    page.wait_for_selector("h1:has-text('YC-S001')")

    page.click("a:has-text('Record consent')")
    page.fill("input[name=consent_date]", (today - timedelta(days=12)).isoformat())
    page.fill("input[name=consent_version]", "1.0")
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Record consent: saved.")
    # The screening forms (demographics, eligibility checklist) as the coordinator would enter them.
    record_screening_forms(
        coordinator, Participant.objects.get(screening_number="YC-S001"), on=today - timedelta(days=11)
    )
    page.click("a:has-text('Record eligibility')")
    page.check("input[name=met][value=yes]")
    page.fill("input[name=assessed_on]", (today - timedelta(days=11)).isoformat())
    page.click("button:has-text('Save')")
    page.click("a:has-text('Enroll')")
    page.fill("input[name=enrollment_date]", (today - timedelta(days=10)).isoformat())
    page.select_option("select[name=dose_level]", label="DL1 (TBC)")
    page.fill("input[name=planned_infusion_date]", (today + timedelta(days=5)).isoformat())
    page.click("button:has-text('Save')")
    page.wait_for_selector("h1:has-text('YC-001')")
    assert page.locator("text=Provisional").count() == 1
    planned_m3 = (today + timedelta(days=5 + 90)).isoformat()
    assert page.locator(f"td:has-text('{planned_m3}')").count() >= 1

    infusion = today - timedelta(days=2)
    page.click("a:has-text('Record the infusion (Day 0)')")
    page.fill("input[name=infusion_date]", infusion.isoformat())
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Record the infusion (Day 0): saved.")
    assert page.locator("text=Provisional").count() == 0
    m3 = (infusion + timedelta(days=90)).isoformat()
    row = page.locator("tr", has_text="Month 3")
    assert m3 in row.inner_text()
    d14 = page.locator("tr", has_text="Day 14")
    assert "Opens in" in d14.inner_text()
    page.screenshot(path=str(tmp_path / "participant.png"), full_page=True)
    if os.environ.get("EDC_SCREENSHOT_DIR"):
        page.screenshot(
            path=os.path.join(os.environ["EDC_SCREENSHOT_DIR"], "participant.png"), full_page=True
        )
