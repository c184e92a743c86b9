"""SRI-4, prednisone equivalents, DORIS, LLDAS, maintenance runs and eligibility (clinical-rules.md 2-6)."""

import json

import pytest

from edc.clinical import CalculatorInputError, compute
from edc.clinical.response import BILAG_SYSTEMS, LLDAS_MAJOR_ORGAN_ITEMS


def rejected_key(name, inputs):
    with pytest.raises(CalculatorInputError) as caught:
        compute(name, inputs)
    assert caught.value.key in str(caught.value)
    return caught.value.key


def bilag(default="C", **grades):
    return {system: grades.get(system, default) for system in BILAG_SYSTEMS}


# --- SRI-4 --------------------------------------------------------------------------------------------

SRI_BASE = {
    "sledai_baseline": 10,
    "sledai_followup": 6,
    "bilag_baseline": bilag(),
    "bilag_followup": bilag(),
    "pga_baseline": 1.5,
    "pga_followup": 1.5,
}


def sri(**change):
    return compute("sri_4", {**SRI_BASE, **change})


def test_a_4_point_reduction_with_no_worsening_is_a_response():
    result = sri()
    assert result["responder"] is True
    assert (result["new_bilag_a"], result["new_bilag_b"], result["sledai_reduction"]) == (0, 0, 4)
    assert result["rule_version"] == "sri_4/1"


def test_a_3_point_reduction_is_not_a_response():
    result = sri(sledai_followup=7)
    assert (result["responder"], result["sledai_reduction_ge4"]) == (False, False)


def test_a_worse_sledai_is_not_a_response():
    assert sri(sledai_followup=12)["sledai_reduction"] == -2


@pytest.mark.parametrize("before", ["B", "C", "D", "E"])
def test_any_system_newly_graded_a_counts_as_a_new_a(before):
    result = sri(bilag_baseline=bilag(renal=before), bilag_followup=bilag(renal="A"))
    assert (result["new_bilag_a"], result["responder"]) == (1, False)


def test_a_system_graded_a_at_both_visits_is_not_a_new_a():
    assert sri(bilag_baseline=bilag(renal="A"), bilag_followup=bilag(renal="A"))["new_bilag_a"] == 0


@pytest.mark.parametrize("before", ["C", "D", "E"])
def test_a_system_rising_to_b_from_c_d_or_e_is_a_new_b(before):
    assert sri(bilag_baseline=bilag(renal=before), bilag_followup=bilag(renal="B"))["new_bilag_b"] == 1


@pytest.mark.parametrize("before", ["A", "B"])
def test_b_after_a_or_b_is_not_a_new_b(before):
    assert sri(bilag_baseline=bilag(renal=before), bilag_followup=bilag(renal="B"))["new_bilag_b"] == 0


def test_one_new_b_is_allowed():
    result = sri(bilag_followup=bilag(renal="B"))
    assert (result["no_bilag_worsening"], result["responder"]) == (True, True)


def test_two_new_b_fail():
    result = sri(bilag_followup=bilag(renal="B", musculoskeletal="B"))
    assert (result["new_bilag_b"], result["no_bilag_worsening"], result["responder"]) == (2, False, False)


def test_a_pga_increase_of_exactly_0_3_fails():
    result = sri(pga_followup=1.8)
    assert (result["pga_worsening_lt_0_3"], result["responder"]) == (False, False)


def test_a_pga_increase_of_0_2_passes():
    result = sri(pga_followup=1.7)
    assert (result["pga_worsening_lt_0_3"], result["pga_change"]) == (True, 0.2)


def test_a_pga_improvement_passes():
    assert sri(pga_followup=0.2)["pga_worsening_lt_0_3"] is True


def test_pga_is_compared_in_tenths_after_rounding_half_up():
    # 1.04 -> 1.0 and 1.25 -> 1.3: an increase of 0.3 (calculators.md: PGA in tenths).
    assert sri(pga_baseline=1.04, pga_followup=1.25)["pga_worsening_lt_0_3"] is False
    assert sri(pga_baseline=1.05, pga_followup=1.34)["pga_worsening_lt_0_3"] is True


def test_sri_records_the_sledai_version_used():
    assert sri()["sledai_version"] == "sledai_2k"
    assert sri(sledai_version="selena_sledai")["sledai_version"] == "selena_sledai"


