"""Proportions with their confidence interval, for the study dashboards (responders n of N per visit).

``wilson_interval``
    ``successes``, ``total`` (whole numbers, ``successes`` ≤ ``total``, ``total`` ≥ 1)
    -> ``proportion``, ``lower``, ``upper`` (0-1, rounded to 0.0001), ``confidence``.
    ⚙ ``confidence``: 0.90, 0.95 (default) or 0.99.

The Wilson score interval (Wilson EB, J Am Stat Assoc 1927;22:209-12) keeps its bounds inside 0-1 and
behaves at 0/N and N/N, where the Wald interval collapses to a point (Brown, Cai, DasGupta, Stat Sci
2001;16:101-33 recommend it for small N, which a phase 1 cohort is).
"""

import math
from decimal import Decimal, InvalidOperation

from .errors import CalculatorInputError
from .inputs import choice, integer
from .registry import calculator

# Two-sided standard normal quantiles, each the double nearest to the exact value (1.64485362695147271...,
# 1.95996398454005423..., 2.57582930354890076...).
Z = {"0.90": 1.6448536269514726, "0.95": 1.9599639845400543, "0.99": 2.575829303548901}


def wilson(successes: int, total: int, z: float = Z["0.95"]) -> tuple[float, float]:
    """Lower and upper bound of the Wilson score interval (unrounded)."""
    p = successes / total
    z2 = z * z
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / (1 + z2 / total)
    # At 0/N and N/N the bound is exactly 0 or 1; floating point leaves a few 1e-17 either side.
    lower = 0.0 if successes == 0 else max(0.0, centre - half)
    upper = 1.0 if successes == total else min(1.0, centre + half)
    return lower, upper


@calculator(
    "wilson_interval",
    rule_version="wilson_interval/1",
    source="Wilson EB, J Am Stat Assoc 1927;22:209-12",
    title="Proportion with its Wilson score confidence interval",
)
def wilson_interval(inputs):
    total = integer(inputs, "total", minimum=1)
    successes = integer(inputs, "successes")
    if successes > total:
        raise CalculatorInputError("successes", f"must be at most total ({total}), got {successes}")
    raw = inputs.get("confidence", "0.95")
    try:
        written = f"{Decimal(str(raw)):.2f}"  # 0.9, "0.90" and 0.90 name the same level
    except InvalidOperation:
        written = str(raw)
    confidence = choice({"confidence": written}, "confidence", tuple(Z))
    lower, upper = wilson(successes, total, Z[confidence])
    return {
        "proportion": round(successes / total, 4),
        "lower": round(lower, 4),
        "upper": round(upper, 4),
        "confidence": float(confidence),
    }
