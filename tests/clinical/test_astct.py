"""ASTCT 2019 CRS and ICANS grading, ICE score and IEC-HS grade."""

import pytest

from edc.clinical import CalculatorInputError, compute
from edc.clinical.astct import ICE_GRADES

AFEBRILE_NO_SUPPORT = {
    "temperature_c": 37.0,
    "fever_masked_by_antipyretic_or_anticytokine": False,
    "hypotension": "none",
    "vasopressors": [],
    "oxygen_device": "none",
    "oxygen_flow_l_min": None,
}


def crs(**changes):
    inputs = {**AFEBRILE_NO_SUPPORT, **changes}
    return compute("astct_crs", {key: value for key, value in inputs.items() if value is not ...})


def crs_grade(**changes):
    return crs(**changes)["crs_grade"]


FEBRILE = {"temperature_c": 38.5}
MASKED = {"temperature_c": 37.0, "fever_masked_by_antipyretic_or_anticytokine": True}


# --- CRS: fever -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("temperature_c", "grade"),
    [(37.9, 0), (37.94, 0), (37.95, 1), (38.0, 1), (38.1, 1)],
)
def test_fever_starts_at_38_0_c_after_rounding_to_a_tenth(temperature_c, grade):
    assert crs_grade(temperature_c=temperature_c) == grade


@pytest.mark.parametrize(
    ("temperature_f", "celsius", "grade"),
    [(100.3, 37.9, 0), (100.31, 38.0, 1), (100.4, 38.0, 1), (100.5, 38.1, 1)],
)
def test_fahrenheit_is_converted_then_rounded_before_the_fever_threshold(temperature_f, celsius, grade):
    result = crs(temperature_c=..., temperature_f=temperature_f)
    assert (result["temperature_c"], result["crs_grade"]) == (celsius, grade)


@pytest.mark.parametrize(
    ("key", "value", "celsius"),
    [
        ("temperature_c", 25, 25.0),
        ("temperature_c", 24.9, None),
        ("temperature_c", 45, 45.0),
        ("temperature_c", 45.1, None),
        ("temperature_f", 77, 25.0),
        ("temperature_f", 76.9, None),
        ("temperature_f", 113, 45.0),
        ("temperature_f", 113.1, None),
    ],
)
def test_body_temperature_limits_are_inclusive(key, value, celsius):
    changes = {"temperature_c": ..., key: value}
    if celsius is not None:
        assert crs(**changes)["temperature_c"] == celsius
    else:
        with pytest.raises(CalculatorInputError, match=key):
            crs(**changes)


def test_without_hypotension_or_oxygen_both_crs_domain_grades_are_0():
    result = crs(**FEBRILE)
    assert (result["crs_grade"], result["hypotension_grade"], result["hypoxia_grade"]) == (1, 0, 0)


def test_fever_alone_is_grade_1():
    assert crs_grade(**FEBRILE) == 1


def test_hypotension_without_fever_or_prior_therapy_is_not_crs():
    assert crs_grade(hypotension="vasopressor", vasopressors=["norepinephrine"]) == 0


def test_hypoxia_without_fever_or_prior_therapy_is_not_crs():
    assert crs_grade(oxygen_device="cpap") == 0


def test_masked_fever_is_graded_by_hypotension_alone():
    assert crs_grade(**MASKED, hypotension="fluids_only") == 2


def test_masked_fever_is_graded_by_hypoxia_alone():
    assert crs_grade(**MASKED, oxygen_device="facemask") == 3


def test_masked_fever_without_hypotension_or_hypoxia_is_resolved():
    assert crs_grade(**MASKED) == 0


def test_fever_with_prior_therapy_is_still_at_least_grade_1():
    assert crs_grade(temperature_c=38.2, fever_masked_by_antipyretic_or_anticytokine=True) == 1


# --- CRS: hypotension -------------------------------------------------------------------------------


