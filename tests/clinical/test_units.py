"""Unit conversions of section 10."""

from decimal import Decimal

import pytest

from edc.clinical import CalculatorInputError, compute
from edc.clinical.units import convert, unit_from_ucum


@pytest.mark.parametrize(
    ("analyte", "value", "from_unit", "to_unit", "expected"),
    [
        ("creatinine", "1", "mg/dL", "umol/L", "88.4"),
        ("creatinine", "176.8", "umol/L", "mg/dL", "2"),
        ("bilirubin", "1", "mg/dL", "umol/L", "17.1"),
        ("haemoglobin", "10", "g/dL", "g/L", "100"),
        ("haemoglobin", "10", "g/dL", "mmol/L", "6.206"),
        ("haemoglobin", "6.206", "mmol/L", "g/L", "100"),
        ("neutrophils", "1500", "cells/uL", "10^9/L", "1.5"),
        ("platelets", "75", "10^3/uL", "10^9/L", "75"),
        ("lymphocytes", "0.8", "10^9/L", "cells/uL", "800"),
        ("wbc", "3", "10^9/L", "10^3/uL", "3"),
        ("cd19_b_cells", "10", "cells/uL", "10^9/L", "0.01"),
        ("cd4_lymphocytes", "200", "cells/uL", "10^9/L", "0.2"),
        ("c3", "90", "mg/dL", "g/L", "0.9"),
        ("c4", "0.1", "g/L", "mg/dL", "10"),
        ("igg", "400", "mg/dL", "g/L", "4"),
        ("iga", "70", "mg/dL", "g/L", "0.7"),
        ("igm", "0.4", "g/L", "mg/dL", "40"),
        ("crp", "1", "mg/dL", "mg/L", "10"),
        ("ferritin", "500", "ng/mL", "ug/L", "500"),
        ("upcr", "0.5", "g/g", "mg/g", "500"),
        ("upcr", "0.5", "mg/mg", "g/g", "0.5"),
        ("upcr", "56.6", "mg/mmol", "g/g", "0.500344"),
        ("upcr", "500", "mg/g", "mg/mmol", "56.56108597285067873303167421"),
        ("temperature", "100.4", "F", "C", "38"),
        ("temperature", "37", "C", "F", "98.6"),
        ("temperature", "-40", "C", "F", "-40"),
    ],
)
def test_conversion_factors_of_section_10(analyte, value, from_unit, to_unit, expected):
    assert convert(analyte, Decimal(value), from_unit, to_unit) == Decimal(expected)


def test_converting_to_the_same_unit_changes_nothing():
    assert convert("creatinine", Decimal("1.23"), "mg/dL", "mg/dL") == Decimal("1.23")


def test_convert_accepts_plain_numbers():
    assert convert("crp", 2.5, "mg/dL", "mg/L") == Decimal(25)


def test_the_calculator_returns_a_json_number():
    result = compute(
        "unit_conversions", {"analyte": "creatinine", "value": 1.2, "from": "mg/dL", "to": "umol/L"}
    )
    assert (result["value"], result["unit"], result["rule_version"]) == (
        106.08,
        "umol/L",
        "unit_conversions/1",
    )


@pytest.mark.parametrize(
    ("inputs", "key"),
    [
        ({"analyte": "sodium", "value": 1, "from": "mmol/L", "to": "mEq/L"}, "analyte"),
        ({"analyte": "creatinine", "value": 1, "from": "mmol/L", "to": "mg/dL"}, "from"),
        ({"analyte": "creatinine", "value": 1, "from": "mg/dL", "to": "g/L"}, "to"),
        ({"analyte": "creatinine", "value": -1, "from": "mg/dL", "to": "umol/L"}, "value"),
        ({"analyte": "creatinine", "value": "x", "from": "mg/dL", "to": "umol/L"}, "value"),
        ({"analyte": "creatinine", "from": "mg/dL", "to": "umol/L"}, "value"),
        ({"analyte": "creatinine", "value": 1, "to": "umol/L"}, "from"),
        ({"analyte": "creatinine", "value": 1, "from": "mg/dL"}, "to"),
        ({"value": 1, "from": "mg/dL", "to": "umol/L"}, "analyte"),
        ({"analyte": "neutrophils", "value": True, "from": "10^9/L", "to": "cells/uL"}, "value"),
    ],
)
def test_bad_conversion_input_is_rejected_naming_the_key(inputs, key):
    with pytest.raises(CalculatorInputError) as error:
        compute("unit_conversions", inputs)
    assert error.value.key == key


def test_convert_names_the_key_too():
    with pytest.raises(CalculatorInputError) as error:
        convert("bilirubin", 1, "mg/dL", "mmol/L")
    assert error.value.key == "to"


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("10*9/L", "10^9/L"),
        ("×10⁹/L", "10^9/L"),
        ("x10^9/L", "10^9/L"),
        ("10*3/uL", "10^3/uL"),
        ("/uL", "cells/uL"),
        ("{cells}/uL", "cells/uL"),
        ("cells/µL", "cells/uL"),
        ("umol/L", "umol/L"),
        ("µmol/L", "umol/L"),
        ("mg/dL", "mg/dL"),
        ("g/dL", "g/dL"),
        ("g/L", "g/L"),
        ("[IU]/mL", "IU/mL"),
        ("m[IU]/mL", "mIU/mL"),
        ("{ratio}", "ratio"),
        ("g/(24.h)", "g/24h"),
    ],
)
def test_ucum_codes_and_printed_units_map_to_the_project_units(text, unit):
    assert unit_from_ucum(text) == unit


@pytest.mark.parametrize("text", ["mg", "furlongs/fortnight", "10*12/L", None, "=cmd|' /C calc'!A0"])
def test_a_unit_the_project_does_not_know_maps_to_nothing(text):
    assert unit_from_ucum(text) is None


def test_a_dimensionless_unit_is_a_ratio():
    assert unit_from_ucum("") == unit_from_ucum("1") == "ratio"


@pytest.mark.parametrize(
    ("analyte", "value", "from_unit", "to_unit", "expected"),
    [
        ("creatinine", "1.0", "mg/dL", "umol/L", "88.4"),
        ("creatinine", "88.4", "umol/L", "mg/dL", "1"),
        ("haemoglobin", "12.5", "g/dL", "g/L", "125"),
        ("haemoglobin", "125", "g/L", "g/dL", "12.5"),
        ("neutrophils", "1500", "cells/uL", "10^9/L", "1.5"),
        ("cd4_lymphocytes", "0.2", "10^9/L", "cells/uL", "200"),
    ],
)
def test_the_conversions_a_lab_import_relies_on_go_both_ways(analyte, value, from_unit, to_unit, expected):
    assert convert(analyte, Decimal(value), from_unit, to_unit) == Decimal(expected)