@pytest.mark.parametrize(
    "change, key",
    [
        ({"sledai_baseline": 106}, "sledai_baseline"),
        ({"sledai_baseline": -1}, "sledai_baseline"),
        ({"sledai_followup": 4.5}, "sledai_followup"),
        ({"sledai_followup": "4"}, "sledai_followup"),
        ({"bilag_baseline": "C"}, "bilag_baseline"),
        ({"bilag_followup": {**bilag(), "skin": "A"}}, "bilag_followup.skin"),
        ({"bilag_followup": bilag(renal="F")}, "bilag_followup.renal"),
        ({"bilag_followup": bilag(renal="a")}, "bilag_followup.renal"),
        ({"pga_baseline": 3.1}, "pga_baseline"),
        ({"pga_followup": -0.1}, "pga_followup"),
        ({"pga_followup": None}, "pga_followup"),
        ({"sledai_version": "sledai_1992"}, "sledai_version"),
    ],
)
def test_sri_rejects_bad_input_naming_the_key(change, key):
    assert rejected_key("sri_4", {**SRI_BASE, **change}) == key


def test_sri_names_a_missing_bilag_system():
    grades = bilag()
    del grades["haematological"]
    assert rejected_key("sri_4", {**SRI_BASE, "bilag_baseline": grades}) == "bilag_baseline.haematological"


@pytest.mark.parametrize("key", list(SRI_BASE))
def test_sri_requires_each_input(key):
    inputs = dict(SRI_BASE)
    del inputs[key]
    assert rejected_key("sri_4", inputs) == key


# --- prednisone equivalents ---------------------------------------------------------------------------

FIVE_MG_PREDNISONE = {
    "prednisone": 5,
    "prednisolone": 5,
    "methylprednisolone": 4,
    "triamcinolone": 4,
    "hydrocortisone": 20,
    "cortisone": 25,
    "dexamethasone": 0.75,
    "betamethasone": 0.6,
    "deflazacort": 6,
}


def prednisone(drug, dose):
    return compute("prednisone_equivalent", {"drug": drug, "dose_mg_day": dose})[
        "prednisone_equivalent_mg_day"
    ]


@pytest.mark.parametrize("drug, dose", FIVE_MG_PREDNISONE.items())
def test_each_glucocorticoid_at_its_equivalent_dose_is_5_mg_prednisone(drug, dose):
    assert prednisone(drug, dose) == 5


def test_equivalents_are_rounded_half_up_to_a_hundredth_of_a_milligram():
    assert prednisone("dexamethasone", 1) == 6.67
    assert prednisone("methylprednisolone", 2) == 2.5


def test_no_glucocorticoid_is_0_mg_with_or_without_a_zero_dose():
    assert compute("prednisone_equivalent", {"drug": "none"})["prednisone_equivalent_mg_day"] == 0
    assert prednisone("none", 0) == 0


@pytest.mark.parametrize(
    "inputs, key",
    [
        ({"drug": "cortisol", "dose_mg_day": 5}, "drug"),
        ({"dose_mg_day": 5}, "drug"),
        ({"drug": "prednisone"}, "dose_mg_day"),
        ({"drug": "prednisone", "dose_mg_day": -5}, "dose_mg_day"),
        ({"drug": "prednisone", "dose_mg_day": "five"}, "dose_mg_day"),
        ({"drug": "none", "dose_mg_day": 5}, "dose_mg_day"),
    ],
)
def test_prednisone_equivalent_rejects_bad_input_naming_the_key(inputs, key):
    assert rejected_key("prednisone_equivalent", inputs) == key


# --- DORIS --------------------------------------------------------------------------------------------

OFF = {"on": False}
DORIS_BASE = {
    "present": [],
    "pga": 0.2,
    "glucocorticoid": {"drug": "prednisone", "dose_mg_day": 5},
    "antimalarial": True,
    "immunosuppressant": {"on": True, "agent": "mycophenolate", "stable": True},
    "biologic": OFF,
}


def doris(**change):
    return compute("doris", {**DORIS_BASE, **change})


def drug_free(**change):
    return doris(glucocorticoid={"drug": "none"}, immunosuppressant=OFF, biologic=OFF, **change)


def test_inactive_disease_on_5_mg_and_stable_treatment_is_doris_remission():
    result = doris()
    assert (result["doris_2021_remission"], result["failed_criteria"]) == (True, [])
    assert result["prednisone_equivalent_mg_day"] == 5
    assert result["rule_version"] == "doris_2021/1"
    json.dumps(result)


