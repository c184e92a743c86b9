"""A real Celery worker on the real Redis: recording an SAE emails the safety contacts at once (the
service asks for a scan on commit), the pre-deadline reminder follows, and no step is emailed twice."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services as reminders
from notifications.models import Reminder, ReminderStatus
from notifications.testing import outbox
from tests.adverse_events.factories import infused, record_ae
from tests.notifications.test_worker_exactly_once import wait_until

pytestmark = pytest.mark.worker


def sae_emails():
    return [email for email in outbox() if "SAE" in email["subject"]]


def test_sae_contacts_are_emailed_at_once_then_before_the_deadline_exactly_once(
    outbox_table, broker, workers, coordinator, investigator, data_manager, sponsor_admin, site_yc
):
    contacts = {investigator.email, data_manager.email, sponsor_admin.email}
    worker = workers("sae", pool="prefork", concurrency=2)
    worker.wait_for_log("ready.")
    patient = infused(coordinator, site_yc, days_ago=3)
    recorded_at = timezone.now()
    event = record_ae(coordinator, patient, term="sepsis", grade=4, serious_life_threatening=True,
                      awareness_at=recorded_at)  # fmt: skip
    # No scan from this process: the service's on-commit request reaches the worker through Redis.
    wait_until(lambda: len(sae_emails()) >= len(contacts), 30, "the SAE was not emailed at once")
    assert {email["recipient"] for email in sae_emails()} == contacts

    before_deadline = event.sae_report.due_at - timedelta(hours=7, minutes=30)
    reminders.scan_reminders(now=before_deadline)
    reminders.scan_reminders(now=before_deadline)  # the beat firing twice
    pending = Reminder.objects.filter(kind="sae_report_due_soon")
    reminders.enqueue_sending([r.recipient_id for r in pending] * 2)  # every send task twice
    wait_until(
        lambda: not Reminder.objects.filter(status=ReminderStatus.PENDING, kind__startswith="sae_").exists(),
        30,
        "SAE reminders still pending",
    )
    sae_reminders = Reminder.objects.filter(kind__startswith="sae_")
    decided = sae_reminders.count()
    # A later scan decides no SAE step again (other kinds, e.g. a visit window opening that day, may be due).
    reminders.scan_reminders(now=before_deadline + timedelta(hours=1))
    assert sae_reminders.count() == decided

    emails = sae_emails()
    assert len(emails) == 2 * len(contacts)
    sent = Counter(int(i) for email in emails for i in email["reminder_ids"].split(","))
    assert set(sent.values()) == {1}
    assert set(sent) == set(Reminder.objects.filter(kind__startswith="sae_").values_list("pk", flat=True))
