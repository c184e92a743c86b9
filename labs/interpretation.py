"""What a laboratory value means: its standard-unit value, the H/L flag and the CTCAE grade.

Pure arithmetic over the entered value, the analyte's row of ``labs.analytes`` and the applicable
reference range (any object with ``unit``, ``lln`` and ``uln``); conversions and grades come from
``edc.clinical``, so the entry page, its live preview and the stored result agree.

The flag compares the value with the range in the range's own unit, exactly (fractions): a value at
the LLN or at the ULN is normal. Stored numbers are rounded half-up to 6 decimal places.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from edc.clinical import CalculatorInputError, compute
from edc.clinical.units import convert_exact

from .analytes import Analyte

PLACES = Decimal("0.000001")
CTCAE = "ctcae_v5_labs"


@dataclass(frozen=True)
class Interpretation:
    standard_value: Decimal | None = None
    standard_unit: str = ""
    unit: str = ""  # the entered unit
    lln: Decimal | None = None  # in the entered unit
    uln: Decimal | None = None
    reference_range: object = None
    flag: str = ""
    ctcae_grade: int | None = None
    rule_version: str = ""


def exact(spec: Analyte, value, from_unit: str, to_unit: str) -> Fraction:
    """``value`` converted between two accepted units of ``spec``, as an exact fraction."""
    if from_unit == to_unit:
        return Fraction(Decimal(value))
    return convert_exact(spec.conversion, value, from_unit, to_unit)


def rounded(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(PLACES, ROUND_HALF_UP)


def convertible(spec: Analyte, value, unit: str) -> bool:
    return value is not None and spec.quantitative and unit in spec.units and value >= 0


def interpret(spec: Analyte, value: Decimal | None, unit: str, reference_range=None) -> Interpretation:
    """The interpretation of ``value`` (in ``unit``) against ``reference_range`` (or none)."""
    if not convertible(spec, value, unit):
        return Interpretation()
    standard_unit = spec.standard_unit
    standard = rounded(exact(spec, value, unit, standard_unit))
    flag, lln, uln, limits = "", None, None, {}
    rr = reference_range
    if rr is not None:
        in_range_unit = exact(spec, value, unit, rr.unit)
        if rr.lln is not None:
            lln = rounded(exact(spec, rr.lln, rr.unit, unit))
            limits["lln"] = str(rounded(exact(spec, rr.lln, rr.unit, standard_unit)))
            if in_range_unit < Fraction(rr.lln):
                flag = "L"
        if rr.uln is not None:
            uln = rounded(exact(spec, rr.uln, rr.unit, unit))
            limits["uln"] = str(rounded(exact(spec, rr.uln, rr.unit, standard_unit)))
            if in_range_unit > Fraction(rr.uln):
                flag = "H"
    grade, version = None, ""
    if spec.ctcae:
        try:
            graded = compute(CTCAE, ctcae_inputs(spec, standard, limits))
        except CalculatorInputError:  # no reference limit to grade against: not graded
            pass
        else:
            grade, version = graded["ctcae_grade"], graded["rule_version"]
    return Interpretation(standard, standard_unit, unit, lln, uln, rr, flag, grade, version)


def ctcae_inputs(spec: Analyte, standard_value: Decimal, limits: dict) -> dict:
    """The ``ctcae_v5_labs`` inputs for a value and its range limits, both in the standard unit."""
    return {"parameter": spec.ctcae, "value": str(standard_value), "unit": spec.standard_unit, **limits}
