"""Correcting the screening visit's date corrects the screening date itself (issue 16, item 3), and a
recorded eligibility decision changes only with a reason, like consent."""

from datetime import timedelta

import pytest
from pghistory.models import Events

from crfs.demo import record_screening_forms
from edc.errors import DomainError
from monitoring.models import Query
from tests.conftest import make_participant, today_at
from trials import services
from trials.models import Participant
from visits.services import record_visit


@pytest.fixture
def consented(coordinator, site_yc):
    return make_participant(
        coordinator, site_yc, stage="consented", screened=today_at(site_yc) - timedelta(days=20)
    )


def test_a_corrected_screening_visit_date_moves_the_screening_date_and_window(coordinator, consented):
    visit = consented.visits.get(code="SCR")
    new_date = consented.screening_date + timedelta(days=2)
    record_visit(user=coordinator, visit=visit, visit_date=new_date, reason="Date typed wrongly")
    consented.refresh_from_db()
    visit.refresh_from_db()
    assert consented.screening_date == new_date
    assert visit.visit_date == visit.target_date == new_date
    assert visit.window_start <= new_date <= visit.window_end
    last = Events.objects.tracks(consented).order_by("-pgh_id").first()
    assert last.pgh_diff["screening_date"][1] == str(new_date)
    assert last.pgh_context["reason"] == "Date typed wrongly"


def test_after_a_correction_screening_forms_fit_the_window_and_screening_stays_first(
    coordinator, site_yc, consented
):
    scr = consented.visits.get(code="SCR")
    corrected = consented.screening_date + timedelta(days=3)
    record_visit(user=coordinator, visit=scr, visit_date=corrected, reason="Typo")
    consented.refresh_from_db()
    record_screening_forms(coordinator, consented, on=corrected)
    p = services.record_eligibility(user=coordinator, participant=consented, met=True, assessed_on=corrected)
    p = services.enroll_participant(
        user=coordinator,
        participant=p,
        enrollment_date=corrected,
        dose_level=site_yc.study.dose_levels.first(),
    )
    assert not Query.objects.filter(participant=p, check_id__icontains="WINDOW").exists()
    ordered = list(p.visits.order_by("target_date", "sequence").values_list("code", flat=True))
    assert ordered[0] == "SCR"


def test_the_screening_visit_cannot_move_after_enrollment(coordinator, site_yc):
    p = make_participant(
        coordinator, site_yc, stage="enrolled", screened=today_at(site_yc) - timedelta(days=20)
    )
    scr = p.visits.get(code="SCR")
    with pytest.raises(DomainError, match="after enrollment"):
        record_visit(
            user=coordinator, visit=scr, visit_date=p.enrollment_date + timedelta(days=1), reason="x"
        )
    assert Participant.objects.get(pk=p.pk).screening_date == p.screening_date


def test_re_recording_eligibility_with_another_date_needs_a_reason(coordinator, site_yc):
    p = make_participant(
        coordinator, site_yc, stage="eligible", screened=today_at(site_yc) - timedelta(days=20)
    )
    with pytest.raises(DomainError, match="give a reason") as error:
        services.record_eligibility(
            user=coordinator, participant=p, met=True, assessed_on=p.eligibility_date + timedelta(days=1)
        )
    assert error.value.field == "reason"
    assert Participant.objects.get(pk=p.pk).eligibility_date == p.eligibility_date
    p = services.record_eligibility(
        user=coordinator,
        participant=p,
        met=True,
        assessed_on=p.eligibility_date + timedelta(days=1),
        reason="Assessment date corrected from source",
    )
    last = Events.objects.tracks(p).order_by("-pgh_id").first()
    assert last.pgh_context["reason"] == "Assessment date corrected from source"
