from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from crfs.models import FormStatus
from crfs.registry import FORMS
from crfs.services import mark_form_entered_in_error
from edc.clinical import compute
from edc.errors import DomainError
from medications.models import Medication
from medications.selectors import maintenance_prednisone_equivalent
from monitoring.models import Query, QueryStatus
from tests.conftest import today_at


@pytest.fixture
def today(site_yc):
    return today_at(site_yc)


def glucocorticoid(drug, dose, frequency="qd", unit="mg", **extra):
    return {
        "agent": drug.capitalize(),
        "drug_class": "glucocorticoid",
        "glucocorticoid": drug,
        "dose": Decimal(str(dose)),
        "dose_unit": unit,
        "frequency": frequency,
        "route": "oral",
        "period": "concomitant",
        **extra,
    }


# Prednisone equivalents


@pytest.mark.parametrize(
    "drug, dose, unit, frequency, expected",
    [
        ("prednisone", "10", "mg", "qd", "10.00"),
        ("methylprednisolone", "4", "mg", "bid", "10.00"),
        ("dexamethasone", "0.75", "mg", "qd", "5.00"),
        ("prednisolone", "20", "mg", "qod", "10.00"),
        ("hydrocortisone", "0.02", "g", "qd", "5.00"),
        ("prednisone", "35", "mg", "weekly", "5.00"),
        ("betamethasone", "600", "ug", "tid", "15.00"),
    ],
)
def test_the_prednisone_equivalent_daily_dose_is_derived_through_compute(
    save, baseline, today, drug, dose, unit, frequency, expected
):
    obj = save("medications", baseline, start_date=today, **glucocorticoid(drug, dose, frequency, unit))
    obj.refresh_from_db()
    assert obj.prednisone_equivalent_mg_day == Decimal(expected)
    assert obj.prednisone_rule_version == compute("prednisone_equivalent", {"drug": "none"})["rule_version"]


def test_the_stored_equivalent_equals_compute_on_the_daily_dose(save, baseline, today):
    obj = save("medications", baseline, start_date=today, **glucocorticoid("methylprednisolone", 6, "tid"))
    result = compute("prednisone_equivalent", {"drug": "methylprednisolone", "dose_mg_day": 18})
    assert (
        obj.prednisone_equivalent_mg_day
        == Decimal(str(result["prednisone_equivalent_mg_day"]))
        == Decimal("22.5")
    )


@pytest.mark.parametrize(
    "change",
    [
        {"dose_unit": "mg/kg"},
        {"frequency": "other"},
        {"route": "topical"},
        {"route": "inhaled"},
        {"glucocorticoid": ""},
    ],
)
def test_no_equivalent_is_derived_when_the_regimen_does_not_give_a_systemic_daily_dose_in_mg(
    save, baseline, today, change
):
    obj = save("medications", baseline, start_date=today, **(glucocorticoid("prednisone", 10) | change))
    assert obj.prednisone_equivalent_mg_day is None and obj.prednisone_rule_version == ""


def test_other_classes_have_no_prednisone_equivalent(save, baseline, today):
    obj = save(
        "medications",
        baseline,
        agent="Hydroxychloroquine",
        drug_class="antimalarial",
        dose=Decimal("200"),
        dose_unit="mg",
        frequency="bid",
        start_date=today - timedelta(days=400),
        ongoing=True,
        period="concomitant",
    )
    assert obj.prednisone_equivalent_mg_day is None


# Maintenance dose (DORIS, LLDAS)


def test_maintenance_dose_sums_the_glucocorticoids_taken_that_day(save, baseline, today):
    save(
        "medications",
        baseline,
        start_date=today - timedelta(days=60),
        ongoing=True,
        **glucocorticoid("prednisone", 5),
    )
    save(
        "medications",
        baseline,
        start_date=today - timedelta(days=10),
        ongoing=True,
        **glucocorticoid("methylprednisolone", 4),
    )
    assert maintenance_prednisone_equivalent(baseline.participant, today) == Decimal("10.00")


