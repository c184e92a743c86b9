"""Debian's chromium, driven by Playwright: a coordinator uploads the hospital's FHIR bundle, reads the
preview with each row's outcome, and imports it (issue 18, point 2)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from labs.models import ImportStatus, LabImport, LabResult
from labs.reference_data import load_file
from tests.conftest import PASSWORD, make_participant, today_at
from tests.labs.lab_files import bundle, observation

pytestmark = pytest.mark.browser


def test_coordinator_uploads_a_bundle_reads_its_preview_and_imports_it(
    page, live_server, coordinator, site_yc, tmp_path
):
    load_file()
    today = today_at(site_yc)
    participant = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    when = timezone.now() - timedelta(hours=1)
    path = tmp_path / "hospital.json"
    path.write_bytes(
        bundle(
            observation("obs-1", participant.study_id, "718-7", 9.5, "g/dL", when, performer="YC laboratory"),
            observation("obs-2", participant.study_id, "751-8", 300, "/uL", when),
            observation("obs-3", "YC-S999", "718-7", 120, "g/L", when),
            observation("obs-4", participant.study_id, "99999-9", 1, "g/L", when),
        )
    )

    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", "coordinator")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/home/")

    page.click("nav a:has-text('Lab import')")
    page.wait_for_selector("h1:has-text('Laboratory import')")
    page.select_option("select[name=format]", "fhir")
    page.set_input_files("input[name=file]", str(path))
    with page.expect_navigation():
        page.click("#lab-import-form button[type=submit]")

    page.wait_for_selector("#import-rows")
    outcomes = page.eval_on_selector_all("#import-rows tbody tr", "rows => rows.map(r => r.dataset.outcome)")
    assert outcomes == ["new", "new", "unmatched", "unknown_code"]
    assert "Unmatched participant: 1" in page.inner_text("#import-counts")
    assert not LabResult.objects.exists()  # the preview writes nothing

    with page.expect_navigation():
        page.click("button:has-text('Import 2 values')")
    assert "2 values written" in page.inner_text("#import-status")
    assert LabImport.objects.get().status == ImportStatus.IMPORTED
    anc = LabResult.objects.get(analyte="anc")
    assert (anc.flag, anc.ctcae_grade) == ("L", 4)  # ANC 0.3 ×10⁹/L: CTCAE grade 4
    assert LabResult.objects.get(analyte="hb").panel.laboratory == "YC laboratory"
