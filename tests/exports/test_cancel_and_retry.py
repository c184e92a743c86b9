"""Cancel a queued or running export, retry a failed or cancelled one; the same permission layer as
starting an export; every transition in the job's history, attributed."""

import time

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from exports import csv_export, services, tasks
from exports.models import ExportJob, ExportStatus
from exports.options import ExportOptions
from tests.exports.factories import history_in_english, infused_participant, run


@pytest.fixture
def sent(monkeypatch):
    """The run tasks sent to the broker, as ``(job id, attempt)``."""
    calls = []
    monkeypatch.setattr(tasks.run_export_task, "apply_async", lambda args, **options: calls.append(args))
    return calls


def queued_job(user, study, **options):
    options.setdefault("formats", ("csv",))
    return services.request_export(
        user=user, options=ExportOptions(study_id=study.pk, **options), enqueue=False
    )


def labels(job):
    return [(e["username"], e["label"]) for e in history_in_english([job])[job.pk]]


def test_cancelling_a_queued_job_ends_it_and_its_message_does_nothing(
    client, sponsor_admin, study, export_root
):
    job = queued_job(sponsor_admin, study)
    client.force_login(sponsor_admin)
    response = client.post(reverse("export_cancel", args=[job.pk]), follow=True)
    assert f"Export {job.pk} cancelled." in response.content.decode()
    job.refresh_from_db()
    assert (job.status, job.cancelled_by, bool(job.finished_at)) == (
        ExportStatus.CANCELLED,
        sponsor_admin,
        True,
    )
    assert services.run_export(job_id=job.pk, attempt=1).status == ExportStatus.CANCELLED
    assert not export_root.exists() or not any(export_root.rglob("*"))
    assert labels(job) == [("sponsoradmin", "Queued"), ("sponsoradmin", "Cancelled")]


def test_cancelling_a_running_job_stops_it_at_its_next_step_and_removes_its_files(
    transactional_db, sponsor_admin, study, coordinator, site_yc, export_root, monkeypatch
):
    infused_participant(coordinator, site_yc)
    job = queued_job(sponsor_admin, study, formats=("csv", "odm"))
    real_write = csv_export.write_csv
    seen = {}

    def write_then_get_cancelled(**kwargs):
        counts = real_write(**kwargs)
        seen["files"] = [p for p in export_root.rglob("*") if p.is_file()]
        services.cancel_export(user=sponsor_admin, job_id=job.pk)  # as the page would, meanwhile
        kwargs["progress"](0.5)
        return counts

    monkeypatch.setattr(csv_export, "write_csv", write_then_get_cancelled)
    job = services.run_export(job_id=job.pk)
    assert job.status == ExportStatus.CANCELLED and job.cancelled_by == sponsor_admin
    assert seen["files"] and not any(p.exists() for p in seen["files"])
    assert not job.zip_path and not any(p.is_file() for p in export_root.rglob("*"))
    assert labels(job) == [
        ("sponsoradmin", "Queued"),
        ("sponsoradmin", "Running (attempt 1)"),
        ("sponsoradmin", "Cancel requested"),
        ("sponsoradmin", "Cancelled"),
    ]


def test_a_running_step_without_progress_is_stopped_by_the_heartbeat_thread(
    transactional_db, sponsor_admin, study, settings, export_root, monkeypatch
):
    settings.EXPORT_HEARTBEAT_SECONDS = 0.05
    job = queued_job(sponsor_admin, study)

    def long_step(**kwargs):
        services.cancel_export(user=sponsor_admin, job_id=job.pk)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # reports no new percentage: only the heartbeat notices
            kwargs["progress"](0)
            time.sleep(0.01)
        raise AssertionError("the cancel was never noticed")

    monkeypatch.setattr(csv_export, "write_csv", long_step)
    started = time.monotonic()
    assert services.run_export(job_id=job.pk).status == ExportStatus.CANCELLED
    assert time.monotonic() - started < 5


