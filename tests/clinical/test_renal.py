"""Cockcroft-Gault creatinine clearance (decision 14)."""

import pytest

from edc.clinical import CalculatorInputError, compute

MAN = {"age_years": 60, "weight_kg": 72, "sex": "M", "serum_creatinine": 1.0, "creatinine_unit": "mg/dL"}


def crcl(**changes):
    return compute("cockcroft_gault", {**MAN, **changes})


def test_the_formula_for_a_man():
    assert crcl()["crcl_ml_min"] == 80.0


def test_a_woman_gets_0_85_of_the_male_clearance():
    assert crcl(sex="F")["crcl_ml_min"] == 68.0


def test_micromoles_are_divided_by_88_4_before_the_formula():
    assert crcl(serum_creatinine=176.8, creatinine_unit="umol/L")["crcl_ml_min"] == 40.0


def test_the_canonical_method_not_the_si_shortcut_is_used():
    # (140 - 50) x 50 / (72 x 160 / 88.4) = 34.53; the shortcut x 1.23 / 160 would give 34.6
    assert (
        crcl(age_years=50, weight_kg=50, serum_creatinine=160, creatinine_unit="umol/L")["crcl_ml_min"]
        == 34.5
    )


@pytest.mark.parametrize(
    ("weight", "expected", "eligible"),
    [(59.89, 29.9, False), (59.9, 30.0, True), (60.0, 30.0, True), (60.1, 30.1, True)],
)
def test_eligibility_threshold_is_applied_after_rounding_half_up(weight, expected, eligible):
    # age 68 makes (140 - age) / 72 = 1, so CrCl = weight / SCr
    result = crcl(age_years=68, weight_kg=weight, serum_creatinine=2.0)
    assert (result["crcl_ml_min"], result["eligible_crcl_ge_30"]) == (expected, eligible)


def test_an_exact_half_tenth_rounds_up_in_micromoles_too():
    # 176.8 µmol/L is exactly 2.0 mg/dL; 60.1 / 2.0 = 30.05 -> 30.1
    assert (
        crcl(age_years=68, weight_kg=60.1, serum_creatinine=176.8, creatinine_unit="umol/L")["crcl_ml_min"]
        == 30.1
    )


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"age_years": 17}, "age_years"),
        ({"age_years": 121}, "age_years"),
        ({"age_years": "sixty"}, "age_years"),
        ({"weight_kg": 0}, "weight_kg"),
        ({"weight_kg": -70}, "weight_kg"),
        ({"weight_kg": 401}, "weight_kg"),
        ({"sex": "female"}, "sex"),
        ({"serum_creatinine": 0}, "serum_creatinine"),
        ({"serum_creatinine": None}, "serum_creatinine"),
        ({"creatinine_unit": "mmol/L"}, "creatinine_unit"),
    ],
)
def test_bad_renal_input_is_rejected_naming_the_key(changes, key):
    with pytest.raises(CalculatorInputError) as error:
        crcl(**changes)
    assert error.value.key == key


@pytest.mark.parametrize("key", sorted(MAN))
def test_each_required_renal_key_is_named_when_missing(key):
    with pytest.raises(CalculatorInputError) as error:
        compute("cockcroft_gault", {name: value for name, value in MAN.items() if name != key})
    assert error.value.key == key
