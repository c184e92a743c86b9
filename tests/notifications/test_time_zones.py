"""Windows are site-local dates: reminders turn due at the site's midnight, through DST changes."""

from datetime import UTC, date, datetime

import time_machine
from django.utils import timezone

from notifications.kinds import VISIT_OVERDUE, VISIT_WINDOW_OPENS_TODAY
from tests.notifications.factories import due_visit_ids


def due_at(kind, study, instant) -> set[int]:
    with time_machine.travel(instant, tick=False):
        return due_visit_ids(kind, study, timezone.now())


def test_a_shanghai_window_opens_at_local_midnight_which_is_1600_utc_the_day_before(
    study, site_yc, place_visit
):
    visit = place_visit(site_yc, date(2027, 3, 10), date(2027, 3, 16))
    assert visit.pk not in due_at(VISIT_WINDOW_OPENS_TODAY, study, datetime(2027, 3, 9, 15, 59, tzinfo=UTC))
    assert visit.pk in due_at(VISIT_WINDOW_OPENS_TODAY, study, datetime(2027, 3, 9, 16, 0, tzinfo=UTC))


def test_a_shanghai_window_is_overdue_from_local_midnight_after_its_last_day(study, site_yc, place_visit):
    visit = place_visit(site_yc, date(2027, 3, 10), date(2027, 3, 16))
    assert visit.pk not in due_at(VISIT_OVERDUE, study, datetime(2027, 3, 16, 15, 59, tzinfo=UTC))
    assert visit.pk in due_at(VISIT_OVERDUE, study, datetime(2027, 3, 16, 16, 0, tzinfo=UTC))


def test_a_berlin_window_after_the_spring_change_opens_at_2200_utc(berlin, place_visit):
    site, (coordinator, _investigator) = berlin
    visit = place_visit(site, date(2026, 3, 30), date(2026, 4, 5), code="M1", user=coordinator)
    # Clocks went forward on 2026-03-29: Berlin's midnight is now 22:00 UTC, no longer 23:00.
    assert visit.pk not in due_at(
        VISIT_WINDOW_OPENS_TODAY, site.study, datetime(2026, 3, 29, 21, 59, tzinfo=UTC)
    )
    assert visit.pk in due_at(VISIT_WINDOW_OPENS_TODAY, site.study, datetime(2026, 3, 29, 22, 0, tzinfo=UTC))


def test_a_berlin_window_after_the_autumn_change_opens_at_2300_utc(berlin, place_visit):
    site, (coordinator, _investigator) = berlin
    visit = place_visit(site, date(2026, 10, 26), date(2026, 11, 1), code="M1", user=coordinator)
    # Clocks went back on 2026-10-25: 22:30 UTC is 23:30 on the 25th in Berlin, not yet the 26th.
    assert visit.pk not in due_at(
        VISIT_WINDOW_OPENS_TODAY, site.study, datetime(2026, 10, 25, 22, 30, tzinfo=UTC)
    )
    assert visit.pk in due_at(VISIT_WINDOW_OPENS_TODAY, site.study, datetime(2026, 10, 25, 23, 0, tzinfo=UTC))


def test_the_same_instant_is_a_different_date_in_shanghai_and_berlin(study, site_yc, berlin, place_visit):
    site_ex, (coordinator_ex, _investigator) = berlin
    in_shanghai = place_visit(site_yc, date(2027, 3, 10), date(2027, 3, 16))
    in_berlin = place_visit(site_ex, date(2027, 3, 10), date(2027, 3, 16), code="M1", user=coordinator_ex)
    # 04:00 on the 10th in Shanghai, 21:00 on the 9th in Berlin.
    instant = datetime(2027, 3, 9, 20, 0, tzinfo=UTC)
    assert in_shanghai.pk in due_at(VISIT_WINDOW_OPENS_TODAY, study, instant)
    assert in_berlin.pk not in due_at(VISIT_WINDOW_OPENS_TODAY, site_ex.study, instant)
