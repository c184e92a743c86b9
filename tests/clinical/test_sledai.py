"""SLEDAI-2K and SELENA-SLEDAI (clinical-rules.md section 1)."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edc.clinical import CalculatorInputError, compute
from edc.clinical.sledai import DESCRIPTORS, KEYS, LAB_DESCRIPTORS, SEROLOGY, WEIGHTS

# Transcribed from clinical-rules.md 1.2 so the table in code is checked against the document.
DOCUMENTED_WEIGHTS = {
    "seizure": 8,
    "psychosis": 8,
    "organic_brain_syndrome": 8,
    "visual_disturbance": 8,
    "cranial_nerve_disorder": 8,
    "lupus_headache": 8,
    "cva": 8,
    "vasculitis": 8,
    "arthritis": 4,
    "myositis": 4,
    "urinary_casts": 4,
    "haematuria": 4,
    "proteinuria": 4,
    "pyuria": 4,
    "rash": 2,
    "alopecia": 2,
    "mucosal_ulcers": 2,
    "pleurisy": 2,
    "pericarditis": 2,
    "low_complement": 2,
    "increased_dna_binding": 2,
    "fever": 1,
    "thrombocytopenia": 1,
    "leukopenia": 1,
}


def rejected_key(name, inputs):
    with pytest.raises(CalculatorInputError) as caught:
        compute(name, inputs)
    assert caught.value.key in str(caught.value)
    return caught.value.key


def total(*present, **settings):
    return compute("sledai_2k_total", {"present": list(present), **settings})


def selena(*present, **extra):
    return compute("selena_sledai_total", {"present": list(present), **extra})


def lab(descriptor, value, unit, **extra):
    inputs = {"descriptor": descriptor, "value": value, "unit": unit, "attributable_to_sle": True}
    return compute("sledai_2k_lab_thresholds", {**inputs, **extra})


# --- descriptor table -------------------------------------------------------------------------------


def test_descriptor_table_has_the_documented_24_keys_in_order_and_weights():
    assert list(KEYS) == list(DOCUMENTED_WEIGHTS)
    assert WEIGHTS == DOCUMENTED_WEIGHTS


def test_descriptor_weights_sum_to_105():
    assert sum(d.weight for d in DESCRIPTORS) == 105


def test_only_complement_and_dna_binding_are_serology():
    assert {"low_complement", "increased_dna_binding"} == SEROLOGY


def test_every_descriptor_has_a_label_and_a_system():
    assert all(d.label and d.system for d in DESCRIPTORS)


# --- sledai_2k_total ---------------------------------------------------------------------------------


def test_no_descriptor_scores_zero():
    result = total()
    assert (result["sledai_2k"], result["clinical_sledai"], result["descriptors"]) == (0, 0, [])


def test_all_descriptors_score_105_and_clinical_sledai_101():
    result = total(*KEYS)
    assert (result["sledai_2k"], result["clinical_sledai"], result["serology_points"]) == (105, 101, 4)


@pytest.mark.parametrize("key", KEYS)
def test_each_descriptor_alone_scores_its_weight(key):
    assert total(key)["sledai_2k"] == DOCUMENTED_WEIGHTS[key]


@pytest.mark.parametrize("key", ["low_complement", "increased_dna_binding"])
def test_serology_does_not_count_towards_clinical_sledai(key):
    result = total(key, "rash")
    assert (result["sledai_2k"], result["clinical_sledai"]) == (4, 2)


def test_a_duplicate_descriptor_counts_once():
    assert total("seizure", "seizure", "fever")["sledai_2k"] == 9


def test_scored_descriptors_are_listed_in_table_order():
    assert total("fever", "seizure", "rash")["descriptors"] == ["seizure", "rash", "fever"]


def test_a_mixed_set_is_added_up_exactly():
    # clinical-rules.md 1.2: a public calculator's worked example got such a sum wrong.
    keys = ["arthritis", "rash", "alopecia", "low_complement", "increased_dna_binding", "pyuria"]
    assert total(*keys)["sledai_2k"] == 4 + 2 + 2 + 2 + 2 + 4


def test_look_back_defaults_to_10_days_and_is_recorded():
    assert total()["look_back_days"] == 10
    assert total(look_back_days=30)["look_back_days"] == 30


def test_the_result_carries_the_rule_version_and_is_json():
    result = total("seizure")
    assert result["rule_version"] == "sledai_2k/1"
    json.dumps(result)


@pytest.mark.parametrize(
    "inputs, key",
    [
        ({}, "present"),
        ({"present": "seizure"}, "present"),
        ({"present": ["seizures"]}, "present"),
        ({"present": [1]}, "present"),
        ({"present": [], "look_back_days": 0}, "look_back_days"),
        ({"present": [], "look_back_days": "ten"}, "look_back_days"),
        ({"present": [], "look_back_days": True}, "look_back_days"),
    ],
)
def test_total_rejects_bad_input_naming_the_key(inputs, key):
    assert rejected_key("sledai_2k_total", inputs) == key


# --- sledai_2k_lab_thresholds: both sides of every threshold ---------------------------------------

THRESHOLD_EDGES = [
    # descriptor, unit, value that does not score, value that scores
    ("fever", "C", 38.0, 38.1),
    ("fever", "C", 38.04, 38.05),  # compared after rounding half-up to 0.1 °C
    ("fever", "F", 100.4, 100.5),  # 38.0 °C and 38.06 -> 38.1 °C
    ("thrombocytopenia", "10^9/L", 100, 99.9),
    ("thrombocytopenia", "10^3/uL", 100, 99),
    ("thrombocytopenia", "cells/uL", 100000, 99999),
    ("leukopenia", "10^9/L", 3.0, 2.99),
    ("leukopenia", "10^3/uL", 3, 2.9),
    ("leukopenia", "cells/uL", 3000, 2999),
    ("haematuria", "RBC/HPF", 5, 6),
    ("pyuria", "WBC/HPF", 5, 6),
    ("proteinuria", "g/24h", 0.5, 0.51),
    ("proteinuria", "mg/24h", 500, 501),
    ("proteinuria", "g/g", 0.5, 0.501),
    ("proteinuria", "mg/mg", 0.5, 0.6),
    ("proteinuria", "mg/g", 500, 501),
    ("proteinuria", "mg/mmol", 56.5, 56.6),  # x 8.84 = 499.5 and 500.3 mg/g
]


@pytest.mark.parametrize("descriptor, unit, below, above", THRESHOLD_EDGES)
def test_a_value_at_the_limit_does_not_score_and_one_beyond_it_does(descriptor, unit, below, above):
    assert lab(descriptor, below, unit)["scored"] is False
    result = lab(descriptor, above, unit)
    assert result["scored"] is True
    assert result["points"] == WEIGHTS[descriptor]


def test_fahrenheit_is_compared_in_celsius():
    result = lab("fever", 100.5, "F")
    assert (result["compared_value"], result["compared_unit"]) == (38.1, "C")


def test_cells_per_microlitre_are_compared_in_10_9_per_litre():
    assert lab("leukopenia", 2500, "cells/uL")["compared_value"] == 2.5


def test_upcr_in_mg_per_mmol_is_compared_in_g_per_g():
    result = lab("proteinuria", 100, "mg/mmol")
    assert (result["compared_value"], result["compared_unit"]) == (0.884, "g/g")


def test_24_hour_protein_is_compared_in_g_per_24_hours():
    assert lab("proteinuria", 800, "mg/24h")["compared_unit"] == "g/24h"


@pytest.mark.parametrize("unit", ["g/L", "mg/dL", "U/mL"])
def test_complement_at_the_lln_does_not_score_and_below_it_does(unit):
    assert lab("low_complement", 0.9, unit, lln=0.9)["scored"] is False
    assert lab("low_complement", 0.89, unit, lln=0.9)["points"] == 2


@pytest.mark.parametrize("unit", ["IU/mL", "U/mL", "%", "index"])
def test_dna_binding_at_the_uln_does_not_score_and_above_it_does(unit):
    assert lab("increased_dna_binding", 25, unit, uln=25)["scored"] is False
    assert lab("increased_dna_binding", 25.1, unit, uln=25)["points"] == 2


@pytest.mark.parametrize("descriptor", ["low_complement", "increased_dna_binding"])
def test_serology_reported_only_as_abnormal_scores(descriptor):
    inputs = {"descriptor": descriptor, "status": "abnormal", "attributable_to_sle": True}
    result = compute("sledai_2k_lab_thresholds", inputs)
    assert (result["scored"], result["compared_value"]) == (True, None)


@pytest.mark.parametrize("descriptor", ["low_complement", "increased_dna_binding"])
def test_serology_reported_only_as_normal_does_not_score(descriptor):
    inputs = {"descriptor": descriptor, "status": "normal", "value": None, "attributable_to_sle": True}
    assert compute("sledai_2k_lab_thresholds", inputs)["scored"] is False


def test_persistent_proteinuria_reported_only_as_abnormal_scores():
    inputs = {"descriptor": "proteinuria", "status": "abnormal", "attributable_to_sle": True}
    result = compute("sledai_2k_lab_thresholds", inputs)
    assert (result["scored"], result["points"], result["compared_value"]) == (True, 4, None)


def test_proteinuria_reported_only_as_normal_does_not_score():
    inputs = {"descriptor": "proteinuria", "status": "normal", "attributable_to_sle": True}
    assert compute("sledai_2k_lab_thresholds", inputs)["scored"] is False


@pytest.mark.parametrize(("value", "status", "scored"), [(0.6, "abnormal", True), (0.5, "normal", False)])
def test_a_proteinuria_status_that_agrees_with_the_value_is_accepted(value, status, scored):
    result = lab("proteinuria", value, "g/24h", status=status)
    assert (result["scored"], result["compared_value"]) == (scored, value)


@pytest.mark.parametrize(("value", "status"), [(0.5, "abnormal"), (0.6, "normal")])
def test_a_proteinuria_status_that_contradicts_the_value_is_rejected(value, status):
    inputs = {"descriptor": "proteinuria", "value": value, "unit": "g/24h", "status": status}
    assert rejected_key("sledai_2k_lab_thresholds", {**inputs, "attributable_to_sle": True}) == "status"


def test_a_status_that_agrees_with_the_value_is_accepted():
    assert lab("low_complement", 0.5, "g/L", lln=0.9, status="abnormal")["scored"] is True


def test_a_status_that_contradicts_the_value_is_rejected():
    inputs = {"descriptor": "low_complement", "value": 1.0, "unit": "g/L", "lln": 0.9, "status": "abnormal"}
    assert rejected_key("sledai_2k_lab_thresholds", {**inputs, "attributable_to_sle": True}) == "status"


def test_arthritis_scores_from_two_inflamed_joints_by_default():
    assert lab("arthritis", 1, "joints")["scored"] is False
    assert lab("arthritis", 2, "joints")["points"] == 4


def test_arthritis_threshold_is_a_setting():
    assert lab("arthritis", 2, "joints", arthritis_min_joints=3)["scored"] is False
    assert lab("arthritis", 3, "joints", arthritis_min_joints=3)["scored"] is True


@pytest.mark.parametrize("descriptor, unit, value", [("fever", "C", 39.5), ("leukopenia", "10^9/L", 1.0)])
def test_a_finding_not_attributable_to_sle_meets_the_threshold_but_does_not_score(descriptor, unit, value):
    result = lab(descriptor, value, unit, attributable_to_sle=False)
    assert (result["threshold_met"], result["scored"], result["points"]) == (True, False, 0)


def test_a_sample_on_the_last_day_of_the_look_back_scores():
    result = lab("thrombocytopenia", 50, "10^9/L", days_before_visit=10)
    assert (result["within_look_back"], result["scored"]) == (True, True)


def test_a_sample_older_than_the_look_back_does_not_score():
    result = lab("thrombocytopenia", 50, "10^9/L", days_before_visit=11)
    assert (result["within_look_back"], result["scored"]) == (False, False)


def test_a_longer_look_back_setting_admits_an_older_sample():
    assert lab("thrombocytopenia", 50, "10^9/L", days_before_visit=28, look_back_days=30)["scored"] is True


def test_without_a_sample_age_the_look_back_is_not_judged():
    assert lab("thrombocytopenia", 50, "10^9/L")["within_look_back"] is None


def test_every_lab_descriptor_is_a_sledai_descriptor():
    assert set(LAB_DESCRIPTORS) <= set(KEYS)


LAB_BASE = {"descriptor": "fever", "value": 38.5, "unit": "C", "attributable_to_sle": True}


@pytest.mark.parametrize(
    "change, key",
    [
        ({"descriptor": None}, "descriptor"),
        ({"descriptor": "rash"}, "descriptor"),
        ({"value": None}, "value"),
        ({"value": -1}, "value"),
        ({"value": "hot"}, "value"),
        ({"value": True}, "value"),
        ({"unit": "K"}, "unit"),
        ({"unit": None}, "unit"),
        ({"attributable_to_sle": "yes"}, "attributable_to_sle"),
        ({"status": "abnormal"}, "status"),
        ({"days_before_visit": -1}, "days_before_visit"),
        ({"look_back_days": 0}, "look_back_days"),
        ({"descriptor": "arthritis", "unit": "joints", "value": 2.5}, "value"),
        (
            {"descriptor": "arthritis", "unit": "joints", "value": 2, "arthritis_min_joints": 0},
            "arthritis_min_joints",
        ),
        ({"descriptor": "arthritis", "unit": "C", "value": 2}, "unit"),
        ({"descriptor": "low_complement", "unit": "g/L", "value": 0.5}, "lln"),
        ({"descriptor": "low_complement", "unit": "IU/mL", "value": 0.5, "lln": 0.9}, "unit"),
        ({"descriptor": "low_complement", "unit": "g/L", "value": 0.5, "lln": -1}, "lln"),
        ({"descriptor": "increased_dna_binding", "unit": "IU/mL", "value": 50}, "uln"),
        ({"descriptor": "increased_dna_binding", "value": None}, "value"),
        ({"descriptor": "increased_dna_binding", "status": "positive"}, "status"),
    ],
)
def test_lab_thresholds_reject_bad_input_naming_the_key(change, key):
    assert rejected_key("sledai_2k_lab_thresholds", {**LAB_BASE, **change}) == key


@pytest.mark.parametrize("key", ["descriptor", "value", "unit", "attributable_to_sle"])
def test_lab_thresholds_require_each_input(key):
    inputs = dict(LAB_BASE)
    del inputs[key]
    assert rejected_key("sledai_2k_lab_thresholds", inputs) == key


# --- selena_sledai_total ------------------------------------------------------------------------------


def test_selena_equals_sledai_2k_without_course_dependent_items():
    keys = ["seizure", "arthritis", "pleurisy", "low_complement", "fever"]
    assert selena(*keys)["selena_sledai"] == total(*keys)["sledai_2k"] == 17


@pytest.mark.parametrize("course, points", [("new", 4), ("recurrent", 4), ("persistent", 0)])
def test_selena_proteinuria_scores_only_new_onset(course, points):
    assert selena("proteinuria", course={"proteinuria": course})["selena_sledai"] == points


def test_selena_proteinuria_scores_an_increase_of_more_than_half_a_gram():
    extra = {"course": {"proteinuria": "worsened"}, "proteinuria_previous_g_24h": 0.6}
    assert selena("proteinuria", proteinuria_g_24h=1.1, **extra)["selena_sledai"] == 0
    assert selena("proteinuria", proteinuria_g_24h=1.11, **extra)["selena_sledai"] == 4


def test_hybrid_selena_scores_persistent_proteinuria_like_sledai_2k():
    result = selena("proteinuria", proteinuria_rule="hybrid")
    assert (result["selena_sledai"], result["proteinuria_rule"]) == (4, "hybrid")


@pytest.mark.parametrize("key", ["rash", "alopecia", "mucosal_ulcers"])
def test_selena_scores_ongoing_mucocutaneous_activity_by_default(key):
    result = selena(key, course={key: "persistent"})
    assert (result["selena_sledai"], result["mucocutaneous_rule"]) == (2, "new_or_ongoing")


@pytest.mark.parametrize("course, points", [("new", 2), ("recurrent", 2), ("persistent", 0), ("worsened", 0)])
def test_new_or_recurrent_rule_scores_only_new_or_recurrent_rash(course, points):
    result = selena("rash", course={"rash": course}, mucocutaneous_rule="new_or_recurrent")
    assert result["selena_sledai"] == points


def test_selena_lists_only_the_descriptors_it_scored():
    result = selena("seizure", "proteinuria", course={"proteinuria": "persistent"})
    assert result["descriptors"] == ["seizure"]


def test_selena_records_its_rule_version_and_look_back():
    result = selena(look_back_days=28)
    assert (result["rule_version"], result["look_back_days"]) == ("selena_sledai/1", 28)


@pytest.mark.parametrize(
    "extra, key",
    [
        ({"present": ["proteinuria"]}, "course.proteinuria"),
        ({"present": ["proteinuria"], "course": {"proteinuria": "ongoing"}}, "course.proteinuria"),
        ({"present": [], "course": {"skin": "new"}}, "course.skin"),
        ({"present": [], "course": {"rash": 3}}, "course.rash"),
        ({"present": [], "course": ["rash"]}, "course"),
        ({"present": ["alopecia"], "mucocutaneous_rule": "new_or_recurrent"}, "course.alopecia"),
        ({"present": [], "mucocutaneous_rule": "new"}, "mucocutaneous_rule"),
        ({"present": [], "proteinuria_rule": "sledai_2k"}, "proteinuria_rule"),
        ({"present": ["proteinuria"], "course": {"proteinuria": "worsened"}}, "proteinuria_g_24h"),
        (
            {"present": ["proteinuria"], "course": {"proteinuria": "worsened"}, "proteinuria_g_24h": 0.5},
            "proteinuria_g_24h",
        ),
        (
            {"present": ["proteinuria"], "course": {"proteinuria": "worsened"}, "proteinuria_g_24h": 2},
            "proteinuria_previous_g_24h",
        ),
        ({"present": ["fits"]}, "present"),
    ],
)
def test_selena_rejects_bad_input_naming_the_key(extra, key):
    assert rejected_key("selena_sledai_total", extra) == key


# --- properties ---------------------------------------------------------------------------------------

descriptor_lists = st.lists(st.sampled_from(KEYS), max_size=40)


@given(descriptor_lists)
def test_total_is_the_sum_of_the_weights_of_the_distinct_descriptors(keys):
    assert total(*keys)["sledai_2k"] == sum(DOCUMENTED_WEIGHTS[key] for key in set(keys))


@given(descriptor_lists)
def test_repeating_the_list_does_not_change_the_total(keys):
    assert total(*keys, *keys) == total(*keys)


@given(descriptor_lists)
def test_clinical_sledai_is_sledai_2k_minus_serology(keys):
    result = total(*keys)
    serology = sum(2 for key in set(keys) if key in ("low_complement", "increased_dna_binding"))
    assert result["clinical_sledai"] == result["sledai_2k"] - serology
    assert 0 <= result["clinical_sledai"] <= 101 and 0 <= result["sledai_2k"] <= 105


@given(descriptor_lists, st.sampled_from(KEYS))
def test_adding_a_descriptor_never_lowers_the_total(keys, extra):
    assert total(*keys, extra)["sledai_2k"] >= total(*keys)["sledai_2k"]


courses = st.fixed_dictionaries(
    {key: st.sampled_from(["new", "recurrent", "persistent"]) for key in ("proteinuria", "rash", "alopecia")}
)


@given(descriptor_lists, courses, st.sampled_from(["new_or_ongoing", "new_or_recurrent"]))
def test_selena_never_exceeds_sledai_2k_on_the_same_entry(keys, course, rule):
    keys = [key for key in keys if key != "mucosal_ulcers"]
    result = selena(*keys, course=course, mucocutaneous_rule=rule)
    assert result["selena_sledai"] <= total(*keys)["sledai_2k"]


@given(descriptor_lists)
def test_hybrid_selena_with_ongoing_rule_equals_sledai_2k(keys):
    assert selena(*keys, proteinuria_rule="hybrid")["selena_sledai"] == total(*keys)["sledai_2k"]


@given(st.decimals(min_value=0, max_value=200, places=2))
def test_platelets_score_exactly_below_100(value):
    assert lab("thrombocytopenia", str(value), "10^9/L")["scored"] is (value < 100)
