"""Each casebook cell says its status, its open queries (lab values too), verified, signed and locked;
the grid's header row and visit column stay in view when it scrolls."""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from crfs.registry import FORMS
from crfs.services import save_form
from labs.reference_data import DEFAULT_FILE, load_file
from labs.services import ResultEntry, save_panel
from monitoring.locks import lock
from monitoring.services import open_query
from monitoring.verification import verify_form
from tests.conftest import make_participant, today_at
from tests.monitoring.test_sdv import VITALS


@pytest.fixture
def baseline(coordinator, site_yc):
    today = today_at(site_yc)
    participant = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    return participant.visits.get(code="BL")


def cell_of(page: str, visit_pk: int, code: str) -> str:
    """The HTML of one casebook cell (from its link to the form to the end of the cell)."""
    link = reverse("form_entry", args=[visit_pk, code])
    start = page.index(f'href="{link}"')
    return page[start : page.index("</td>", start)]


def test_a_query_on_a_lab_value_counts_on_the_labs_cell(client, coordinator, monitor, baseline):
    load_file(DEFAULT_FILE)
    panel = save_panel(
        user=coordinator,
        visit=baseline,
        panel="haematology",
        data={"collected_at": timezone.now() - timedelta(hours=1), "laboratory": "Lab", "source": "local"},
        results=[ResultEntry("hb", Decimal("130"), "g/L")],
    )
    open_query(user=monitor, record=panel.results.get(analyte="hb"), field_name="value", text="Hb?")
    client.force_login(coordinator)
    page = client.get(reverse("casebook", args=[baseline.participant_id])).content.decode()
    assert re.search(r">\s*1\s*<", cell_of(page, baseline.pk, "labs")), cell_of(page, baseline.pk, "labs")


def test_a_verified_form_and_a_locked_visit_are_marked_on_their_cells(
    client, coordinator, monitor, data_manager, baseline
):
    vitals = save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=baseline,
        data={**VITALS, "assessed_on": baseline.target_date},
        complete=True,
    )
    verify_form(user=monitor, record=vitals)
    client.force_login(coordinator)
    page = client.get(reverse("casebook", args=[baseline.participant_id])).content.decode()
    assert 'data-mark="verified"' in cell_of(page, baseline.pk, "vital_signs")
    assert 'data-mark="locked"' not in cell_of(page, baseline.pk, "vital_signs")
    lock(user=data_manager, scope="visit", target=baseline, reason="interim analysis")
    page = client.get(reverse("casebook", args=[baseline.participant_id])).content.decode()
    assert 'data-mark="locked"' in cell_of(page, baseline.pk, "vital_signs")
    assert 'data-mark="locked"' in cell_of(page, baseline.pk, "sledai")


def test_the_casebook_header_row_and_visit_column_stay_in_view():
    css = (Path(__file__).resolve().parents[2] / "static" / "edc" / "edc.css").read_text()
    assert re.search(r"\.casebook thead th\s*\{[^}]*position:\s*sticky;[^}]*top:\s*0", css)
    assert re.search(r"\.casebook th:first-child\s*\{[^}]*position:\s*sticky;[^}]*left:\s*0", css)
    assert re.search(r"\.casebook-scroll\s*\{[^}]*overflow:\s*auto", css)
