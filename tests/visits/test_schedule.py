from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from edc.errors import DomainError
from tests.conftest import make_participant, today_at
from trials import services
from visits.models import Visit, VisitStatus
from visits.schedule import window
from visits.services import add_unscheduled_visit, mark_visit, record_visit


def test_window_is_target_minus_before_to_target_plus_after():
    w = window(date(2026, 1, 10), 14, 2, 3)
    assert (w.target, w.start, w.end) == (date(2026, 1, 24), date(2026, 1, 22), date(2026, 1, 27))
    assert w.contains(date(2026, 1, 22)) and w.contains(date(2026, 1, 27))
    assert not w.contains(date(2026, 1, 21)) and not w.contains(date(2026, 1, 28))


def test_schedule_is_provisional_until_day_0_and_follows_the_planned_date(coordinator, site_yc):
    planned = today_at(site_yc) + timedelta(days=10)
    p = make_participant(coordinator, site_yc, planned=planned)
    d28 = p.visits.get(code="D28")
    assert d28.provisional
    assert d28.target_date == planned + timedelta(days=28)


def test_recording_the_infusion_reanchors_pending_visits_to_day_0(coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=30), planned=today - timedelta(days=5)
    )
    screening_before = p.visits.get(code="SCR").visit_date
    p = services.record_infusion(user=coordinator, participant=p, infusion_date=today - timedelta(days=3))
    m3 = p.visits.get(code="M3")
    assert (m3.target_date, m3.window_start, m3.window_end) == (
        today - timedelta(days=3) + timedelta(days=90),
        today - timedelta(days=3) + timedelta(days=83),
        today - timedelta(days=3) + timedelta(days=97),
    )
    assert not p.visits.filter(provisional=True).exists()
    assert p.visits.get(code="SCR").visit_date == screening_before


def test_reanchoring_never_moves_a_visit_already_done(coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=30), planned=today - timedelta(days=2)
    )
    baseline = p.visits.get(code="BL")
    record_visit(user=coordinator, visit=baseline, visit_date=today - timedelta(days=8))
    before = Visit.objects.values("target_date", "window_start", "window_end").get(pk=baseline.pk)
    services.record_infusion(user=coordinator, participant=p, infusion_date=today)
    assert Visit.objects.values("target_date", "window_start", "window_end").get(pk=baseline.pk) == before


def statuses(participant, now):
    return dict(participant.visits.with_status(now).values_list("code", "status"))


def test_status_upcoming_open_overdue_done_missed_not_applicable(coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=40), infused=today - timedelta(days=14)
    )
    mark_visit(user=coordinator, visit=p.visits.get(code="D10"), outcome="not_applicable", reason="optional")
    mark_visit(user=coordinator, visit=p.visits.get(code="D7"), outcome="missed", reason="holiday")
    record_visit(user=coordinator, visit=p.visits.get(code="D1"), visit_date=today - timedelta(days=13))
    s = statuses(p, None)
    assert s["D14"] == VisitStatus.OPEN  # day 14 of ±2
    assert s["D1"] == VisitStatus.DONE
    assert s["D7"] == VisitStatus.MISSED
    assert s["D10"] == VisitStatus.NOT_APPLICABLE
    assert s["D2"] == VisitStatus.OVERDUE
    assert s["M3"] == VisitStatus.UPCOMING


def test_window_edges_use_the_site_calendar_date(coordinator, site_yc):
    # Day 0 = 2026-03-01; D14 window 2026-03-13 .. 2026-03-17 (Asia/Shanghai, UTC+8).
    with time_machine.travel(datetime(2026, 3, 2, 4, 0, tzinfo=UTC), tick=False):
        p = make_participant(coordinator, site_yc, screened=date(2026, 2, 1), infused=date(2026, 3, 1))
    d14 = p.visits.get(code="D14")
    assert (d14.window_start, d14.window_end) == (date(2026, 3, 13), date(2026, 3, 17))
    # 2026-03-12 15:59 UTC is 23:59 on the 12th in Shanghai: not yet open.
    assert statuses(p, datetime(2026, 3, 12, 15, 59, tzinfo=UTC))["D14"] == VisitStatus.UPCOMING
    # 16:00 UTC is midnight on the 13th in Shanghai: the first day of the window.
    assert statuses(p, datetime(2026, 3, 12, 16, 0, tzinfo=UTC))["D14"] == VisitStatus.OPEN
    # Last day of the window, late evening local time: still open.
    assert statuses(p, datetime(2026, 3, 17, 15, 59, tzinfo=UTC))["D14"] == VisitStatus.OPEN
    assert statuses(p, datetime(2026, 3, 17, 16, 0, tzinfo=UTC))["D14"] == VisitStatus.OVERDUE


def test_days_to_open_and_close_are_counted_in_site_days(coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=40), infused=today - timedelta(days=13)
    )
    d14 = p.visits.with_status().get(code="D14")
    assert (d14.days_to_open, d14.days_to_close) == (-1, 3)
    m3 = p.visits.with_status().get(code="M3")
    assert m3.days_to_open == 90 - 7 - 13


def test_changing_a_recorded_visit_date_needs_a_reason(coordinator, participant):
    visit = participant.visits.get(code="BL")
    visit = record_visit(user=coordinator, visit=visit, visit_date=participant.enrollment_date)
    with pytest.raises(DomainError) as error:
        record_visit(
            user=coordinator, visit=visit, visit_date=participant.enrollment_date + timedelta(days=1)
        )
    assert error.value.field == "reason"


def test_visit_before_consent_is_refused(coordinator, participant):
    with pytest.raises(DomainError, match="cannot be before consent"):
        record_visit(
            user=coordinator,
            visit=participant.visits.get(code="BL"),
            visit_date=participant.consent_date - timedelta(days=1),
        )


def test_unscheduled_visit_is_added_with_its_reason(coordinator, participant):
    visit = add_unscheduled_visit(
        user=coordinator,
        participant=participant,
        visit_date=participant.enrollment_date,
        reason="Flare assessment",
    )
    assert visit.unscheduled and visit.code == "UNS1"
    assert participant.visits.with_status().get(pk=visit.pk).status == VisitStatus.DONE


def test_missed_visit_needs_a_reason(coordinator, participant):
    with pytest.raises(DomainError, match="Say why the visit is missed"):
        mark_visit(user=coordinator, visit=participant.visits.get(code="M3"), outcome="missed", reason=" ")
