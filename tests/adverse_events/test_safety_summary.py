"""The primary-endpoint tables equal a hand count, run a fixed number of queries, download as CSV."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from adverse_events import selectors
from tests.adverse_events.factories import DAY, infused, record_ae, save_crf


def crs_day(user, p, visit_code, temperature, hypotension="none"):
    visit = p.visits.get(code=visit_code)
    data = {"assessed_on": visit.target_date, "temperature_c": Decimal(temperature)}
    data |= {"hypotension": hypotension, "oxygen_device": "none", "vasopressors": []}
    save_crf(user, p, "crs", visit_code, data)


@pytest.fixture
def trial(study, coordinator, coordinator_cd, site_yc, site_cd):
    """Three infused participants with a known set of events (the hand count is in each test)."""
    dl1, dl2 = study.dose_levels.get(code="DL1"), study.dose_levels.get(code="DL2")
    p1 = infused(coordinator, site_yc, days_ago=40, initials="PA", dose_level=dl1)
    p2 = infused(coordinator, site_yc, days_ago=120, initials="PB", dose_level=dl1)
    p3 = infused(coordinator_cd, site_cd, days_ago=40, initials="PC", dose_level=dl2)
    d0 = p1.infusion_date
    record_ae(coordinator, p1, term="fever", grade=1, related="possible", onset=d0 + DAY)
    record_ae(coordinator, p1, term="fever", grade=2, related="probable", onset=d0 + 10 * DAY)
    neutropenia = record_ae(coordinator, p1, term="neutrophil_count_decreased", grade=3, related="definite",
                            onset=d0 + 2 * DAY)  # fmt: skip
    from adverse_events.services import add_grade

    add_grade(user=coordinator, event=neutropenia, grade_on=d0 + 4 * DAY, grade=4)
    record_ae(coordinator, p1, term="headache", grade=1, related="not_related", onset=d0 + DAY)
    record_ae(coordinator, p1, term="lung_infection", grade=3, related="unlikely", onset=d0 + 20 * DAY)
    d0 = p2.infusion_date
    record_ae(coordinator, p2, term="fever", grade=3, related="possible", onset=d0 + 3 * DAY)
    record_ae(coordinator, p2, term="cytokine_release_syndrome", grade=2, related="possible", onset=d0 + DAY)
    record_ae(
        coordinator, p2, term="fatigue", grade=2, related="possible", onset=d0 + 100 * DAY
    )  # after 3 months
    record_ae(coordinator_cd, p3, term="neutrophil_count_decreased", grade=2, related="possible",
              onset=p3.infusion_date + 5 * DAY)  # fmt: skip
    crs_day(coordinator, p1, "D1", "38.5")
    crs_day(coordinator, p1, "D2", "38.9", hypotension="fluids_only")
    crs_day(coordinator, p1, "D3", "37.0")
    crs_day(coordinator, p2, "D1", "39.5", hypotension="fluids_only")
    crs_day(coordinator, p2, "D2", "36.8")
    return {"dl1": dl1, "dl2": dl2, "p1": p1, "p2": p2, "p3": p3}


def by_term(summary):
    return {label: (cells, total) for _soc, label, cells, total in summary.by_term}


def test_the_related_events_by_term_equal_the_hand_count(data_manager, trial):
    summary = selectors.safety_summary(data_manager)
    terms = by_term(summary)
    dl1, dl2 = trial["dl1"].pk, trial["dl2"].pk
    assert set(terms) == {"Fever", "Neutrophil count decreased", "Cytokine release syndrome"}
    fever_cells, fever = terms["Fever"]
    assert (fever_cells[dl1].n(), fever_cells[dl1].n_grade_3_plus, fever.n(2), fever.n(3)) == (2, 1, 1, 1)
    anc_cells, anc = terms["Neutrophil count decreased"]
    assert (anc_cells[dl1].n(4), anc_cells[dl2].n(2), anc.n()) == (1, 1, 2)
    assert len(summary.listing) == 6
    assert summary.treated == {dl1: 2, dl2: 1}


def test_crs_incidence_grade_onset_and_duration_by_dose_level_equal_the_hand_count(data_manager, trial):
    summary = selectors.safety_summary(data_manager)
    dl1 = summary.crs[trial["dl1"].pk]
    assert (dl1.treated, dl1.participants, dl1.incidence_pct) == (2, 2, 100.0)
    assert dict(dl1.max_grades) == {2: 2}
    assert (dl1.onset, dl1.duration) == ("1 (1–1)", "1.5 (1–2)")
    assert summary.crs[trial["dl2"].pk].participants == 0


def test_cytopenias_and_infections_by_grade(data_manager, trial):
    rows = {
        (cat, label): cells
        for cat, label, cells in selectors.safety_summary(data_manager).cytopenias_infections
    }
    assert rows[("Infections", "Lung infection")][trial["dl1"].pk].n(3) == 1
    assert rows[("Cytopenias", "Neutrophil count decreased")][trial["dl2"].pk].n(2) == 1


def test_site_staff_see_only_their_sites_in_the_summary(coordinator, trial):
    summary = selectors.safety_summary(coordinator)
    assert {row.participant for row in summary.listing} == {trial["p1"], trial["p2"]}


def test_filters_narrow_the_tables(data_manager, trial):
    summary = selectors.safety_summary(data_manager, selectors.SafetyFilters(dose_level="DL2"))
    assert [row.participant for row in summary.listing] == [trial["p3"]]
    summary = selectors.safety_summary(data_manager, selectors.SafetyFilters(min_grade=3))
    assert {row.event.term for row in summary.listing} == {"fever", "neutrophil_count_decreased"}


def test_the_tables_download_as_csv(client, data_manager, trial):
    client.force_login(data_manager)
    for table in ("listing", "by_term", "crs_icans", "cytopenias_infections"):
        response = client.get(reverse("safety_summary"), {"csv": table})
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert len(rows) > 1, table
    listing = client.get(reverse("safety_summary"), {"csv": "listing"}).content.decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(listing)))) == 1 + 6


def page_queries(client):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("safety_summary")).status_code == 200
    return len(ctx)


def test_the_summary_runs_the_same_queries_whatever_the_number_of_events(
    client, data_manager, coordinator, trial
):
    client.force_login(data_manager)
    page_queries(client)  # the first request of a session does its own bookkeeping
    small = page_queries(client)
    p1, terms = trial["p1"], ("nausea", "rash_maculo_papular", "hypotension")
    for i in range(25):
        record_ae(
            coordinator, p1, term=terms[i % 3], grade=1 + i % 3, onset=p1.infusion_date + (i % 20) * DAY
        )
    assert page_queries(client) == small


def test_the_summary_page_shows_the_tables(client, data_manager, trial):
    client.force_login(data_manager)
    body = client.get(reverse("safety_summary")).content.decode()
    assert "Neutrophil count decreased" in body and "1.5 (1–2)" in body and trial["p3"].study_id in body
