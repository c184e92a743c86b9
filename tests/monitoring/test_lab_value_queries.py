"""Queries on a single laboratory value: raised from the panel page, shown on its row, site-scoped."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from labs.reference_data import DEFAULT_FILE, load_file
from labs.services import ResultEntry, save_panel
from monitoring.models import Query, QueryStatus
from tests.conftest import make_participant, today_at


@pytest.fixture
def panel(coordinator, site_yc, study):
    load_file(DEFAULT_FILE)
    today = today_at(site_yc)
    participant = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    visit = participant.visits.get(code="BL")
    return save_panel(
        user=coordinator,
        visit=visit,
        panel="haematology",
        data={"collected_at": timezone.now() - timedelta(hours=1), "laboratory": "Lab", "source": "local"},
        results=[
            ResultEntry("hb", Decimal("130"), "g/L"),
            ResultEntry("platelets", Decimal("200"), "10^9/L"),
        ],
    )


def hb_of(panel):
    return panel.results.get(analyte="hb")


def test_a_monitor_raises_a_query_on_one_lab_value_from_the_panel_page(client, monitor, panel):
    client.force_login(monitor)
    page = client.get(reverse("lab_panel", args=[panel.visit_id, panel.pk])).content.decode()
    url = reverse("query_raise", args=["lab_result", hb_of(panel).pk])
    assert f"{url}?field=value" in page
    response = client.post(
        url, {"field_name": "value", "query_type": "manual", "priority": "normal", "text": "Hb?"}
    )
    assert response.status_code == 302
    query = Query.objects.get()
    assert (query.record, query.field_name, query.participant) == (hb_of(panel), "value", panel.participant)
    assert query.status == QueryStatus.OPEN


def test_the_query_shows_on_the_value_row_for_the_site_and_links_back_to_the_panel(
    client, monitor, coordinator, panel
):
    client.force_login(monitor)
    client.post(
        reverse("query_raise", args=["lab_result", hb_of(panel).pk]),
        {"field_name": "value", "query_type": "manual", "priority": "normal", "text": "Check Hb"},
    )
    query = Query.objects.get()
    client.force_login(coordinator)
    page = client.get(reverse("lab_panel", args=[panel.visit_id, panel.pk])).content.decode()
    row = page[page.index('id="row-hb"') :]
    row = row[: row.index("</tr>")]
    assert "Check Hb" in row and reverse("query_detail", args=[query.pk]) in row
    assert reverse("query_raise", args=["lab_result", hb_of(panel).pk]) not in page
    detail = client.get(reverse("query_detail", args=[query.pk])).content.decode()
    assert reverse("lab_panel", args=[panel.visit_id, panel.pk]) in detail


def test_site_staff_cannot_raise_and_another_sites_monitor_cannot_see_the_value(
    client, coordinator, make_user, site_cd, panel
):
    from accounts.models import Role

    url = reverse("query_raise", args=["lab_result", hb_of(panel).pk])
    client.force_login(coordinator)
    assert client.get(url).status_code == 403
    client.force_login(make_user(Role.MONITOR, site_cd))
    assert client.get(url).status_code == 404
    assert not Query.objects.exists()
