"""Each reminder kind finds the visits it should, on the first and last day it should, in site time."""

from datetime import date, timedelta

import time_machine
from django.utils import timezone

from notifications.kinds import (
    VISIT_OVERDUE,
    VISIT_WINDOW_CLOSES_SOON,
    VISIT_WINDOW_OPENS_SOON,
    VISIT_WINDOW_OPENS_TODAY,
)
from tests.conftest import today_at
from tests.notifications.factories import at_site, due_visit_ids
from trials import services as trial_services
from visits.services import mark_visit, record_visit

OPENS = date(2027, 3, 10)
CLOSES = date(2027, 3, 16)
DAY = timedelta(days=1)


def due_at(kind, study, instant) -> set[int]:
    with time_machine.travel(instant, tick=False):
        return due_visit_ids(kind, study, timezone.now())


def test_opening_reminder_is_due_from_three_days_before_the_window_opens(study, site_yc, place_visit):
    visit = place_visit(site_yc, OPENS, CLOSES)
    assert visit.pk not in due_at(VISIT_WINDOW_OPENS_SOON, study, at_site(site_yc, OPENS - 4 * DAY, 23, 59))
    assert visit.pk in due_at(VISIT_WINDOW_OPENS_SOON, study, at_site(site_yc, OPENS - 3 * DAY, 0, 0))
    assert visit.pk in due_at(VISIT_WINDOW_OPENS_SOON, study, at_site(site_yc, OPENS - DAY, 23, 59))


def test_opening_reminder_stops_once_the_window_is_open(study, site_yc, place_visit):
    visit = place_visit(site_yc, OPENS, CLOSES)
    assert visit.pk not in due_at(VISIT_WINDOW_OPENS_SOON, study, at_site(site_yc, OPENS, 0, 0))


def test_opening_lead_time_comes_from_the_protocol_settings(study, site_yc, place_visit):
    study.settings["reminders"]["window_opens_lead_days"] = 5
    study.save()
    visit = place_visit(site_yc, OPENS, CLOSES)
    assert visit.pk in due_at(VISIT_WINDOW_OPENS_SOON, study, at_site(site_yc, OPENS - 5 * DAY))
    assert visit.pk not in due_at(VISIT_WINDOW_OPENS_SOON, study, at_site(site_yc, OPENS - 6 * DAY))


def test_opens_today_reminder_is_due_on_the_first_day_of_the_window_only(study, site_yc, place_visit):
    visit = place_visit(site_yc, OPENS, CLOSES)
    assert visit.pk not in due_at(VISIT_WINDOW_OPENS_TODAY, study, at_site(site_yc, OPENS - DAY, 23, 59))
    assert visit.pk in due_at(VISIT_WINDOW_OPENS_TODAY, study, at_site(site_yc, OPENS, 0, 0))
    assert visit.pk in due_at(VISIT_WINDOW_OPENS_TODAY, study, at_site(site_yc, OPENS, 23, 59))
    assert visit.pk not in due_at(VISIT_WINDOW_OPENS_TODAY, study, at_site(site_yc, OPENS + DAY, 0, 0))


def test_closing_reminder_is_due_from_two_days_before_through_the_last_day(study, site_yc, place_visit):
    visit = place_visit(site_yc, OPENS, CLOSES)
    assert visit.pk not in due_at(VISIT_WINDOW_CLOSES_SOON, study, at_site(site_yc, CLOSES - 3 * DAY, 23, 59))
    assert visit.pk in due_at(VISIT_WINDOW_CLOSES_SOON, study, at_site(site_yc, CLOSES - 2 * DAY, 0, 0))
    assert visit.pk in due_at(VISIT_WINDOW_CLOSES_SOON, study, at_site(site_yc, CLOSES, 23, 59))
    assert visit.pk not in due_at(VISIT_WINDOW_CLOSES_SOON, study, at_site(site_yc, CLOSES + DAY, 0, 0))


def test_closing_reminder_leaves_the_first_day_to_the_opening_reminder(study, site_yc, place_visit):
    short = place_visit(site_yc, OPENS, OPENS + 2 * DAY)
    assert short.pk not in due_at(VISIT_WINDOW_CLOSES_SOON, study, at_site(site_yc, OPENS))
    assert short.pk in due_at(VISIT_WINDOW_CLOSES_SOON, study, at_site(site_yc, OPENS + DAY))


def test_closing_reminder_is_not_due_for_a_recorded_or_missed_visit(study, site_yc, place_visit, coordinator):
    today = today_at(site_yc)
    done = place_visit(site_yc, today - 5 * DAY, today + 2 * DAY)
    missed = place_visit(site_yc, today - 5 * DAY, today + 2 * DAY)
    open_visit = place_visit(site_yc, today - 5 * DAY, today + 2 * DAY)
    record_visit(user=coordinator, visit=done, visit_date=today)
    mark_visit(user=coordinator, visit=missed, outcome="missed", reason="Participant travelling")
    due = due_at(VISIT_WINDOW_CLOSES_SOON, study, at_site(site_yc, today + DAY))
    assert due & {done.pk, missed.pk, open_visit.pk} == {open_visit.pk}


def test_overdue_reminder_is_due_from_the_day_after_the_window_closes(study, site_yc, place_visit):
    visit = place_visit(site_yc, OPENS, CLOSES)
    assert visit.pk not in due_at(VISIT_OVERDUE, study, at_site(site_yc, CLOSES, 23, 59))
    assert visit.pk in due_at(VISIT_OVERDUE, study, at_site(site_yc, CLOSES + DAY, 0, 0))


def test_overdue_reminder_is_not_raised_for_a_window_closed_more_than_a_week_ago(study, site_yc, place_visit):
    visit = place_visit(site_yc, OPENS, CLOSES)
    assert visit.pk in due_at(VISIT_OVERDUE, study, at_site(site_yc, CLOSES + 7 * DAY))
    assert visit.pk not in due_at(VISIT_OVERDUE, study, at_site(site_yc, CLOSES + 8 * DAY))


def test_optional_visits_are_announced_but_not_chased(study, site_yc, place_visit):
    optional = place_visit(site_yc, OPENS, CLOSES, code="D10")
    assert optional.pk in due_at(VISIT_WINDOW_OPENS_TODAY, study, at_site(site_yc, OPENS))
    assert optional.pk not in due_at(VISIT_WINDOW_CLOSES_SOON, study, at_site(site_yc, CLOSES - DAY))
    assert optional.pk not in due_at(VISIT_OVERDUE, study, at_site(site_yc, CLOSES + DAY))


def test_visits_of_a_withdrawn_participant_are_not_reminded(study, site_yc, place_visit, coordinator):
    visit = place_visit(site_yc, OPENS, CLOSES)
    trial_services.end_participation(
        user=coordinator,
        participant=visit.participant,
        outcome="withdrawn",
        end_date=today_at(site_yc),
        reason="Consent withdrawn",
    )
    assert visit.pk not in due_at(VISIT_WINDOW_OPENS_TODAY, study, at_site(site_yc, OPENS))