def test_retrying_a_failed_job_queues_a_new_job_linked_to_it(
    client, sponsor_admin, data_manager, study, monkeypatch, sent, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(csv_export, "write_csv", lambda **kwargs: 1 / 0)
    failed = run(sponsor_admin, study, deidentify=True)
    assert failed.status == ExportStatus.FAILED
    client.force_login(data_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("export_retry", args=[failed.pk]), follow=True)
    retry = ExportJob.objects.get(retry_of=failed)
    assert f"Export {failed.pk} retried as export {retry.pk}." in response.content.decode()
    assert (retry.status, retry.requested_by, retry.options) == (
        ExportStatus.QUEUED,
        data_manager,
        failed.options,
    )
    assert sent == [(retry.pk, 1)]
    failed.refresh_from_db()
    assert failed.status == ExportStatus.FAILED  # the failed job stays as it was
    assert labels(failed)[-1] == ("datamanager", f"Retried as export {retry.pk}")
    assert labels(retry) == [("datamanager", f"Queued as a retry of export {failed.pk}")]

    again = client.post(reverse("export_retry", args=[failed.pk]), follow=True)
    assert f"already retried as export {retry.pk}" in again.content.decode()
    assert ExportJob.objects.filter(retry_of=failed).count() == 1


def test_a_cancelled_job_can_be_retried_but_not_a_finished_one(client, sponsor_admin, study, sent):
    cancelled = services.cancel_export(user=sponsor_admin, job_id=queued_job(sponsor_admin, study).pk)
    done = run(sponsor_admin, study)
    client.force_login(sponsor_admin)
    client.post(reverse("export_retry", args=[cancelled.pk]))
    assert ExportJob.objects.filter(retry_of=cancelled).exists()
    response = client.post(reverse("export_retry", args=[done.pk]), follow=True)
    assert "Only a failed or cancelled export can be retried." in response.content.decode()
    assert not ExportJob.objects.filter(retry_of=done).exists()


def test_a_finished_job_cannot_be_cancelled(client, sponsor_admin, study):
    done = run(sponsor_admin, study)
    client.force_login(sponsor_admin)
    response = client.post(reverse("export_cancel", args=[done.pk]), follow=True)
    assert "Only a queued or running export can be cancelled." in response.content.decode()
    done.refresh_from_db()
    assert done.status == ExportStatus.DONE


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MONITOR, Role.AUDITOR])
def test_users_without_export_permission_cannot_cancel_or_retry(
    client, make_user, site_yc, sponsor_admin, study, role, monkeypatch
):
    queued = queued_job(sponsor_admin, study, deidentify=True)
    monkeypatch.setattr(csv_export, "write_csv", lambda **kwargs: 1 / 0)
    failed = run(sponsor_admin, study, deidentify=True)
    client.force_login(make_user(role, site_yc if role != Role.AUDITOR else None))
    assert client.post(reverse("export_cancel", args=[queued.pk])).status_code == 403
    assert client.post(reverse("export_retry", args=[failed.pk])).status_code == 403
    queued.refresh_from_db()
    assert queued.status == ExportStatus.QUEUED
    assert not ExportJob.objects.filter(retry_of=failed).exists()


def test_a_data_manager_cannot_cancel_or_retry_an_identifiable_export(
    client, data_manager, sponsor_admin, study, monkeypatch
):
    queued = queued_job(sponsor_admin, study)
    monkeypatch.setattr(csv_export, "write_csv", lambda **kwargs: 1 / 0)
    failed = run(sponsor_admin, study)
    client.force_login(data_manager)
    assert client.post(reverse("export_cancel", args=[queued.pk])).status_code == 403
    assert client.post(reverse("export_retry", args=[failed.pk])).status_code == 403
    assert ExportJob.objects.get(pk=queued.pk).status == ExportStatus.QUEUED


def test_the_page_offers_cancel_and_retry_and_shows_the_history(client, sponsor_admin, study, monkeypatch):
    queued = queued_job(sponsor_admin, study)
    monkeypatch.setattr(csv_export, "write_csv", lambda **kwargs: 1 / 0)
    failed = run(sponsor_admin, study)
    client.force_login(sponsor_admin)
    page = client.get(reverse("export_list")).content.decode()
    assert reverse("export_cancel", args=[queued.pk]) in page
    assert reverse("export_retry", args=[failed.pk]) in page
    assert reverse("export_retry", args=[queued.pk]) not in page
    assert reverse("export_cancel", args=[failed.pk]) not in page
    assert "Running (attempt 1)" in page and "ZeroDivisionError" in page


@pytest.fixture
def english_afterwards():
    """The language middleware leaves the user's language active in this thread after the request."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


def test_the_page_is_in_simplified_chinese(client, sponsor_admin, study, english_afterwards):
    queued_job(sponsor_admin, study)
    sponsor_admin.profile.language = "zh-hans"
    sponsor_admin.profile.save()
    client.force_login(sponsor_admin)
    page = client.get(reverse("export_list")).content.decode()
    assert "取消导出" in page and "<summary>历史</summary>" in page
