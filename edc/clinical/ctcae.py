"""CTCAE v5.0 laboratory grades (NCI, 27 Nov 2017), from the value alone.

Each term is a table of grade bands with explicit bounds. A bound is a factor times a reference:
an absolute value in the term's unit, the LLN, the ULN or the participant's baseline. CTCAE writes
"<1.5-1.0" for a band that includes 1.0 and excludes 1.5 (decreased terms) and ">3.0-5.0 x ULN" for
a band that excludes 3.0 and includes 5.0 (increased terms); the bands below say so explicitly.

- A value >= LLN (decreased terms) or <= ULN (increased terms) is grade 0.
- ALT, AST and bilirubin use the baseline bands instead of the ULN bands when a ``baseline`` above
  the ULN is given; without ``baseline`` the baseline-normal (ULN) bands apply.
- Creatinine (decision 13): the higher of the ULN grade and the baseline grade, but a value <= ULN is
  grade 0 whatever the baseline.
- Anaemia grade 4 and every grade 5 are clinical, so the highest grade from the value is 3 for
  anaemia and 4 otherwise.

``lln``, ``uln`` and ``baseline`` are in the same unit as ``value``. No settings.
"""

from dataclasses import dataclass
from decimal import Decimal

from .errors import CalculatorInputError
from .inputs import choice, number
from .registry import calculator
from .units import convert

ABSOLUTE, LLN, ULN, BASELINE = "absolute", "lln", "uln", "baseline"


@dataclass(frozen=True)
class Bound:
    operator: str  # "<", "<=", ">" or ">="
    factor: Decimal
    reference: str

    def holds(self, value: Decimal, references: dict[str, Decimal]) -> bool:
        limit = self.factor if self.reference == ABSOLUTE else self.factor * references[self.reference]
        return {
            "<": value < limit,
            "<=": value <= limit,
            ">": value > limit,
            ">=": value >= limit,
        }[self.operator]


def below(factor, reference=ABSOLUTE):
    return Bound("<", Decimal(factor), reference)


def at_most(factor, reference=ABSOLUTE):
    return Bound("<=", Decimal(factor), reference)


def above(factor, reference=ABSOLUTE):
    return Bound(">", Decimal(factor), reference)


def at_least(factor, reference=ABSOLUTE):
    return Bound(">=", Decimal(factor), reference)


@dataclass(frozen=True)
class Band:
    grade: int
    lower: Bound | None
    upper: Bound | None

    def contains(self, value, references) -> bool:
        return all(bound is None or bound.holds(value, references) for bound in (self.lower, self.upper))


@dataclass(frozen=True)
class Term:
    units: tuple[str, ...]
    normal: Bound  # grade 0 when this holds
    bands: tuple[Band, ...]
    # analyte and unit of units.py in which absolute bounds are written (None: ratio-only term)
    analyte: str | None = None
    unit: str | None = None
    baseline_bands: tuple[Band, ...] = ()
    baseline_rule: str | None = None  # "if_baseline_abnormal" or "higher_grade"


_CELLS = ("10^9/L", "cells/uL")

