from datetime import timedelta

import pytest
from django.urls import reverse

from crfs.demo import record_screening_forms
from tests.conftest import make_participant, today_at
from trials.models import Participant


@pytest.fixture
def logged_in(client, coordinator):
    client.force_login(coordinator)
    return client


def test_coordinator_screens_consents_and_enrolls_through_the_pages(logged_in, coordinator, site_yc, study):
    today = today_at(site_yc).isoformat()
    response = logged_in.post(
        reverse("participant_screen"),
        {
            "site": site_yc.pk,
            "initials": "lm",
            "year_of_birth": 1990,
            "sex": "F",
            "screening_date": today,
        },
    )
    p = Participant.objects.get()
    assert response.status_code == 302 and p.initials == "LM"
    steps = [
        ("consent", {"consent_date": today, "consent_version": "2.1", "expected_version": p.version}),
        ("eligibility", {"met": "yes", "assessed_on": today}),
        ("enroll", {"enrollment_date": today, "dose_level": study.dose_levels.first().pk}),
    ]
    for action, data in steps:
        p.refresh_from_db()
        if action == "eligibility":  # the protocol's checklist must show every criterion met first
            record_screening_forms(coordinator, p, on=today_at(site_yc))
        data.setdefault("expected_version", p.version)
        response = logged_in.post(reverse("participant_action", args=[p.pk, action]), data)
        assert response.status_code == 302, response.content.decode()[:2000]
    p.refresh_from_db()
    assert p.study_id == "YC-001" and p.visits.count() == 23
    page = logged_in.get(reverse("participant_detail", args=[p.pk])).content.decode()
    assert "Month 24" in page and "Provisional" in page


def test_bad_input_gives_a_400_with_a_message_and_saves_nothing(logged_in, site_yc):
    response = logged_in.post(
        reverse("participant_screen"),
        {
            "site": site_yc.pk,
            "initials": "A1",
            "year_of_birth": "nineteen",
            "sex": "X",
            "screening_date": "yesterday",
        },
    )
    assert response.status_code == 400
    assert not Participant.objects.exists()
    assert "invalid-feedback" in response.content.decode()


def test_a_refused_transition_shows_the_reason_as_a_form_error(logged_in, participant):
    response = logged_in.post(
        reverse("participant_action", args=[participant.pk, "follow-up"]),
        {"expected_version": participant.version},
    )
    assert response.status_code == 400
    assert "cannot become" in response.content.decode()


def test_a_stale_form_is_refused_with_a_conflict_page_keeping_the_input(logged_in, participant, site_yc):
    planned = (today_at(site_yc) + timedelta(days=9)).isoformat()
    stale = participant.version
    first = logged_in.post(
        reverse("participant_action", args=[participant.pk, "plan-infusion"]),
        {"planned_date": planned, "expected_version": stale},
    )
    assert first.status_code == 302
    second = logged_in.post(
        reverse("participant_action", args=[participant.pk, "plan-infusion"]),
        {"planned_date": planned, "expected_version": stale, "reason": "moved"},
    )
    assert second.status_code == 409
    body = second.content.decode()
    assert "Someone else saved this record" in body and 'value="moved"' not in body or "moved" in body


def test_unknown_participant_action_is_404(logged_in, participant):
    assert logged_in.get(reverse("participant_action", args=[participant.pk, "delete"])).status_code == 404


def test_home_shows_enrollment_per_site_and_visits_due(logged_in, coordinator, site_yc):
    today = today_at(site_yc)
    make_participant(
        coordinator, site_yc, screened=today - timedelta(days=30), infused=today - timedelta(days=14)
    )
    page = logged_in.get(reverse("home")).content.decode()
    assert "Yancheng Third People" in page and "Day 14" in page


def test_participant_list_filters_by_status_and_search(logged_in, coordinator, site_yc):
    make_participant(coordinator, site_yc, stage="screening", initials="QR")
    make_participant(coordinator, site_yc, initials="ST")
    body = logged_in.get(reverse("participant_list"), {"status": "screening"}).content.decode()
    assert "YC-S001" in body and "YC-S002" not in body
    body = logged_in.get(reverse("participant_list"), {"q": "YC-001"}).content.decode()
    assert "YC-S002" in body and "YC-S001" not in body


def test_the_clinical_rules_page_lists_every_calculator_with_its_version(logged_in):
    from edc.clinical import CALCULATORS

    body = logged_in.get(reverse("calculators")).content.decode()
    assert all(c.rule_version in body for c in CALCULATORS.values())


def test_user_chooses_chinese_and_pages_render_in_it(logged_in):
    response = logged_in.post(reverse("preferences"), {"language": "zh-hans"})
    assert response.status_code == 302
    body = logged_in.get(reverse("participant_list")).content.decode()
    assert "受试者" in body and 'lang="zh-hans"' in body


def test_static_assets_are_served_by_the_project(client, db):
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/bootstrap/bootstrap.min.css")
    body = client.get(reverse("login")).content.decode()
    assert "cdn" not in body.lower() and "/static/vendor/bootstrap/bootstrap.min.css" in body
