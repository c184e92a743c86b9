"""The live lab preview runs the save's own derivation and checks, so the two never disagree; one save
shows the problems of every row at once."""

import pytest
from django.urls import reverse

from labs.models import LabPanel, LabResult
from tests.labs.test_lab_pages import haematology_form, new_panel_url, site_now


def preview(client, visit, code, value, unit):
    return client.post(
        reverse("lab_preview", args=[visit.pk]) + f"?analyte={code}",
        {f"r-{code}-value": value, f"r-{code}-unit": unit, "collected_at": site_now(visit)},
        headers={"HX-Request": "true"},
    ).content.decode()


@pytest.mark.parametrize(
    ("code", "value", "unit", "message"),
    [
        ("hb", "500", "g/L", "This value is not physiologically possible; check the value and its unit."),
        ("alc", "-0.4", "10^9/L", "A laboratory value cannot be negative."),
    ],
)
def test_the_preview_says_what_the_save_refuses(client, coordinator, baseline, code, value, unit, message):
    client.force_login(coordinator)
    shown = preview(client, baseline, code, value, unit)
    assert message in shown
    assert ">H</span>" not in shown and "Grade 0" not in shown
    saved = client.post(new_panel_url(baseline), haematology_form(baseline, **{code: (value, unit)}))
    assert saved.status_code == 400 and message in saved.content.decode()
    assert not LabPanel.objects.exists()


def test_the_preview_shows_the_soft_check_the_save_will_query(client, coordinator, baseline):
    client.force_login(coordinator)
    shown = preview(client, baseline, "hb", "50", "g/L")
    assert "Value below half the lower limit of normal: please confirm." in shown


def test_one_save_shows_the_problems_of_every_row(client, coordinator, baseline):
    client.force_login(coordinator)
    response = client.post(
        new_panel_url(baseline),
        haematology_form(baseline, hb=("500", "g/L"), alc=("-0.4", "10^9/L"), wbc=("1e", "10^9/L")),
    )
    page = response.content.decode()
    assert response.status_code == 400 and not LabResult.objects.exists()
    # the three rows and "some results could not be read"
    assert "4 problems to correct before saving" in page
    for anchor in ("id_r-hb-value", "id_r-alc-value", "id_r-wbc-value"):
        assert f'href="#{anchor}"' in page
    assert "not physiologically possible" in page and "cannot be negative" in page
    assert "Enter a number." in page


def test_a_value_typed_with_an_exponent_is_refused_not_read(client, coordinator, baseline):
    client.force_login(coordinator)
    response = client.post(new_panel_url(baseline), haematology_form(baseline, hb=("1e2", "g/L")))
    assert response.status_code == 400 and "Enter a number." in response.content.decode()
    assert not LabPanel.objects.exists()
