"""An export job: one zip with a manifest whose counts equal the database and hashes equal the files."""

import hashlib

import pytest
from django.urls import reverse

from crfs.models import Demographics, PriorTreatment, VitalSigns
from exports import csv_export, services, tasks
from exports.models import ExportDownload, ExportJob, ExportStatus
from exports.options import ExportOptions
from tests.exports.factories import infused_participant, manifest, read_zip, rows, run
from trials.models import Participant


@pytest.fixture
def two_sites(coordinator, coordinator_cd, site_yc, site_cd):
    return [
        infused_participant(coordinator, site_yc),
        infused_participant(coordinator_cd, site_cd, initials="ZZ"),
    ]


def test_manifest_counts_equal_the_database(sponsor_admin, study, two_sites):
    job = run(sponsor_admin, study, formats=("csv", "audit"))
    assert job.status == ExportStatus.DONE, job.error
    counts = {f["name"]: f["rows"] for f in manifest(job)["files"]}
    assert counts["csv/participants_wide.csv"] == Participant.objects.filter(site__study=study).count() == 2
    assert counts["csv/vital_signs_wide.csv"] == VitalSigns.objects.count() == 2
    assert counts["csv/demographics_wide.csv"] == Demographics.objects.count() == 2
    assert counts["csv/demographics.prior_treatments_wide.csv"] == PriorTreatment.objects.count() > 2
    assert counts["audit/audit_trail.csv"] > 0


def test_manifest_rows_and_hashes_match_the_files_in_the_zip(sponsor_admin, study, two_sites):
    job = run(sponsor_admin, study, formats=("csv", "audit"))
    files = read_zip(job)
    listed = manifest(job)["files"]
    assert {f["name"] for f in listed} | {"manifest.json", "manifest.txt"} == set(files)
    for entry in listed:
        content = files[entry["name"]]
        assert hashlib.sha256(content).hexdigest() == entry["sha256"]
        assert len(content) == entry["bytes"]
        if entry["name"].endswith("_wide.csv") or entry["name"].startswith("audit/"):
            assert len(rows(content)) == entry["rows"], entry["name"]
    assert job.files == listed
    assert (
        "sha256" in files["manifest.txt"].decode() and listed[0]["sha256"] in files["manifest.txt"].decode()
    )


