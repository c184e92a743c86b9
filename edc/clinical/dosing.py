"""Lymphodepletion doses, CAR-T cell dose and dose-escalation decisions (clinical-rules.md 11-12).

``bsa_lymphodepletion``
    Mosteller BSA (NEJM 1987;317:1098) ``sqrt(height_cm x weight_kg / 3600)`` rounded half-up to 0.01 m²;
    daily dose = mg/m² x BSA rounded half-up to 0.1 mg (decision 15).
    Setting: ``bsa_cap_m2`` (default none: no cap); when set, doses use min(BSA, cap).

``car_t_dose``
    CAR+ viable cells = total nucleated cells x viability % x CAR+ % (whole cells); dose per kg =
    CAR+ viable cells / dosing weight (whole cells/kg). With a planned dose (``planned_dose_per_kg`` or
    ``planned_total_dose``) the deviation is (delivered - planned) / planned, in % rounded half-up to
    0.1, and flagged when beyond the tolerance after rounding (exactly ±20 % is within tolerance).
    Settings: ``dose_tolerance_pct`` (default 20), ``weight_cap_kg`` (default none: actual weight).

``dose_escalation_3plus3``
    Decision at the current dose from the patients treated and evaluable so far and their DLTs:
    0/3 escalate; 1/3 expand_to_6; <= 1/6 escalate; >= 2 DLTs exceeds_mtd (at any cohort size);
    otherwise continue_enrolling. The MTD is the highest dose with <= 1/6 DLT. No settings.

``boin_boundaries``
    BOIN (Liu S, Yuan Y, J R Stat Soc C 2015;64:507-23): escalation boundary lambda_e and
    de-escalation boundary lambda_d for a target DLT rate phi; with ``n_treated`` and ``n_dlt``, the
    decision at the current dose: escalate if the observed rate <= lambda_e, de_escalate if >=
    lambda_d, else stay; and elimination of this and higher doses when n >= 3 and
    Pr(p > phi | data) > cutoff under a Beta(1, 1) prior. Boundaries are returned and compared
    unrounded (published tables truncate them: phi 0.30 gives 0.236 and 0.358).
    Settings: ``subtherapeutic_dlt_rate`` (phi_1, default 0.6 phi), ``overly_toxic_dlt_rate`` (phi_2,
    default 1.4 phi), ``elimination_cutoff`` (default 0.95).
"""

from decimal import Decimal
from fractions import Fraction
from math import comb

from .errors import CalculatorInputError
from .inputs import integer, number, round_half_up
from .registry import calculator


def _positive(inputs, key, *, maximum=None, optional=False):
    value = number(inputs, key, maximum=maximum, optional=optional, allow_none=optional)
    if value is not None and value == 0:
        raise CalculatorInputError(key, "must be greater than 0")
    return value


@calculator(
    "bsa_lymphodepletion",
    rule_version="bsa_lymphodepletion/1",
    source="Mosteller RD, N Engl J Med 1987;317:1098; project decision 15",
    title="BSA (Mosteller) and lymphodepletion daily doses",
)
def bsa_lymphodepletion(inputs):
    """BSA (Mosteller) and lymphodepletion daily doses."""
    height = _positive(inputs, "height_cm", maximum=250)
    weight = _positive(inputs, "weight_kg", maximum=400)
    fludarabine = number(inputs, "fludarabine_mg_m2", maximum=100)
    cyclophosphamide = number(inputs, "cyclophosphamide_mg_m2", maximum=3000)
    cap = _positive(inputs, "bsa_cap_m2", optional=True, maximum=5)
    bsa = round_half_up((height * weight / 3600).sqrt(), "0.01")
    dosing_bsa = bsa if cap is None else min(bsa, cap)
    return {
        "bsa_m2": float(bsa),
        "dosing_bsa_m2": float(dosing_bsa),
        "bsa_capped": dosing_bsa < bsa,
        "fludarabine_mg_per_day": float(round_half_up(fludarabine * dosing_bsa, "0.1")),
        "cyclophosphamide_mg_per_day": float(round_half_up(cyclophosphamide * dosing_bsa, "0.1")),
    }


