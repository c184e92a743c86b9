"""SLEDAI-2K and SELENA-SLEDAI (``clinical-rules.md`` section 1; decisions 6, 7 and 18 of section 14).

``present`` always lists the descriptors the investigator marked present within the look-back *and*
attributable to SLE. Decision 7: fever, leukopenia or thrombocytopenia caused by lymphodepletion, CAR-T,
CRS or infection are left out. A duplicate key counts once.

Calculators, with their optional settings (⚙, defaults from section 14):

``sledai_2k_total``
    ``present`` -> ``sledai_2k``, ``clinical_sledai``, ``serology_points``, ``descriptors``.
    ⚙ ``look_back_days`` (default 10) is echoed with the result; it does not change the arithmetic.

``sledai_2k_lab_thresholds``
    ``descriptor``, ``value``, ``unit``, ``attributable_to_sle`` (required); ``lln`` (``low_complement``)
    or ``uln`` (``increased_dna_binding``) in the unit of ``value``; ``status`` (``abnormal``/``normal``:
    serology reported without a number, ``value`` may then be omitted); ``days_before_visit`` (sample age)
    -> ``scored``, ``points``, ``threshold_met``, ``within_look_back``, ``compared_value``, ``compared_unit``.
    ⚙ ``look_back_days`` (default 10): an older sample does not score.
    ⚙ ``arthritis_min_joints`` (default 2, decision 18) for descriptor ``arthritis`` (unit ``joints``).

``selena_sledai_total``
    ``present``; ``course`` (descriptor -> ``new``/``recurrent``/``persistent``/``worsened``), needed for
    ``proteinuria`` and, under the ``new_or_recurrent`` rule, ``rash``/``alopecia``/``mucosal_ulcers``;
    ``proteinuria_g_24h`` and ``proteinuria_previous_g_24h`` when proteinuria has ``worsened``
    -> ``selena_sledai``, ``descriptors``.
    ⚙ ``proteinuria_rule``: ``selena`` (default) or ``hybrid`` (the SLEDAI-2K rule, belimumab trials).
    ⚙ ``mucocutaneous_rule``: ``new_or_ongoing`` (default, as SLEDAI-2K) or ``new_or_recurrent``
    [VERIFY against the SELENA instrument].
    ⚙ ``look_back_days`` (default 10), echoed.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from .errors import CalculatorInputError
from .inputs import boolean, choice, integer, mapping, number, round_half_up, string_list
from .registry import calculator

SLEDAI_2K_SOURCE = "Gladman DD et al., J Rheumatol 2002;29:288-91"
SELENA_SOURCE = "Petri M et al., NEJM 2005;353:2550-58; Buyon JP et al., Ann Intern Med 2005;142:953-62"
DEFAULT_LOOK_BACK_DAYS = 10  # Gladman 2002; decision 6
DEFAULT_ARTHRITIS_MIN_JOINTS = 2  # decision 18; the 1992 and SELENA wording reads "more than 2"


@dataclass(frozen=True)
class Descriptor:
    key: str
    weight: int
    label: str
    system: str
    serology: bool = False
    selena_differs: bool = False  # SELENA-SLEDAI words or scores it differently (section 1.3)


# Gladman 2002: 24 descriptors, full weight when present, 0-105 in total.
DESCRIPTORS = (
    Descriptor("seizure", 8, "Seizure", "cns"),
    Descriptor("psychosis", 8, "Psychosis", "cns"),
    Descriptor("organic_brain_syndrome", 8, "Organic brain syndrome", "cns"),
    Descriptor("visual_disturbance", 8, "Visual disturbance", "cns", selena_differs=True),
    Descriptor("cranial_nerve_disorder", 8, "Cranial nerve disorder", "cns", selena_differs=True),
    Descriptor("lupus_headache", 8, "Lupus headache", "cns"),
    Descriptor("cva", 8, "Cerebrovascular accident", "cns", selena_differs=True),
    Descriptor("vasculitis", 8, "Vasculitis", "vascular"),
    Descriptor("arthritis", 4, "Arthritis", "musculoskeletal", selena_differs=True),
    Descriptor("myositis", 4, "Myositis", "musculoskeletal"),
    Descriptor("urinary_casts", 4, "Urinary casts", "renal"),
    Descriptor("haematuria", 4, "Haematuria", "renal"),
    Descriptor("proteinuria", 4, "Proteinuria", "renal", selena_differs=True),
    Descriptor("pyuria", 4, "Pyuria", "renal"),
    Descriptor("rash", 2, "Rash", "mucocutaneous", selena_differs=True),
    Descriptor("alopecia", 2, "Alopecia", "mucocutaneous", selena_differs=True),
    Descriptor("mucosal_ulcers", 2, "Mucosal ulcers", "mucocutaneous", selena_differs=True),
    Descriptor("pleurisy", 2, "Pleurisy", "serosal", selena_differs=True),
    Descriptor("pericarditis", 2, "Pericarditis", "serosal", selena_differs=True),
    Descriptor("low_complement", 2, "Low complement", "immunological", serology=True),
    Descriptor(
        "increased_dna_binding",
        2,
        "Increased DNA binding",
        "immunological",
        serology=True,
        selena_differs=True,
    ),
    Descriptor("fever", 1, "Fever", "constitutional"),
    Descriptor("thrombocytopenia", 1, "Thrombocytopenia", "haematological"),
    Descriptor("leukopenia", 1, "Leukopenia", "haematological"),
)
KEYS = tuple(d.key for d in DESCRIPTORS)
WEIGHTS = {d.key: d.weight for d in DESCRIPTORS}
SEROLOGY = frozenset(d.key for d in DESCRIPTORS if d.serology)
MAX_SLEDAI_2K = sum(WEIGHTS.values())

COURSES = ("new", "recurrent", "persistent", "worsened")
# Section 1.3: SELENA scores these on their course, not merely on presence.
SELENA_MUCOCUTANEOUS = ("rash", "alopecia", "mucosal_ulcers")
SELENA_PROTEINURIA_INCREASE_G_24H = Decimal("0.5")  # "new onset or recent increase of more than 0.5 g/24 h"


@dataclass(frozen=True)
class LabThreshold:
    comparison: str  # "<" or ">": every SLEDAI-2K threshold is strict, a value at the limit does not score
    limit: Decimal
    unit: str
    to_unit: Mapping[str, Decimal]  # accepted unit -> factor converting it to ``unit``

    def met_by(self, value: Decimal) -> bool:
        """Whether ``value`` (in ``unit``) is beyond the limit, strictly."""
        return value < self.limit if self.comparison == "<" else value > self.limit


_COUNT_UNITS = {"10^9/L": Decimal(1), "10^3/uL": Decimal(1), "cells/uL": Decimal("0.001")}
# Proteinuria by spot UPCR (mg/mmol x 8.84 = mg/g) stands in for 24-h protein [PROPOSAL, section 1.2].
_UPCR_UNITS = {
    "g/g": Decimal(1),
    "mg/mg": Decimal(1),
    "mg/g": Decimal("0.001"),
    "mg/mmol": Decimal("0.00884"),
}
_PROTEINURIA_UNITS = {"g/24h": Decimal(1), "mg/24h": Decimal("0.001"), **_UPCR_UNITS}

# Gladman 2002 definitions (clinical-rules.md 1.2) and the conversions of section 10.
LAB_THRESHOLDS = {
    "fever": LabThreshold(">", Decimal("38.0"), "C", {"C": Decimal(1)}),  # °F handled in _compared
    "thrombocytopenia": LabThreshold("<", Decimal(100), "10^9/L", _COUNT_UNITS),
    "leukopenia": LabThreshold("<", Decimal("3.0"), "10^9/L", _COUNT_UNITS),
    "haematuria": LabThreshold(">", Decimal(5), "RBC/HPF", {"RBC/HPF": Decimal(1)}),
    "pyuria": LabThreshold(">", Decimal(5), "WBC/HPF", {"WBC/HPF": Decimal(1)}),
    "proteinuria": LabThreshold(">", Decimal("0.5"), "g/24h", _PROTEINURIA_UNITS),
}
# Serology is judged against the reporting lab's own limits, so the unit is recorded, not converted.
SEROLOGY_UNITS = {
    "low_complement": ("g/L", "mg/dL", "U/mL"),
    "increased_dna_binding": ("IU/mL", "U/mL", "%", "index"),
}
LAB_DESCRIPTORS = (*LAB_THRESHOLDS, *SEROLOGY_UNITS, "arthritis")


def read_present(inputs: Mapping, key: str = "present") -> frozenset[str]:
    """Descriptor keys listed under ``key``, duplicates dropped."""
    return frozenset(string_list(inputs, key, allowed=KEYS))


def sledai_score(present: Iterable[str]) -> int:
    return sum(WEIGHTS[key] for key in set(present))


def clinical_sledai_score(present: Iterable[str]) -> int:
    """SLEDAI without ``low_complement`` and ``increased_dna_binding`` (used by DORIS)."""
    return sledai_score(set(present) - SEROLOGY)


def in_table_order(keys: Iterable[str]) -> list[str]:
    keys = set(keys)
    return [key for key in KEYS if key in keys]


def _look_back_days(inputs) -> int:
    return integer(inputs, "look_back_days", optional=True, minimum=1, default=DEFAULT_LOOK_BACK_DAYS)


@calculator(
    "sledai_2k_total",
    rule_version="sledai_2k/1",
    source=SLEDAI_2K_SOURCE,
    title="SLEDAI-2K and clinical SLEDAI from the descriptors present",
)
def sledai_2k_total(inputs):
    present = read_present(inputs)
    return {
        "sledai_2k": sledai_score(present),
        "clinical_sledai": clinical_sledai_score(present),
        "serology_points": sledai_score(present & SEROLOGY),
        "descriptors": in_table_order(present),
        "look_back_days": _look_back_days(inputs),
    }


def _compared(inputs, descriptor: str) -> tuple[Decimal, str]:
    """The measured value in the unit of the threshold."""
    rule = LAB_THRESHOLDS[descriptor]
    units = ("C", "F") if descriptor == "fever" else tuple(rule.to_unit)
    unit = choice(inputs, "unit", units)
    value = number(inputs, "value")
    if descriptor == "fever":
        celsius = (value - 32) * 5 / 9 if unit == "F" else value
        return round_half_up(celsius, "0.1"), "C"  # temperatures compare at 0.1 °C (calculators.md)
    return value * rule.to_unit[unit], "g/g" if unit in _UPCR_UNITS else rule.unit


def _serology_met(inputs, descriptor: str) -> tuple[bool, Decimal | None, str | None]:
    status = choice(inputs, "status", ("abnormal", "normal"), optional=True)
    value = number(inputs, "value", optional=status is not None, allow_none=status is not None)
    if value is None:
        return status == "abnormal", None, None
    unit = choice(inputs, "unit", SEROLOGY_UNITS[descriptor])
    # A value exactly at the lab's limit is not abnormal (section 1.2).
    met = value < number(inputs, "lln") if descriptor == "low_complement" else value > number(inputs, "uln")
    if status is not None and met != (status == "abnormal"):
        raise CalculatorInputError("status", f"{status!r} disagrees with the value and the lab limit")
    return met, value, unit


# SLEDAI-2K scores proteinuria that is new, recurrent or *persistent* (Gladman 2002): a site may know that
# proteinuria above 0.5 g/24 h persists from an earlier collection and record it as a status without a
# new value. A value, when given as well, must agree with the status.
STATUS_DESCRIPTORS = ("proteinuria",)


def _status_met(inputs, descriptor: str) -> tuple[bool, Decimal | None, str | None]:
    status = choice(inputs, "status", ("abnormal", "normal"))
    if inputs.get("value") is None:
        return status == "abnormal", None, None
    value, unit = _compared(inputs, descriptor)
    met = LAB_THRESHOLDS[descriptor].met_by(value)
    if met != (status == "abnormal"):
        raise CalculatorInputError("status", f"{status!r} disagrees with the value and the threshold")
    return met, value, unit


@calculator(
    "sledai_2k_lab_thresholds",
    rule_version="sledai_2k/1",
    source=SLEDAI_2K_SOURCE,
    title="Whether a measurement scores its SLEDAI-2K descriptor",
)
def sledai_2k_lab_thresholds(inputs):
    descriptor = choice(inputs, "descriptor", LAB_DESCRIPTORS)
    attributable = boolean(inputs, "attributable_to_sle")
    if descriptor in SEROLOGY_UNITS:
        met, value, unit = _serology_met(inputs, descriptor)
    elif descriptor in STATUS_DESCRIPTORS and inputs.get("status") is not None:
        met, value, unit = _status_met(inputs, descriptor)
    elif "status" in inputs:
        raise CalculatorInputError(
            "status", "applies only to low_complement, increased_dna_binding and proteinuria"
        )
    elif descriptor == "arthritis":
        choice(inputs, "unit", ("joints",))
        value = Decimal(integer(inputs, "value"))
        minimum = integer(
            inputs, "arthritis_min_joints", optional=True, minimum=1, default=DEFAULT_ARTHRITIS_MIN_JOINTS
        )
        met, unit = value >= minimum, "joints"
    else:
        value, unit = _compared(inputs, descriptor)
        met = LAB_THRESHOLDS[descriptor].met_by(value)
    look_back = _look_back_days(inputs)
    days_before = integer(inputs, "days_before_visit", optional=True)
    within = None if days_before is None else days_before <= look_back
    scored = met and attributable and within is not False
    return {
        "descriptor": descriptor,
        "scored": scored,
        "points": WEIGHTS[descriptor] if scored else 0,
        "threshold_met": met,
        "attributable_to_sle": attributable,
        "within_look_back": within,
        "look_back_days": look_back,
        "compared_value": None if value is None else float(value),
        "compared_unit": unit,
    }


def _course(courses: Mapping, key: str) -> str:
    return choice({f"course.{k}": v for k, v in courses.items()}, f"course.{key}", COURSES)


def _selena_proteinuria_scores(inputs, course: str) -> bool:
    """SELENA: new onset, or a recent increase of more than 0.5 g/24 h; persistent does not score."""
    if course in ("new", "recurrent"):  # a recurrence is a new onset of that episode [VERIFY]
        return True
    if course == "persistent":
        return False
    current = number(inputs, "proteinuria_g_24h")
    if current <= LAB_THRESHOLDS["proteinuria"].limit:
        raise CalculatorInputError("proteinuria_g_24h", "must be above 0.5 when proteinuria is present")
    return current - number(inputs, "proteinuria_previous_g_24h") > SELENA_PROTEINURIA_INCREASE_G_24H


@calculator(
    "selena_sledai_total",
    rule_version="selena_sledai/1",
    source=SELENA_SOURCE,
    title="SELENA-SLEDAI from the same descriptor entry as SLEDAI-2K",
)
def selena_sledai_total(inputs):
    present = read_present(inputs)
    courses = mapping(inputs, "course", optional=True, default={})
    for key in courses:
        if key not in KEYS:
            raise CalculatorInputError(f"course.{key}", "is not a SLEDAI descriptor")
        _course(courses, key)
    proteinuria_rule = choice(
        inputs, "proteinuria_rule", ("selena", "hybrid"), optional=True, default="selena"
    )
    mucocutaneous_rule = choice(
        inputs,
        "mucocutaneous_rule",
        ("new_or_ongoing", "new_or_recurrent"),
        optional=True,
        default="new_or_ongoing",
    )
    scored = set(present)
    if (
        "proteinuria" in present
        and proteinuria_rule == "selena"
        and not _selena_proteinuria_scores(inputs, _course(courses, "proteinuria"))
    ):
        scored.discard("proteinuria")
    if mucocutaneous_rule == "new_or_recurrent":
        for key in present.intersection(SELENA_MUCOCUTANEOUS):
            if _course(courses, key) not in ("new", "recurrent"):
                scored.discard(key)
    return {
        "selena_sledai": sledai_score(scored),
        "descriptors": in_table_order(scored),
        "proteinuria_rule": proteinuria_rule,
        "mucocutaneous_rule": mucocutaneous_rule,
        "look_back_days": _look_back_days(inputs),
    }
