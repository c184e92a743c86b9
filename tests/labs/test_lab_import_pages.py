"""The laboratory import pages: upload, preview with every row's outcome, pick a visit, import; the CSV
mapping page; who reaches them at which site."""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from labs import importing
from labs.models import ImportStatus, LabImport, LabImportMapping, LabResult
from tests.conftest import make_participant, today_at
from tests.labs.lab_files import MAPPING, bundle, csv_file, observation


def an_hour_ago():
    return timezone.now() - timedelta(hours=1)


def post_file(client, site, content, name="results.json", file_format="fhir"):
    return client.post(
        reverse("lab_imports"),
        {"site": site.pk, "format": file_format, "file": SimpleUploadedFile(name, content)},
    )


def test_a_coordinator_uploads_previews_and_imports(client, coordinator, site_yc, baseline):
    client.force_login(coordinator)
    study_id = baseline.participant.study_id
    content = bundle(
        observation("p1", study_id, "718-7", 9.5, "g/dL", an_hour_ago()),
        observation("p2", "YC-S999", "718-7", 120, "g/L", an_hour_ago()),
    )
    response = post_file(client, site_yc, content)
    lab_import = LabImport.objects.get()
    assert response.status_code == 302 and response.url == reverse("lab_import", args=[lab_import.pk])
    page = client.get(response.url).content.decode()
    assert 'data-outcome="new"' in page and 'data-outcome="unmatched"' in page
    assert "Import 1 value" in page and lab_import.sha256 in page
    assert not LabResult.objects.exists()
    client.post(response.url, {"action": "commit"})
    assert LabImport.objects.get().status == ImportStatus.IMPORTED
    hb = LabResult.objects.get()
    assert (hb.standard_value, hb.ctcae_grade) == (95, 2)
    assert "1 value written" in client.get(response.url).content.decode()


def test_the_user_picks_the_visit_of_a_row_outside_every_window(client, coordinator, site_yc, ranges):
    client.force_login(coordinator)
    today = today_at(site_yc)
    participant = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=40), planned=today + timedelta(days=5)
    )
    screened_visit = participant.visits.get(code="SCR")
    when = timezone.now() - timedelta(days=10)  # after the screening window, before Baseline's
    lab_import = importing.upload_file(
        user=coordinator,
        site=site_yc,
        file_name="late.json",
        content=bundle(observation("w1", participant.study_id, "1742-6", 30, "U/L", when)),
        file_format="fhir",
    )
    assert lab_import.rows.get().outcome == "outside_window"
    url = reverse("lab_import", args=[lab_import.pk])
    assert f'value="{screened_visit.pk}"' in client.get(url).content.decode()
    client.post(url, {"action": "choose", "row": "1", "visit": str(screened_visit.pk)})
    assert lab_import.rows.get().visit == screened_visit
    assert 'data-outcome="new"' in client.get(url).content.decode()


def test_hostile_file_content_is_shown_as_text(client, coordinator, data_manager, site_yc, baseline):
    importing.save_mapping(user=data_manager, site=site_yc, **MAPPING)
    client.force_login(coordinator)
    local = f"{an_hour_ago().astimezone(timezone.get_fixed_timezone(480)):%Y-%m-%d %H:%M}"
    content = csv_file(
        ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "718-7", "120", "g/L", local, ""]
    )
    response = post_file(client, site_yc, content, name="<b>evil</b>.csv", file_format="csv")
    page = client.get(response.url).content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "<b>evil</b>" not in page


def test_an_unreadable_file_is_a_message_not_an_error_page(client, coordinator, site_yc):
    client.force_login(coordinator)
    response = post_file(client, site_yc, b"\x00\xff not json")
    assert response.status_code == 400 and "not UTF-8" in response.content.decode()
    assert not LabImport.objects.exists()


def test_a_monitor_cannot_reach_the_import(client, monitor):
    client.force_login(monitor)
    assert client.get(reverse("lab_imports")).status_code == 403


def test_another_sites_import_is_not_found(client, coordinator, coordinator_cd, site_yc, baseline):
    lab_import = importing.upload_file(
        user=coordinator,
        site=site_yc,
        file_name="r.json",
        content=bundle(observation("p1", baseline.participant.study_id, "1742-6", 30, "U/L", an_hour_ago())),
        file_format="fhir",
    )
    client.force_login(coordinator_cd)
    assert client.get(reverse("lab_import", args=[lab_import.pk])).status_code == 404
    assert client.post(reverse("lab_import", args=[lab_import.pk]), {"action": "commit"}).status_code == 404
    assert not LabResult.objects.exists()
    assert lab_import.file_name not in client.get(reverse("lab_imports")).content.decode()


def test_a_coordinator_cannot_upload_for_another_site(client, coordinator, site_cd):
    client.force_login(coordinator)
    response = post_file(client, site_cd, bundle())
    assert response.status_code == 400 and not LabImport.objects.exists()


def test_a_data_manager_saves_the_csv_mapping_and_a_coordinator_cannot(
    client, coordinator, data_manager, site_yc
):
    url = reverse("lab_import_mapping", args=[site_yc.pk])
    client.force_login(coordinator)
    assert client.get(url).status_code == 403
    client.force_login(data_manager)
    response = client.post(url, {**MAPPING, "specimen": "", "delimiter": ";"})
    assert response.status_code == 302
    saved = LabImportMapping.objects.get(site=site_yc)
    assert (saved.value, saved.delimiter, saved.updated_by) == ("Result", ";", data_manager)