@pytest.mark.parametrize("item", ["rash", "fever"])  # fever weighs 1: a clinical SLEDAI of exactly 1
def test_any_clinical_sledai_item_breaks_doris_remission(item):
    result = doris(present=[item])
    assert (result["doris_2021_remission"], result["failed_criteria"]) == (False, ["clinical_sledai_gt_0"])


def test_serology_is_allowed_in_doris_remission():
    result = doris(present=["low_complement", "increased_dna_binding"])
    assert (result["doris_2021_remission"], result["clinical_sledai"], result["serology_negative"]) == (
        True,
        0,
        False,
    )


def test_pga_below_0_5_passes_and_0_5_fails():
    assert doris(pga=0.4)["doris_2021_remission"] is True
    assert doris(pga=0.5)["failed_criteria"] == ["pga_ge_0_5"]


def test_pga_of_0_45_rounds_to_0_5_and_fails():
    assert doris(pga=0.45)["doris_2021_remission"] is False


def test_glucocorticoid_above_5_mg_prednisone_fails():
    result = doris(glucocorticoid={"drug": "prednisone", "dose_mg_day": 5.01})
    assert result["failed_criteria"] == ["glucocorticoid_above_limit"]


def test_4_mg_methylprednisolone_is_within_the_bound():
    assert (
        doris(glucocorticoid={"drug": "methylprednisolone", "dose_mg_day": 4})["doris_2021_remission"] is True
    )


def test_the_strict_glucocorticoid_bound_excludes_exactly_5_mg():
    assert doris(glucocorticoid_max_inclusive=False)["doris_2021_remission"] is False
    gc = {"drug": "prednisone", "dose_mg_day": 4.99}
    assert doris(glucocorticoid=gc, glucocorticoid_max_inclusive=False)["doris_2021_remission"] is True


def test_the_glucocorticoid_bound_is_a_setting():
    gc = {"drug": "prednisone", "dose_mg_day": 7.5}
    assert doris(glucocorticoid=gc)["doris_2021_remission"] is False
    assert doris(glucocorticoid=gc, glucocorticoid_max_mg_day=7.5)["doris_2021_remission"] is True


@pytest.mark.parametrize("agent", ["immunosuppressant", "biologic"])
def test_an_unstable_agent_breaks_doris_remission(agent):
    result = doris(**{agent: {"on": True, "agent": "x", "stable": False}})
    assert result["failed_criteria"] == [f"{agent}_not_stable"]


@pytest.mark.parametrize("weeks, stable", [(12, True), (11.9, False)])
def test_an_agent_is_stable_after_12_weeks_on_the_current_dose(weeks, stable):
    result = doris(immunosuppressant={"on": True, "weeks_on_current_dose": weeks})
    assert result["doris_2021_remission"] is stable


def test_the_stable_period_is_a_setting():
    result = doris(immunosuppressant={"on": True, "weeks_on_current_dose": 8}, stable_weeks=8)
    assert result["doris_2021_remission"] is True


def test_a_stable_flag_that_agrees_with_the_weeks_is_accepted():
    result = doris(immunosuppressant={"on": True, "stable": True, "weeks_on_current_dose": 20})
    assert result["doris_2021_remission"] is True


def test_without_any_treatment_disease_inactivity_is_drug_free_remission_of_both_kinds():
    result = drug_free(antimalarial=False)
    assert result["doris_2021_remission"] is True
    assert result["drug_free_doris_antimalarial_allowed"] is True
    assert result["drug_free_doris_strict"] is True


def test_an_antimalarial_is_allowed_only_in_the_lenient_drug_free_definition():
    result = drug_free()
    assert (result["drug_free_doris_antimalarial_allowed"], result["drug_free_doris_strict"]) == (True, False)


@pytest.mark.parametrize(
    "change",
    [
        {"glucocorticoid": {"drug": "prednisone", "dose_mg_day": 1}},
        {"immunosuppressant": {"on": True, "agent": "azathioprine", "stable": True}},
        {"biologic": {"on": True, "agent": "belimumab", "stable": True}},
        {"present": ["arthritis"]},
        {"pga": 0.5},
    ],
)
def test_any_treatment_or_activity_rules_out_drug_free_remission(change):
    result = compute(
        "doris", {**DORIS_BASE, "glucocorticoid": {"drug": "none"}, "immunosuppressant": OFF, **change}
    )
    assert result["drug_free_doris_antimalarial_allowed"] is False
    assert result["drug_free_doris_strict"] is False


