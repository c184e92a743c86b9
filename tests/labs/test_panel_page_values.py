"""The panel page shows stored values as they were entered, never in scientific notation."""

from django.urls import reverse

from tests.labs.conftest import entry, save


def test_whole_hundreds_are_shown_as_entered_not_as_exponents(client, coordinator, baseline):
    panel = save(coordinator, baseline, [entry("hb", 130, "g/L"), entry("platelets", 200, "10^9/L")])
    client.force_login(coordinator)
    body = client.get(reverse("lab_panel", args=[baseline.pk, panel.pk])).content.decode()
    assert 'name="r-hb-value" value="130"' in body
    assert 'name="r-platelets-value" value="200"' in body
    assert "E+2" not in body