def test_hypotension_needing_fluids_only_is_grade_2():
    assert crs_grade(**FEBRILE, hypotension="fluids_only") == 2


@pytest.mark.parametrize(
    "agents",
    [
        ["norepinephrine"],
        ["vasopressin"],
        ["norepinephrine", "vasopressin"],
        ["phenylephrine", "vasopressin"],
        ["dopamine", "dopamine"],
    ],
)
def test_one_vasopressor_with_or_without_vasopressin_is_grade_3(agents):
    assert crs_grade(**FEBRILE, hypotension="vasopressor", vasopressors=agents) == 3


@pytest.mark.parametrize(
    "agents",
    [
        ["norepinephrine", "epinephrine"],
        ["norepinephrine", "phenylephrine", "vasopressin"],
        ["metaraminol", "angiotensin_ii"],
    ],
)
def test_two_vasopressors_other_than_vasopressin_are_grade_4(agents):
    assert crs_grade(**FEBRILE, hypotension="vasopressor", vasopressors=agents) == 4


def test_vasopressor_hypotension_needs_a_named_agent():
    with pytest.raises(CalculatorInputError, match="vasopressors"):
        crs(**FEBRILE, hypotension="vasopressor", vasopressors=[])


@pytest.mark.parametrize("hypotension", ["none", "fluids_only"])
def test_agents_listed_without_vasopressor_hypotension_are_rejected(hypotension):
    with pytest.raises(CalculatorInputError, match="vasopressors"):
        crs(hypotension=hypotension, vasopressors=["norepinephrine"])


def test_an_unknown_vasopressor_is_rejected():
    with pytest.raises(CalculatorInputError, match="vasopressors"):
        crs(hypotension="vasopressor", vasopressors=["dobutamine"])


# --- CRS: hypoxia ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device", "flow", "grade"),
    [
        ("none", None, 1),
        ("none", 0, 1),
        ("blow_by", None, 2),
        ("nasal_cannula", 1, 2),
        ("nasal_cannula", 5.9, 2),
        ("nasal_cannula", 6, 2),
        ("nasal_cannula", 6.1, 3),
        ("high_flow_nasal_cannula", None, 3),
        ("high_flow_nasal_cannula", 40, 3),
        ("high_flow_nasal_cannula", 6, 2),
        ("facemask", None, 3),
        ("non_rebreather", 15, 3),
        ("venturi_mask", None, 3),
        ("cpap", None, 4),
        ("bipap", None, 4),
        ("mechanical_ventilation", None, 4),
    ],
)
def test_each_oxygen_device_gives_its_astct_grade(device, flow, grade):
    assert crs_grade(**FEBRILE, oxygen_device=device, oxygen_flow_l_min=flow) == grade


def test_nasal_cannula_needs_a_flow():
    with pytest.raises(CalculatorInputError, match="oxygen_flow_l_min"):
        crs(**FEBRILE, oxygen_device="nasal_cannula", oxygen_flow_l_min=None)


def test_a_flow_without_an_oxygen_device_is_rejected():
    with pytest.raises(CalculatorInputError, match="oxygen_flow_l_min"):
        crs(**FEBRILE, oxygen_device="none", oxygen_flow_l_min=2)


def test_grade_is_the_worse_of_hypotension_and_hypoxia():
    result = crs(
        **FEBRILE,
        hypotension="vasopressor",
        vasopressors=["norepinephrine"],
        oxygen_device="nasal_cannula",
        oxygen_flow_l_min=2,
    )
    assert (result["crs_grade"], result["hypotension_grade"], result["hypoxia_grade"]) == (3, 3, 2)


def test_flow_can_be_omitted_for_devices_that_do_not_need_it():
    assert crs_grade(**FEBRILE, oxygen_device="facemask", oxygen_flow_l_min=...) == 3


def test_the_crs_result_carries_its_rule_version():
    assert crs()["rule_version"] == "astct_crs/1"