@pytest.mark.parametrize("definition, expected", [("antimalarial_allowed", True), ("strict", False)])
def test_the_primary_drug_free_definition_is_a_setting(definition, expected):
    result = drug_free(drug_free_definition=definition)
    assert (result["drug_free_doris"], result["drug_free_definition"]) == (expected, definition)


def test_without_a_primary_definition_no_single_drug_free_flag_is_given():
    assert "drug_free_doris" not in drug_free()


@pytest.mark.parametrize(
    "change, key",
    [
        ({"present": ["flare"]}, "present"),
        ({"pga": 4}, "pga"),
        ({"glucocorticoid": "prednisone"}, "glucocorticoid"),
        ({"glucocorticoid": {"dose_mg_day": 5}}, "glucocorticoid.drug"),
        ({"glucocorticoid": {"drug": "prednisone"}}, "glucocorticoid.dose_mg_day"),
        ({"glucocorticoid": {"drug": "prednisone", "dose_mg_day": -1}}, "glucocorticoid.dose_mg_day"),
        ({"glucocorticoid": {"drug": "none", "dose_mg_day": 2}}, "glucocorticoid.dose_mg_day"),
        ({"antimalarial": "hcq"}, "antimalarial"),
        ({"immunosuppressant": True}, "immunosuppressant"),
        ({"immunosuppressant": {}}, "immunosuppressant.on"),
        ({"immunosuppressant": {"on": True}}, "immunosuppressant.stable"),
        ({"immunosuppressant": {"on": True, "stable": "yes"}}, "immunosuppressant.stable"),
        ({"immunosuppressant": {"on": True, "agent": 7, "stable": True}}, "immunosuppressant.agent"),
        ({"biologic": {"on": True, "weeks_on_current_dose": -1}}, "biologic.weeks_on_current_dose"),
        ({"biologic": {"on": True, "stable": True, "weeks_on_current_dose": 4}}, "biologic.stable"),
        ({"glucocorticoid_max_mg_day": -5}, "glucocorticoid_max_mg_day"),
        ({"glucocorticoid_max_inclusive": "yes"}, "glucocorticoid_max_inclusive"),
        ({"stable_weeks": 0}, "stable_weeks"),
        ({"drug_free_definition": "lenient"}, "drug_free_definition"),
    ],
)
def test_doris_rejects_bad_input_naming_the_key(change, key):
    assert rejected_key("doris", {**DORIS_BASE, **change}) == key


@pytest.mark.parametrize("key", list(DORIS_BASE))
def test_doris_requires_each_input(key):
    inputs = dict(DORIS_BASE)
    del inputs[key]
    assert rejected_key("doris", inputs) == key


# --- LLDAS --------------------------------------------------------------------------------------------

LLDAS_BASE = {
    "present": ["arthritis"],
    "present_previous_assessment": ["arthritis"],
    "pga": 1.0,
    "prednisone_equivalent_mg_day": 7.5,
    "haemolytic_anaemia": False,
    "gi_activity": False,
    "immunosuppression_at_standard_maintenance_dose": True,
    "investigational_drug_other_than_study_car_t": False,
}
MAJOR_ITEMS = [key for keys in LLDAS_MAJOR_ORGAN_ITEMS.values() for key in keys]
ALLOWED_ITEMS = [
    "myositis",
    "rash",
    "alopecia",
    "mucosal_ulcers",
    "low_complement",
    "increased_dna_binding",
    "thrombocytopenia",
    "leukopenia",
]


def lldas(**change):
    return compute("lldas", {**LLDAS_BASE, **change})


def test_low_activity_at_the_limits_is_lldas():
    result = lldas()
    assert (result["lldas"], result["sledai_2k"], result["failed_criteria"]) == (True, 4, [])
    assert result["rule_version"] == "lldas_2016/1"


def test_a_sledai_of_5_without_major_organ_activity_is_not_lldas():
    result = lldas(
        present=["arthritis", "leukopenia"], present_previous_assessment=["arthritis", "leukopenia"]
    )
    assert result["failed_criteria"] == ["sledai_gt_4"]


