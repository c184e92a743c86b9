"""Jobs whose worker died are found by beat's stale-export check and run again, failed or cancelled,
with the dead attempt's partial files removed; a late message of an older attempt does nothing."""

import time
from datetime import timedelta

import pytest
from django.conf import settings as project_settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from edc.celery import app
from exports import csv_export, services, tasks
from exports.models import ExportFailure, ExportJob, ExportJobEvent, ExportStatus
from exports.options import ExportOptions
from tests.exports.factories import history_in_english, infused_participant, manifest, read_zip


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.run_export_task, "apply_async", lambda args, **options: calls.append(args))
    return calls


def running_job(user, study, *, silent_for: float, attempt: int = 1, **changes) -> ExportJob:
    """A job a worker started and then stopped giving signs of life ``silent_for`` seconds ago."""
    job = services.request_export(
        user=user, options=ExportOptions(study_id=study.pk, formats=("csv",)), enqueue=False
    )
    for number in range(1, attempt + 1):
        ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.QUEUED, attempt=number)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING, progress=20)
    last_sign = timezone.now() - timedelta(seconds=silent_for)
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=last_sign, started_at=last_sign, **changes)
    return ExportJob.objects.get(pk=job.pk)


def partial_files(job, attempt: int):
    folder = services.export_directory(job) / f"attempt-{attempt}" / "files" / "csv"
    folder.mkdir(parents=True)
    (folder / "participants_wide.csv").write_text("study_id\nYC-001\n")
    return folder.parent.parent


def test_a_running_job_without_heartbeat_is_run_again_as_its_next_attempt_without_its_partial_files(
    sponsor_admin, study, settings, sent, django_capture_on_commit_callbacks
):
    settings.EXPORT_STALE_SECONDS = 60
    job = running_job(sponsor_admin, study, silent_for=61)
    leftovers = partial_files(job, 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.recover_stale_exports()["rerun"] == 1
    job.refresh_from_db()
    assert (job.status, job.attempt, job.progress) == (ExportStatus.QUEUED, 2, 0)
    assert sent == [(job.pk, 2)]
    assert not leftovers.exists()
    history = history_in_english([job])[job.pk]
    assert (history[-1]["username"], history[-1]["label"]) == (
        "system",
        "Worker stopped giving signs of life: queued again as attempt 2",
    )
    assert "no heartbeat" in history[-1]["detail"]


def test_a_job_with_a_recent_heartbeat_is_left_alone(sponsor_admin, study, settings, sent):
    settings.EXPORT_STALE_SECONDS = 60
    job = running_job(sponsor_admin, study, silent_for=30)
    assert services.recover_stale_exports() == {"requeued": 0, "rerun": 0, "failed": 0, "cancelled": 0}
    job.refresh_from_db()
    assert (job.status, job.attempt) == (ExportStatus.RUNNING, 1)


def test_a_job_whose_worker_died_on_every_attempt_is_failed_with_the_reason(
    sponsor_admin, study, settings, sent, django_capture_on_commit_callbacks
):
    settings.EXPORT_STALE_SECONDS, settings.EXPORT_MAX_ATTEMPTS = 60, 2
    job = running_job(sponsor_admin, study, silent_for=61, attempt=2)
    leftovers = partial_files(job, 2)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.recover_stale_exports()["failed"] == 1
    job.refresh_from_db()
    assert (job.status, job.failure) == (ExportStatus.FAILED, ExportFailure.WORKER_LOST)
    assert job.error == "worker lost 2 times (no heartbeat for 60 s)"
    assert sent == [] and not leftovers.exists()


def test_a_dead_job_whose_cancel_was_asked_ends_cancelled(
    sponsor_admin, study, settings, sent, django_capture_on_commit_callbacks
):
    settings.EXPORT_STALE_SECONDS = 60
    job = running_job(sponsor_admin, study, silent_for=61)
    services.cancel_export(user=sponsor_admin, job_id=job.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.recover_stale_exports()["cancelled"] == 1
    job.refresh_from_db()
    assert (job.status, job.cancelled_by) == (ExportStatus.CANCELLED, sponsor_admin)
    assert history_in_english([job])[job.pk][-1]["label"] == "Cancelled"
    assert sent == []


def test_a_queued_job_no_worker_took_is_sent_again_and_the_lost_message_does_nothing(
    sponsor_admin, study, settings, sent, django_capture_on_commit_callbacks
):
    settings.EXPORT_STALE_SECONDS = 60
    job = services.request_export(
        user=sponsor_admin, options=ExportOptions(study_id=study.pk, formats=("csv",)), enqueue=False
    )
    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=61))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.recover_stale_exports()["requeued"] == 1
    assert sent == [(job.pk, 2)]
    assert services.run_export(job_id=job.pk, attempt=1).status == ExportStatus.QUEUED
    assert services.run_export(job_id=job.pk, attempt=2).status == ExportStatus.DONE
    assert services.run_export(job_id=job.pk, attempt=2).status == ExportStatus.DONE  # a duplicate


