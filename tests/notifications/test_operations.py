"""Operations: the dry run, /health/, and the hourly schedule stored for django-celery-beat."""

import json
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from edc.celery import app
from notifications.models import Reminder, ReminderScan


def dry_run(capsys, *args) -> list[dict]:
    call_command("reminders", "--dry-run", *args)
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_the_dry_run_prints_what_would_be_sent_and_writes_nothing(capsys, site_yc, place_visit, site_staff):
    visit = place_visit(site_yc, date(2027, 3, 10), date(2027, 3, 16))
    lines = dry_run(capsys, "--today", "2027-03-10")
    assert {(line["kind"], line["recipient"]) for line in lines} == {
        ("visit_window_opens_today", "coordinator"),
        ("visit_window_opens_today", "investigator"),
    }
    assert lines[0]["object_key"] == f"visit:{visit.pk}:2027-03-10:2027-03-16"
    assert lines[0]["decision"] == "new" and lines[0]["due_on"] == "2027-03-10"
    assert not Reminder.objects.exists() and not ReminderScan.objects.exists()


def test_the_dry_run_uses_the_lead_times(capsys, site_yc, place_visit, site_staff):
    place_visit(site_yc, date(2027, 3, 10), date(2027, 3, 16))
    assert {line["kind"] for line in dry_run(capsys, "--today", "2027-03-07")} == {"visit_window_opens_soon"}
    assert dry_run(capsys, "--today", "2027-03-06") == []


def test_a_pretend_date_is_refused_for_a_real_scan(db):
    with pytest.raises(CommandError, match="only goes with --dry-run"):
        call_command("reminders", "--today", "2027-03-10")


def test_health_shows_the_last_scan_and_the_queue_length(client, db):
    before = client.get(reverse("health")).json()
    assert before["last_reminder_scan"] is None
    call_command("reminders")
    after = client.get(reverse("health")).json()
    assert after["last_reminder_scan"] == ReminderScan.objects.get().finished_at.isoformat()
    assert isinstance(after["celery_queue_length"], int)
    assert {"database", "redis", "celery", "celery_workers", "status"} <= set(after)


def test_the_hourly_scan_is_a_database_schedule_of_a_registered_task(db):
    task = PeriodicTask.objects.get(task="notifications.tasks.scan_reminders")
    assert (task.interval.every, task.interval.period, task.enabled) == (1, "hours", True)
    app.loader.import_default_modules()
    assert task.task in app.tasks
