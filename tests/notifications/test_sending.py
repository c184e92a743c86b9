"""Sending: once per reminder, at once or in the daily digest at the recipient's hour in site time."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from accounts.models import ReminderDelivery
from notifications import services
from notifications.models import Reminder, ReminderStatus
from tests.notifications.factories import at_site, prefer

OPENS, CLOSES = date(2027, 3, 10), date(2027, 3, 16)


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server unreachable")


class UnreachableBackend(BaseEmailBackend):
    def open(self):
        raise ConnectionRefusedError("SMTP server unreachable")


def scan_at(instant):
    with time_machine.travel(instant, tick=False):
        return services.scan_reminders()


def send_at(user, instant) -> int:
    with time_machine.travel(instant, tick=False):
        return services.send_due_reminders(recipient_id=user.pk)


@pytest.fixture
def immediate(coordinator):
    return prefer(coordinator, ReminderDelivery.IMMEDIATE)


def test_an_immediate_reminder_names_the_visit_its_window_in_site_time_and_links_to_it(
    settings, site_yc, place_visit, immediate
):
    settings.EDC_BASE_URL = "https://edc.example.org"
    visit = place_visit(site_yc, OPENS, CLOSES)
    scan_at(at_site(site_yc, OPENS, 9))
    assert send_at(immediate, at_site(site_yc, OPENS, 9, 1)) == 1
    (message,) = mail.outbox
    assert message.to == [immediate.email]
    assert visit.participant.study_id in message.subject
    for text in (visit.name, "2027-03-10", "2027-03-16", "Asia/Shanghai"):
        assert text in message.body
    assert f"https://edc.example.org/participants/{visit.participant_id}/" in message.body


def test_a_reminder_is_marked_sent_and_never_sent_again(site_yc, place_visit, immediate):
    place_visit(site_yc, OPENS, CLOSES)
    scan_at(at_site(site_yc, OPENS, 9))
    send_at(immediate, at_site(site_yc, OPENS, 9, 1))
    assert send_at(immediate, at_site(site_yc, OPENS, 9, 2)) == 0
    scan_at(at_site(site_yc, OPENS, 10))
    assert send_at(immediate, at_site(site_yc, OPENS, 10, 1)) == 0
    assert len(mail.outbox) == 1
    row = Reminder.objects.get(recipient=immediate)
    assert (row.status, row.attempts) == (ReminderStatus.SENT, 1)


def test_a_digest_waits_for_the_recipients_hour_in_site_time_then_carries_everything(
    site_yc, place_visit, investigator
):
    place_visit(site_yc, OPENS, CLOSES)
    place_visit(site_yc, date(2027, 3, 1), date(2027, 3, 9))
    scan_at(at_site(site_yc, OPENS, 0, 30))
    assert send_at(investigator, at_site(site_yc, OPENS, 7, 59)) == 0
    assert send_at(investigator, at_site(site_yc, OPENS, 8, 0)) == 2
    (digest,) = mail.outbox
    assert "2 reminders" in digest.subject
    assert digest.body.count("Asia/Shanghai") == 2


def test_a_reminder_decided_after_the_digest_hour_waits_for_the_next_day(site_yc, place_visit, investigator):
    place_visit(site_yc, OPENS, CLOSES)
    scan_at(at_site(site_yc, OPENS, 8, 30))
    assert send_at(investigator, at_site(site_yc, OPENS, 23, 0)) == 0
    assert send_at(investigator, at_site(site_yc, date(2027, 3, 11), 8, 0)) == 1


def test_the_digest_hour_follows_summer_time_in_berlin(berlin, place_visit):
    site, (coordinator, investigator) = berlin
    prefer(investigator, ReminderDelivery.DIGEST, digest_hour=8)
    place_visit(site, date(2026, 3, 29), date(2026, 4, 5), code="M1", user=coordinator)
    scan_at(datetime(2026, 3, 29, 4, 0, tzinfo=UTC))  # 06:00 CEST, the first morning of summer time
    assert send_at(investigator, datetime(2026, 3, 29, 5, 59, tzinfo=UTC)) == 0
    assert send_at(investigator, datetime(2026, 3, 29, 6, 0, tzinfo=UTC)) == 1  # 08:00 CEST


def test_a_user_without_an_email_address_gets_the_reminder_in_the_app_only(site_yc, place_visit, immediate):
    immediate.email = ""
    immediate.save()
    place_visit(site_yc, OPENS, CLOSES)
    scan_at(at_site(site_yc, OPENS, 9))
    assert send_at(immediate, at_site(site_yc, OPENS, 9, 1)) == 0
    assert not mail.outbox
    assert Reminder.objects.get(recipient=immediate).status == ReminderStatus.NOT_EMAILED


@pytest.mark.parametrize("backend", ["RefusingBackend", "UnreachableBackend"])
def test_a_refused_email_stays_pending_with_the_error_and_goes_out_on_the_next_try(
    settings, site_yc, place_visit, immediate, backend
):
    place_visit(site_yc, OPENS, CLOSES)
    scan_at(at_site(site_yc, OPENS, 9))
    settings.EMAIL_BACKEND = f"{__name__}.{backend}"
    with pytest.raises(services.DeliveryFailed, match="reminder email to user .* failed"):
        send_at(immediate, at_site(site_yc, OPENS, 9, 1))
    row = Reminder.objects.get(recipient=immediate)
    assert (row.status, row.attempts) == (ReminderStatus.PENDING, 1)
    assert "SMTP server unreachable" in row.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_at(immediate, at_site(site_yc, OPENS, 10)) == 1
