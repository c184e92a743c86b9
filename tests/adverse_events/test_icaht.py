"""ICAHT from the participant's ANC results, computed when read with ``edc.clinical``, shown on the
safety page and proposed as an adverse event from grade 1."""

import zoneinfo
from datetime import datetime, time
from decimal import Decimal

import pytest
from django.urls import reverse

from adverse_events.selectors import icaht_for
from edc.clinical import compute
from labs import models as labs
from tests.adverse_events.factories import infused

# (visit, ANC ×10⁹/L): severe neutropenia for the first week, then recovery
ANC = [("D1", "0.3"), ("D2", "0.2"), ("D3", "0.3"), ("D4", "0.4"), ("D5", "0.3"), ("D6", "0.45"),
       ("D7", "0.5"), ("D10", "1.2"), ("D14", "2.0"), ("D21", "2.2"), ("D28", "2.5")]  # fmt: skip


@pytest.fixture
def neutropenic(coordinator, site_yc):
    p = infused(coordinator, site_yc, days_ago=45)
    zone = zoneinfo.ZoneInfo(site_yc.timezone)
    for code, value in ANC:
        visit = p.visits.get(code=code)
        collected = datetime.combine(visit.target_date, time(8), tzinfo=zone)
        panel = labs.LabPanel.objects.create(
            participant=p, visit=visit, panel="haematology", collected_at=collected
        )
        labs.LabResult.objects.create(
            panel=panel, analyte="anc", value=Decimal(value), unit="10^9/L",
            standard_value=Decimal(value), standard_unit="10^9/L",
        )  # fmt: skip
    return p


def test_icaht_equals_compute_on_the_anc_results(neutropenic):
    series = [{"study_day": (neutropenic.visits.get(code=c).target_date - neutropenic.infusion_date).days,
               "anc": Decimal(v)} for c, v in ANC]  # fmt: skip
    expected = compute("icaht_from_anc_series", {"anc_series": series})
    result = icaht_for(neutropenic)
    assert {k: v for k, v in result.items() if k != "proposed_grade"} == expected
    assert result["rule_version"] == "icaht_from_anc_series/1"
    assert result["early_icaht_grade_max"] >= 1


def test_the_safety_page_shows_icaht_and_proposes_an_adverse_event(client, coordinator, neutropenic):
    client.force_login(coordinator)
    body = client.get(reverse("participant_safety", args=[neutropenic.pk])).content.decode()
    assert "Early ICAHT" in body and "term_other=ICAHT" in body


def test_no_anc_results_no_icaht(coordinator, site_yc):
    assert icaht_for(infused(coordinator, site_yc, days_ago=5)) is None