# --- CRS: bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"temperature_c": ...}, "temperature_c"),
        ({"temperature_f": 100.4}, "temperature_f"),
        ({"temperature_c": "hot"}, "temperature_c"),
        ({"temperature_c": 46}, "temperature_c"),
        ({"temperature_c": 24.9}, "temperature_c"),
        ({"temperature_c": ..., "temperature_f": 120}, "temperature_f"),
        ({"temperature_c": True}, "temperature_c"),
        (
            {"fever_masked_by_antipyretic_or_anticytokine": "no"},
            "fever_masked_by_antipyretic_or_anticytokine",
        ),
        ({"fever_masked_by_antipyretic_or_anticytokine": ...}, "fever_masked_by_antipyretic_or_anticytokine"),
        ({"hypotension": "severe"}, "hypotension"),
        ({"vasopressors": "norepinephrine"}, "vasopressors"),
        ({"vasopressors": ...}, "vasopressors"),
        ({"oxygen_device": "tent"}, "oxygen_device"),
        ({"oxygen_device": "facemask", "oxygen_flow_l_min": -1}, "oxygen_flow_l_min"),
        ({"oxygen_device": "facemask", "oxygen_flow_l_min": 101}, "oxygen_flow_l_min"),
    ],
)
def test_bad_crs_input_is_rejected_naming_the_key(changes, key):
    with pytest.raises(CalculatorInputError) as error:
        crs(**changes)
    assert error.value.key == key


# --- ICE score -------------------------------------------------------------------------------------

FULL_ICE = {
    "orientation_correct": 4,
    "naming_correct": 3,
    "follows_commands": True,
    "writes_sentence": True,
    "counts_back_by_10": True,
}


def ice(**changes):
    return compute("ice_score", {**FULL_ICE, **changes})


def test_all_tasks_correct_score_10_and_grade_0():
    assert (ice()["ice_score"], ice()["ice_domain_grade"]) == (10, 0)


def test_every_task_failed_scores_0_and_grade_3():
    result = ice(
        orientation_correct=0,
        naming_correct=0,
        follows_commands=False,
        writes_sentence=False,
        counts_back_by_10=False,
    )
    assert (result["ice_score"], result["ice_domain_grade"]) == (0, 3)


@pytest.mark.parametrize(
    ("orientation", "naming", "score", "grade"),
    [(4, 2, 9, 1), (1, 3, 7, 1), (0, 3, 6, 2), (0, 0, 3, 2)],
)
def test_ice_domain_grade_bands(orientation, naming, score, grade):
    result = ice(orientation_correct=orientation, naming_correct=naming)
    assert (result["ice_score"], result["ice_domain_grade"]) == (score, grade)


def test_ice_score_2_is_grade_3():
    result = ice(orientation_correct=0, naming_correct=0, follows_commands=False)
    assert (result["ice_score"], result["ice_domain_grade"]) == (2, 3)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"orientation_correct": 5}, "orientation_correct"),
        ({"orientation_correct": -1}, "orientation_correct"),
        ({"naming_correct": 4}, "naming_correct"),
        ({"naming_correct": 1.5}, "naming_correct"),
        ({"follows_commands": 1}, "follows_commands"),
        ({"writes_sentence": None}, "writes_sentence"),
    ],
)
def test_bad_ice_input_is_rejected_naming_the_key(changes, key):
    with pytest.raises(CalculatorInputError) as error:
        ice(**changes)
    assert error.value.key == key


def test_a_missing_ice_task_is_rejected():
    inputs = dict(FULL_ICE)
    del inputs["counts_back_by_10"]
    with pytest.raises(CalculatorInputError, match="counts_back_by_10"):
        compute("ice_score", inputs)


# --- ICANS -----------------------------------------------------------------------------------------

NORMAL_NEURO = {
    "ice_score": 10,
    "consciousness": "alert",
    "seizure": "none",
    "motor": "none",
    "icp_cerebral_edema": "none",
    "other_findings": [],
}