# CTCAE v5.0 Investigations, "Neutrophil count decreased": <LLN-1500; <1500-1000; <1000-500; <500 /mm3
NEUTROPHIL_BANDS = (
    Band(1, at_least("1.5"), below(1, LLN)),
    Band(2, at_least("1.0"), below("1.5")),
    Band(3, at_least("0.5"), below("1.0")),
    Band(4, None, below("0.5")),
)
# CTCAE v5.0 Investigations, "Platelet count decreased": <LLN-75,000; <75,000-50,000; <50,000-25,000; <25,000
PLATELET_BANDS = (
    Band(1, at_least(75), below(1, LLN)),
    Band(2, at_least(50), below(75)),
    Band(3, at_least(25), below(50)),
    Band(4, None, below(25)),
)
# CTCAE v5.0 Investigations, "Lymphocyte count decreased": <LLN-800; <800-500; <500-200; <200 /mm3
LYMPHOCYTE_BANDS = (
    Band(1, at_least("0.8"), below(1, LLN)),
    Band(2, at_least("0.5"), below("0.8")),
    Band(3, at_least("0.2"), below("0.5")),
    Band(4, None, below("0.2")),
)
# CTCAE v5.0 Investigations, "White blood cell decreased": <LLN-3000; <3000-2000; <2000-1000; <1000 /mm3
WBC_BANDS = (
    Band(1, at_least("3.0"), below(1, LLN)),
    Band(2, at_least("2.0"), below("3.0")),
    Band(3, at_least("1.0"), below("2.0")),
    Band(4, None, below("1.0")),
)
# CTCAE v5.0 Investigations, "CD4 lymphocytes decreased": <LLN-500; <500-200; <200-100; <100 /mm3 [VERIFY]
CD4_BANDS = (
    Band(1, at_least(500), below(1, LLN)),
    Band(2, at_least(200), below(500)),
    Band(3, at_least(100), below(200)),
    Band(4, None, below(100)),
)
# CTCAE v5.0 Blood and lymphatic system disorders, "Anemia": <LLN-100 g/L; <100-80 g/L; <80 g/L
# (grade 4, life-threatening, is clinical). The mmol/L bands of CTCAE (6.2, 4.9) are not exact
# conversions of the g/L ones, so only g/L and g/dL are accepted.
ANAEMIA_BANDS = (
    Band(1, at_least(100), below(1, LLN)),
    Band(2, at_least(80), below(100)),
    Band(3, None, below(80)),
)
# CTCAE v5.0 Investigations, "ALT/AST increased", baseline normal: >ULN-3.0; >3.0-5.0; >5.0-20.0; >20.0 x ULN
TRANSAMINASE_BANDS = (
    Band(1, above(1, ULN), at_most("3.0", ULN)),
    Band(2, above("3.0", ULN), at_most("5.0", ULN)),
    Band(3, above("5.0", ULN), at_most("20.0", ULN)),
    Band(4, above("20.0", ULN), None),
)
# ... baseline abnormal: 1.5-3.0; >3.0-5.0; >5.0-20.0; >20.0 x baseline (grade 1 includes 1.5)
TRANSAMINASE_BASELINE_BANDS = (
    Band(1, at_least("1.5", BASELINE), at_most("3.0", BASELINE)),
    Band(2, above("3.0", BASELINE), at_most("5.0", BASELINE)),
    Band(3, above("5.0", BASELINE), at_most("20.0", BASELINE)),
    Band(4, above("20.0", BASELINE), None),
)
# CTCAE v5.0 Investigations, "Blood bilirubin increased", baseline normal: >ULN-1.5; >1.5-3.0; >3.0-10.0;
# >10.0 x ULN
BILIRUBIN_BANDS = (
    Band(1, above(1, ULN), at_most("1.5", ULN)),
    Band(2, above("1.5", ULN), at_most("3.0", ULN)),
    Band(3, above("3.0", ULN), at_most("10.0", ULN)),
    Band(4, above("10.0", ULN), None),
)
# ... baseline abnormal: >1.0-1.5; >1.5-3.0; >3.0-10.0; >10.0 x baseline
BILIRUBIN_BASELINE_BANDS = (
    Band(1, above("1.0", BASELINE), at_most("1.5", BASELINE)),
    Band(2, above("1.5", BASELINE), at_most("3.0", BASELINE)),
    Band(3, above("3.0", BASELINE), at_most("10.0", BASELINE)),
    Band(4, above("10.0", BASELINE), None),
)
# CTCAE v5.0 Investigations, "Creatinine increased": >ULN-1.5; >1.5-3.0; >3.0-6.0; >6.0 x ULN
CREATININE_BANDS = (
    Band(1, above(1, ULN), at_most("1.5", ULN)),
    Band(2, above("1.5", ULN), at_most("3.0", ULN)),
    Band(3, above("3.0", ULN), at_most("6.0", ULN)),
    Band(4, above("6.0", ULN), None),
)
# ... and by baseline: grade 2 >1.5-3.0 x baseline; grade 3 >3.0 x baseline
CREATININE_BASELINE_BANDS = (
    Band(2, above("1.5", BASELINE), at_most("3.0", BASELINE)),
    Band(3, above("3.0", BASELINE), None),
)