@calculator(
    "car_t_dose",
    rule_version="car_t_dose/1",
    source="clinical-rules.md section 12.1 (project proposal)",
    title="CAR-T cell dose delivered and deviation from plan",
)
def car_t_dose(inputs):
    """CAR-T cell dose delivered and deviation from plan."""
    total_cells = _positive(inputs, "total_nucleated_cells")
    viability = number(inputs, "viability_pct", maximum=100) / 100
    car_positive = number(inputs, "car_positive_pct", maximum=100) / 100
    weight = _positive(inputs, "dosing_weight_kg", maximum=400)
    weight_cap = _positive(inputs, "weight_cap_kg", optional=True, maximum=400)
    tolerance = number(inputs, "dose_tolerance_pct", optional=True, default=Decimal(20), maximum=100)
    planned_per_kg = _positive(inputs, "planned_dose_per_kg", optional=True)
    planned_total = _positive(inputs, "planned_total_dose", optional=True)
    if planned_per_kg is not None and planned_total is not None:
        raise CalculatorInputError(
            "planned_total_dose", "give planned_dose_per_kg or planned_total_dose, not both"
        )

    dosing_weight = weight if weight_cap is None else min(weight, weight_cap)
    cells = round_half_up(total_cells * viability * car_positive, "1")
    per_kg = round_half_up(cells / dosing_weight, "1")
    result = {
        "car_positive_viable_cells": int(cells),
        "dose_per_kg": int(per_kg),
        "dosing_weight_kg": float(dosing_weight),
        "deviation_pct": None,
        "dose_deviation": None,
    }
    if planned_per_kg is not None or planned_total is not None:
        delivered, planned = (
            (per_kg, planned_per_kg) if planned_per_kg is not None else (cells, planned_total)
        )
        deviation = round_half_up((delivered - planned) / planned * 100, "0.1")
        result["deviation_pct"] = float(deviation)
        result["dose_deviation"] = abs(deviation) > tolerance
    return result


@calculator(
    "dose_escalation_3plus3",
    rule_version="dose_escalation_3plus3/1",
    source="clinical-rules.md section 12.2 (standard 3+3 design)",
    title="3+3 dose-escalation decision",
)
def dose_escalation_3plus3(inputs):
    """3+3 dose-escalation decision."""
    n_treated = integer(inputs, "n_treated", maximum=6)
    n_dlt = integer(inputs, "n_dlt", maximum=n_treated)
    if n_dlt >= 2:
        decision = "exceeds_mtd"
    elif n_treated == 3:
        decision = "escalate" if n_dlt == 0 else "expand_to_6"
    elif n_treated == 6:
        decision = "escalate"
    else:
        decision = "continue_enrolling"
    return {"decision": decision, "n_treated": n_treated, "n_dlt": n_dlt}


def _rate(inputs, key, *, default=None):
    value = number(inputs, key, optional=default is not None, default=default, maximum=1)
    if not 0 < value < 1:
        raise CalculatorInputError(key, "must be between 0 and 1 (exclusive)")
    return value


def probability_above(target: Decimal, n: int, dlt: int) -> Fraction:
    """Pr(p > target | dlt of n) under a Beta(1, 1) prior.

    The posterior is Beta(1 + dlt, 1 + n - dlt), whose upper tail at ``target`` equals
    P(Binomial(n + 1, target) <= dlt); computed exactly.
    """
    phi = Fraction(target)
    return sum((comb(n + 1, k) * phi**k * (1 - phi) ** (n + 1 - k) for k in range(dlt + 1)), Fraction(0))


@calculator(
    "boin_boundaries",
    rule_version="boin_boundaries/1",
    source="Liu S, Yuan Y, J R Stat Soc C 2015;64:507-23",
    title="BOIN escalation and de-escalation boundaries",
)
def boin_boundaries(inputs):
    """BOIN escalation and de-escalation boundaries."""
    phi = _rate(inputs, "target_dlt_rate")
    phi_1 = _rate(inputs, "subtherapeutic_dlt_rate", default=Decimal("0.6") * phi)
    phi_2 = _rate(inputs, "overly_toxic_dlt_rate", default=Decimal("1.4") * phi)
    if not phi_1 < phi:
        raise CalculatorInputError("subtherapeutic_dlt_rate", "must be below target_dlt_rate")
    if not phi < phi_2:
        raise CalculatorInputError("overly_toxic_dlt_rate", "must be above target_dlt_rate")
    cutoff = _rate(inputs, "elimination_cutoff", default=Decimal("0.95"))
    lambda_e = ((1 - phi_1) / (1 - phi)).ln() / (phi * (1 - phi_1) / (phi_1 * (1 - phi))).ln()
    lambda_d = ((1 - phi) / (1 - phi_2)).ln() / (phi_2 * (1 - phi) / (phi * (1 - phi_2))).ln()
    result = {"lambda_e": float(lambda_e), "lambda_d": float(lambda_d)}

    if "n_treated" not in inputs and "n_dlt" not in inputs:
        return result
    n = integer(inputs, "n_treated", minimum=1)
    dlt = integer(inputs, "n_dlt", maximum=n)
    rate = Decimal(dlt) / Decimal(n)
    posterior = probability_above(phi, n, dlt)
    eliminate = n >= 3 and posterior > Fraction(cutoff)
    if rate <= lambda_e:
        decision = "escalate"
    elif rate >= lambda_d or eliminate:
        decision = "de_escalate"
    else:
        decision = "stay"
    return {
        **result,
        "decision": decision,
        "eliminate_dose_and_higher": eliminate,
        "posterior_prob_above_target": float(round(posterior, 4)),
    }
