"""The laboratory pages: reached from the casebook, entry with preview, history, isolation, query counts."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from labs.models import LabPanel, LabResult
from tests.conftest import make_participant, today_at
from tests.labs.conftest import entry, result, save


def site_now(visit, hours_ago=1):
    tz = ZoneInfo(visit.participant.site.timezone)
    return (timezone.now() - timedelta(hours=hours_ago)).astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def haematology_form(visit, button="draft", **rows):
    data = {"collected_at": site_now(visit), "laboratory": "YC central lab", "source": "local", button: "1"}
    for code, (value, unit) in rows.items():
        data[f"r-{code}-value"], data[f"r-{code}-unit"] = value, unit
    return data


def new_panel_url(visit, panel="haematology"):
    return reverse("lab_panel_new", args=[visit.pk]) + f"?panel={panel}"


def test_the_casebook_labs_cell_opens_the_visits_panels(client, coordinator, baseline):
    client.force_login(coordinator)
    casebook = client.get(reverse("casebook", args=[baseline.participant_id])).content.decode()
    url = reverse("lab_panels", args=[baseline.pk])
    assert url == reverse("form_entry", args=[baseline.pk, "labs"]) and f'href="{url}"' in casebook
    page = client.get(url).content.decode()
    assert "Add a panel" in page and new_panel_url(baseline).replace("&", "&amp;") in page


def test_a_coordinator_enters_a_panel_and_sees_the_converted_value_flag_and_grade(
    client, coordinator, baseline
):
    client.force_login(coordinator)
    response = client.post(
        new_panel_url(baseline), haematology_form(baseline, hb=("9.5", "g/dL"), anc=("1500", "cells/uL"))
    )
    assert response.status_code == 302 and response.url == reverse("lab_panels", args=[baseline.pk])
    panel = LabPanel.objects.get()
    assert result(panel, "hb").standard_value == 95
    page = client.get(response.url).content.decode()
    assert "9.5 g/dL" in page and "95 g/L" in page and "Grade 2" in page and "1.5 ×10⁹/L" in page
    assert ">L</span>" in page
    edit = client.get(reverse("lab_panel", args=[baseline.pk, panel.pk])).content.decode()
    assert 'id="std-hb"' in edit and "95 g/L" in edit and 'value="9.5"' in edit


def test_a_new_panel_of_a_kind_already_entered_opens_the_existing_one(client, coordinator, baseline):
    panel = save(coordinator, baseline, [entry("hb", 120, "g/L")])
    client.force_login(coordinator)
    response = client.get(new_panel_url(baseline))
    assert response.status_code == 302 and response.url == reverse("lab_panel", args=[baseline.pk, panel.pk])


def test_the_entry_rows_default_to_the_sites_units(client, coordinator, baseline, site_cd):
    from labs.models import SiteUnit

    SiteUnit.objects.filter(site=baseline.participant.site, analyte="hb").update(unit="g/dL")
    client.force_login(coordinator)
    page = client.get(new_panel_url(baseline)).content.decode()
    assert '<option value="g/dL" selected>' in page


def test_the_preview_shows_conversion_flag_and_grade_without_saving(client, coordinator, baseline):
    client.force_login(coordinator)
    response = client.post(
        reverse("lab_preview", args=[baseline.pk]) + "?analyte=hb",
        {"r-hb-value": "9.5", "r-hb-unit": "g/dL", "collected_at": site_now(baseline)},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'id="std-hb"' in body and 'hx-swap-oob="true"' in body
    assert "95 g/L" in body and "11.5–15 g/dL" in body and ">L</span>" in body and "Grade 2" in body
    assert not LabPanel.objects.exists() and not LabResult.objects.exists()


@pytest.mark.parametrize("value", ["abc", "NaN", "1e999", "-", "9,5"])
def test_the_preview_of_a_bad_number_answers_without_error(client, coordinator, baseline, value):
    client.force_login(coordinator)
    response = client.post(reverse("lab_preview", args=[baseline.pk]) + "?analyte=hb", {"r-hb-value": value})
    assert response.status_code == 200 and 'class="text-danger small"' in response.content.decode()


@pytest.mark.parametrize(
    "rows",
    [
        {"hb": ("NaN", "g/L")},
        {"hb": ("1e999", "g/L")},
        {"hb": ("12345678901234567890", "g/L")},
        {"hb": ("abc", "g/L")},
        {"hb": ("120", "furlongs")},
        {"hb": ("-5", "g/L")},
        {"platelets": ("9999", "10^9/L")},
    ],
)
def test_bad_input_is_refused_with_a_message_never_a_500(client, coordinator, baseline, rows):
    client.force_login(coordinator)
    response = client.post(new_panel_url(baseline), haematology_form(baseline, **rows))
    assert response.status_code == 400
    assert not LabPanel.objects.exists()


def test_a_hard_check_is_shown_on_its_row(client, coordinator, baseline):
    client.force_login(coordinator)
    response = client.post(new_panel_url(baseline), haematology_form(baseline, hb=("-5", "g/L")))
    body = response.content.decode()
    assert response.status_code == 400 and "Haemoglobin: A laboratory value cannot be negative." in body
    assert 'value="-5"' in body  # the input is kept


def test_a_bad_collection_time_is_refused(client, coordinator, baseline):
    client.force_login(coordinator)
    data = {**haematology_form(baseline, hb=("120", "g/L")), "collected_at": "2024-13-45T99:00"}
    assert client.post(new_panel_url(baseline), data).status_code == 400


def test_an_unknown_panel_answers_404(client, coordinator, baseline):
    client.force_login(coordinator)
    assert client.get(new_panel_url(baseline, panel="astrology")).status_code == 404


def test_the_history_shows_old_and_new_results_with_the_reason(client, coordinator, baseline):
    panel = save(
        coordinator,
        baseline,
        [entry(c, "5", "10^9/L") for c in ("wbc", "anc", "alc")]
        + [entry("hb", 118, "g/L"), entry("platelets", 200, "10^9/L")],
        complete=True,
    )
    client.force_login(coordinator)
    url = reverse("lab_panel", args=[baseline.pk, panel.pk])
    form = haematology_form(
        baseline,
        wbc=("5", "10^9/L"),
        anc=("5", "10^9/L"),
        alc=("5", "10^9/L"),
        hb=("112", "g/L"),
        platelets=("200", "10^9/L"),
    )
    form["collected_at"] = panel.collected_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    refused = client.post(url, {**form, "expected_version": panel.version})
    assert refused.status_code == 400 and "give a reason" in refused.content.decode()
    response = client.post(url, {**form, "expected_version": panel.version, "reason": "Re-measured sample"})
    assert response.status_code == 302
    body = client.get(reverse("lab_panel_history", args=[panel.pk])).content.decode()
    assert "Re-measured sample" in body and "118.0 → 112.0" in body and "Haemoglobin" in body
    assert "<strong>flag</strong>:  → L" in body  # the flag, derived on save, is in the trail too


def test_two_people_saving_the_same_panel_cannot_lose_an_update(coordinator, investigator, baseline):
    panel = save(coordinator, baseline, [entry("hb", 118, "g/L")])
    first, second = Client(), Client()
    first.force_login(coordinator)
    second.force_login(investigator)
    url = reverse("lab_panel", args=[baseline.pk, panel.pk])
    collected = panel.collected_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    form = {**haematology_form(baseline), "collected_at": collected, "expected_version": panel.version}
    assert first.post(url, {**form, "r-hb-value": "121", "r-hb-unit": "g/L"}).status_code == 302
    second_try = second.post(url, {**form, "r-hb-value": "99", "r-hb-unit": "g/L"})
    body = second_try.content.decode()
    assert second_try.status_code == 409 and 'value="99"' in body and "Haemoglobin: 121 g/L" in body
    assert result(panel, "hb").value == 121


def test_another_sites_panel_answers_404(client, coordinator, coordinator_cd, site_cd, ranges):
    today = today_at(site_cd)
    p = make_participant(
        coordinator_cd, site_cd, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    visit = p.visits.get(code="BL")
    panel = save(coordinator_cd, visit, [entry("hb", 120, "g/L")])
    client.force_login(coordinator)
    for url in (
        reverse("lab_panels", args=[visit.pk]),
        reverse("lab_panel", args=[visit.pk, panel.pk]),
        new_panel_url(visit),
        reverse("lab_panel_history", args=[panel.pk]),
    ):
        assert client.get(url).status_code == 404, url
    for url in (
        reverse("lab_panel", args=[visit.pk, panel.pk]),
        new_panel_url(visit),
        reverse("lab_preview", args=[visit.pk]) + "?analyte=hb",
    ):
        assert client.post(url, {"r-hb-value": "1", "r-hb-unit": "g/L"}).status_code == 404, url
    assert result(panel, "hb").value == 120


def test_a_monitor_sees_the_panels_but_cannot_save(client, monitor, coordinator, baseline):
    panel = save(coordinator, baseline, [entry("hb", 120, "g/L")])
    client.force_login(monitor)
    assert client.get(reverse("lab_panels", args=[baseline.pk])).status_code == 200
    url = reverse("lab_panel", args=[baseline.pk, panel.pk])
    before = LabPanel.objects.get(pk=panel.pk)
    assert client.post(url, haematology_form(baseline, hb=("1", "g/L"))).status_code == 403
    after = LabPanel.objects.get(pk=panel.pk)
    assert after.version == before.version and result(after, "hb").value == 120
    assert LabResult.objects.filter(panel=panel).count() == 1


def count_queries(client, url):
    client.get(url)  # warm the per-process caches (content types) first
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_the_visit_panels_page_runs_the_same_queries_for_one_or_many_panels(client, coordinator, baseline):
    save(coordinator, baseline, [entry("hb", 50, "g/L")])  # with a query on the result
    client.force_login(coordinator)
    url = reverse("lab_panels", args=[baseline.pk])
    one = count_queries(client, url)
    save(
        coordinator,
        baseline,
        [entry("alt", 400, "U/L"), entry("creatinine", 80, "umol/L")],
        panel="chemistry",
    )
    save(
        coordinator,
        baseline,
        [entry("crp", 50, "mg/L"), entry("ferritin", 2000, "ug/L")],
        panel="inflammation",
    )
    save(
        coordinator,
        baseline,
        [entry("cd19", 0, "cells/uL"), entry("cd4", 150, "cells/uL")],
        panel="lymphocyte_subsets",
    )
    assert count_queries(client, url) == one


def test_the_entry_page_runs_the_same_queries_with_more_results(client, coordinator, baseline):
    panel = save(coordinator, baseline, [entry("hb", 50, "g/L")])
    client.force_login(coordinator)
    url = reverse("lab_panel", args=[baseline.pk, panel.pk])
    one = count_queries(client, url)
    save(
        coordinator,
        baseline,
        [entry(c, "0.1", "10^9/L") for c in ("wbc", "anc", "alc", "platelets")],
        instance=panel,
        collected_at=panel.collected_at,
    )
    assert count_queries(client, url) == one