def icans_grade(**changes):
    return compute("astct_icans_adult", {**NORMAL_NEURO, **changes})["icans_grade"]


def test_ice_10_with_nothing_else_is_grade_0():
    assert icans_grade() == 0


def test_a_normal_neurological_examination_has_every_icans_domain_at_0():
    domains = compute("astct_icans_adult", NORMAL_NEURO)["domain_grades"]
    assert domains == {"ice": 0, "consciousness": 0, "seizure": 0, "motor": 0, "icp_cerebral_edema": 0}


@pytest.mark.parametrize(
    ("score", "grade"),
    [(10, 0), (9, 1), (7, 1), (6, 2), (3, 2), (2, 3), (1, 3), (0, 3)],
)
def test_ice_score_alone_sets_the_grade_at_each_band_edge(score, grade):
    assert icans_grade(ice_score=score) == grade


def test_awake_with_ice_0_is_grade_3():
    assert icans_grade(ice_score=0, consciousness="alert") == 3


@pytest.mark.parametrize("score", [None, 0])
def test_unarousable_is_grade_4(score):
    assert icans_grade(ice_score=score, consciousness="unarousable_or_vigorous_stimuli") == 4


@pytest.mark.parametrize("score", [None, 0])
def test_an_unarousable_patient_has_ice_domain_grade_4_not_the_grade_of_ice_0(score):
    inputs = {**NORMAL_NEURO, "ice_score": score, "consciousness": "unarousable_or_vigorous_stimuli"}
    domains = compute("astct_icans_adult", inputs)["domain_grades"]
    assert (domains["ice"], domains["consciousness"]) == (4, 4)


@pytest.mark.parametrize(
    ("consciousness", "grade"),
    [("alert", 0), ("awakens_spontaneously", 1), ("awakens_to_voice", 2), ("awakens_to_tactile", 3)],
)
def test_an_ice_score_not_done_because_the_patient_is_sedated_or_intubated_is_accepted(consciousness, grade):
    # ASTCT 2019 counts only findings not due to another cause: a sedated or intubated patient cannot be
    # tested, so the ICE domain is not graded and the other domains give the grade.
    result = compute("astct_icans_adult", {**NORMAL_NEURO, "ice_score": None, "consciousness": consciousness})
    assert result["icans_grade"] == grade and result["domain_grades"]["ice"] is None


def test_an_untestable_ice_score_leaves_the_other_domains_to_grade():
    inputs = {**NORMAL_NEURO, "ice_score": None, "seizure": "clinical_resolves_rapidly"}
    assert compute("astct_icans_adult", inputs)["icans_grade"] == 3


def test_a_patient_roused_by_vigorous_stimuli_keeps_a_partial_ice_score_and_grade_4():
    result = compute(
        "astct_icans_adult",
        {"ice_score": 5, "consciousness": "unarousable_or_vigorous_stimuli", "seizure": "none",
         "motor": "none", "icp_cerebral_edema": "none"},
    )  # fmt: skip
    assert result["icans_grade"] == 4
    assert result["domain_grades"]["ice"] == 2
    assert result["domain_grades"]["consciousness"] == 4


@pytest.mark.parametrize(
    ("consciousness", "grade"),
    [
        ("alert", 0),
        ("awakens_spontaneously", 1),
        ("awakens_to_voice", 2),
        ("awakens_to_tactile", 3),
    ],
)
def test_each_level_of_consciousness_gives_its_grade(consciousness, grade):
    assert icans_grade(consciousness=consciousness) == grade


@pytest.mark.parametrize(
    ("seizure", "grade"),
    [
        ("none", 0),
        ("clinical_resolves_rapidly", 3),
        ("eeg_nonconvulsive_resolves_with_intervention", 3),
        ("prolonged_gt_5min_or_repetitive_without_return_to_baseline", 4),
    ],
)
def test_each_seizure_finding_gives_its_grade(seizure, grade):
    assert icans_grade(seizure=seizure) == grade