@pytest.mark.parametrize("key", MAJOR_ITEMS)
def test_activity_in_a_major_organ_is_not_lldas_whatever_its_weight(key):
    result = lldas(present=[key], present_previous_assessment=[key])
    assert "major_organ_activity" in result["failed_criteria"]
    assert result["major_organ_items"] == [key]


def test_the_major_organ_items_are_renal_cns_vasculitis_fever_and_serositis():
    assert len(MAJOR_ITEMS) == 15
    assert {"pleurisy", "pericarditis", "fever", "vasculitis"} <= set(MAJOR_ITEMS)
    assert "myositis" not in MAJOR_ITEMS


@pytest.mark.parametrize("key", ALLOWED_ITEMS)
def test_a_non_major_item_already_present_before_is_compatible_with_lldas(key):
    assert lldas(present=[key], present_previous_assessment=[key])["lldas"] is True


@pytest.mark.parametrize("key", ["rash", "low_complement"])
def test_an_item_absent_at_the_previous_assessment_is_new_activity(key):
    result = lldas(present=[key], present_previous_assessment=[])
    assert (result["failed_criteria"], result["new_items"]) == (["new_activity"], [key])


def test_an_item_that_has_resolved_is_not_new_activity():
    assert lldas(present=[], present_previous_assessment=["rash", "arthritis"])["lldas"] is True


def test_new_activity_outside_sledai_can_be_flagged():
    assert lldas(new_non_sledai_activity=True)["failed_criteria"] == ["new_activity"]


@pytest.mark.parametrize(
    "change, criterion",
    [
        ({"haemolytic_anaemia": True}, "haemolytic_anaemia"),
        ({"gi_activity": True}, "gi_activity"),
        ({"pga": 1.1}, "pga_gt_1"),
        ({"pga": 1.05}, "pga_gt_1"),
        ({"prednisone_equivalent_mg_day": 7.51}, "glucocorticoid_gt_7_5"),
        ({"immunosuppression_at_standard_maintenance_dose": False}, "non_maintenance_immunosuppression"),
        ({"investigational_drug_other_than_study_car_t": True}, "investigational_drug"),
    ],
)
def test_each_failed_lldas_criterion_is_named(change, criterion):
    result = lldas(**change)
    assert (result["lldas"], result["failed_criteria"]) == (False, [criterion])


def test_a_pga_of_1_04_rounds_to_1_0_and_passes():
    assert lldas(pga=1.04)["lldas"] is True


def test_failed_lldas_criteria_are_listed_in_definition_order():
    result = lldas(present=["seizure", "rash"], present_previous_assessment=[], pga=2, gi_activity=True)
    assert result["failed_criteria"] == [
        "sledai_gt_4",
        "major_organ_activity",
        "gi_activity",
        "new_activity",
        "pga_gt_1",
    ]


@pytest.mark.parametrize(
    "change, key",
    [
        ({"present": ["seizure", "bleeding"]}, "present"),
        ({"present_previous_assessment": None}, "present_previous_assessment"),
        ({"pga": 3.5}, "pga"),
        ({"prednisone_equivalent_mg_day": -1}, "prednisone_equivalent_mg_day"),
        ({"haemolytic_anaemia": 0}, "haemolytic_anaemia"),
        ({"gi_activity": "no"}, "gi_activity"),
        (
            {"immunosuppression_at_standard_maintenance_dose": None},
            "immunosuppression_at_standard_maintenance_dose",
        ),
        ({"investigational_drug_other_than_study_car_t": 1}, "investigational_drug_other_than_study_car_t"),
        ({"new_non_sledai_activity": "yes"}, "new_non_sledai_activity"),
    ],
)
def test_lldas_rejects_bad_input_naming_the_key(change, key):
    assert rejected_key("lldas", {**LLDAS_BASE, **change}) == key


@pytest.mark.parametrize("key", list(LLDAS_BASE))
def test_lldas_requires_each_input(key):
    inputs = dict(LLDAS_BASE)
    del inputs[key]
    assert rejected_key("lldas", inputs) == key


# --- state maintenance --------------------------------------------------------------------------------

SCHEDULE = [("D28", 28), ("M3", 90), ("M6", 180), ("M9", 270), ("M12", 365), ("M18", 545), ("M24", 730)]


