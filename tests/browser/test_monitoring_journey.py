"""Debian's chromium, driven by Playwright: a query on a lab value from raising to the signed casebook.

Monitor raises a query on a haemoglobin value → the coordinator answers and corrects the value →
the monitor closes the query and verifies the panel → the investigator signs the casebook.
"""

import os
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from labs.reference_data import DEFAULT_FILE, load_file
from labs.services import ResultEntry, save_panel
from monitoring.models import Query, QueryStatus, SourceVerification
from signatures.models import Signature
from tests.browser.conftest import log_in
from tests.conftest import PASSWORD, make_participant, today_at
from visits.services import add_unscheduled_visit

pytestmark = pytest.mark.browser


@pytest.fixture
def panel(coordinator, site_yc, study):
    """A complete haematology panel at an unscheduled visit, the participant's only visit that took
    place (the scheduled ones are set aside in the set-up, so the casebook holds this visit alone)."""
    load_file(DEFAULT_FILE)
    today = today_at(site_yc)
    participant = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    participant.visits.filter(unscheduled=False).update(visit_date=None, not_applicable=True)
    visit = add_unscheduled_visit(
        user=coordinator, participant=participant, visit_date=today - timedelta(days=1), reason="Flare review"
    )
    values = {"wbc": "5.0", "anc": "3.0", "alc": "1.5", "hb": "13.0", "platelets": "200"}
    units = {"hb": "g/L"}
    return save_panel(
        user=coordinator,
        visit=visit,
        panel="haematology",
        data={
            "collected_at": timezone.now() - timedelta(hours=20),
            "laboratory": "YC lab",
            "source": "local",
        },
        results=[ResultEntry(code, Decimal(v), units.get(code, "10^9/L")) for code, v in values.items()],
        complete=True,
    )


def test_query_on_a_lab_value_is_answered_corrected_closed_verified_and_the_casebook_signed(
    page, live_server, coordinator, monitor, investigator, panel, tmp_path
):
    panel_url = f"{live_server.url}/visits/{panel.visit_id}/forms/labs/{panel.pk}/"
    shots = os.environ.get("EDC_SCREENSHOT_DIR") or str(tmp_path)

    # 1. The monitor queries the haemoglobin value (13 g/L: a decimal point typed in the wrong place?).
    log_in(page, live_server, "monitor")
    page.goto(panel_url)
    page.locator("#row-hb a.raise-query").click()
    page.wait_for_selector("h1:has-text('Raise a query')")
    assert page.input_value("select[name=field_name]") == "value"
    page.fill("textarea[name=text]", "Hb 13 g/L is not compatible with the source report (130 g/L?).")
    page.click("button:has-text('Raise the query')")
    page.wait_for_selector("text=Query raised.")
    query = Query.objects.get(query_type="manual")
    assert query.status == QueryStatus.OPEN

    # 2. The coordinator sees it on the row, answers it and corrects the value with a reason.
    log_in(page, live_server, "coordinator")
    page.goto(panel_url)
    assert "not compatible with the source" in page.locator("#row-hb").inner_text()
    page.locator("#row-hb a[href*='/queries/']").first.click()
    page.fill("#text-answer", "Transcription error: the report says 130 g/L. Corrected.")
    page.click("button:has-text('Answer')")
    page.wait_for_selector("text=Query answered.")
    page.goto(panel_url)
    page.fill("input[name=r-hb-value]", "130")
    page.fill("[name=reason]", "Transcription error (query answered)")
    page.click("button:has-text('Save and mark complete')")
    page.wait_for_selector("text=Haematology saved.")
    assert panel.results.get(analyte="hb").value == Decimal("130")

    # 3. The monitor closes the query and verifies the panel against the source.
    log_in(page, live_server, "monitor")
    page.goto(f"{live_server.url}/queries/{query.pk}/")
    page.click("button:has-text('Close the query')")
    page.wait_for_selector("text=Query closed.")
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED
    page.goto(panel_url)
    page.click("button:has-text('Verify form')")
    page.wait_for_selector("text=form verified")
    assert SourceVerification.objects.filter(
        object_id=panel.pk, field_name="", cleared_at__isnull=True
    ).exists()
    page.screenshot(path=os.path.join(shots, "monitor-verified-panel.png"), full_page=True)

    # 4. The investigator signs the casebook with the password; the manifestation is shown.
    log_in(page, live_server, "investigator")
    page.goto(f"{live_server.url}/participants/{panel.participant_id}/")
    page.click("a:has-text('Sign casebook')")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign casebook')")
    signature = Signature.objects.get()
    assert signature.signer == investigator and signature.participant_id == panel.participant_id
    page.goto(panel_url)
    assert "Signed by" in page.content() or "signed by" in page.content()
    page.screenshot(path=os.path.join(shots, "investigator-signed.png"), full_page=True)
