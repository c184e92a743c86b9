"""Debian's chromium, driven by Playwright: a coordinator adds medication rows and a lab panel's "other
test" row in the page (issue 16, repeating rows), with the one row script of every table."""

from datetime import timedelta

import pytest

from labs.models import LabPanel
from medications.models import Medication
from tests.browser.test_fast_entry import sign_in
from tests.conftest import make_participant, today_at
from tests.labs.test_lab_pages import site_now

pytestmark = pytest.mark.browser


@pytest.fixture
def baseline(coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    return p.visits.get(code="BL")


def test_a_coordinator_adds_and_removes_medication_rows_in_the_page(
    page, live_server, coordinator, baseline, site_yc
):
    start = (today_at(site_yc) - timedelta(days=3)).isoformat()
    sign_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/visits/{baseline.pk}/forms/medications/")
    rows = page.locator("[data-formset=medications] tbody tr")
    assert rows.count() == 1  # one empty row to start with
    page.click("[data-formset=medications] [data-add-row]")
    page.click("[data-formset=medications] [data-add-row]")
    assert rows.count() == 3
    assert page.evaluate("document.activeElement.name") == "medications-2-agent"  # the new row's first field
    for index, agent in enumerate(["Hydroxychloroquine", "Omeprazole", "Aspirn"]):
        page.fill(f"[name=medications-{index}-agent]", agent)
        page.select_option(f"[name=medications-{index}-drug_class]", "other")
        page.fill(f"[name=medications-{index}-start_date]", start)
        page.check(f"[name=medications-{index}-ongoing]")
    page.fill("[name=medications-0-start_date]", "2019-03")  # a start known to the month
    rows.nth(2).locator("[data-remove-row]").click()  # a row not saved yet: cleared and hidden
    assert rows.nth(2).is_hidden()
    page.click("#entry-form button[name=draft]")
    page.wait_for_selector("text=Prior and concomitant medications saved.")
    saved = Medication.objects.filter(visit=baseline).order_by("pk")
    assert [(m.agent, m.start_shown) for m in saved] == [
        ("Hydroxychloroquine", "2019-03"),
        ("Omeprazole", start),
    ]

    # A saved row is struck through when removed and kept, entered in error, with the reason.
    page.goto(f"{live_server.url}/visits/{baseline.pk}/forms/medications/")
    assert page.input_value("[name=medications-1-agent]") == "Omeprazole"
    rows.nth(1).locator("[data-remove-row]").click()
    assert "text-decoration-line-through" in (rows.nth(1).get_attribute("class") or "")
    page.fill("#entry-form [name=reason]", "Entered for the wrong participant")
    page.click("#entry-form button[name=draft]")
    page.wait_for_selector("text=Prior and concomitant medications saved.")
    gone = saved[1]
    gone.refresh_from_db()
    assert gone.entered_in_error and gone.entered_in_error_reason == "Entered for the wrong participant"


def test_a_coordinator_adds_an_other_test_row_to_a_lab_panel_in_the_page(
    page, live_server, coordinator, baseline, site_yc
):
    sign_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/visits/{baseline.pk}/forms/labs/new/?panel=chemistry")
    rows = page.locator("[data-formset=other_tests] tbody tr")
    assert rows.count() == 0  # no empty row on a panel: added when the report has one
    page.fill("#entry-form [name=collected_at]", site_now(baseline))
    page.fill("#entry-form [name=r-alt-value]", "22")
    page.click("[data-formset=other_tests] [data-add-row]")
    assert rows.count() == 1
    page.fill("[name=other_tests-0-test]", "GGT")
    page.fill("[name=other_tests-0-value]", "61")
    page.fill("[name=other_tests-0-unit]", "U/L")
    page.fill("[name=other_tests-0-uln]", "45")
    page.click("#entry-form button[name=draft]")
    page.wait_for_selector("text=Chemistry saved.")
    panel = LabPanel.objects.get(visit=baseline, panel="chemistry")
    (ggt,) = panel.other_tests.all()
    assert (ggt.test, ggt.unit, ggt.flag) == ("GGT", "U/L", "H")
    assert panel.results.get(analyte="alt").value == 22
