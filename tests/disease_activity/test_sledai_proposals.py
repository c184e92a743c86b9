"""Lab-driven SLEDAI descriptors proposed from the labs and vital signs within the look-back window."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crfs.registry import FORMS
from crfs.services import save_form
from disease_activity.selectors import proposed_descriptors
from labs import services as labs_services


@pytest.fixture(autouse=True)
def ranges(study):
    from labs.reference_data import DEFAULT_FILE, load_file

    return load_file(DEFAULT_FILE)


def panel(user, visit, name, *entries, hours_ago=1):
    results = [labs_services.ResultEntry(code, Decimal(str(value)), unit) for code, value, unit in entries]
    return labs_services.save_panel(
        user=user,
        visit=visit,
        panel=name,
        data={"collected_at": timezone.now() - timedelta(hours=hours_ago)},
        results=results,
    )


def test_a_platelet_count_below_100_proposes_thrombocytopenia_with_its_value(coordinator, baseline):
    panel(coordinator, baseline, "haematology", ("platelets", 85, "10^9/L"), ("wbc", "3.0", "10^9/L"))
    proposals = proposed_descriptors(baseline)
    assert set(proposals) == {"thrombocytopenia"}  # a WBC of exactly 3.0 is not leukopenia
    (evidence,) = proposals["thrombocytopenia"].evidence
    assert (evidence.source, evidence.value, evidence.unit) == ("platelets", Decimal("85"), "10^9/L")


def test_a_count_entered_in_another_unit_is_judged_in_the_standard_unit(coordinator, baseline):
    panel(coordinator, baseline, "haematology", ("wbc", 2500, "cells/uL"))
    assert set(proposed_descriptors(baseline)) == {"leukopenia"}


def test_complement_below_the_labs_lower_limit_proposes_low_complement(coordinator, baseline):
    panel(coordinator, baseline, "immunology", ("c3", "0.62", "g/L"), ("anti_dsdna", 100, "IU/mL"))
    assert set(proposed_descriptors(baseline)) == {"low_complement"}  # anti-dsDNA at its ULN is normal


def test_urinalysis_proposes_haematuria_pyuria_and_proteinuria_above_their_thresholds(coordinator, baseline):
    panel(
        coordinator,
        baseline,
        "urinalysis",
        ("urine_rbc", 12, "RBC/HPF"),
        ("urine_wbc", 5, "WBC/HPF"),
        ("protein_24h", "0.8", "g/24h"),
    )
    assert set(proposed_descriptors(baseline)) == {"haematuria", "proteinuria"}


def test_labs_older_than_the_look_back_are_not_proposed(coordinator, baseline):
    panel(coordinator, baseline, "haematology", ("platelets", 40, "10^9/L"), hours_ago=24 * 5)
    assert proposed_descriptors(baseline, look_back_days=3) == {}
    assert set(proposed_descriptors(baseline, look_back_days=10)) == {"thrombocytopenia"}


def test_a_temperature_above_38_in_the_vital_signs_proposes_fever(coordinator, baseline):
    save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=baseline,
        data={"assessed_on": baseline.target_date, "temperature_c": Decimal("38.4")},
    )
    assert proposed_descriptors(baseline)["fever"].evidence[0].value == Decimal("38.4")


def test_a_temperature_of_exactly_38_is_not_proposed_as_fever(coordinator, baseline):
    save_form(
        user=coordinator,
        spec=FORMS["vital_signs"],
        visit=baseline,
        data={"assessed_on": baseline.target_date, "temperature_c": Decimal("38.0")},
    )
    assert proposed_descriptors(baseline) == {}


def test_proposals_are_shown_on_the_entry_page_and_nothing_is_ticked_for_the_investigator(
    client, coordinator, baseline
):
    panel(coordinator, baseline, "haematology", ("platelets", 85, "10^9/L"))
    client.force_login(coordinator)
    body = client.get(reverse("form_entry", args=[baseline.pk, "sledai"])).content.decode()
    (row,) = re.findall(r'<tr id="sledai-thrombocytopenia".*?</tr>', body, re.S)
    assert "Proposed:" in row and "85" in row
    assert "checked" not in row


def test_fill_from_data_enters_the_supporting_values_but_ticks_no_descriptor(client, coordinator, baseline):
    panel(coordinator, baseline, "haematology", ("platelets", 85, "10^9/L"))
    panel(coordinator, baseline, "immunology", ("c3", "0.62", "g/L"))
    client.force_login(coordinator)
    body = client.get(reverse("form_entry", args=[baseline.pk, "sledai"]) + "?prefill=1").content.decode()
    assert 'name="platelets" value="85.0"' in body
    assert 'name="c3" value="0.62"' in body and 'name="c3_lln" value="0.90"' in body
    (checkbox,) = re.findall(r'<input[^>]*name="thrombocytopenia_present"[^>]*>', body)
    assert "checked" not in checkbox
