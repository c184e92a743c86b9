"""Unit conversions for the analytes of clinical-rules.md section 10.

Each analyte has a reference unit and, for every accepted unit, the exact factor (and offset, for
temperature) that takes a value to the reference unit: ``reference = value * factor + offset``.
Factors are exact fractions and the arithmetic is exact until the final ``Decimal``, so a value
converted there and back reproduces itself to its own precision (28 significant digits are kept;
factors that are finite decimals, such as 88.4, round-trip exactly). Rounding for display or grading
is the caller's job (e.g. CRS rounds temperatures to 0.1 °C).
"""

from decimal import Decimal
from fractions import Fraction

from .errors import CalculatorInputError
from .inputs import choice, number
from .registry import calculator

_CELL_COUNT = {"10^9/L": Fraction(1), "10^3/uL": Fraction(1), "cells/uL": Fraction(1, 1000)}
_PROTEIN_MG_DL = {"g/L": Fraction(1), "mg/dL": Fraction(1, 100)}

# analyte -> {unit: (factor, offset) to the analyte's first unit}
CONVERSIONS: dict[str, dict[str, tuple[Fraction, Fraction]]] = {
    # creatinine 113.12 g/mol: 1 mg/dL = 10 mg/L / 113.12 g/mol = 88.4 µmol/L (KDIGO; section 10)
    "creatinine": {"umol/L": (Fraction(1), Fraction(0)), "mg/dL": (Fraction("88.4"), Fraction(0))},
    # bilirubin 584.66 g/mol: 1 mg/dL = 17.1 µmol/L (section 10)
    "bilirubin": {"umol/L": (Fraction(1), Fraction(0)), "mg/dL": (Fraction("17.1"), Fraction(0))},
    # g/dL x 10 = g/L; g/dL x 0.6206 = mmol/L (haem monomer 16.1 kDa; section 10)
    "haemoglobin": {
        "g/L": (Fraction(1), Fraction(0)),
        "g/dL": (Fraction(10), Fraction(0)),
        "mmol/L": (Fraction(10) / Fraction("0.6206"), Fraction(0)),
    },
    # 10^3/µL = 10^9/L; cells/µL / 1000 = 10^9/L (section 10)
    **{
        analyte: {unit: (factor, Fraction(0)) for unit, factor in _CELL_COUNT.items()}
        for analyte in ("neutrophils", "lymphocytes", "wbc", "platelets", "cd4_lymphocytes", "cd19_b_cells")
    },
    # mg/dL / 100 = g/L (section 10)
    **{
        analyte: {unit: (factor, Fraction(0)) for unit, factor in _PROTEIN_MG_DL.items()}
        for analyte in ("c3", "c4", "igg", "iga", "igm")
    },
    # mg/dL x 10 = mg/L (section 10)
    "crp": {"mg/L": (Fraction(1), Fraction(0)), "mg/dL": (Fraction(10), Fraction(0))},
    # ng/mL = µg/L (section 10)
    "ferritin": {"ug/L": (Fraction(1), Fraction(0)), "ng/mL": (Fraction(1), Fraction(0))},
    # mg/mg = g/g; mg/mmol x 8.84 = mg/g (creatinine 113.12 g/mol; 0.5 g/g = 56.6 mg/mmol; section 10)
    "upcr": {
        "g/g": (Fraction(1), Fraction(0)),
        "mg/mg": (Fraction(1), Fraction(0)),
        "mg/g": (Fraction(1, 1000), Fraction(0)),
        "mg/mmol": (Fraction("8.84") / 1000, Fraction(0)),
    },
    # °C = (°F - 32) x 5/9 (section 10)
    "temperature": {"C": (Fraction(1), Fraction(0)), "F": (Fraction(5, 9), Fraction(-160, 9))},
}

# Only temperature can be negative; concentrations and counts cannot.
_SIGNED = {"temperature"}


def _to_decimal(value: Fraction) -> Decimal:
    return Decimal(value.numerator) / Decimal(value.denominator)