_TRANSAMINASE = Term(
    units=("U/L",),
    normal=at_most(1, ULN),
    bands=TRANSAMINASE_BANDS,
    baseline_bands=TRANSAMINASE_BASELINE_BANDS,
    baseline_rule="if_baseline_abnormal",
)

TERMS: dict[str, Term] = {
    "neutrophil_count_decreased": Term(_CELLS, at_least(1, LLN), NEUTROPHIL_BANDS, "neutrophils", "10^9/L"),
    "platelet_count_decreased": Term(_CELLS, at_least(1, LLN), PLATELET_BANDS, "platelets", "10^9/L"),
    "lymphocyte_count_decreased": Term(_CELLS, at_least(1, LLN), LYMPHOCYTE_BANDS, "lymphocytes", "10^9/L"),
    "wbc_decreased": Term(_CELLS, at_least(1, LLN), WBC_BANDS, "wbc", "10^9/L"),
    "cd4_lymphocytes_decreased": Term(_CELLS, at_least(1, LLN), CD4_BANDS, "cd4_lymphocytes", "cells/uL"),
    "anemia": Term(("g/L", "g/dL"), at_least(1, LLN), ANAEMIA_BANDS, "haemoglobin", "g/L"),
    "alt_increased": _TRANSAMINASE,
    "ast_increased": _TRANSAMINASE,
    "blood_bilirubin_increased": Term(
        units=("mg/dL", "umol/L"),
        normal=at_most(1, ULN),
        bands=BILIRUBIN_BANDS,
        baseline_bands=BILIRUBIN_BASELINE_BANDS,
        baseline_rule="if_baseline_abnormal",
    ),
    "creatinine_increased": Term(
        units=("mg/dL", "umol/L"),
        normal=at_most(1, ULN),
        bands=CREATININE_BANDS,
        baseline_bands=CREATININE_BASELINE_BANDS,
        baseline_rule="higher_grade",
    ),
}


def grade_in(bands: tuple[Band, ...], value: Decimal, references: dict[str, Decimal]) -> int:
    return next((band.grade for band in bands if band.contains(value, references)), 0)


def _positive(inputs, key, *, optional=False):
    value = number(inputs, key, optional=optional, allow_none=optional)
    if value is not None and value == 0:
        raise CalculatorInputError(key, "must be greater than 0")
    return value


@calculator(
    "ctcae_v5_labs",
    rule_version="ctcae_v5_labs/1",
    source="NCI CTCAE v5.0 (27 Nov 2017); creatinine per project decision 13",
    title="CTCAE v5.0 laboratory grade",
)
def ctcae_v5_labs(inputs):
    """CTCAE v5.0 laboratory grade."""
    parameter = choice(inputs, "parameter", TERMS)
    term = TERMS[parameter]
    unit = choice(inputs, "unit", term.units)
    value = number(inputs, "value")
    references = {term.normal.reference: _positive(inputs, term.normal.reference)}
    baseline = _positive(inputs, "baseline", optional=True) if term.baseline_rule else None

    if term.analyte:  # absolute bounds: bring value and LLN to the unit the bands are written in
        value = convert(term.analyte, value, unit, term.unit)
        references[LLN] = convert(term.analyte, references[LLN], unit, term.unit)

    result = {"ctcae_grade": 0, "parameter": parameter, "grading_basis": term.normal.reference}
    if term.normal.holds(value, references):
        return result
    grade = grade_in(term.bands, value, references)
    if baseline is not None:
        references[BASELINE] = baseline
        baseline_grade = grade_in(term.baseline_bands, value, references)
        if term.baseline_rule == "higher_grade":
            grade = max(grade, baseline_grade)
            result["grading_basis"] = "uln_and_baseline"
        elif baseline > references[ULN]:
            grade = baseline_grade
            result["grading_basis"] = "baseline"
    result["ctcae_grade"] = grade
    return result
