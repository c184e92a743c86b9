"""Real Celery workers on the real Redis: every due reminder is emailed exactly once, through a repeated
scan, send tasks running twice side by side, two workers, and a worker killed with SIGKILL in the middle
of a batch.

The workers use ``notifications.testing.DatabaseOutboxBackend``: an email counts only if the transaction
that marked its reminders sent committed.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import ReminderDelivery, Role
from edc.testing.cache import delete_keys
from notifications import services
from notifications.models import Reminder, ReminderStatus
from notifications.testing import create_outbox_table, drop_outbox_table, outbox
from tests.conftest import ROOT, today_at
from tests.notifications.factories import database_url, prefer

pytestmark = pytest.mark.worker

SECONDS_PER_EMAIL = 0.25
VISITS_PER_SITE = 4  # each with a window opening today and an overdue one


class Worker:
    def __init__(self, name: str, log_dir: Path, *, pool: str, concurrency: int = 1):
        self.log_path = log_dir / f"{name}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "edc.settings.dev",
            "DATABASE_URL": database_url(connection),
            "REDIS_URL": settings.REDIS_URL,
            "EMAIL_BACKEND": "notifications.testing.DatabaseOutboxBackend",
            "EDC_TEST_EMAIL_DELAY": str(SECONDS_PER_EMAIL),
            "LOG_LEVEL": "INFO",
        }
        command = [
            sys.executable, "-m", "celery", "-A", "edc", "worker", "--pool", pool, "-c", str(concurrency),
            "-n", f"{name}-{os.getpid()}@%h", "--loglevel", "INFO",
            "--without-heartbeat", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_for_log(self, text: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while text not in self.log():
            assert self.process.poll() is None, self.log()
            assert time.monotonic() < deadline, (
                f"no {text!r} in the log of {self.log_path.name}:\n{self.log()}"
            )
            time.sleep(0.1)

    def kill(self):
        """SIGKILL the whole worker, pool children included: no shutdown, no acknowledgement."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until(condition, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def open_transactions_of_other_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def outbox_table(transactional_db):
    create_outbox_table()
    yield
    drop_outbox_table()


def empty_broker(client):
    """Empty this suite's Redis database; with a key prefix (parallel test workers sharing the
    database, ``edc.testing.services``) only this worker's keys: queues, bookkeeping, cache."""
    if settings.REDIS_KEY_PREFIX:
        delete_keys(client, settings.REDIS_KEY_PREFIX)
    else:
        client.flushdb()


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.REDIS_URL)
    empty_broker(client)
    yield client
    empty_broker(client)


@pytest.fixture
def workers(tmp_path):
    started = []

    def start(name, **options) -> Worker:
        worker = Worker(name, tmp_path, **options)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def due_reminders(site_yc, site_cd, place_visit, make_user, coordinator, investigator, coordinator_cd):
    """Three immediate-email recipients per site, each with 2 × VISITS_PER_SITE reminders due today."""
    staff = {
        site_yc: [coordinator, investigator, make_user(Role.COORDINATOR, site_yc)],
        site_cd: [
            coordinator_cd,
            make_user(Role.INVESTIGATOR, site_cd),
            make_user(Role.COORDINATOR, site_cd),
        ],
    }
    for site, users in staff.items():
        for user in users:
            prefer(user, ReminderDelivery.IMMEDIATE)
        today = today_at(site)
        for _ in range(VISITS_PER_SITE):
            place_visit(site, today, today + timedelta(days=6), user=users[0])
            place_visit(site, today - timedelta(days=10), today - timedelta(days=2), user=users[0])
    return 2 * 3 * 2 * VISITS_PER_SITE


def test_every_due_reminder_is_emailed_exactly_once_despite_a_killed_worker(
    outbox_table, broker, workers, due_reminders
):
    first = workers("first", pool="prefork", concurrency=2)
    first.wait_for_log("ready.")

    services.scan_reminders()
    assert Reminder.objects.count() == due_reminders
    recipients = services.recipients_due_for_sending(now=timezone.now())
    # Every send task twice in a row, as a retry or a redelivery would run it beside the original.
    services.enqueue_sending([recipient for recipient in recipients for _copy in range(2)])
    assert services.scan_reminders().created == 0  # beat firing twice decides nothing new

    first.wait_for_log("send_reminders[")
    wait_until(lambda: open_transactions_of_other_sessions() > 0, 10, "no worker started a batch")
    time.sleep(3 * SECONDS_PER_EMAIL)  # a few emails into the batch, not committed yet
    first.kill()
    assert Reminder.objects.filter(status=ReminderStatus.PENDING).exists()

    restarted = workers("restarted", pool="prefork", concurrency=2)
    second = workers("second", pool="solo")
    restarted.wait_for_log("ready.")
    second.wait_for_log("ready.")
    # Beat scans every few minutes; here every 5 s. Each scan re-enqueues what is still pending (the
    # killed worker's rows first of all), and the workers' SKIP LOCKED and the status check keep a task
    # that runs twice from sending twice.
    next_scan = 0.0

    def all_sent() -> bool:
        nonlocal next_scan
        if time.monotonic() >= next_scan:
            services.scan_reminders()
            next_scan = time.monotonic() + 5
        return not Reminder.objects.filter(status=ReminderStatus.PENDING).exists()

    wait_until(all_sent, 120, "reminders still pending")  # a bound: fresh workers on a loaded 2-CPU machine
    assert services.scan_reminders().recipients_enqueued == 0

    emails = outbox()
    sent_ids = Counter(int(i) for email in emails for i in email["reminder_ids"].split(","))
    assert len(emails) == due_reminders
    assert set(sent_ids.values()) == {1}
    assert set(sent_ids) == set(Reminder.objects.values_list("pk", flat=True))
    assert set(Reminder.objects.values_list("status", "attempts")) == {(ReminderStatus.SENT, 1)}
    recipients = dict(Reminder.objects.values_list("pk", "recipient__email"))
    assert all(email["recipient"] == recipients[int(email["reminder_ids"])] for email in emails)
