"""The in-app list: each user's own reminders, an unread badge, read once opened, delivery preferences."""

from datetime import date

import pytest
import time_machine
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import ReminderDelivery
from notifications import services
from notifications.context_processors import unread_notifications
from notifications.models import Reminder
from tests.notifications.factories import at_site

OPENS, CLOSES = date(2027, 3, 10), date(2027, 3, 16)


@pytest.fixture
def reminded(site_yc, place_visit, site_staff):
    """Two visits whose window opens today, reminded to the site's coordinator and investigator."""
    place_visit(site_yc, OPENS, CLOSES)
    place_visit(site_yc, OPENS, CLOSES)
    with time_machine.travel(at_site(site_yc, OPENS), tick=False):
        services.scan_reminders()


def test_the_list_shows_the_users_own_reminders(client, reminded, coordinator, investigator):
    client.force_login(coordinator)
    page = client.get(reverse("notification_list"))
    assert page.status_code == 200
    own = Reminder.objects.filter(recipient=coordinator)
    assert [r.pk for r in page.context["page"]] == [r.pk for r in own]
    assert own.first().subject in page.content.decode()


def test_someone_elses_notification_is_not_found(client, reminded, coordinator, investigator):
    client.force_login(coordinator)
    theirs = Reminder.objects.filter(recipient=investigator).first()
    assert client.get(reverse("notification_detail", args=[theirs.pk])).status_code == 404
    assert Reminder.objects.get(pk=theirs.pk).read_at is None


def test_the_navbar_badge_counts_unread_and_opening_marks_read(client, reminded, coordinator):
    client.force_login(coordinator)
    assert client.get(reverse("home")).context["nav_unread_notifications"] == 2
    reminder = Reminder.objects.filter(recipient=coordinator).first()
    opened = client.get(reverse("notification_detail", args=[reminder.pk]))
    assert opened.status_code == 200
    assert "Asia/Shanghai" in opened.content.decode()
    assert Reminder.objects.get(pk=reminder.pk).read_at is not None
    assert client.get(reverse("home")).context["nav_unread_notifications"] == 1


def test_the_badge_costs_one_query(reminded, coordinator, django_assert_num_queries):
    request = RequestFactory().get("/")
    request.user = coordinator
    with django_assert_num_queries(1):
        assert unread_notifications(request) == {"nav_unread_notifications": 2}


def test_mark_all_read(client, reminded, coordinator):
    client.force_login(coordinator)
    assert client.post(reverse("notification_mark_all_read")).status_code == 302
    assert not Reminder.objects.filter(recipient=coordinator, read_at__isnull=True).exists()


def test_a_user_chooses_immediate_email_or_a_digest_hour(client, coordinator):
    client.force_login(coordinator)
    url = reverse("notification_preferences")
    response = client.post(url, {"reminder_delivery": ReminderDelivery.IMMEDIATE, "digest_hour": "7"})
    assert response.status_code == 302
    coordinator.profile.refresh_from_db()
    assert (coordinator.profile.reminder_delivery, coordinator.profile.digest_hour) == ("immediate", 7)
    assert client.post(url, {"reminder_delivery": "weekly", "digest_hour": "25"}).status_code == 400
