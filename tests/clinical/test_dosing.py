"""Lymphodepletion BSA dosing, CAR-T dose, 3+3 and BOIN decisions."""

import pytest

from edc.clinical import CalculatorInputError, compute

# --- BSA and lymphodepletion doses (decision 15) ---------------------------------------------------

LD = {"height_cm": 170, "weight_kg": 70, "fludarabine_mg_m2": 30, "cyclophosphamide_mg_m2": 500}


def ld(**changes):
    return compute("bsa_lymphodepletion", {**LD, **changes})


def test_the_worked_example_of_section_11():
    result = ld()
    assert (result["bsa_m2"], result["fludarabine_mg_per_day"], result["cyclophosphamide_mg_per_day"]) == (
        1.82,
        54.6,
        910.0,
    )


@pytest.mark.parametrize(
    ("height", "weight", "bsa"),
    [(180, 90, 2.12), (150, 45, 1.37), (160, 60, 1.63)],
)
def test_mosteller_bsa_is_rounded_to_two_decimals(height, weight, bsa):
    assert ld(height_cm=height, weight_kg=weight)["bsa_m2"] == bsa


def test_an_exact_half_hundredth_of_bsa_rounds_up():
    # 3600 x 1.825^2 = 11990.25 = 159.87 x 75; sqrt is exact, so 1.825 -> 1.83
    assert ld(height_cm=159.87, weight_kg=75)["bsa_m2"] == 1.83


def test_daily_dose_is_rounded_half_up_to_0_1_mg():
    # BSA 1.37 x 25 mg/m² = 34.25 -> 34.3
    assert ld(height_cm=150, weight_kg=45, fludarabine_mg_m2=25)["fludarabine_mg_per_day"] == 34.3


def test_there_is_no_bsa_cap_by_default():
    result = ld(height_cm=200, weight_kg=120)
    assert (result["bsa_m2"], result["dosing_bsa_m2"], result["bsa_capped"]) == (2.58, 2.58, False)


def test_a_protocol_bsa_cap_limits_the_dose():
    result = ld(height_cm=200, weight_kg=120, bsa_cap_m2=2.2)
    assert (
        result["bsa_m2"],
        result["dosing_bsa_m2"],
        result["bsa_capped"],
        result["fludarabine_mg_per_day"],
    ) == (
        2.58,
        2.2,
        True,
        66.0,
    )


def test_a_cap_above_the_bsa_changes_nothing():
    assert ld(bsa_cap_m2=2.0)["bsa_capped"] is False


def test_a_cyclophosphamide_free_regimen_is_allowed():
    assert ld(cyclophosphamide_mg_m2=0)["cyclophosphamide_mg_per_day"] == 0.0


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"height_cm": 0}, "height_cm"),
        ({"height_cm": 251}, "height_cm"),
        ({"weight_kg": -1}, "weight_kg"),
        ({"weight_kg": "70kg"}, "weight_kg"),
        ({"fludarabine_mg_m2": -30}, "fludarabine_mg_m2"),
        ({"cyclophosphamide_mg_m2": None}, "cyclophosphamide_mg_m2"),
        ({"bsa_cap_m2": 0}, "bsa_cap_m2"),
    ],
)
def test_bad_lymphodepletion_input_is_rejected_naming_the_key(changes, key):
    with pytest.raises(CalculatorInputError) as error:
        ld(**changes)
    assert error.value.key == key


# --- CAR-T dose -------------------------------------------------------------------------------------

PRODUCT = {"total_nucleated_cells": 2e8, "viability_pct": 90, "car_positive_pct": 40, "dosing_weight_kg": 72}


def car_t(**changes):
    return compute("car_t_dose", {**PRODUCT, **changes})


def test_car_positive_viable_cells_and_dose_per_kg():
    result = car_t()
    assert (result["car_positive_viable_cells"], result["dose_per_kg"]) == (72_000_000, 1_000_000)


def test_without_a_planned_dose_there_is_no_deviation():
    result = car_t()
    assert (result["deviation_pct"], result["dose_deviation"]) == (None, None)


