from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied

from edc.errors import ConflictError, DomainError
from tests.conftest import make_participant, today_at
from trials import services
from trials.models import Participant, ParticipantStatus


def test_screening_assigns_a_site_screening_number(coordinator, site_yc):
    p = make_participant(coordinator, site_yc, stage="screening")
    assert p.screening_number == "YC-S001"
    assert p.status == ParticipantStatus.SCREENING


def test_initials_that_look_like_a_name_are_refused(coordinator, site_yc):
    with pytest.raises(DomainError) as error:
        services.screen_participant(
            user=coordinator,
            site=site_yc,
            initials="Wang Li",
            year_of_birth=1980,
            sex="F",
            screening_date=today_at(site_yc),
        )
    assert error.value.field == "initials"


def test_enrollment_is_refused_without_consent(coordinator, site_yc):
    p = make_participant(coordinator, site_yc, stage="screening")
    with pytest.raises(DomainError, match="Consent"):
        services.enroll_participant(user=coordinator, participant=p, enrollment_date=today_at(site_yc))


def test_enrollment_is_refused_until_eligibility_is_met(coordinator, site_yc):
    p = make_participant(coordinator, site_yc, stage="consented")
    with pytest.raises(DomainError, match="Eligibility"):
        services.enroll_participant(user=coordinator, participant=p, enrollment_date=today_at(site_yc))


def test_enrollment_assigns_a_study_id_and_builds_the_schedule(coordinator, site_yc):
    p = make_participant(coordinator, site_yc)
    assert p.study_id == "YC-001"
    assert p.status == ParticipantStatus.ENROLLED
    codes = list(p.visits.order_by("sequence").values_list("code", flat=True))
    assert codes[:3] == ["SCR", "BL", "LD-5"] and codes[-1] == "M24"
    assert p.visits.count() == p.protocol_version.visit_definitions.count()


def test_study_ids_count_per_site(coordinator, coordinator_cd, site_yc, site_cd):
    make_participant(coordinator, site_yc)
    second = make_participant(coordinator, site_yc, initials="CD")
    other = make_participant(coordinator_cd, site_cd)
    assert (second.study_id, other.study_id) == ("YC-002", "CD-001")


def test_ineligible_participant_becomes_a_screen_failure_with_reason(coordinator, site_yc):
    p = make_participant(coordinator, site_yc, stage="consented")
    p = services.record_eligibility(
        user=coordinator,
        participant=p,
        met=False,
        assessed_on=p.consent_date,
        screen_failure_reason="HBV DNA detectable",
    )
    assert p.status == ParticipantStatus.SCREEN_FAILED
    assert p.screen_failure_reason == "HBV DNA detectable"
    with pytest.raises(DomainError, match="Eligibility must be assessed as met before enrollment"):
        services.enroll_participant(user=coordinator, participant=p, enrollment_date=today_at(site_yc))


def test_screen_failure_needs_a_reason(coordinator, site_yc):
    p = make_participant(coordinator, site_yc, stage="consented")
    with pytest.raises(DomainError) as error:
        services.record_eligibility(user=coordinator, participant=p, met=False, assessed_on=p.consent_date)
    assert error.value.field == "screen_failure_reason"


def test_an_illegal_transition_is_refused_with_a_message(coordinator, site_yc):
    p = make_participant(coordinator, site_yc)
    with pytest.raises(DomainError, match="cannot become"):
        services.start_follow_up(user=coordinator, participant=p)


def test_withdrawal_needs_a_reason(coordinator, site_yc):
    p = make_participant(coordinator, site_yc)
    with pytest.raises(DomainError) as error:
        services.end_participation(
            user=coordinator, participant=p, outcome="withdrawn", end_date=today_at(site_yc)
        )
    assert error.value.field == "reason"
    p = services.end_participation(
        user=coordinator,
        participant=p,
        outcome="withdrawn",
        end_date=today_at(site_yc),
        reason="Moved abroad",
    )
    assert p.status == ParticipantStatus.WITHDRAWN


def test_full_status_path_to_completion(coordinator, site_yc):
    p = make_participant(coordinator, site_yc, screened=today_at(site_yc) - timedelta(days=60))
    p = services.record_lymphodepletion(
        user=coordinator, participant=p, start_date=p.enrollment_date + timedelta(days=2)
    )
    p = services.record_infusion(
        user=coordinator, participant=p, infusion_date=p.enrollment_date + timedelta(days=7)
    )
    p = services.start_follow_up(user=coordinator, participant=p)
    p = services.end_participation(
        user=coordinator, participant=p, outcome="completed", end_date=today_at(site_yc)
    )
    assert p.status == ParticipantStatus.COMPLETED


def test_future_dates_are_refused(coordinator, site_yc):
    with pytest.raises(DomainError) as error:
        services.screen_participant(
            user=coordinator,
            site=site_yc,
            initials="AB",
            year_of_birth=1980,
            sex="F",
            screening_date=today_at(site_yc) + timedelta(days=2),
        )
    assert error.value.field == "screening_date"


def test_a_monitor_cannot_screen(monitor, site_yc):
    with pytest.raises(PermissionDenied, match="does not allow"):
        services.screen_participant(
            user=monitor,
            site=site_yc,
            initials="AB",
            year_of_birth=1980,
            sex="F",
            screening_date=today_at(site_yc),
        )


def test_a_coordinator_cannot_act_at_another_site(coordinator, other_site_participant):
    with pytest.raises(PermissionDenied, match="does not allow"):
        services.record_planned_infusion(
            user=coordinator,
            participant=other_site_participant,
            planned_date=today_at(other_site_participant.site),
        )


def test_a_stale_copy_is_refused_instead_of_overwriting(coordinator, site_yc):
    p = make_participant(coordinator, site_yc, stage="screening")
    stale_version = p.version
    services.correct_participant(
        user=coordinator,
        participant=p,
        changes={"initials": "XY"},
        reason="typo",
        expected_version=stale_version,
    )
    with pytest.raises(ConflictError, match="changed by someone else"):
        services.correct_participant(
            user=coordinator,
            participant=p,
            changes={"initials": "QQ"},
            reason="another typo",
            expected_version=stale_version,
        )
    p.refresh_from_db()
    assert p.initials == "XY"


def test_dose_level_of_another_study_is_refused(coordinator, site_yc, db):
    from tests.conftest import ROOT
    from trials.protocol import load_file

    other = load_file(ROOT / "protocols" / "examples" / "example-ra-small.yaml").study
    p = make_participant(coordinator, site_yc)
    with pytest.raises(DomainError, match="belongs to another study"):
        services.assign_dose_level(user=coordinator, participant=p, dose_level=other.dose_levels.first())


def test_study_ids_keep_counting_past_999(coordinator, site_yc):
    first = make_participant(coordinator, site_yc)
    Participant.objects.filter(pk=first.pk).update(study_id="YC-999")
    second = make_participant(coordinator, site_yc, initials="CD")
    Participant.objects.filter(pk=second.pk).update(study_id="YC-1000")
    third = make_participant(coordinator, site_yc, initials="EF")
    assert third.study_id == "YC-1001"
