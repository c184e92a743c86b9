from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from crfs.models import FormStatus, VitalSigns
from crfs.registry import FORMS
from crfs.services import save_form
from edc.errors import DomainError
from monitoring.models import Query, QueryStatus
from tests.conftest import make_participant, today_at

VS = FORMS["vital_signs"]


@pytest.fixture
def baseline(coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    return p.visits.get(code="BL")


def full(visit, **overrides):
    data = {
        "assessed_on": visit.target_date,
        "temperature_c": Decimal("36.8"),
        "heart_rate": 72,
        "systolic_bp": 120,
        "diastolic_bp": 80,
        "weight_kg": Decimal("60.0"),
        "height_cm": Decimal("165.0"),
    }
    return {**data, **overrides}


def test_a_draft_saves_with_missing_fields(coordinator, baseline):
    obj = save_form(user=coordinator, spec=VS, visit=baseline, data={"heart_rate": 80})
    assert obj.status == FormStatus.IN_PROGRESS and obj.temperature_c is None


def test_mark_complete_requires_every_required_field(coordinator, baseline):
    with pytest.raises(DomainError, match="temperature"):
        save_form(user=coordinator, spec=VS, visit=baseline, data={"heart_rate": 80}, complete=True)
    assert not VitalSigns.objects.exists()


def test_complete_form_derives_bmi(coordinator, baseline):
    obj = save_form(user=coordinator, spec=VS, visit=baseline, data=full(baseline), complete=True)
    assert obj.status == FormStatus.COMPLETE and obj.bmi == Decimal("22.0")


def test_a_change_after_complete_needs_a_reason(coordinator, baseline):
    obj = save_form(user=coordinator, spec=VS, visit=baseline, data=full(baseline), complete=True)
    with pytest.raises(DomainError) as error:
        save_form(user=coordinator, spec=VS, visit=baseline, instance=obj, data=full(baseline, heart_rate=90))
    assert error.value.field == "reason"
    obj = save_form(
        user=coordinator,
        spec=VS,
        visit=baseline,
        instance=obj,
        data=full(baseline, heart_rate=90),
        reason="Transcription error",
    )
    assert obj.heart_rate == 90


def test_a_hard_check_rejects_the_save_with_a_field_message(coordinator, baseline):
    with pytest.raises(DomainError) as error:
        save_form(user=coordinator, spec=VS, visit=baseline, data=full(baseline, temperature_c=Decimal("52")))
    assert error.value.field == "temperature_c"
    assert not VitalSigns.objects.exists()


def test_a_hard_check_does_not_fire_on_a_plausible_value(coordinator, baseline):
    saved = save_form(
        user=coordinator, spec=VS, visit=baseline, data=full(baseline, temperature_c=Decimal("44.9"))
    )
    assert VitalSigns.objects.get(pk=saved.pk).temperature_c == Decimal("44.9")


def test_future_dates_are_rejected(coordinator, baseline):
    with pytest.raises(DomainError) as error:
        save_form(
            user=coordinator,
            spec=VS,
            visit=baseline,
            data=full(baseline, assessed_on=today_at(baseline.participant.site) + timedelta(days=1)),
        )
    assert error.value.field == "assessed_on"


def test_a_soft_check_saves_and_opens_an_automatic_query_that_closes_when_corrected(coordinator, baseline):
    obj = save_form(user=coordinator, spec=VS, visit=baseline, data=full(baseline, systolic_bp=85))
    query = Query.objects.get()
    assert (query.field_name, query.check_id, query.status) == (
        "systolic_bp",
        "VS-SBP-RANGE",
        QueryStatus.OPEN,
    )
    obj = save_form(
        user=coordinator, spec=VS, visit=baseline, instance=obj, data=full(baseline, systolic_bp=84)
    )
    assert Query.objects.count() == 1  # still the same live query, not a second one
    save_form(user=coordinator, spec=VS, visit=baseline, instance=obj, data=full(baseline, systolic_bp=110))
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED and "automatically" in query.resolution


def test_a_visit_date_outside_the_window_opens_a_query(coordinator, baseline):
    save_form(
        user=coordinator,
        spec=VS,
        visit=baseline,
        data=full(baseline, assessed_on=baseline.window_start - timedelta(days=1)),
    )
    assert Query.objects.get().check_id == "VISIT-WINDOW"


def test_a_form_the_visit_does_not_expect_is_refused(coordinator, baseline):
    ld = baseline.participant.visits.get(code="LD-4")
    with pytest.raises(DomainError, match="does not expect this form at this visit"):
        save_form(user=coordinator, spec=VS, visit=ld, data={"heart_rate": 70})


def test_two_people_editing_the_same_form_cannot_lose_an_update(client, coordinator, investigator, baseline):
    from django.test import Client

    obj = save_form(user=coordinator, spec=VS, visit=baseline, data=full(baseline))
    first, second = Client(), Client()
    first.force_login(coordinator)
    second.force_login(investigator)
    url = reverse("form_entry", args=[baseline.pk, "vital_signs"])
    form = {k: str(v) for k, v in full(baseline).items()}
    r1 = first.post(url, {**form, "heart_rate": "81", "expected_version": obj.version, "draft": "1"})
    assert r1.status_code == 302
    r2 = second.post(url, {**form, "heart_rate": "99", "expected_version": obj.version, "draft": "1"})
    assert r2.status_code == 409
    body = r2.content.decode()
    assert "Someone else saved this record" in body and 'value="99"' in body and "81" in body
    obj.refresh_from_db()
    assert obj.heart_rate == 81


def test_casebook_shows_each_expected_form_with_its_status(client, coordinator, baseline):
    save_form(user=coordinator, spec=VS, visit=baseline, data=full(baseline), complete=True)
    client.force_login(coordinator)
    body = client.get(reverse("casebook", args=[baseline.participant_id])).content.decode()
    assert "Vital signs" in body and "complete" in body and "not started" in body


def test_form_history_shows_old_and_new_values_with_reason(client, coordinator, baseline):
    obj = save_form(user=coordinator, spec=VS, visit=baseline, data=full(baseline), complete=True)
    save_form(
        user=coordinator,
        spec=VS,
        visit=baseline,
        instance=obj,
        data=full(baseline, heart_rate=88),
        reason="Re-measured",
    )
    client.force_login(coordinator)
    body = client.get(reverse("form_history", args=["vital_signs", obj.pk])).content.decode()
    assert "Re-measured" in body and "88" in body and "72" in body
