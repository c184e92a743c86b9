"""Two tabs on the same lab panel: each result is merged against the panel version the user opened."""

from django.test import Client
from django.urls import reverse

from tests.labs.conftest import entry, result, save
from tests.pageforms import form_data, post_forms


def tab(user, url):
    client = Client()
    client.force_login(user)
    return client, form_data(client, url)


def page_form(response) -> dict:
    forms = post_forms(response.content.decode())
    return {
        k: ("" if v is None else v) for k, v in max(forms, key=lambda f: len(f["fields"]))["fields"].items()
    }


def test_results_changed_in_two_tabs_both_survive(coordinator, investigator, baseline):
    panel = save(coordinator, baseline, [entry("hb", 120, "g/L"), entry("platelets", 200, "10^9/L")])
    url = reverse("lab_panel", args=[baseline.pk, panel.pk])
    first, page1 = tab(coordinator, url)
    second, page2 = tab(investigator, url)
    assert first.post(url, {**page1, "r-hb-value": "110", "draft": "1"}).status_code == 302
    stale = second.post(url, {**page2, "r-platelets-value": "180", "draft": "1"})
    assert stale.status_code == 409
    merged = page_form(stale)
    assert merged["r-hb-value"] == "110" and merged["r-platelets-value"] == "180"
    assert 'data-key="results:hb"' in stale.content.decode()
    assert result(panel, "hb").value == 110 and result(panel, "platelets").value == 200
    assert second.post(url, {**merged, "draft": "1"}).status_code == 302
    assert result(panel, "hb").value == 110 and result(panel, "platelets").value == 180


def test_a_result_both_changed_is_chosen_by_the_user(coordinator, investigator, baseline):
    panel = save(coordinator, baseline, [entry("hb", 120, "g/L")])
    url = reverse("lab_panel", args=[baseline.pk, panel.pk])
    first, page1 = tab(coordinator, url)
    second, page2 = tab(investigator, url)
    assert first.post(url, {**page1, "r-hb-value": "110", "draft": "1"}).status_code == 302
    stale = second.post(url, {**page2, "r-hb-value": "105", "draft": "1"})
    assert stale.status_code == 409
    assert 'name="keep-results:hb" value="mine"' in stale.content.decode()
    merged = page_form(stale)
    assert merged["r-hb-value"] == "105"  # my input is kept beside theirs
    assert second.post(url, {**merged, "draft": "1"}).status_code == 409
    assert second.post(url, {**merged, "draft": "1", "keep-results:hb": "theirs"}).status_code == 302
    assert result(panel, "hb").value == 110
