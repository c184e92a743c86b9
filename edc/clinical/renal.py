"""Creatinine clearance by Cockcroft-Gault (Cockcroft DW, Gault MH, Nephron 1976;16:31-41).

Decision 14: the caller passes the actual body weight; µmol/L is converted to mg/dL (/ 88.4) before
the formula ``(140 - age) x weight / (72 x SCr[mg/dL])``, x 0.85 for women; the result is rounded
half-up to 0.1 mL/min and the eligibility threshold (>= 30 mL/min) is applied after rounding. The SI
shortcut with K = 1.23 / 1.04 is deliberately not used. Adults only (age 18-120). No settings.
"""

import math
from decimal import Decimal
from fractions import Fraction

from .errors import CalculatorInputError
from .inputs import choice, number
from .registry import calculator
from .units import convert_exact

FEMALE_FACTOR = Fraction("0.85")
ELIGIBLE_CRCL_ML_MIN = Decimal(30)


@calculator(
    "cockcroft_gault",
    rule_version="cockcroft_gault/1",
    source="Cockcroft DW, Gault MH, Nephron 1976;16:31-41; project decision 14",
    title="Creatinine clearance (Cockcroft-Gault)",
)
def cockcroft_gault(inputs):
    """Creatinine clearance (Cockcroft-Gault)."""
    age = number(inputs, "age_years", minimum=18, maximum=120)
    weight = number(inputs, "weight_kg", maximum=400)
    if weight == 0:
        raise CalculatorInputError("weight_kg", "must be greater than 0")
    sex = choice(inputs, "sex", ("M", "F"))
    creatinine = number(inputs, "serum_creatinine")
    if creatinine == 0:
        raise CalculatorInputError("serum_creatinine", "must be greater than 0")
    unit = choice(inputs, "creatinine_unit", ("mg/dL", "umol/L"))
    # exact arithmetic, so that a clearance of exactly x.x5 rounds up whatever the unit
    creatinine_mg_dl = convert_exact("creatinine", creatinine, unit, "mg/dL")
    crcl = (140 - Fraction(age)) * Fraction(weight) / (72 * creatinine_mg_dl)
    if sex == "F":
        crcl *= FEMALE_FACTOR
    crcl_tenths = Decimal(math.floor(crcl * 10 + Fraction(1, 2))) / 10
    return {
        "crcl_ml_min": float(crcl_tenths),
        "eligible_crcl_ge_30": crcl_tenths >= ELIGIBLE_CRCL_ML_MIN,
        "serum_creatinine_mg_dl": float(creatinine_mg_dl),
    }