def test_job_records_the_zip_hash_who_and_options(sponsor_admin, study, two_sites):
    job = run(sponsor_admin, study, formats=("csv",), site_ids=(two_sites[0].site_id,))
    with open(job.zip_path, "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == job.zip_sha256
    assert job.requested_by == sponsor_admin and job.finished_at and job.progress == 100
    assert job.options["site_ids"] == [two_sites[0].site_id]
    assert manifest(job)["requested_by"] == sponsor_admin.username
    assert manifest(job)["options"] == job.options


def test_site_option_limits_the_rows(sponsor_admin, study, two_sites):
    job = run(sponsor_admin, study, formats=("csv",), site_ids=(two_sites[0].site_id,))
    participants = rows(read_zip(job)["csv/participants_wide.csv"])
    assert [p["site"] for p in participants] == ["YC"]


def test_form_option_limits_the_files(sponsor_admin, study, two_sites):
    job = run(sponsor_admin, study, formats=("csv",), form_codes=("vital_signs",))
    names = set(read_zip(job))
    assert "csv/vital_signs_wide.csv" in names and "csv/demographics_wide.csv" not in names


def test_cutoff_leaves_out_later_visits(sponsor_admin, study, two_sites):
    first = two_sites[0]
    cutoff = first.infusion_date  # the D1 vital signs are after it
    job = run(sponsor_admin, study, formats=("csv",), cutoff=cutoff)
    assert rows(read_zip(job)["csv/vital_signs_wide.csv"]) == []


def test_locked_only_never_exports_unlocked_records(sponsor_admin, study, two_sites):
    job = run(sponsor_admin, study, formats=("csv",), locked_only=True)
    assert rows(read_zip(job)["csv/vital_signs_wide.csv"]) == []


def test_celery_task_runs_the_job(sponsor_admin, study, two_sites):
    job = services.request_export(
        user=sponsor_admin, options=ExportOptions(study_id=study.pk, formats=("csv",)), enqueue=False
    )
    assert tasks.run_export_task.apply(args=[job.pk]).get() == ExportStatus.DONE


def test_page_queues_the_task_after_commit(
    client, sponsor_admin, study, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(tasks.run_export_task, "apply_async", lambda args, **options: queued.append(args))
    client.force_login(sponsor_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("export_new"), {"formats": ["csv"], "date_mode": "shift"})
    job = ExportJob.objects.get()
    assert queued == [(job.pk, 1)] and job.status == ExportStatus.QUEUED


def test_failed_export_records_why(sponsor_admin, study, two_sites, monkeypatch):
    def broken(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(csv_export, "write_csv", broken)
    job = run(sponsor_admin, study, formats=("csv",))
    assert job.status == ExportStatus.FAILED
    assert job.error == "OSError: disk full"
    assert not job.zip_path


def test_failed_export_says_why_on_the_page(client, sponsor_admin, study, monkeypatch):
    monkeypatch.setattr(csv_export, "write_csv", lambda **kwargs: 1 / 0)
    run(sponsor_admin, study, formats=("csv",))
    client.force_login(sponsor_admin)
    assert "ZeroDivisionError" in client.get(reverse("export_list")).content.decode()


def test_progress_partial_polls_until_done(client, sponsor_admin, study):
    job = services.request_export(
        user=sponsor_admin, options=ExportOptions(study_id=study.pk, formats=("csv",)), enqueue=False
    )
    client.force_login(sponsor_admin)
    queued = client.get(reverse("export_progress", args=[job.pk])).content.decode()
    assert "hx-trigger" in queued and "progress-bar" in queued
    services.run_export(job_id=job.pk)
    done = client.get(reverse("export_progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in done and reverse("export_download", args=[job.pk]) in done


def test_download_streams_the_zip_and_is_audited(client, sponsor_admin, study, two_sites):
    job = run(sponsor_admin, study, formats=("csv",))
    client.force_login(sponsor_admin)
    response = client.get(reverse("export_download", args=[job.pk]), REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == job.zip_sha256
    download = ExportDownload.objects.get()
    assert (download.job, download.user, download.ip_address) == (job, sponsor_admin, "10.1.2.3")


def test_downloads_appear_in_the_next_audit_trail_export(client, sponsor_admin, study, two_sites):
    job = run(sponsor_admin, study, formats=("csv",))
    client.force_login(sponsor_admin)
    b"".join(client.get(reverse("export_download", args=[job.pk])).streaming_content)
    audit = run(sponsor_admin, study, formats=("audit",))
    access = rows(read_zip(audit)["audit/access_events.csv"])
    assert [
        (a["event"], a["username"], a["export_id"]) for a in access if a["event"] == "export_download"
    ] == [("export_download", sponsor_admin.username, str(job.pk))]


def test_export_is_itself_in_the_audit_trail(sponsor_admin, study):
    run(sponsor_admin, study, formats=("csv",))
    job = run(sponsor_admin, study, formats=("audit",))
    trail = rows(read_zip(job)["audit/audit_trail.csv"])
    exports = [r for r in trail if r["model"] == "exports.ExportJob"]
    assert {r["action"] for r in exports} >= {"export_requested", "export_finished"}
    assert {r["user"] for r in exports} == {sponsor_admin.username}


def test_locked_only_exports_the_records_a_lock_covers(sponsor_admin, data_manager, study, two_sites):
    from monitoring.locks import lock

    locked, unlocked = two_sites
    lock(user=data_manager, scope="participant", target=locked, reason="interim analysis")
    files = read_zip(run(sponsor_admin, study, formats=("csv",), locked_only=True))
    assert {r["study_id"] for r in rows(files["csv/vital_signs_wide.csv"])} == {locked.study_id}
    assert {r["study_id"] for r in rows(files["csv/participants_wide.csv"])} == {locked.study_id}
    assert unlocked.study_id not in files["csv/visits_wide.csv"].decode()