def runs(*states, **settings):
    visits = [
        {"visit": code, "study_day": day, "state_met": state}
        for (code, day), state in zip(SCHEDULE[: len(states)], states, strict=True)
    ]
    return compute("state_maintenance", {"visits": visits, **settings})


def test_a_state_met_from_m3_to_m12_is_one_run_of_275_days():
    result = runs(False, True, True, True, True)
    assert result["first_attainment_day"] == 90
    assert (result["longest_run_days"], result["longest_run_visits"]) == (275, ["M3", "M6", "M9", "M12"])
    assert (result["max_consecutive_visits"], result["cumulative_days"]) == (4, 275)
    assert (result["met_at_last_visit"], result["final_run_start_day"]) == (True, 90)
    assert result["rule_version"] == "state_maintenance/1"


def test_a_single_isolated_visit_is_a_run_of_0_days():
    result = runs(False, True, False)
    assert (result["longest_run_days"], result["longest_run_visits"], result["cumulative_days"]) == (
        0,
        ["M3"],
        0,
    )
    assert (result["met_at_last_visit"], result["final_run_start_day"]) == (False, None)


def test_a_state_never_met_has_no_run():
    result = runs(False, False, None)
    assert result["first_attainment_day"] is None
    assert (result["longest_run_days"], result["longest_run_visits"], result["max_consecutive_visits"]) == (
        None,
        [],
        0,
    )
    assert result["met_at_last_visit"] is None


def test_no_visits_yet_gives_empty_results():
    result = compute("state_maintenance", {"visits": []})
    assert (result["first_attainment_day"], result["cumulative_days"], result["met_at_last_visit"]) == (
        None,
        0,
        None,
    )


def test_a_missing_visit_breaks_the_run_by_default():
    result = runs(True, True, None, True, True)
    assert (result["longest_run_days"], result["longest_run_visits"]) == (95, ["M9", "M12"])
    assert (result["cumulative_days"], result["bridged_visits"], result["missing_visit_rule"]) == (
        157,
        [],
        "break",
    )


def test_bridging_joins_one_missing_visit_between_two_met_visits():
    result = runs(True, True, None, True, True, missing_visit_rule="bridge_one")
    assert (result["longest_run_days"], result["max_consecutive_visits"]) == (337, 5)
    assert (result["bridged_visits"], result["final_run_start_day"]) == (["M6"], 28)


def test_bridging_does_not_join_two_missing_visits_in_a_row():
    result = runs(True, None, None, True, missing_visit_rule="bridge_one")
    assert (result["bridged_visits"], result["max_consecutive_visits"]) == ([], 1)


def test_bridging_does_not_join_a_visit_that_failed():
    assert runs(True, False, True, missing_visit_rule="bridge_one")["max_consecutive_visits"] == 1


def test_bridging_does_not_extend_a_run_over_a_missing_last_visit():
    result = runs(True, True, None, missing_visit_rule="bridge_one")
    assert (result["met_at_last_visit"], result["final_run_start_day"], result["bridged_visits"]) == (
        None,
        None,
        [],
    )


def test_a_longer_run_in_days_wins_over_one_with_more_visits():
    visits = [
        {"visit": "a", "study_day": 10, "state_met": True},
        {"visit": "b", "study_day": 11, "state_met": True},
        {"visit": "c", "study_day": 12, "state_met": True},
        {"visit": "d", "study_day": 13, "state_met": False},
        {"visit": "e", "study_day": 20, "state_met": True},
        {"visit": "f", "study_day": 40, "state_met": True},
    ]
    result = compute("state_maintenance", {"visits": visits})
    assert (result["longest_run_visits"], result["max_consecutive_visits"]) == (["e", "f"], 3)


def test_runs_of_equal_length_prefer_more_visits():
    visits = [
        {"visit": "a", "study_day": 0, "state_met": True},
        {"visit": "b", "study_day": 20, "state_met": True},
        {"visit": "c", "study_day": 21, "state_met": False},
        {"visit": "d", "study_day": 30, "state_met": True},
        {"visit": "e", "study_day": 40, "state_met": True},
        {"visit": "f", "study_day": 50, "state_met": True},
    ]
    assert compute("state_maintenance", {"visits": visits})["longest_run_visits"] == ["d", "e", "f"]


