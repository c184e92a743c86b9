import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from edc.clinical import CALCULATORS, CalculatorInputError, compute, registry
from edc.clinical.registry import _jsonable, calculator

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTED = [
    "sledai_2k_total",
    "sledai_2k_lab_thresholds",
    "sri_4",
    "doris",
    "lldas",
    "state_maintenance",
    "astct_crs",
    "ice_score",
    "astct_icans_adult",
    "ctcae_v5_labs",
    "icaht",
    "cockcroft_gault",
    "bsa_lymphodepletion",
    "eligibility_disease_activity",
    "magic_agvhd",
    "unit_conversions",
]


def test_every_documented_calculator_is_registered():
    assert set(DOCUMENTED) <= set(CALCULATORS)


def test_every_result_carries_its_rule_version():
    result = compute("sledai_2k_total", {"present": ["seizure"]})
    assert result["rule_version"] == CALCULATORS["sledai_2k_total"].rule_version
    assert all(c.rule_version and c.source for c in CALCULATORS.values())


def test_an_unknown_calculator_is_refused_naming_the_name():
    with pytest.raises(CalculatorInputError, match="name"):
        compute("sledai_3k", {})


def test_inputs_must_be_an_object():
    with pytest.raises(CalculatorInputError, match="JSON object"):
        compute("sledai_2k_total", ["seizure"])


def test_registering_a_name_twice_is_a_programming_error():
    with pytest.raises(RuntimeError, match="registered twice"):
        calculator("sledai_2k_total", rule_version="x/1", source="test")(lambda inputs: {})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("2"), "2"),
        (Decimal("2.0"), "2.0"),
        (Decimal("2.50"), "2.5"),
        (Decimal("1E+1"), "10"),
        (Decimal("-3"), "-3"),
        (Decimal("0"), "0"),
    ],
)
def test_a_whole_decimal_becomes_an_int_and_any_other_a_float(value, expected):
    # compared as JSON text: 2 == 2.0 in Python, but "2" and "2.0" differ in the export
    assert json.dumps(_jsonable(value)) == expected
    assert type(_jsonable(value)) is (int if "." not in expected else float)


def test_results_are_json_serialisable_numbers():
    assert _jsonable({"a": Decimal("2"), "b": [Decimal("2.50")], "c": (Decimal("1E+1"),)}) == {
        "a": 2,
        "b": [2.5],
        "c": [10.0],
    }
    json.dumps(
        compute(
            "cockcroft_gault",
            {
                "age_years": 40,
                "weight_kg": 60,
                "sex": "F",
                "serum_creatinine": 1.0,
                "creatinine_unit": "mg/dL",
            },
        )
    )


def test_the_clinical_package_imports_nothing_from_django():
    code = (
        "import sys, edc.clinical; "
        "print([m for m in sys.modules if m == 'django' or m.startswith('django.')])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"


def _documented(inputs):
    """First line of the docstring.

    More text."""
    return {}


def _undocumented(inputs):
    return {}


@pytest.mark.parametrize(
    ("function", "title", "expected"),
    [
        (_documented, "Given title", "Given title"),  # a given title wins over the docstring
        (_documented, "", "First line of the docstring."),
        (_undocumented, "Given title", "Given title"),
        (_undocumented, "", "test_title_calculator"),  # neither: the name
    ],
)
def test_a_calculator_title_is_the_given_one_else_the_docstring_else_the_name(
    monkeypatch, function, title, expected
):
    monkeypatch.setattr(registry, "CALCULATORS", {})  # registered in a throw-away registry
    calculator("test_title_calculator", rule_version="t/1", source="test", title=title)(function)
    assert registry.CALCULATORS["test_title_calculator"].title == expected
    assert CALCULATORS["magic_agvhd"].title == "MAGIC acute GvHD stage and grade"  # the real one untouched