@pytest.mark.parametrize(
    ("planned_per_kg", "deviation", "flagged"),
    [
        (1_000_000, 0.0, False),
        (1_250_000, -20.0, False),
        (1_251_000, -20.1, True),
        (833_334, 20.0, False),
        (830_000, 20.5, True),
    ],
)
def test_a_deviation_beyond_20_percent_of_the_planned_dose_per_kg_is_flagged(
    planned_per_kg, deviation, flagged
):
    result = car_t(planned_dose_per_kg=planned_per_kg)
    assert (result["deviation_pct"], result["dose_deviation"]) == (deviation, flagged)


def test_a_flat_planned_dose_is_compared_with_the_total_cells():
    result = car_t(planned_total_dose=1e8)
    assert (result["deviation_pct"], result["dose_deviation"]) == (-28.0, True)


def test_the_tolerance_is_a_protocol_setting():
    assert car_t(planned_total_dose=1e8, dose_tolerance_pct=30)["dose_deviation"] is False


def test_a_weight_cap_sets_the_dosing_weight():
    result = car_t(dosing_weight_kg=100, weight_cap_kg=80)
    assert (result["dosing_weight_kg"], result["dose_per_kg"]) == (80.0, 900_000)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"total_nucleated_cells": 0}, "total_nucleated_cells"),
        ({"viability_pct": 101}, "viability_pct"),
        ({"car_positive_pct": -1}, "car_positive_pct"),
        ({"dosing_weight_kg": 0}, "dosing_weight_kg"),
        ({"planned_dose_per_kg": 1e6, "planned_total_dose": 7e7}, "planned_total_dose"),
        ({"planned_dose_per_kg": 0}, "planned_dose_per_kg"),
        ({"dose_tolerance_pct": -5}, "dose_tolerance_pct"),
        ({"weight_cap_kg": 0}, "weight_cap_kg"),
    ],
)
def test_bad_car_t_dose_input_is_rejected_naming_the_key(changes, key):
    with pytest.raises(CalculatorInputError) as error:
        car_t(**changes)
    assert error.value.key == key


# --- 3+3 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_treated", "n_dlt", "decision"),
    [
        (0, 0, "continue_enrolling"),
        (1, 0, "continue_enrolling"),
        (2, 1, "continue_enrolling"),
        (2, 2, "exceeds_mtd"),
        (3, 0, "escalate"),
        (3, 1, "expand_to_6"),
        (3, 2, "exceeds_mtd"),
        (3, 3, "exceeds_mtd"),
        (4, 1, "continue_enrolling"),
        (5, 2, "exceeds_mtd"),
        (6, 0, "escalate"),
        (6, 1, "escalate"),
        (6, 2, "exceeds_mtd"),
    ],
)
def test_three_plus_three_decisions(n_treated, n_dlt, decision):
    assert compute("dose_escalation_3plus3", {"n_treated": n_treated, "n_dlt": n_dlt})["decision"] == decision


@pytest.mark.parametrize(
    ("inputs", "key"),
    [
        ({"n_treated": 7, "n_dlt": 0}, "n_treated"),
        ({"n_treated": 3, "n_dlt": 4}, "n_dlt"),
        ({"n_treated": 3, "n_dlt": -1}, "n_dlt"),
        ({"n_treated": 3}, "n_dlt"),
        ({"n_treated": "3", "n_dlt": 0}, "n_treated"),
    ],
)
def test_bad_three_plus_three_input_is_rejected_naming_the_key(inputs, key):
    with pytest.raises(CalculatorInputError) as error:
        compute("dose_escalation_3plus3", inputs)
    assert error.value.key == key


# --- BOIN ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("phi", "lambda_e", "lambda_d"), [(0.30, 0.236, 0.358), (0.25, 0.197, 0.298)])
def test_boin_boundaries_match_the_published_values(phi, lambda_e, lambda_d):
    result = compute("boin_boundaries", {"target_dlt_rate": phi})
    assert (result["lambda_e"], result["lambda_d"]) == (
        pytest.approx(lambda_e, abs=0.001),
        pytest.approx(lambda_d, abs=0.001),
    )


def boin(n_treated, n_dlt, **settings):
    return compute(
        "boin_boundaries", {"target_dlt_rate": 0.3, "n_treated": n_treated, "n_dlt": n_dlt, **settings}
    )


