"""Debian's chromium, driven by Playwright: a whole Day 28 visit entered with save-and-next, a row added
in the page, the keyboard, the markers inside fields and a monitor's bulk SDV of a visit."""

from datetime import timedelta
from decimal import Decimal

import pytest

from crfs.bench import demo_participant_at_day28, enter_day28_visit
from crfs.registry import FORMS
from crfs.selectors import expected_forms, form_statuses
from crfs.services import save_form
from labs.reference_data import DEFAULT_FILE, load_file
from monitoring.models import SourceVerification
from monitoring.services import open_query
from tests.conftest import PASSWORD, make_participant, today_at
from visits.models import Visit

pytestmark = pytest.mark.browser


def sign_in(page, live_server, username):
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def test_a_coordinator_enters_day_28_with_one_page_per_form_and_the_date_typed_once(
    page, live_server, coordinator, site_yc
):
    load_file(DEFAULT_FILE)
    participant = demo_participant_at_day28(coordinator, site_yc)
    visit = participant.visits.get(code="D28")
    entry = enter_day28_visit(
        page,
        live_server.url,
        participant,
        visit,
        visit_date=today_at(site_yc) - timedelta(days=1),
        username="coordinator",
        password=PASSWORD,
    )
    assert entry.page_loads <= entry.forms + 2
    visit = Visit.objects.with_status().get(pk=visit.pk)
    assert visit.status == "done" and visit.visit_date == today_at(site_yc) - timedelta(days=1)
    statuses = form_statuses(visit, expected_forms(visit))
    assert {code for code, status in statuses.items() if status != "complete"} == {"gvhd"}
    assert FORMS["icans"].model.objects.get(visit=visit).assessed_on == visit.visit_date  # defaulted
    assert page.url.endswith(f"/visits/{visit.pk}/forms/gvhd/")  # the visit's last form is next


def test_a_coordinator_adds_and_removes_rows_of_the_medical_history_in_the_page(
    page, live_server, coordinator, site_yc
):
    today = today_at(site_yc)
    p = make_participant(coordinator, site_yc, stage="consented", screened=today - timedelta(days=5))
    visit = p.visits.get(code="SCR")
    sign_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/visits/{visit.pk}/forms/medical_history/")
    rows = page.locator("[data-formset=conditions] tbody tr")
    before = rows.count()
    page.click("[data-formset=conditions] [data-add-row]")
    page.click("[data-formset=conditions] [data-add-row]")
    assert rows.count() == before + 2
    names = ["Hypertension", "Migraine", "Asthma", "Eczema"]
    for index, name in enumerate(names):
        page.fill(f"[name=conditions-{index}-condition]", name)
    page.locator("[data-formset=conditions] tbody tr").nth(3).locator("[data-remove-row]").click()
    page.click("#entry-form button[name=draft]")
    page.wait_for_selector("text=Medical history saved.")
    saved = FORMS["medical_history"].model.objects.get(visit=visit)
    assert sorted(saved.conditions.values_list("condition", flat=True)) == sorted(names[:3])


def test_the_keyboard_focuses_the_first_field_and_enter_does_not_submit(
    page, live_server, coordinator, site_yc
):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    visit = p.visits.get(code="BL")
    sign_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/visits/{visit.pk}/forms/vital_signs/")
    assert page.evaluate("document.activeElement.name") == "assessed_on"
    page.click("[name=temperature_c]")
    page.keyboard.type("36.9")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.name") == "heart_rate"
    assert not FORMS["vital_signs"].model.objects.filter(visit=visit).exists()
    page.keyboard.type("70")
    page.fill("[name=assessed_on]", visit.target_date.isoformat())
    page.fill("[name=systolic_bp]", "120")
    page.fill("[name=diastolic_bp]", "80")
    page.fill("[name=weight_kg]", "60")
    page.focus("[name=weight_kg]")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")  # complete, then the visit's next form
    saved = FORMS["vital_signs"].model.objects.get(visit=visit)
    assert (saved.heart_rate, saved.status) == (70, "complete")
    assert page.url.endswith(f"/visits/{visit.pk}/forms/physical_exam/")


def test_a_monitor_sees_queries_inside_fields_and_verifies_a_whole_visit_in_one_click(
    page, live_server, coordinator, monitor, site_yc
):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=40), infused=today - timedelta(days=10)
    )
    visit = p.visits.get(code="D7")
    crs = save_form(
        user=coordinator,
        spec=FORMS["crs"],
        visit=visit,
        data={
            "assessed_on": visit.target_date,
            "temperature_c": Decimal("37.1"),
            "hypotension": "none",
            "vasopressors": [],
            "oxygen_device": "none",
        },
        complete=True,
    )
    open_query(user=monitor, record=crs, field_name="temperature_c", text="Source says 37.4")
    sign_in(page, live_server, monitor.username)
    page.goto(f"{live_server.url}/visits/{visit.pk}/forms/crs/")
    assert page.locator("label[for=id_temperature_c] [data-mark=query]").count() == 1
    page.goto(f"{live_server.url}/participants/{p.pk}/casebook/")
    with page.expect_navigation():
        page.click(f"[data-verify-visit='{visit.pk}']")
    assert page.locator("text=critical fields verified against the source").count() == 1
    critical = site_yc.study.settings["critical_fields"]["crs"]
    assert SourceVerification.objects.filter(object_id=crs.pk).count() == len(critical)
    assert page.locator("[data-mark=partial]").count() >= 1  # the CRS cell: its critical fields verified


def test_one_save_shows_three_problems_in_a_summary_that_leads_to_each_field(
    page, live_server, coordinator, site_yc
):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    visit = p.visits.get(code="BL")
    sign_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/visits/{visit.pk}/forms/vital_signs/")
    page.fill("[name=temperature_c]", "50")
    page.fill("[name=heart_rate]", "300")
    page.fill("[name=weight_kg]", "1e")
    with page.expect_navigation():
        page.click("#entry-form button[name=draft]")
    summary = page.locator("#error-summary")
    assert "3 problems to correct before saving" in summary.inner_text()
    links = summary.locator("a")
    assert links.count() == 3
    assert {links.nth(i).get_attribute("href") for i in range(3)} == {
        "#id_temperature_c",
        "#id_heart_rate",
        "#id_weight_kg",
    }
    links.filter(has_text="Heart rate").click()
    assert page.evaluate("location.hash") == "#id_heart_rate"
    assert page.input_value("[name=weight_kg]") == "1e"  # what was typed stays, to be corrected
    assert not FORMS["vital_signs"].model.objects.filter(visit=visit).exists()


def test_a_history_start_known_only_to_the_year_is_entered_as_a_year(page, live_server, coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(coordinator, site_yc, stage="consented", screened=today - timedelta(days=5))
    visit = p.visits.get(code="SCR")
    sign_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/visits/{visit.pk}/forms/medical_history/")
    page.fill("[name=conditions-0-condition]", "Hypertension")
    page.fill("[name=conditions-0-start_date]", "2015")
    page.check("[name=conditions-0-ongoing]")
    page.click("#entry-form button[name=draft]")
    page.wait_for_selector("text=Medical history saved.")
    condition = FORMS["medical_history"].model.objects.get(visit=visit).conditions.get()
    assert (condition.start_date.isoformat(), condition.start_date_precision) == ("2015-01-01", "year")
    page.goto(f"{live_server.url}/visits/{visit.pk}/forms/medical_history/")
    assert page.input_value("[name=conditions-0-start_date]") == "2015"  # shown as it was typed
