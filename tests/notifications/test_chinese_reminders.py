"""A recipient who reads Simplified Chinese gets the protocol's Chinese visit name and the translated
titles of the missing forms in the reminder's subject and body, not the English ones."""

from datetime import date, timedelta

import time_machine
from django.core import mail
from django.utils import translation

from accounts.models import ReminderDelivery
from notifications import services
from notifications.kinds import FORMS_MISSING
from tests.conftest import make_participant, today_at
from tests.notifications.factories import at_site, prefer
from tests.notifications.test_forms_missing import noon_at
from visits.services import record_visit

OPENS, CLOSES = date(2027, 3, 10), date(2027, 3, 16)


def test_a_chinese_reader_gets_the_visit_name_of_the_protocol_in_chinese(site_yc, place_visit, coordinator):
    reader = prefer(coordinator, ReminderDelivery.IMMEDIATE)
    reader.profile.language = "zh-hans"
    reader.profile.save()
    place_visit(site_yc, OPENS, CLOSES)
    with time_machine.travel(at_site(site_yc, OPENS, 9), tick=False):
        services.scan_reminders()
    with time_machine.travel(at_site(site_yc, OPENS, 9, 1), tick=False):
        assert services.send_due_reminders(recipient_id=reader.pk) == 1
    (message,) = mail.outbox
    assert "第28天" in message.subject and "第28天" in message.body
    assert "Day 28" not in message.subject and "Day 28" not in message.body


def test_the_missing_forms_reminder_names_the_visit_and_forms_in_chinese(coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=20), planned=today + timedelta(days=3)
    )
    visit_day = today - timedelta(days=10)
    baseline = record_visit(user=coordinator, visit=p.visits.get(code="BL"), visit_date=visit_day)
    (due,) = FORMS_MISSING.find_due(site_yc.study, noon_at(site_yc, visit_day + timedelta(days=5)))
    with translation.override("en"):
        context = FORMS_MISSING.describe(due).context
    reminder = services.Reminder(kind=FORMS_MISSING.name, context=context)
    with translation.override("zh-hans"):
        subject, body = services.render_reminder(reminder)
    assert "基线" in subject and "基线" in body and "Baseline" not in body
    assert "生命体征" in subject and "Vital signs" not in subject
    assert baseline.pk == due.pk
