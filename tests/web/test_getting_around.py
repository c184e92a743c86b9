"""Getting around: breadcrumbs, the participant search in the header, the keyboard scripts on every
page, repeating rows added in the page and query markers inside each field."""

from datetime import timedelta
from decimal import Decimal

from django.urls import reverse

from crfs.registry import FORMS
from crfs.services import save_form
from monitoring.services import open_query
from tests.conftest import make_participant, today_at


def test_the_header_search_opens_the_participant_with_that_id(client, coordinator, participant):
    client.force_login(coordinator)
    home = client.get(reverse("home")).content.decode()
    assert 'role="search"' in home and 'name="q"' in home
    response = client.get(reverse("participant_list"), {"q": participant.study_id.lower(), "go": "1"})
    assert response.status_code == 302
    assert response.url == reverse("participant_detail", args=[participant.pk])


def test_the_header_search_of_another_sites_participant_finds_nothing(
    client, coordinator, other_site_participant
):
    client.force_login(coordinator)
    response = client.get(reverse("participant_list"), {"q": other_site_participant.study_id, "go": "1"})
    assert response.status_code == 200


def test_a_form_page_has_breadcrumbs_to_the_participant_and_the_casebook(client, coordinator, participant):
    visit = participant.visits.get(code="BL")
    client.force_login(coordinator)
    page = client.get(reverse("form_entry", args=[visit.pk, "vital_signs"])).content.decode()
    crumbs = page[page.index("data-breadcrumbs") : page.index("</nav>", page.index("data-breadcrumbs"))]
    assert reverse("participant_detail", args=[participant.pk]) in crumbs
    assert reverse("casebook", args=[participant.pk]) in crumbs
    assert "Vital signs" in crumbs


def test_every_page_loads_the_keyboard_rows_and_marker_scripts_from_static_files(client, coordinator):
    client.force_login(coordinator)
    page = client.get(reverse("home")).content.decode()
    for name in ("entry-keys.js", "rows.js", "field-marks.js"):
        assert f"/static/edc/{name}" in page
    assert "onclick=" not in page.lower()


def test_save_and_mark_complete_has_an_access_key(client, coordinator, participant):
    visit = participant.visits.get(code="BL")
    client.force_login(coordinator)
    page = client.get(reverse("form_entry", args=[visit.pk, "vital_signs"])).content.decode()
    assert 'name="complete" accesskey="s"' in page
    assert "data-keyboard-submit" in page


def test_a_table_of_rows_offers_to_add_a_row_from_its_empty_row(client, coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(coordinator, site_yc, stage="consented", screened=today - timedelta(days=5))
    visit = p.visits.get(code="SCR")
    client.force_login(coordinator)
    page = client.get(reverse("form_entry", args=[visit.pk, "medical_history"])).content.decode()
    assert "<template data-row-template>" in page
    assert 'name="conditions-__prefix__-condition"' in page
    assert "data-add-row" in page and "data-remove-row" in page


def test_a_fields_open_query_is_marked_inside_that_field(client, coordinator, monitor, participant):
    visit = participant.visits.get(code="BL")
    vitals = save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=visit,
        data={"heart_rate": 72, "temperature_c": Decimal("36.8")},
    )
    query = open_query(user=monitor, record=vitals, field_name="heart_rate", text="Source says 76")
    client.force_login(coordinator)
    page = client.get(
        reverse("form_entry_instance", args=[visit.pk, "vital_signs", vitals.pk])
    ).content.decode()
    start = page.index('data-marks-for="heart_rate"')
    marks = page[start : page.index("</span>", page.index("data-mark=", start))]
    assert reverse("query_detail", args=[query.pk]) in marks