@pytest.mark.parametrize(("motor", "grade"), [("none", 0), ("deep_focal_weakness", 4)])
def test_each_motor_finding_gives_its_grade(motor, grade):
    assert icans_grade(motor=motor) == grade


@pytest.mark.parametrize(
    ("finding", "grade"),
    [
        ("none", 0),
        ("focal_edema", 3),
        ("diffuse_edema", 4),
        ("posturing", 4),
        ("cn6_palsy", 4),
        ("papilledema", 4),
        ("cushings_triad", 4),
    ],
)
def test_each_raised_icp_finding_gives_its_grade(finding, grade):
    assert icans_grade(icp_cerebral_edema=finding) == grade


def test_icans_grade_is_the_most_severe_domain():
    result = compute(
        "astct_icans_adult", {**NORMAL_NEURO, "ice_score": 8, "consciousness": "awakens_to_voice"}
    )
    assert (result["icans_grade"], result["domain_grades"]["ice"]) == (2, 1)


def test_tremor_headache_and_haemorrhage_do_not_change_the_icans_grade():
    assert icans_grade(other_findings=["tremor", "myoclonus", "headache", "intracranial_haemorrhage"]) == 0


def test_other_findings_may_be_omitted():
    inputs = dict(NORMAL_NEURO)
    del inputs["other_findings"]
    assert compute("astct_icans_adult", inputs)["icans_grade"] == 0


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"ice_score": 11}, "ice_score"),
        ({"ice_score": -1}, "ice_score"),
        ({"ice_score": "7"}, "ice_score"),
        ({"consciousness": "drowsy"}, "consciousness"),
        ({"seizure": "yes"}, "seizure"),
        ({"motor": "weak"}, "motor"),
        ({"icp_cerebral_edema": "oedema"}, "icp_cerebral_edema"),
        ({"other_findings": "tremor"}, "other_findings"),
    ],
)
def test_bad_icans_input_is_rejected_naming_the_key(changes, key):
    with pytest.raises(CalculatorInputError) as error:
        icans_grade(**changes)
    assert error.value.key == key


# --- IEC-HS ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("findings", "grade"),
    [
        ([], 1),
        (["iec_hs_directed_therapy"], 2),
        (["hospitalisation_or_prolongation"], 3),
        (["blood_product_support"], 3),
        (["new_organ_dysfunction", "iec_hs_directed_therapy"], 3),
        (["vasopressors"], 4),
        (["mechanical_ventilation"], 4),
        (["dialysis"], 4),
        (["major_bleeding", "blood_product_support"], 4),
        (["death"], 5),
    ],
)
def test_iec_hs_grade_is_that_of_the_most_severe_finding(findings, grade):
    assert compute("iec_hs", {"findings": findings})["iec_hs_grade"] == grade


@pytest.mark.parametrize("findings", [["anakinra"], "death", None])
def test_bad_iec_hs_findings_are_rejected(findings):
    with pytest.raises(CalculatorInputError, match="findings"):
        compute("iec_hs", {"findings": findings})


def test_each_ice_score_from_0_to_10_lies_in_exactly_one_grade_row():
    # The domain grade takes the first row that holds, so a row reaching over its neighbour's edge
    # would only show once the order changed; rows also stay within the 0-10 range of the score.
    astct_table = {10: 0, 9: 1, 8: 1, 7: 1, 6: 2, 5: 2, 4: 2, 3: 2, 2: 3, 1: 3, 0: 3}  # ASTCT ICANS, ICE
    rows = {score: [g for g, low, high in ICE_GRADES if low <= score <= high] for score in range(-1, 12)}
    assert rows == {-1: [], 11: [], **{score: [grade] for score, grade in astct_table.items()}}
