"""Only sponsor admins and data managers export; identifiable data need a separate permission."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.models import Role
from exports import services
from exports.models import ExportDownload, ExportJob, ExportStatus
from exports.options import ExportOptions
from tests.exports.factories import infused_participant, run


@pytest.fixture
def finished_job(study, sponsor_admin, coordinator, site_yc):
    infused_participant(coordinator, site_yc)
    return run(sponsor_admin, study, deidentify=True)


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR])
def test_site_roles_cannot_open_start_or_download_exports(client, make_user, site_yc, role, finished_job):
    client.force_login(make_user(role, site_yc))
    assert client.get(reverse("export_list")).status_code == 403
    response = client.post(
        reverse("export_new"), {"formats": ["csv"], "deidentify": "on", "date_mode": "shift"}
    )
    assert response.status_code == 403
    assert client.get(reverse("export_download", args=[finished_job.pk])).status_code == 403
    assert client.get(reverse("export_progress", args=[finished_job.pk])).status_code == 403
    assert ExportJob.objects.count() == 1
    assert not ExportDownload.objects.exists()


def test_auditor_cannot_export(client, auditor, finished_job):
    client.force_login(auditor)
    assert client.get(reverse("export_list")).status_code == 403
    assert client.get(reverse("export_download", args=[finished_job.pk])).status_code == 403


def test_data_manager_starts_a_deidentified_export_from_the_page(client, data_manager, study):
    client.force_login(data_manager)
    assert client.get(reverse("export_list")).status_code == 200
    response = client.post(
        reverse("export_new"), {"formats": ["csv"], "deidentify": "on", "date_mode": "study_day"}
    )
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert job.requested_by == data_manager
    assert job.options["deidentify"] is True and job.options["date_mode"] == "study_day"
    assert job.status == ExportStatus.QUEUED


def test_data_manager_cannot_start_an_identifiable_export(client, data_manager, study):
    client.force_login(data_manager)
    response = client.post(reverse("export_new"), {"formats": ["csv"], "date_mode": "shift"})
    assert response.status_code == 403
    assert not ExportJob.objects.exists()


def test_data_manager_granted_the_permission_exports_identifiable_data(data_manager, study):
    data_manager.user_permissions.add(Permission.objects.get(codename="export_identifiable"))
    data_manager = type(data_manager).objects.get(pk=data_manager.pk)  # fresh permission cache
    job = services.request_export(
        user=data_manager, options=ExportOptions(study_id=study.pk, formats=("csv",)), enqueue=False
    )
    assert job.options["deidentify"] is False


def test_sponsor_admin_exports_identifiable_data(client, sponsor_admin, study):
    client.force_login(sponsor_admin)
    response = client.post(reverse("export_new"), {"formats": ["csv", "audit"], "date_mode": "shift"})
    assert response.status_code == 302
    assert ExportJob.objects.get().options["formats"] == ["csv", "audit"]


def test_data_manager_cannot_download_an_identifiable_export(client, data_manager, sponsor_admin, study):
    job = run(sponsor_admin, study, formats=("csv",))
    assert job.status == ExportStatus.DONE
    client.force_login(data_manager)
    assert client.get(reverse("export_download", args=[job.pk])).status_code == 403
    assert not ExportDownload.objects.exists()


def test_audit_trail_is_refused_in_a_deidentified_export(client, sponsor_admin, study):
    client.force_login(sponsor_admin)
    response = client.post(
        reverse("export_new"), {"formats": ["audit"], "deidentify": "on", "date_mode": "shift"}
    )
    assert response.status_code == 400
    assert "audit trail" in response.content.decode()
    assert not ExportJob.objects.exists()


def test_service_refuses_a_coordinator_whatever_the_caller(coordinator, study):
    with pytest.raises(PermissionDenied, match="does not allow exports"):
        services.request_export(
            user=coordinator,
            options=ExportOptions(study_id=study.pk, formats=("csv",), deidentify=True),
            enqueue=False,
        )


def test_export_list_runs_a_constant_number_of_queries(
    client, sponsor_admin, study, django_assert_max_num_queries
):
    for _ in range(2):
        run(sponsor_admin, study, deidentify=True)
    client.force_login(sponsor_admin)
    with django_assert_max_num_queries(40) as two:
        client.get(reverse("export_list"))
    for _ in range(8):
        run(sponsor_admin, study, deidentify=True)
    with django_assert_max_num_queries(len(two.captured_queries)):
        assert client.get(reverse("export_list")).status_code == 200