def test_runs_of_equal_length_and_visits_prefer_the_earlier_run():
    visits = [
        {"visit": "a", "study_day": 0, "state_met": True},
        {"visit": "b", "study_day": 10, "state_met": True},
        {"visit": "c", "study_day": 15, "state_met": False},
        {"visit": "d", "study_day": 20, "state_met": True},
        {"visit": "e", "study_day": 30, "state_met": True},
    ]
    result = compute("state_maintenance", {"visits": visits})
    assert (result["longest_run_visits"], result["cumulative_days"]) == (["a", "b"], 20)


@pytest.mark.parametrize(
    "visits, key",
    [
        ("M3", "visits"),
        (["M3"], "visits[0]"),
        ([{"study_day": 90, "state_met": True}], "visits[0].visit"),
        ([{"visit": "", "study_day": 90, "state_met": True}], "visits[0].visit"),
        ([{"visit": "M3", "state_met": True}], "visits[0].study_day"),
        ([{"visit": "M3", "study_day": -5, "state_met": True}], "visits[0].study_day"),
        ([{"visit": "M3", "study_day": "90", "state_met": True}], "visits[0].study_day"),
        ([{"visit": "M3", "study_day": 90}], "visits[0].state_met"),
        ([{"visit": "M3", "study_day": 90, "state_met": "yes"}], "visits[0].state_met"),
        (
            [
                {"visit": "M3", "study_day": 90, "state_met": True},
                {"visit": "M3", "study_day": 180, "state_met": True},
            ],
            "visits[1].visit",
        ),
        (
            [
                {"visit": "M6", "study_day": 180, "state_met": True},
                {"visit": "M3", "study_day": 90, "state_met": True},
            ],
            "visits[1].study_day",
        ),
        (
            [
                {"visit": "M3", "study_day": 90, "state_met": True},
                {"visit": "M3b", "study_day": 90, "state_met": True},
            ],
            "visits[1].study_day",
        ),
    ],
)
def test_state_maintenance_rejects_bad_visits_naming_the_key(visits, key):
    assert rejected_key("state_maintenance", {"visits": visits}) == key


def test_state_maintenance_requires_visits_and_a_known_rule():
    assert rejected_key("state_maintenance", {}) == "visits"
    assert (
        rejected_key("state_maintenance", {"visits": [], "missing_visit_rule": "ignore"})
        == "missing_visit_rule"
    )


# --- eligibility ----------------------------------------------------------------------------------------


def eligible(selena, n_a=0, n_b=0):
    inputs = {"selena_sledai": selena, "n_bilag_a": n_a, "n_bilag_b": n_b}
    return compute("eligibility_disease_activity", inputs)["activity_criterion_met"]


@pytest.mark.parametrize(
    "selena, n_a, n_b, met",
    [
        (8, 0, 0, True),
        (7, 0, 0, False),
        (7, 0, 1, False),
        (6, 1, 0, True),
        (5, 1, 0, False),
        (6, 0, 2, True),
        (5, 0, 2, False),
        (6, 0, 1, False),
        (5, 9, 0, False),
    ],
)
def test_eligibility_needs_selena_6_with_an_a_or_two_b_or_selena_8(selena, n_a, n_b, met):
    assert eligible(selena, n_a, n_b) is met


@pytest.mark.parametrize(
    "inputs, key",
    [
        ({"n_bilag_a": 0, "n_bilag_b": 0}, "selena_sledai"),
        ({"selena_sledai": 106, "n_bilag_a": 0, "n_bilag_b": 0}, "selena_sledai"),
        ({"selena_sledai": 6.5, "n_bilag_a": 0, "n_bilag_b": 0}, "selena_sledai"),
        ({"selena_sledai": 6, "n_bilag_a": -1, "n_bilag_b": 0}, "n_bilag_a"),
        ({"selena_sledai": 6, "n_bilag_a": 0, "n_bilag_b": 10}, "n_bilag_b"),
        ({"selena_sledai": 6, "n_bilag_a": 5, "n_bilag_b": 5}, "n_bilag_b"),
        ({"selena_sledai": 6, "n_bilag_a": True, "n_bilag_b": 0}, "n_bilag_a"),
        ({"selena_sledai": 6, "n_bilag_a": 0}, "n_bilag_b"),
    ],
)
def test_eligibility_rejects_bad_input_naming_the_key(inputs, key):
    assert rejected_key("eligibility_disease_activity", inputs) == key
