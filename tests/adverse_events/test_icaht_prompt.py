"""The safety page proposes an ICAHT adverse event only from a grade the ANC results determine
(issue 16, item 2): a range left open by missing results is shown as a range, never prompted."""

import zoneinfo
from datetime import datetime, time
from decimal import Decimal

from django.urls import reverse

from adverse_events.selectors import icaht_for
from labs.models import LabPanel, LabResult
from tests.adverse_events.factories import infused


def _anc(participant, code, value):
    visit = participant.visits.get(code=code)
    zone = zoneinfo.ZoneInfo(participant.site.timezone)
    panel = LabPanel.objects.create(
        participant=participant,
        visit=visit,
        panel="haematology",
        collected_at=datetime.combine(visit.target_date, time(8), tzinfo=zone),
    )
    LabResult.objects.create(
        panel=panel,
        analyte="anc",
        value=Decimal(value),
        unit="10^9/L",
        standard_value=Decimal(value),
        standard_unit="10^9/L",
    )


def test_one_normal_anc_gives_a_range_and_no_prompt(client, coordinator, site_yc):
    p = infused(coordinator, site_yc, days_ago=45)
    _anc(p, "D7", "1.8")
    result = icaht_for(p)
    assert result["early_icaht_grade"] is None
    assert result["early_icaht_grade_max"] == 4
    assert result["proposed_grade"] == 0
    client.force_login(coordinator)
    body = client.get(reverse("participant_safety", args=[p.pk])).content.decode()
    assert "grade 0 to 4" in body
    assert "record it as an adverse event?" not in body
    assert "term_other=ICAHT" not in body


def test_a_determined_grade_is_prompted_with_that_grade(client, coordinator, site_yc):
    p = infused(coordinator, site_yc, days_ago=45)
    for code in ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D10", "D14", "D21", "D28"]:
        _anc(p, code, "0.3")
    result = icaht_for(p)
    assert result["early_icaht_grade"] is not None and result["early_icaht_grade"] >= 1
    assert result["proposed_grade"] == max(result["early_icaht_grade"], result["late_icaht_grade"] or 0)
    client.force_login(coordinator)
    body = client.get(reverse("participant_safety", args=[p.pk])).content.decode()
    assert f"grade={result['proposed_grade']}&amp;" in body
