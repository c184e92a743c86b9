"""Tamper evidence: every audit event is chained (SHA-256) to the previous event of its record;
``verify_audit`` finds an edited, deleted or truncated event, an event written behind the triggers and a
live record that no longer equals its newest event, names the table and record, and exits 1."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from crfs.models import VitalSigns
from crfs.registry import FORMS
from crfs.services import save_form

VITALS = VitalSigns._meta.db_table
VITALS_EVENTS = VitalSigns.pgh_event_model._meta.db_table


def verify_audit() -> tuple[int, list[dict]]:
    out = StringIO()
    try:
        call_command("verify_audit", stdout=out)
        code = 0
    except SystemExit as exit:
        code = exit.code
    return code, [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def as_superuser_without_triggers(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.fixture
def vitals(coordinator, participant):
    form = save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=participant.visits.get(code="BL"),
        data={"heart_rate": 72, "temperature_c": Decimal("36.8")},
    )
    return save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=form.visit,
        instance=form,
        data={"heart_rate": 74},
        reason="transcription error",
        expected_version=form.version,
    )


def test_an_intact_audit_trail_verifies_with_a_one_line_summary(vitals):
    code, lines = verify_audit()
    assert code == 0
    assert len(lines) == 1 and lines[0]["ok"] is True
    assert lines[0]["events"] == lines[0]["links"] > 0 and len(lines[0]["chain_head"]) == 64


def test_every_event_is_chained_to_the_previous_event_of_its_record(vitals):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT record) FROM auditchain_link "
            "WHERE event_table = %s AND record = %s",
            [VITALS_EVENTS, str(vitals.pk)],
        )
        assert cursor.fetchone() == (2, 1)


def test_a_clinical_value_changed_with_the_triggers_off_is_found(vitals):
    as_superuser_without_triggers(f"UPDATE {VITALS} SET heart_rate = 120 WHERE id = %s", [vitals.pk])
    code, lines = verify_audit()
    assert code == 1
    assert {
        "kind": "record_differs",
        "table": VITALS,
        "record": str(vitals.pk),
        "field": {"live": 120, "event": 74},
    } == {**{k: lines[0][k] for k in ("kind", "table", "record")}, "field": lines[0]["fields"]["heart_rate"]}


def test_an_edited_event_is_found(vitals):
    as_superuser_without_triggers(
        f"UPDATE {VITALS_EVENTS} SET heart_rate = 70 WHERE pgh_obj_id = %s AND heart_rate = 72", [vitals.pk]
    )
    code, lines = verify_audit()
    assert code == 1
    assert [(b["kind"], b["table"], b["record"]) for b in lines] == [
        ("event_edited", VITALS_EVENTS, str(vitals.pk))
    ]


def test_a_deleted_event_is_found(vitals):
    as_superuser_without_triggers(
        f"DELETE FROM {VITALS_EVENTS} WHERE pgh_obj_id = %s AND heart_rate = 72", [vitals.pk]
    )
    code, lines = verify_audit()
    assert code == 1
    assert [(b["kind"], b["table"], b["record"]) for b in lines] == [
        ("event_deleted", VITALS_EVENTS, str(vitals.pk))
    ]


def test_a_deleted_newest_event_is_found_also_as_a_record_that_differs_from_its_history(vitals):
    as_superuser_without_triggers(
        f"DELETE FROM {VITALS_EVENTS} WHERE pgh_obj_id = %s AND heart_rate = 74", [vitals.pk]
    )
    code, lines = verify_audit()
    assert code == 1
    assert {(b["kind"], b["record"]) for b in lines} == {
        ("event_deleted", str(vitals.pk)),
        ("record_differs", str(vitals.pk)),
    }


def test_a_truncated_event_table_is_found(vitals):
    as_superuser_without_triggers(f"TRUNCATE {VITALS_EVENTS}")
    code, lines = verify_audit()
    assert code == 1
    truncated = [b for b in lines if b["kind"] == "events_truncated"]
    assert truncated == [
        {
            "kind": "events_truncated",
            "table": VITALS_EVENTS,
            "record": str(vitals.pk),
            "records": 1,
            "missing_events": 2,
        }
    ]


def test_an_event_written_behind_the_triggers_has_no_link(vitals):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {VITALS_EVENTS} WHERE pgh_obj_id = %s ORDER BY pgh_id DESC LIMIT 1", [vitals.pk]
        )
        columns = [c.name for c in cursor.description if c.name != "pgh_id"]
    names = ", ".join(columns)
    as_superuser_without_triggers(
        f"INSERT INTO {VITALS_EVENTS} ({names}) SELECT {names} FROM {VITALS_EVENTS} WHERE pgh_obj_id = %s "
        "ORDER BY pgh_id DESC LIMIT 1",
        [vitals.pk],
    )
    code, lines = verify_audit()
    assert code == 1
    assert [(b["kind"], b["table"], b["record"]) for b in lines] == [
        ("chain_link_missing", VITALS_EVENTS, str(vitals.pk))
    ]


def test_a_record_deleted_with_the_triggers_off_is_found(participant):
    from trials.models import Participant

    table = Participant._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    as_superuser_without_triggers(f"DELETE FROM {table} WHERE id = %s", [participant.pk])
    code, lines = verify_audit()
    assert code == 1
    assert ("record_deleted", table, str(participant.pk)) in [
        (b["kind"], b["table"], b["record"]) for b in lines
    ]


def test_the_chain_refuses_update_and_delete_even_from_the_owner(vitals):
    from django.db import DatabaseError, transaction

    for statement in ("UPDATE auditchain_link SET hash = '\\x00'", "DELETE FROM auditchain_link"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as c,
        ):
            c.execute(statement)


# The daily verification -----------------------------------------------------------------------------


def test_the_daily_verification_is_a_beat_schedule(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="auditchain.tasks.verify_audit_trail")
    assert task.enabled and task.crontab.hour == "2"


def test_the_daily_task_records_a_break_and_alerts_the_data_managers_in_app(vitals, data_manager):
    from auditchain.models import Verification
    from auditchain.tasks import verify_audit_trail
    from notifications.models import Reminder

    as_superuser_without_triggers(f"UPDATE {VITALS} SET heart_rate = 120 WHERE id = %s", [vitals.pk])
    assert verify_audit_trail() is False
    result = Verification.objects.get()
    assert (result.ok, result.break_count, result.breaks[0]["table"]) == (False, 1, VITALS)
    alert = Reminder.objects.get(kind="audit_trail_broken", recipient=data_manager)
    assert VITALS in alert.subject and str(vitals.pk) in alert.subject


def test_health_reports_the_last_verification(client, vitals):
    from auditchain.tasks import verify_audit_trail

    verify_audit_trail()
    report = client.get("/health/").json()["last_audit_verification"]
    assert report["ok"] is True and report["breaks"] == 0 and len(report["chain_head"]) == 64


def test_the_audit_viewer_shows_the_days_chain_head(client, data_manager, vitals):
    from django.urls import reverse

    from auditchain.models import Verification
    from auditchain.tasks import verify_audit_trail

    verify_audit_trail()
    client.force_login(data_manager)
    page = client.get(reverse("audit_trail")).content.decode()
    assert Verification.objects.get().chain_head in page and "Hash chain intact" in page


def test_every_export_manifest_carries_the_audit_chain_head(sponsor_admin, study, vitals, settings, tmp_path):
    from auditchain.models import Verification
    from auditchain.tasks import verify_audit_trail
    from tests.exports.factories import manifest, read_zip, run

    settings.EXPORT_ROOT = tmp_path
    verify_audit_trail()
    job = run(sponsor_admin, study)
    head = manifest(job)["audit_chain_head"]
    assert head["digest"] == Verification.objects.get().chain_head and head["intact"] is True
    assert head["digest"] in read_zip(job)["manifest.txt"].decode()
