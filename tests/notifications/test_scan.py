"""The scan decides each reminder once per recipient, and asks the workers to send what is due."""

from datetime import date

import kombu.exceptions
import pytest
import time_machine
from django.db import IntegrityError
from django.utils import timezone

from accounts.models import ReminderDelivery
from notifications import services
from notifications.kinds import REMINDER_KINDS
from notifications.models import Reminder, ReminderScan, ReminderStatus
from notifications.tasks import send_reminders
from tests.notifications.factories import at_site, prefer
from visits.models import Visit

OPENS, CLOSES = date(2027, 3, 10), date(2027, 3, 16)


def scan_at(instant):
    with time_machine.travel(instant, tick=False):
        return services.scan_reminders()


def test_the_scan_reminds_the_sites_coordinators_and_investigators_only(
    site_yc, place_visit, coordinator, investigator, coordinator_cd, monitor, data_manager
):
    visit = place_visit(site_yc, OPENS, CLOSES)
    scan_at(at_site(site_yc, OPENS))
    rows = Reminder.objects.filter(kind="visit_window_opens_today")
    assert {row.recipient for row in rows} == {coordinator, investigator}
    assert {row.object_key for row in rows} == {f"visit:{visit.pk}:2027-03-10:2027-03-16"}


def test_scanning_again_decides_nothing_new(site_yc, place_visit, site_staff):
    place_visit(site_yc, OPENS, CLOSES)
    first = scan_at(at_site(site_yc, OPENS, 9))
    second = scan_at(at_site(site_yc, OPENS, 10))
    assert (first.created, second.created) == (2, 0)
    assert Reminder.objects.count() == 2


def test_the_log_refuses_a_second_row_for_the_same_reminder(site_yc, place_visit, site_staff):
    place_visit(site_yc, OPENS, CLOSES)
    scan_at(at_site(site_yc, OPENS))
    row = Reminder.objects.first()
    row.pk = None
    with pytest.raises(IntegrityError, match="duplicate key value violates unique constraint"):
        row.save()


def test_a_moved_window_is_a_new_reminder(site_yc, place_visit, site_staff):
    visit = place_visit(site_yc, OPENS, CLOSES)
    scan_at(at_site(site_yc, OPENS))
    Visit.objects.filter(pk=visit.pk).update(window_start=date(2027, 3, 11), target_date=date(2027, 3, 11))
    assert scan_at(at_site(site_yc, date(2027, 3, 11))).created == 2


def test_the_scan_enqueues_one_send_task_per_recipient_due_for_sending(
    site_yc, place_visit, coordinator, investigator, enqueued
):
    prefer(coordinator, ReminderDelivery.IMMEDIATE)
    place_visit(site_yc, OPENS, CLOSES)
    place_visit(site_yc, OPENS, CLOSES)
    scan = scan_at(at_site(site_yc, OPENS, 9))
    # The investigator keeps the default daily digest, due at 08:00 tomorrow.
    assert enqueued == [coordinator.pk]
    assert scan.recipients_enqueued == 1


def test_with_the_broker_down_the_scan_keeps_the_reminders_pending(
    site_yc, place_visit, coordinator, investigator, monkeypatch, enqueued
):
    prefer(coordinator, ReminderDelivery.IMMEDIATE)
    place_visit(site_yc, OPENS, CLOSES)

    def broker_down(*args, **kwargs):
        raise kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(send_reminders, "apply_async", broker_down)
    scan = scan_at(at_site(site_yc, OPENS, 9))
    assert scan.enqueue_failed and scan.created == 2
    assert set(Reminder.objects.values_list("status", flat=True)) == {ReminderStatus.PENDING}

    monkeypatch.setattr(send_reminders, "apply_async", lambda args, **options: enqueued.append(args[0]))
    scan_at(at_site(site_yc, OPENS, 10))
    assert enqueued == [coordinator.pk]


def test_the_scan_records_when_it_ran(site_yc):
    scan = scan_at(at_site(site_yc, OPENS, 9))
    assert ReminderScan.objects.get() == scan
    assert scan.finished_at >= scan.started_at


def test_the_scan_runs_one_due_query_and_one_recipients_query_per_kind(
    site_yc, place_visit, site_staff, django_assert_max_num_queries
):
    for _ in range(5):
        place_visit(site_yc, OPENS, CLOSES)
        place_visit(site_yc, date(2027, 3, 1), date(2027, 3, 9))  # overdue on the 10th
        place_visit(site_yc, date(2027, 3, 12), date(2027, 3, 20))  # opens in two days
    with (
        time_machine.travel(at_site(site_yc, OPENS), tick=False),
        django_assert_max_num_queries(1 + 2 * len(REMINDER_KINDS)),
    ):
        rows = services.decide_reminders(now=timezone.now())
    assert len(rows) == 3 * 5 * 2