@pytest.mark.parametrize(
    ("n_treated", "n_dlt", "decision"),
    [
        (3, 0, "escalate"),
        (6, 1, "escalate"),
        (4, 1, "stay"),
        (3, 1, "stay"),
        (6, 2, "stay"),
        (9, 3, "stay"),
        (6, 3, "de_escalate"),
        (3, 2, "de_escalate"),
        (1, 0, "escalate"),
        (1, 1, "de_escalate"),
    ],
)
def test_boin_decisions_for_a_target_of_0_30(n_treated, n_dlt, decision):
    assert boin(n_treated, n_dlt)["decision"] == decision


@pytest.mark.parametrize(
    ("n_treated", "n_dlt", "eliminate"),
    [(3, 3, True), (3, 2, False), (4, 3, True), (6, 3, False), (6, 4, True), (2, 2, False)],
)
def test_boin_eliminates_a_dose_when_the_posterior_exceeds_0_95_with_3_or_more_treated(
    n_treated, n_dlt, eliminate
):
    assert boin(n_treated, n_dlt)["eliminate_dose_and_higher"] is eliminate


@pytest.mark.parametrize(
    ("n_treated", "n_dlt", "posterior", "eliminate"),
    [
        (9, 5, 0.9527, True),  # the published case: 5 DLTs in 9 patients at phi 0.30
        (14, 7, 0.95, False),  # 0.94999 rounds to 0.95 but is not above the cutoff
        (7, 4, 0.942, False),
    ],
)
def test_boin_default_elimination_cutoff_is_0_95(n_treated, n_dlt, posterior, eliminate):
    result = boin(n_treated, n_dlt)
    assert (result["posterior_prob_above_target"], result["eliminate_dose_and_higher"]) == (
        posterior,
        eliminate,
    )


@pytest.mark.parametrize(("cutoff", "eliminate"), [("0.9162", True), ("0.9163", False), ("0.9164", False)])
def test_boin_eliminates_only_when_the_posterior_is_strictly_above_the_cutoff(cutoff, eliminate):
    # 2 DLTs in 3 patients at phi 0.30: the posterior is exactly 0.9163 (= 9163/10000)
    result = boin(3, 2, elimination_cutoff=cutoff)
    assert (result["posterior_prob_above_target"], result["eliminate_dose_and_higher"]) == (0.9163, eliminate)


def test_boin_reports_the_posterior_probability_of_exceeding_the_target():
    assert boin(3, 3)["posterior_prob_above_target"] == 0.9919


def test_boin_elimination_cutoff_is_a_setting():
    assert boin(3, 2, elimination_cutoff=0.9)["eliminate_dose_and_higher"] is True


def test_boin_interval_limits_are_settings():
    default = compute("boin_boundaries", {"target_dlt_rate": 0.3})
    wider = compute("boin_boundaries", {"target_dlt_rate": 0.3, "subtherapeutic_dlt_rate": 0.1})
    assert wider["lambda_e"] < default["lambda_e"]


@pytest.mark.parametrize(
    ("inputs", "key"),
    [
        ({}, "target_dlt_rate"),
        ({"target_dlt_rate": 0}, "target_dlt_rate"),
        ({"target_dlt_rate": 1}, "target_dlt_rate"),
        ({"target_dlt_rate": 0.3, "subtherapeutic_dlt_rate": 0.3}, "subtherapeutic_dlt_rate"),
        ({"target_dlt_rate": 0.3, "overly_toxic_dlt_rate": 0.2}, "overly_toxic_dlt_rate"),
        ({"target_dlt_rate": 0.3, "overly_toxic_dlt_rate": 0.3}, "overly_toxic_dlt_rate"),
        ({"target_dlt_rate": 0.3, "subtherapeutic_dlt_rate": 0.31}, "subtherapeutic_dlt_rate"),
        ({"target_dlt_rate": 0.3, "elimination_cutoff": 1.5}, "elimination_cutoff"),
        ({"target_dlt_rate": 0.3, "n_treated": 0, "n_dlt": 0}, "n_treated"),
        ({"target_dlt_rate": 0.3, "n_treated": 3}, "n_dlt"),
        ({"target_dlt_rate": 0.3, "n_dlt": 1}, "n_treated"),
        ({"target_dlt_rate": 0.3, "n_treated": 3, "n_dlt": 4}, "n_dlt"),
    ],
)
def test_bad_boin_input_is_rejected_naming_the_key(inputs, key):
    with pytest.raises(CalculatorInputError) as error:
        compute("boin_boundaries", inputs)
    assert error.value.key == key
