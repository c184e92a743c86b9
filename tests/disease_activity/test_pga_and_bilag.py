from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from crfs.models import FormStatus
from disease_activity.models import BilagAssessment, PhysicianGlobalAssessment
from edc.clinical import compute
from edc.clinical.response import BILAG_SYSTEMS
from edc.errors import DomainError


@pytest.mark.parametrize(
    "mm, pga",
    [("0", "0.0"), ("43", "1.3"), ("45", "1.4"), ("16.5", "0.5"), ("100", "3.0")],
)
def test_pga_is_derived_from_the_100_mm_line_rounded_half_up_to_a_tenth(save, baseline, mm, pga):
    obj = save("pga", baseline, assessed_on=baseline.target_date, vas_mm=Decimal(mm))
    obj.refresh_from_db()
    assert obj.vas_mm == Decimal(mm) and obj.pga == Decimal(pga)


def test_the_line_overrides_a_pga_typed_beside_it(save, baseline):
    obj = save("pga", baseline, assessed_on=baseline.target_date, vas_mm=Decimal("20"), pga=Decimal("2.5"))
    assert obj.pga == Decimal("0.6")


def test_an_entered_pga_is_kept_when_no_line_is_used(save, baseline):
    obj = save("pga", baseline, assessed_on=baseline.target_date, pga=Decimal("1.7"), complete=True)
    assert obj.pga == Decimal("1.7") and obj.vas_mm is None and obj.status == FormStatus.COMPLETE


def test_marking_the_pga_complete_requires_a_value(save, baseline):
    with pytest.raises(DomainError, match="PGA"):
        save("pga", baseline, assessed_on=baseline.target_date, complete=True)


def test_the_pga_page_saves_a_line_measurement(client, coordinator, baseline):
    client.force_login(coordinator)
    response = client.post(
        reverse("form_entry", args=[baseline.pk, "pga"]),
        {"assessed_on": baseline.target_date.isoformat(), "vas_mm": "52", "complete": "1"},
    )
    assert response.status_code == 302
    assert PhysicianGlobalAssessment.objects.get(visit=baseline).pga == Decimal("1.6")


def test_the_pga_history_shows_the_old_and_new_value_with_the_reason(client, save, coordinator, baseline):
    obj = save("pga", baseline, assessed_on=baseline.target_date, pga=Decimal("1.2"), complete=True)
    save(
        "pga",
        baseline,
        obj,
        assessed_on=baseline.target_date,
        pga=Decimal("0.8"),
        reason="Rated before SLEDAI",
    )
    client.force_login(coordinator)
    body = client.get(reverse("form_history", args=["pga", obj.pk])).content.decode()
    assert "Rated before SLEDAI" in body and "1.2" in body and "0.8" in body


def test_bilag_stores_the_nine_system_grades_as_entered(save, baseline):
    grades = dict(zip(BILAG_SYSTEMS, "ABCDEEDCB", strict=True))
    obj = save("bilag", baseline, assessed_on=baseline.target_date, complete=True, **grades)
    obj.refresh_from_db()
    assert obj.grades() == grades and (obj.count("A"), obj.count("B")) == (1, 2)


def test_bilag_grades_feed_the_eligibility_rule_as_counts(save, baseline):
    grades = dict.fromkeys(BILAG_SYSTEMS, "E") | {"renal": "B", "mucocutaneous": "B"}
    obj = save("bilag", baseline, assessed_on=baseline.target_date, **grades)
    result = compute(
        "eligibility_disease_activity",
        {"selena_sledai": 6, "n_bilag_a": obj.count("A"), "n_bilag_b": obj.count("B")},
    )
    assert result["activity_criterion_met"] is True


def test_marking_bilag_complete_requires_every_system(save, baseline):
    with pytest.raises(DomainError, match="haematological"):
        save("bilag", baseline, assessed_on=baseline.target_date, renal="A", complete=True)
    assert not BilagAssessment.objects.exists()


def test_site_staff_cannot_open_another_sites_pga_or_bilag(save, coordinator_cd, baseline):
    pga = save("pga", baseline, assessed_on=baseline.target_date, pga=Decimal("1"))
    bilag = save("bilag", baseline, assessed_on=baseline.target_date, renal="C")
    other = Client()
    other.force_login(coordinator_cd)
    assert other.get(reverse("form_entry", args=[baseline.pk, "pga"])).status_code == 404
    assert other.get(reverse("form_history", args=["pga", pga.pk])).status_code == 404
    assert other.post(reverse("form_entry", args=[baseline.pk, "bilag"]), {"renal": "A"}).status_code == 404
    assert other.get(reverse("form_history", args=["bilag", bilag.pk])).status_code == 404
