"""Who may print a casebook, where: investigators and data managers, for their sites' participants
(``Action.PRINT_CASEBOOK``); everyone else gets a 403, and another site's participant or casebook a 404."""

import time

import pytest
from django.urls import reverse

from accounts.models import Role
from casebooks import selectors, services
from exports.models import ExportJob, ExportStatus
from tests.conftest import make_participant


def _casebook_jobs():
    return ExportJob.objects.filter(options__formats=["casebook"])


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.DATA_MANAGER])
def test_investigators_and_data_managers_queue_a_participants_casebook(
    client, make_user, site_yc, participant, role
):
    user = make_user(role, site_yc if role == Role.INVESTIGATOR else None)
    client.force_login(user)
    response = client.post(reverse("casebook_pdf", args=[participant.pk]))
    assert response.status_code == 302 and response.url == reverse("casebook_jobs")
    job = _casebook_jobs().get()
    assert job.requested_by == user and job.status == ExportStatus.QUEUED
    assert job.options["participant_ids"] == [participant.pk] and job.options["site_ids"] == [site_yc.pk]


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.MONITOR, Role.AUDITOR, Role.SPONSOR_ADMIN])
def test_other_roles_are_refused_with_a_403(client, make_user, site_yc, participant, role):
    client.force_login(make_user(role, site_yc if role in (Role.COORDINATOR, Role.MONITOR) else None))
    assert client.post(reverse("casebook_pdf", args=[participant.pk])).status_code == 403
    assert client.get(reverse("casebook_jobs")).status_code == 403
    assert not _casebook_jobs().exists()


@pytest.mark.parametrize("role", [Role.INVESTIGATOR, Role.MONITOR])
def test_another_sites_participant_answers_404(client, make_user, site_cd, participant, role):
    client.force_login(make_user(role, site_cd))
    assert client.post(reverse("casebook_pdf", args=[participant.pk])).status_code == 404
    assert not _casebook_jobs().exists()


def test_another_sites_casebook_is_neither_listed_nor_shown_nor_downloaded(
    client, make_user, site_yc, site_cd, investigator, participant
):
    job = services.request_casebook(user=investigator, participant=participant, enqueue=False)
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.DONE, zip_path="/nonexistent.zip")
    other = make_user(Role.INVESTIGATOR, site_cd)
    assert selectors.casebook_jobs_for(other) == []
    client.force_login(other)
    assert client.get(reverse("casebook_progress", args=[job.pk])).status_code == 404
    assert client.get(reverse("casebook_download", args=[job.pk])).status_code == 404
    assert job.downloads.count() == 0
    assert [j.pk for j in selectors.casebook_jobs_for(investigator)] == [job.pk]


def test_a_site_casebook_covers_only_a_site_where_the_user_prints(client, make_user, site_yc, site_cd):
    client.force_login(make_user(Role.INVESTIGATOR, site_yc))
    assert client.post(reverse("casebook_pdf_site"), {"site": site_cd.pk}).status_code == 404
    assert client.post(reverse("casebook_pdf_site"), {"site": site_yc.pk}).status_code == 302
    [job] = _casebook_jobs()
    assert job.options["site_ids"] == [site_yc.pk] and job.options["participant_ids"] is None


def test_a_repeated_request_while_the_first_waits_prints_once(client, investigator, participant):
    client.force_login(investigator)
    url = reverse("casebook_pdf", args=[participant.pk])
    client.post(url)
    client.post(url)
    assert _casebook_jobs().count() == 1


def test_the_casebook_page_shows_the_print_button_to_those_who_may_print(
    client, investigator, coordinator, participant
):
    url = reverse("casebook", args=[participant.pk])
    button = reverse("casebook_pdf", args=[participant.pk])
    client.force_login(investigator)
    assert button in client.get(url).content.decode()
    client.force_login(coordinator)
    assert button not in client.get(url).content.decode()


def test_a_data_manager_downloads_a_site_casebook_as_a_zip_and_the_download_is_recorded(
    client, data_manager, coordinator, site_yc, tmp_path
):
    from django.core.management import call_command

    make_participant(coordinator, site_yc, stage="screening", initials="CA")
    make_participant(coordinator, site_yc, stage="screening", initials="CB")
    out = tmp_path / "yc.zip"
    call_command("casebook_pdf", site="YC", out=str(out), user=data_manager.username)
    job = _casebook_jobs().get()
    assert job.status == ExportStatus.DONE and job.requested_via == "command"
    names = [f["name"] for f in job.files]
    assert len([n for n in names if n.endswith(".pdf")]) == 2
    # The progress bar moved while the casebooks were printed, one participant after the other.
    from exports.models import ExportJobEvent

    steps = set(ExportJobEvent.objects.filter(pgh_obj_id=job.pk).values_list("progress", flat=True))
    assert any(0 < step < 100 for step in steps), steps
    client.force_login(data_manager)
    response = client.get(reverse("casebook_download", args=[job.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert job.downloads.get().user == data_manager


def test_the_command_writes_a_participants_casebook_as_one_pdf(coordinator, site_yc, tmp_path):
    from django.core.management import call_command
    from pypdf import PdfReader

    p = make_participant(coordinator, site_yc, stage="screening", initials="CC")
    out = tmp_path / "casebook.pdf"
    call_command("casebook_pdf", participant=p.screening_number, out=str(out))
    assert str(p) in PdfReader(out).pages[0].extract_text()
    job = _casebook_jobs().get()
    assert job.requested_by is None and job.options["participant_ids"] == [p.pk]


def test_the_casebook_page_follows_a_queued_casebook_with_a_progress_bar(client, investigator, participant):
    job = services.request_casebook(user=investigator, participant=participant, enqueue=False)
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING, progress=40)
    client.force_login(investigator)
    page = client.get(reverse("casebook_jobs")).content.decode()
    assert reverse("casebook_progress", args=[job.pk]) in page and 'aria-valuenow="40"' in page
    row = client.get(reverse("casebook_progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in row and str(participant) in row


def test_a_casebook_requested_with_redis_down_says_so_at_once_and_is_failed(
    transactional_db, client, investigator, participant, settings
):
    nobody_listens = "redis://127.0.0.1:1/0"
    settings.REDIS_URL = settings.CELERY_BROKER_URL = nobody_listens
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    client.force_login(investigator)
    started = time.monotonic()
    response = client.post(reverse("casebook_pdf", args=[participant.pk]), follow=True)
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    job = _casebook_jobs().get()
    assert job.status == ExportStatus.FAILED and job.finished_at
    page = response.content.decode()
    assert f"Casebook {job.pk} could not be queued: the task queue is unavailable" in page
    assert "request it again once the service is back" in page
