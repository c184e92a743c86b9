"""The typed readers of calculator inputs (edc.clinical.inputs): each refusal names the key and the reason."""

from decimal import Decimal

import pytest

from edc.clinical import CalculatorInputError, compute
from edc.clinical.inputs import number


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "x: must be a number, not bool"),  # True is an int in Python: refused for its type
        (False, "x: must be a number, not bool"),
        ([1], "x: must be a number, not list"),
        ({"value": 1}, "x: must be a number, not dict"),
        (None, "x: must be a number, not NoneType"),
        ("abc", "x: must be a number, not 'abc'"),
    ],
)
def test_a_number_of_the_wrong_type_is_refused_naming_its_type(value, message):
    with pytest.raises(CalculatorInputError) as caught:
        number({"x": value}, "x")
    assert (caught.value.key, str(caught.value)) == ("x", message)


@pytest.mark.parametrize("value", [0, 12, 12.5, "12.5", Decimal("12.5")])
def test_a_number_of_any_accepted_type_is_read_as_a_decimal(value):
    assert number({"x": value}, "x") == Decimal(str(value))


def test_a_calculator_refuses_a_boolean_for_a_number_with_the_readers_message():
    with pytest.raises(CalculatorInputError, match=r"^skin_rash_bsa_pct: must be a number, not bool$"):
        compute(
            "magic_agvhd",
            {
                "skin_rash_bsa_pct": True,
                "generalized_erythroderma_with_bullae_desquamation": False,
                "total_bilirubin_mg_dl": 1,
                "persistent_nausea_vomiting_anorexia": False,
                "stool_volume_ml_day": 100,
                "severe_abdominal_pain_ileus_or_gross_blood": False,
            },
        )
