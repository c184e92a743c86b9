"""Redis down: starting (or retrying) an export answers at once with a message, and the job is failed
with the reason instead of staying queued for ever."""

import time

import kombu.exceptions
import pytest
from django.urls import reverse

from exports import services, tasks
from exports.models import ExportFailure, ExportJob, ExportStatus
from exports.options import ExportOptions
from tests.exports.factories import history_in_english

NOBODY_LISTENS = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    settings.REDIS_URL = NOBODY_LISTENS
    settings.CELERY_BROKER_URL = NOBODY_LISTENS
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_starting_an_export_with_redis_down_answers_with_a_message_and_fails_the_job(
    transactional_db, client, sponsor_admin, study, redis_down
):
    client.force_login(sponsor_admin)
    started = time.monotonic()
    response = client.post(reverse("export_new"), {"formats": ["csv"], "date_mode": "shift"}, follow=True)
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    job = ExportJob.objects.get()
    assert (job.status, job.failure) == (ExportStatus.FAILED, ExportFailure.BROKER)
    assert "Connection" in job.error and job.finished_at
    page = response.content.decode()
    assert f"Export {job.pk} could not be queued: the task queue is unavailable" in page
    assert not ExportJob.objects.filter(status=ExportStatus.QUEUED).exists()


def test_a_broker_refusing_the_message_fails_the_job_with_the_reason(
    transactional_db, sponsor_admin, study, monkeypatch
):
    def refuse(*args, **kwargs):
        raise kombu.exceptions.OperationalError("Error 111 connecting: Connection refused.")

    monkeypatch.setattr(tasks.run_export_task, "apply_async", refuse)
    job = services.request_export(
        user=sponsor_admin, options=ExportOptions(study_id=study.pk, formats=("csv",))
    )
    assert job.status == ExportStatus.FAILED
    assert job.error == "OperationalError: Error 111 connecting: Connection refused."


def test_a_failed_enqueue_is_in_the_history_and_can_be_retried_once_redis_is_back(
    client, sponsor_admin, study, settings, monkeypatch, django_capture_on_commit_callbacks
):
    real_redis = settings.REDIS_URL
    settings.REDIS_URL = NOBODY_LISTENS
    with django_capture_on_commit_callbacks(execute=True):
        failed = services.request_export(
            user=sponsor_admin, options=ExportOptions(study_id=study.pk, formats=("csv",))
        )
    history = history_in_english([failed])[failed.pk]
    assert [e["label"] for e in history] == ["Queued", "Failed"]
    assert "task queue was unavailable" in history[1]["detail"]

    settings.REDIS_URL = real_redis
    sent = []
    monkeypatch.setattr(tasks.run_export_task, "apply_async", lambda args, **options: sent.append(args))
    client.force_login(sponsor_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("export_retry", args=[failed.pk]))
    retry = ExportJob.objects.get(retry_of=failed)
    assert retry.status == ExportStatus.QUEUED and sent == [(retry.pk, 1)]
