"""The audit-trail CSV: every change of the study's records with who, when, why, old and new value."""

import json

from django.db import connection

from crfs.models import VitalSigns
from crfs.registry import FORMS
from crfs.services import save_form
from exports import csv_export
from exports.models import ExportStatus
from tests.exports.factories import infused_participant, read_zip, rows, run


def test_audit_trail_lists_changes_with_old_and_new_values_who_and_why(
    sponsor_admin, study, coordinator, site_yc
):
    p = infused_participant(coordinator, site_yc)
    vitals = VitalSigns.objects.get(participant=p)
    save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=vitals.visit,
        instance=vitals,
        data={"assessed_on": vitals.assessed_on, "weight_kg": vitals.weight_kg, "heart_rate": 92},
        reason="transcription error",
        expected_version=vitals.version,
    )
    trail = rows(read_zip(run(sponsor_admin, study, formats=("audit",)))["audit/audit_trail.csv"])
    events = [r for r in trail if r["model"] == "crfs.VitalSigns" and r["object_id"] == str(vitals.pk)]
    created, updated = events[0], events[-1]
    assert created["event"] == "created" and json.loads(created["changes"])["heart_rate"] == [None, 80]
    assert json.loads(updated["changes"])["heart_rate"] == [80, 92]
    assert (updated["user"], updated["reason"], updated["site"]) == (
        coordinator.username,
        "transcription error",
        "YC",
    )
    assert updated["study_id"] == p.study_id


def test_audit_trail_leaves_out_other_studies_and_sites(
    sponsor_admin, study, coordinator, coordinator_cd, site_yc, site_cd
):
    infused_participant(coordinator, site_yc)
    infused_participant(coordinator_cd, site_cd, initials="ZZ")
    job = run(sponsor_admin, study, formats=("audit",), site_ids=(site_yc.pk,))
    trail = rows(read_zip(job)["audit/audit_trail.csv"])
    assert {r["site"] for r in trail if r["site"]} == {"YC"}


def test_database_error_during_an_export_is_recorded(sponsor_admin, study, monkeypatch):
    def broken(**kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT no_such_column FROM trials_participant")

    monkeypatch.setattr(csv_export, "write_csv", broken)
    job = run(sponsor_admin, study, formats=("csv",))
    assert job.status == ExportStatus.FAILED
    assert "no_such_column" in job.error
