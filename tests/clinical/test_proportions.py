"""Wilson score interval: reference values (Newcombe, Stat Med 1998;17:857-72, method 3) and the edges."""

from decimal import Decimal, localcontext

import pytest

from edc.clinical import CalculatorInputError, compute, proportions


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


# The standard normal quantiles to 30 digits (z such that the two-sided interval holds the level).
EXACT_Z = {
    "0.90": "1.64485362695147271486384890792",
    "0.95": "1.95996398454005423552459443052",
    "0.99": "2.57582930354890076097857674857",
}
_PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494459")


def _normal_cdf(x: Decimal) -> Decimal:
    """Phi(x) from the Maclaurin series of erf, in 60-digit decimal arithmetic."""
    with localcontext() as context:
        context.prec = 60
        t = x / Decimal(2).sqrt()
        term = total = t
        n = 0
        while abs(term) > Decimal("1e-55"):
            n += 1
            term = -term * t * t / n
            total += term / (2 * n + 1)
        return (1 + 2 / _PI.sqrt() * total) / 2


@pytest.mark.parametrize("level", sorted(EXACT_Z))
def test_each_z_is_the_double_nearest_to_the_normal_quantile(level):
    exact = Decimal(EXACT_Z[level])
    two_sided = 2 * _normal_cdf(exact) - 1  # the reference value is the quantile of the level
    assert abs(two_sided - Decimal(level)) < Decimal("1e-28")
    assert proportions.Z[level] == float(exact)  # correctly rounded: not one unit in the last place off


@pytest.mark.parametrize(
    "successes, total, lower, upper",
    [
        (1, 10, 0.0179, 0.4042),  # lower bound below 0.1, above 0
        (9, 10, 0.5958, 0.9821),  # upper bound above 0.9, below 1
        (1, 1000, 0.0002, 0.0056),
        (999, 1000, 0.9944, 0.9998),
    ],
)
def test_the_bounds_near_zero_and_one_are_not_clamped(successes, total, lower, upper):
    result = compute("wilson_interval", {"successes": successes, "total": total})
    assert (result["lower"], result["upper"]) == (lower, upper)


@pytest.mark.parametrize("level", sorted(EXACT_Z))
def test_the_bounds_at_0_of_n_and_n_of_n_are_exactly_0_and_1(level):
    # floating point leaves a few 1e-17 on either side at some N (9 of 9 at 95 %, for one)
    for total in range(1, 121):
        assert proportions.wilson(0, total, proportions.Z[level])[0] == 0.0, total
        assert proportions.wilson(total, total, proportions.Z[level])[1] == 1.0, total
        assert proportions.wilson(1, total, proportions.Z[level])[0] > 0.0, total