def test_maintenance_dose_leaves_out_crs_or_icans_treatment_and_premedication(save, baseline, today):
    save(
        "medications",
        baseline,
        start_date=today - timedelta(days=60),
        ongoing=True,
        **glucocorticoid("prednisone", 5),
    )
    save(
        "medications",
        baseline,
        start_date=today,
        ongoing=True,
        indication="ICANS grade 2",
        for_crs_or_icans=True,
        **glucocorticoid("dexamethasone", 10, "qid"),
    )
    save(
        "medications",
        baseline,
        start_date=today,
        premedication=True,
        indication="CAR-T premedication",
        **glucocorticoid("hydrocortisone", 100, "once"),
    )
    assert maintenance_prednisone_equivalent(baseline.participant, today) == Decimal("5.00")


def test_maintenance_dose_counts_a_regimen_from_its_start_to_its_stop_day_inclusive(save, baseline, today):
    start, stop = today - timedelta(days=30), today - timedelta(days=10)
    save("medications", baseline, start_date=start, stop_date=stop, **glucocorticoid("prednisone", 20))
    participant = baseline.participant
    assert maintenance_prednisone_equivalent(participant, start - timedelta(days=1)) == 0
    assert maintenance_prednisone_equivalent(participant, start) == Decimal("20.00")
    assert maintenance_prednisone_equivalent(participant, stop) == Decimal("20.00")
    assert maintenance_prednisone_equivalent(participant, stop + timedelta(days=1)) == 0


def test_a_single_dose_counts_only_on_its_day(save, baseline, today):
    day = today - timedelta(days=3)
    save("medications", baseline, start_date=day, **glucocorticoid("methylprednisolone", 40, "once"))
    assert maintenance_prednisone_equivalent(baseline.participant, day) == Decimal("50.00")
    assert maintenance_prednisone_equivalent(baseline.participant, day + timedelta(days=1)) == 0


def test_maintenance_dose_leaves_out_entries_marked_entered_in_error(save, coordinator, baseline, today):
    obj = save("medications", baseline, start_date=today, ongoing=True, **glucocorticoid("prednisone", 7.5))
    mark_form_entered_in_error(
        user=coordinator, spec=FORMS["medications"], instance=obj, reason="Wrong participant"
    )
    assert maintenance_prednisone_equivalent(baseline.participant, today) == 0


# Edit checks


def test_a_stop_date_before_the_start_date_is_refused_and_the_same_day_is_accepted(save, baseline, today):
    with pytest.raises(DomainError) as error:
        save("medications", baseline, start_date=today, stop_date=today - timedelta(days=1), agent="Aspirin")
    assert error.value.field == "stop_date"
    assert save("medications", baseline, start_date=today, stop_date=today, agent="Aspirin").pk


def test_a_negative_dose_is_refused_and_zero_is_accepted(save, baseline, today):
    with pytest.raises(DomainError) as error:
        save("medications", baseline, start_date=today, **glucocorticoid("prednisone", -5))
    assert error.value.field == "dose"
    assert save("medications", baseline, start_date=today, **glucocorticoid("prednisone", 0)).pk


def test_a_start_date_in_the_future_is_refused(save, baseline, today):
    with pytest.raises(DomainError) as error:
        save("medications", baseline, agent="Aspirin", start_date=today + timedelta(days=1))
    assert error.value.field == "start_date"


def test_a_stop_date_in_the_future_is_refused(save, baseline, today):
    with pytest.raises(DomainError) as error:
        save("medications", baseline, agent="Aspirin", start_date=today, stop_date=today + timedelta(days=1))
    assert error.value.field == "stop_date"


def test_an_entry_cannot_be_both_stopped_and_ongoing(save, baseline, today):
    with pytest.raises(DomainError) as error:
        save("medications", baseline, agent="Aspirin", start_date=today, stop_date=today, ongoing=True)
    assert error.value.field == "ongoing"


def test_a_dose_beyond_any_regimen_is_refused_as_a_unit_error(save, baseline, today):
    with pytest.raises(DomainError) as error:
        save(
            "medications", baseline, start_date=today, **glucocorticoid("betamethasone", 9999999, "qid", "g")
        )
    assert error.value.field == "dose"
    assert not Medication.objects.exists()


