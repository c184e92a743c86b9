"""Redis down: the scan still decides and records everything; the reminders wait in PostgreSQL."""

import os
import subprocess
import sys
from datetime import timedelta

from django.db import connection

from accounts.models import ReminderDelivery
from notifications.models import Reminder, ReminderScan, ReminderStatus
from tests.conftest import ROOT, today_at
from tests.notifications.factories import database_url, prefer


def test_a_scan_with_redis_down_finishes_and_leaves_the_reminders_pending(
    transactional_db, site_yc, place_visit, coordinator, investigator
):
    prefer(coordinator, ReminderDelivery.IMMEDIATE)
    today = today_at(site_yc)
    place_visit(site_yc, today, today + timedelta(days=6))
    env = {**os.environ, "DATABASE_URL": database_url(connection), "REDIS_URL": "redis://127.0.0.1:1/0"}
    result = subprocess.run(
        [sys.executable, "manage.py", "reminders"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "broker unavailable" in result.stdout
    assert ReminderScan.objects.get().enqueue_failed
    assert list(Reminder.objects.values_list("status", flat=True)) == [ReminderStatus.PENDING] * 2
