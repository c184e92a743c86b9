"""Wilson score interval: reference values (Newcombe, Stat Med 1998;17:857-72, method 3) and the edges."""

import pytest

from edc.clinical import CalculatorInputError, compute


@pytest.mark.parametrize(
    "successes, total, lower, upper",
    [
        (0, 10, 0.0, 0.2775),
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
        (1, 1, 0.2065, 1.0),
        (0, 1, 0.0, 0.7935),
        (81, 263, 0.2553, 0.3662),  # Newcombe's example 81/263
    ],
)
def test_wilson_interval_matches_published_values(successes, total, lower, upper):
    result = compute("wilson_interval", {"successes": successes, "total": total})
    assert (result["lower"], result["upper"]) == (lower, upper)
    assert result["proportion"] == round(successes / total, 4)
    assert result["rule_version"] == "wilson_interval/1"


def test_the_bounds_stay_inside_zero_and_one_at_the_extremes():
    for total in (1, 2, 7, 48, 1000):
        none = compute("wilson_interval", {"successes": 0, "total": total})
        every = compute("wilson_interval", {"successes": total, "total": total})
        assert none["lower"] == 0.0 and 0 < none["upper"] < 1
        assert every["upper"] == 1.0 and 0 < every["lower"] < 1


def test_a_higher_confidence_widens_the_interval():
    widths = [
        compute("wilson_interval", {"successes": 3, "total": 12, "confidence": level})
        for level in (0.9, "0.95", 0.99)
    ]
    assert [w["confidence"] for w in widths] == [0.9, 0.95, 0.99]
    spans = [w["upper"] - w["lower"] for w in widths]
    assert spans[0] < spans[1] < spans[2]


@pytest.mark.parametrize(
    "inputs, key",
    [
        ({"successes": 1, "total": 0}, "total"),
        ({"successes": 4, "total": 3}, "successes"),
        ({"successes": -1, "total": 3}, "successes"),
        ({"successes": 1, "total": 3, "confidence": 0.8}, "confidence"),
        ({"successes": 1, "total": 3, "confidence": "high"}, "confidence"),
        ({"total": 3}, "successes"),
    ],
)
def test_impossible_counts_and_levels_are_refused_naming_the_key(inputs, key):
    with pytest.raises(CalculatorInputError) as error:
        compute("wilson_interval", inputs)
    assert error.value.key == key
