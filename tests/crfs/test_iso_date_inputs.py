"""Dates are typed and shown as ISO 8601 (YYYY-MM-DD) whatever the browser's locale, and every label of a
form starts with a capital, like the labels taken from the models (the CRS form's "Vasopressors")."""

import re
from datetime import timedelta

from django.urls import reverse

from crfs.models import VitalSigns
from tests.conftest import make_participant, today_at


def date_input(page: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)


def test_a_date_field_is_an_iso_8601_text_input_not_the_browsers_date_picker(client, coordinator, baseline):
    client.force_login(coordinator)
    url = reverse("form_entry", args=[baseline.pk, "vital_signs"])
    field = date_input(client.get(url).content.decode(), "assessed_on")
    assert 'type="text"' in field and 'type="date"' not in field
    assert 'placeholder="YYYY-MM-DD"' in field and 'inputmode="numeric"' in field
    assert 'pattern="\\d{4}-\\d{2}-\\d{2}"' in field


def test_a_saved_date_is_shown_as_iso_8601_and_typed_back_the_same(client, coordinator, baseline):
    client.force_login(coordinator)
    day = baseline.target_date
    url = reverse("form_entry", args=[baseline.pk, "vital_signs"])
    response = client.post(url, {"assessed_on": day.isoformat(), "heart_rate": "72", "draft": "1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    form = VitalSigns.objects.get()
    page = client.get(
        reverse("form_entry_instance", args=[baseline.pk, "vital_signs", form.pk])
    ).content.decode()
    assert f'value="{day.isoformat()}"' in date_input(page, "assessed_on")


def test_the_crs_form_capitalises_vasopressors_like_its_other_labels(client, coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=20), infused=today - timedelta(days=2)
    )
    visit = p.visits.get(code="D1")
    client.force_login(coordinator)
    page = client.get(reverse("form_entry", args=[visit.pk, "crs"])).content.decode()
    labels = re.findall(r"<(?:label|legend)[^>]*>\s*([^<]+?)\s*<", page)
    assert "Vasopressors" in labels and "vasopressors" not in labels
    field_labels = [text for text in labels if text[:1].isalpha()]
    assert field_labels and all(not text[0].islower() for text in field_labels), [
        t for t in field_labels if t[0].islower()
    ]
