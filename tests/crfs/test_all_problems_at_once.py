"""One submit shows every problem: unreadable input, every hard edit check, with a summary linking to
each field; the checks beside the fields while typing come from the same path as the save."""

import pytest
from django.urls import reverse

from crfs.models import VitalSigns
from crfs.registry import FORMS
from crfs.services import save_form
from edc.errors import DomainError

VS = FORMS["vital_signs"]


def vs_url(visit):
    return reverse("form_entry", args=[visit.pk, "vital_signs"])


def test_the_service_refuses_every_hard_check_together(coordinator, baseline):
    with pytest.raises(DomainError) as error:
        save_form(
            user=coordinator,
            spec=VS,
            visit=baseline,
            data={"temperature_c": 50, "heart_rate": 300, "systolic_bp": 500},
        )
    assert {p.field for p in error.value.problems} == {"temperature_c", "heart_rate", "systolic_bp"}
    assert not VitalSigns.objects.exists()


def test_one_submit_shows_three_errors_with_a_summary_linking_to_each_field(client, coordinator, baseline):
    client.force_login(coordinator)
    response = client.post(
        vs_url(baseline), {"temperature_c": "50", "heart_rate": "300", "weight_kg": "1e", "draft": "1"}
    )
    page = response.content.decode()
    assert response.status_code == 400 and not VitalSigns.objects.exists()
    assert "3 problems to correct before saving" in page
    for anchor in ("id_temperature_c", "id_heart_rate", "id_weight_kg"):
        assert f'href="#{anchor}"' in page
    assert "Temperature must be between 30 and 45 °C." in page
    assert "Heart rate must be between 20 and 250 /min." in page
    assert "Enter a number." in page


@pytest.mark.parametrize("typed", ["1e", "1e5", "NaN", "--3"])
def test_a_number_that_cannot_be_read_is_a_field_error_not_an_empty_value(
    client, coordinator, baseline, typed
):
    client.force_login(coordinator)
    response = client.post(vs_url(baseline), {"weight_kg": typed, "heart_rate": "70", "draft": "1"})
    assert response.status_code == 400 and not VitalSigns.objects.exists()
    assert "Enter a number." in response.content.decode()


def test_number_fields_are_text_inputs_with_a_numeric_keyboard(client, coordinator, baseline):
    """``type="number"`` sends an empty value for "1e"; a text input sends what was typed."""
    client.force_login(coordinator)
    page = client.get(vs_url(baseline)).content.decode()
    assert 'type="number"' not in page
    assert 'inputmode="decimal"' in page and 'inputmode="numeric"' in page


def test_the_live_check_shows_soft_and_hard_checks_beside_their_fields(client, coordinator, baseline):
    client.force_login(coordinator)
    response = client.post(
        reverse("form_check", args=[baseline.pk, "vital_signs"]),
        {"temperature_c": "39.8", "heart_rate": "300", "weight_kg": "1e"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and not VitalSigns.objects.exists()
    assert 'id="check-temperature_c"' in page and "Temperature outside 35.0–39.5 °C: please confirm." in page
    assert "Heart rate must be between 20 and 250 /min." in page
    assert "Enter a number." in page


def test_the_live_check_and_the_save_answer_alike(client, coordinator, baseline):
    """The check beside the field is what the save then says: no preview of its own."""
    client.force_login(coordinator)
    check = client.post(reverse("form_check", args=[baseline.pk, "vital_signs"]), {"spo2_pct": "120"})
    saved = client.post(vs_url(baseline), {"spo2_pct": "120", "draft": "1"})
    message = "SpO₂ must be between 50 and 100 %."
    assert message in check.content.decode() and message in saved.content.decode()


def test_the_live_check_needs_the_right_to_enter_data(client, make_user, baseline):
    from accounts.models import Role

    client.force_login(make_user(Role.MONITOR, baseline.participant.site))
    response = client.post(reverse("form_check", args=[baseline.pk, "vital_signs"]), {"heart_rate": "300"})
    assert response.status_code == 403