def test_a_late_run_of_an_older_attempt_cannot_replace_the_zip(sponsor_admin, study, coordinator, site_yc):
    infused_participant(coordinator, site_yc)
    job = services.request_export(
        user=sponsor_admin, options=ExportOptions(study_id=study.pk, formats=("csv",)), enqueue=False
    )
    ExportJob.objects.filter(pk=job.pk).update(attempt=2)
    done = services.run_export(job_id=job.pk, attempt=2)
    zip_hash = done.zip_sha256
    assert services.run_export(job_id=job.pk, attempt=1).zip_sha256 == zip_hash
    assert sorted(p.name for p in services.export_directory(job).iterdir()) == [
        f"{study.code}-export-{job.pk}.zip"
    ]
    assert {f["sha256"] for f in manifest(done)["files"]} == {f["sha256"] for f in done.files}
    assert set(read_zip(done)) >= {"manifest.json", "csv/participants_wide.csv"}


def test_the_running_task_writes_a_heartbeat_that_is_not_an_audit_event(
    transactional_db, sponsor_admin, study, settings, monkeypatch
):
    real_write = csv_export.write_csv
    beats = []

    def slow_write(**kwargs):
        for _ in range(10):
            time.sleep(0.05)
            beats.append(ExportJob.objects.values_list("heartbeat_at", flat=True).get(pk=job.pk))
        return real_write(**kwargs)

    monkeypatch.setattr(csv_export, "write_csv", slow_write)
    events = {}
    for heartbeat in (3600, 0.05):
        settings.EXPORT_HEARTBEAT_SECONDS = heartbeat
        job = services.request_export(
            user=sponsor_admin, options=ExportOptions(study_id=study.pk, formats=("csv",)), enqueue=False
        )
        beats.clear()
        job = services.run_export(job_id=job.pk)
        assert job.status == ExportStatus.DONE
        events[heartbeat] = ExportJobEvent.objects.filter(pgh_obj_id=job.pk).count()
    assert len(set(beats)) >= 3 and beats[-1] > job.started_at
    assert events[0.05] == events[3600]  # a heartbeat is no row of the job's history


def test_the_stale_check_is_a_beat_schedule_in_the_database(db):
    task = PeriodicTask.objects.get(task="exports.tasks.recover_stale_exports")
    assert task.enabled and (task.interval.every, task.interval.period) == (1, "minutes")
    assert "exports.tasks.recover_stale_exports" in app.tasks


def test_by_default_a_dead_worker_s_job_is_resumed_within_ten_minutes():
    beat_interval = 60
    assert project_settings.EXPORT_HEARTBEAT_SECONDS * 3 <= project_settings.EXPORT_STALE_SECONDS
    assert project_settings.EXPORT_STALE_SECONDS + beat_interval <= 600