def test_a_glucocorticoid_above_100_mg_prednisone_equivalent_opens_a_query_that_closes_when_corrected(
    save, baseline, today
):
    obj = save("medications", baseline, start_date=today, **glucocorticoid("methylprednisolone", 500))
    query = Query.objects.get()
    assert (query.field_name, query.check_id, query.status) == ("dose", "MED-GC-HIGH", QueryStatus.OPEN)
    save("medications", baseline, obj, start_date=today, **glucocorticoid("methylprednisolone", 50))
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED


def test_a_glucocorticoid_of_exactly_100_mg_prednisone_equivalent_opens_no_query(save, baseline, today):
    save("medications", baseline, start_date=today, **glucocorticoid("prednisone", 50, "bid"))
    assert not Query.objects.exists()


# Workflow, page, audit, isolation


def test_several_entries_can_be_recorded_at_the_same_visit(save, baseline, today):
    save("medications", baseline, start_date=today, **glucocorticoid("prednisone", 5))
    save("medications", baseline, agent="Mycophenolate", drug_class="immunosuppressant", start_date=today)
    assert Medication.objects.filter(visit=baseline).count() == 2


def test_marking_complete_requires_a_stop_date_unless_ongoing(save, baseline, today):
    data = glucocorticoid("prednisone", 5, start_date=today)
    with pytest.raises(DomainError, match="stop date"):
        save("medications", baseline, complete=True, **data)
    assert save("medications", baseline, complete=True, ongoing=True, **data).status == FormStatus.COMPLETE


def test_marking_a_glucocorticoid_complete_requires_what_the_equivalent_needs(save, baseline, today):
    data = glucocorticoid("prednisone", 5, start_date=today, ongoing=True) | {"frequency": "", "route": ""}
    with pytest.raises(DomainError, match="frequency.*route"):
        save("medications", baseline, complete=True, **data)


def test_the_entry_page_lists_the_log_and_adds_an_entry(client, save, coordinator, baseline, today):
    first = save("medications", baseline, start_date=today, ongoing=True, **glucocorticoid("prednisone", 5))
    client.force_login(coordinator)
    url = reverse("form_entry", args=[baseline.pk, "medications"])
    body = client.get(url).content.decode()
    assert (
        reverse("form_entry_instance", args=[baseline.pk, "medications", first.pk]) in body and "5.00" in body
    )
    row = {
        "agent": "Tocilizumab",
        "drug_class": "tocilizumab",
        "dose": "8",
        "dose_unit": "mg/kg",
        "frequency": "once",
        "route": "iv",
        "start_date": today.isoformat(),
        "stop_date": today.isoformat(),
        "indication": "CRS grade 2",
        "period": "concomitant",
        "for_crs_or_icans": "on",
    }
    response = client.post(  # the page's table: a new row (the stored one left as it is)
        url,
        {
            "medications-TOTAL_FORMS": "1",
            "medications-INITIAL_FORMS": "0",
            **{f"medications-0-{name}": value for name, value in row.items()},
            "complete": "1",
        },
    )
    assert response.status_code == 302
    assert Medication.objects.get(agent="Tocilizumab").for_crs_or_icans is True


def test_the_medication_history_shows_old_and_new_dose_with_the_reason(
    client, save, coordinator, baseline, today
):
    data = glucocorticoid("prednisone", 10, start_date=today, ongoing=True)
    obj = save("medications", baseline, complete=True, **data)
    save("medications", baseline, obj, reason="Dose misread", **(data | {"dose": Decimal("7.5")}))
    client.force_login(coordinator)
    body = client.get(reverse("form_history", args=["medications", obj.pk])).content.decode()
    assert "Dose misread" in body and "10.0 → 7.5" in body


def test_site_staff_cannot_open_another_sites_medication(save, coordinator_cd, baseline, today):
    obj = save("medications", baseline, start_date=today, **glucocorticoid("prednisone", 5))
    other = Client()
    other.force_login(coordinator_cd)
    assert (
        other.get(reverse("form_entry_instance", args=[baseline.pk, "medications", obj.pk])).status_code
        == 404
    )
    assert other.get(reverse("form_history", args=["medications", obj.pk])).status_code == 404
    assert (
        other.post(reverse("form_entry", args=[baseline.pk, "medications"]), {"agent": "X"}).status_code
        == 404
    )
