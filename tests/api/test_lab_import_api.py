"""The API's laboratory write: upload a FHIR bundle for its preview, then import it (issue 18, point 2)."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from api.models import TokenScope
from labs.models import LabResult
from tests.api.test_schema import schema_of
from tests.conftest import make_participant, today_at
from tests.labs.conftest import entry, save
from tests.labs.lab_files import bundle, observation


@pytest.fixture
def participant_40_days(coordinator, site_yc, study):
    """A YC participant screened 40 days ago, at Baseline today, with the default reference ranges."""
    from labs.reference_data import DEFAULT_FILE, load_file

    load_file(DEFAULT_FILE)
    today = today_at(site_yc)
    return make_participant(
        coordinator, site_yc, screened=today - timedelta(days=40), planned=today + timedelta(days=5)
    )


def upload(client, content, site="YC"):
    return client.post(
        reverse("api_lab_imports"),
        {"site": site, "format": "fhir", "file": SimpleUploadedFile("lis.json", content)},
        format="multipart",
    )


def test_a_bundle_is_previewed_then_imported_with_the_visit_the_client_picks(
    token_client, coordinator, participant_40_days
):
    participant = participant_40_days
    now = timezone.now() - timedelta(hours=1)
    client = token_client(coordinator)
    response = upload(
        client,
        bundle(
            observation("a1", participant.study_id, "718-7", 12.5, "g/dL", now),
            observation("a2", participant.study_id, "1742-6", 30, "U/L", now - timedelta(days=10)),
        ),
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [row["outcome"] for row in body["rows"]] == ["new", "outside_window"]
    assert body["status"] == "previewed" and len(body["sha256"]) == 64
    screening = participant.visits.get(code="SCR")
    committed = client.post(
        reverse("api_lab_import_commit", args=[body["id"]]), {"visits": {"2": screening.pk}}, format="json"
    )
    assert committed.status_code == 200, committed.content
    assert committed.json()["written"] == 2
    assert LabResult.objects.get(analyte="alt").panel.visit == screening
    assert LabResult.objects.get(analyte="hb").standard_value == 125


def test_a_value_entered_since_the_preview_answers_409_and_writes_nothing(
    token_client, coordinator, participant_40_days
):
    baseline = participant_40_days.visits.get(code="BL")
    now = timezone.now() - timedelta(hours=1)
    client = token_client(coordinator)
    body = upload(
        client, bundle(observation("a1", baseline.participant.study_id, "718-7", 120, "g/L", now))
    ).json()
    save(coordinator, baseline, [entry("hb", 110, "g/L")], collected_at=now)
    response = client.post(reverse("api_lab_import_commit", args=[body["id"]]), {}, format="json")
    assert response.status_code == 409
    assert response.json()["lab_import"]["rows"][0]["outcome"] == "differs"
    assert LabResult.objects.get().value == 110


def test_a_read_only_token_cannot_upload(token_client, coordinator):
    client = token_client(coordinator, scope=TokenScope.READ)
    assert upload(client, bundle()).status_code == 403


def test_the_schema_documents_the_upload_as_multipart_with_its_refusals(token_client, coordinator):
    schema = schema_of(token_client(coordinator))
    post = schema["paths"]["/api/v1/lab-imports/"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert {"201", "400", "403"} <= set(post["responses"])
    assert "409" in schema["paths"]["/api/v1/lab-imports/{pk}/commit/"]["post"]["responses"]