def convert_exact(analyte: str, value, from_unit: str, to_unit: str) -> Fraction:
    """``value`` of ``analyte`` in ``to_unit``, as an exact fraction (errors name the input key)."""
    analyte = choice({"analyte": analyte}, "analyte", CONVERSIONS)
    units = CONVERSIONS[analyte]
    from_unit = choice({"from": from_unit}, "from", units)
    to_unit = choice({"to": to_unit}, "to", units)
    amount = number({"value": value}, "value", minimum=None if analyte in _SIGNED else 0)
    factor_in, offset_in = units[from_unit]
    factor_out, offset_out = units[to_unit]
    return (Fraction(amount) * factor_in + offset_in - offset_out) / factor_out


def convert(analyte: str, value, from_unit: str, to_unit: str) -> Decimal:
    """Convert ``value`` of ``analyte`` from ``from_unit`` to ``to_unit`` (errors name the input key)."""
    return _to_decimal(convert_exact(analyte, value, from_unit, to_unit))


@calculator(
    "unit_conversions",
    rule_version="unit_conversions/1",
    source="clinical-rules.md section 10 (conventional factors: creatinine 88.4, bilirubin 17.1, Hb 0.6206)",
    title="Laboratory unit conversion",
)
def unit_conversions(inputs):
    """Laboratory unit conversion."""
    analyte = choice(inputs, "analyte", CONVERSIONS)
    for key in ("value", "from", "to"):
        if key not in inputs:
            raise CalculatorInputError(key, "is required")
    result = convert(analyte, inputs["value"], inputs["from"], inputs["to"])
    return {"value": float(result), "unit": inputs["to"], "analyte": analyte}


# UCUM codes (https://ucum.org, as FHIR's valueQuantity.code carries them) and the spellings laboratory
# reports print, to the unit codes above. Annotations in braces ({cells}/uL) carry no meaning in UCUM
# and are dropped before the lookup; "µ" and "μ" are read as "u", "×10⁹" as "10^9".
_UCUM = {
    "10*9/L": "10^9/L",
    "10*3/uL": "10^3/uL",
    "10*3/mm3": "10^3/uL",
    "/uL": "cells/uL",
    "/mm3": "cells/uL",
    "cells/uL": "cells/uL",
    "umol/L": "umol/L",
    "mmol/L": "mmol/L",
    "mg/dL": "mg/dL",
    "g/dL": "g/dL",
    "g/L": "g/L",
    "mg/L": "mg/L",
    "ug/L": "ug/L",
    "ng/mL": "ng/mL",
    "pg/mL": "pg/mL",
    "U/L": "U/L",
    "[IU]/L": "U/L",
    "[IU]/mL": "IU/mL",
    "IU/mL": "IU/mL",
    "m[IU]/mL": "mIU/mL",
    "mIU/mL": "mIU/mL",
    "s": "s",
    "sec": "s",
    "1": "ratio",
    "ratio": "ratio",
    "g/g": "g/g",
    "mg/mg": "mg/mg",
    "mg/g": "mg/g",
    "mg/mmol": "mg/mmol",
    "g/(24.h)": "g/24h",
    "g/24.h": "g/24h",
    "g/24h": "g/24h",
    "/[HPF]": "/[HPF]",
    "[copies]/mL": "copies/mL",
    "copies/mL": "copies/mL",
}


def unit_from_ucum(text: str) -> str | None:
    """The unit code of this module for a UCUM code or a printed unit (``10*9/L``, ``×10⁹/L``,
    ``{cells}/uL``, ``µmol/L``), or None when it is not one of the units the project knows."""
    if not isinstance(text, str):
        return None
    unit = text.strip().replace("µ", "u").replace("μ", "u").replace(" ", "")
    unit = unit.replace("10⁹", "10^9").replace("10³", "10^3")
    for prefix in ("×", "x"):
        if unit.startswith(prefix + "10"):
            unit = unit[len(prefix) :]
    unit = unit.replace("10^", "10*")
    while "{" in unit and "}" in unit[unit.index("{") :]:  # annotations: {cells}/uL, {ratio}
        start = unit.index("{")
        unit = unit[:start] + unit[unit.index("}", start) + 1 :]
    if unit.startswith("/") and unit != "/[HPF]" and unit[1:] in ("uL", "mm3"):
        return _UCUM[unit]
    return _UCUM.get(unit or "1")
