"""Immune effector cell toxicities: ASTCT 2019 CRS and ICANS (adults), and IEC-HS.

Sources: Lee DW et al., Biol Blood Marrow Transplant 2019;25:625-38 (the consensus CRS grading, ICE
and adult ICANS grading tables); Hines MR et al., Transplant Cell Ther 2023;29:438.e1-16 (IEC-HS);
project decisions 10 and 11 of clinical-rules.md section 14.

``astct_crs``
    The temperature is rounded half-up to 0.1 °C (°F converted first); fever is >= 38.0 °C. Without
    fever and without prior antipyretic or anti-cytokine therapy there is no CRS (grade 0). Once
    fever is masked by such therapy the grade comes from hypotension and hypoxia alone, and with
    neither the episode is resolved (grade 0). ``hypotension`` is the worst support given for
    hypotension as the protocol defines it (decision 10 default: SBP < 90 mmHg or a fall > 20 % from
    baseline needing treatment); the form applies that definition, so it is not an input here.
    Vasopressin alone is one vasopressor and never counts towards "multiple". A nasal cannula is
    graded by flow, as ASTCT defines low and high flow: <= 6 L/min grade 2, > 6 L/min grade 3
    (``high_flow_nasal_cannula`` without a flow is taken as > 6 L/min). No settings.

``astct_icans_adult``
    The most severe domain. Awake with ICE 0 is grade 3; unarousable is grade 4 (decision 11). ICANS
    counts only findings not due to another cause (ASTCT 2019, clinical-rules.md 7.2), so ``ice_score``
    is null whenever the patient cannot be tested: unarousable (the ICE domain is then grade 4), or
    sedated, intubated or otherwise untestable for another reason (the ICE domain is then not graded,
    ``domain_grades["ice"]`` is None, and the other domains give the grade). A patient who needs
    vigorous or repeated stimuli and, once roused, completes part of the ICE test keeps that score (its
    own ICE domain grade); the consciousness domain still makes the overall grade 4. Tremor,
    myoclonus, headache and intracranial haemorrhage are graded under CTCAE: ``other_findings`` is
    accepted and ignored. No settings.

``iec_hs``
    Grade of an IEC-HS event from the most severe finding present, as paraphrased in clinical-rules.md
    section 9 [VERIFY against Hines 2023]. No settings.
"""

from decimal import Decimal

from .errors import CalculatorInputError
from .inputs import boolean, choice, integer, number, round_half_up, string_list
from .registry import calculator
from .units import convert

FEVER_C = Decimal("38.0")
BODY_TEMPERATURE_C = (25, 45)
BODY_TEMPERATURE_F = (77, 113)
LOW_FLOW_MAX_L_MIN = Decimal(6)

# ASTCT 2019 CRS grading table, hypotension column
HYPOTENSION_GRADE = {"none": 0, "fluids_only": 2, "vasopressor": 3}
MULTIPLE_VASOPRESSORS_GRADE = 4
VASOPRESSORS = (
    "norepinephrine",
    "epinephrine",
    "phenylephrine",
    "dopamine",
    "metaraminol",
    "angiotensin_ii",
    "vasopressin",
)

# ASTCT 2019 CRS grading table, hypoxia column; the two cannulas are graded by flow (see module docstring)
OXYGEN_DEVICE_GRADE = {
    "none": 0,
    "blow_by": 2,
    "nasal_cannula": None,
    "high_flow_nasal_cannula": None,
    "facemask": 3,
    "non_rebreather": 3,
    "venturi_mask": 3,
    "cpap": 4,
    "bipap": 4,
    "mechanical_ventilation": 4,
}

# ASTCT 2019 ICE tool: points per task
ICE_ITEMS = (("orientation_correct", 4), ("naming_correct", 3))
ICE_YES_NO_ITEMS = ("follows_commands", "writes_sentence", "counts_back_by_10")

# ASTCT 2019 adult ICANS grading table, ICE row: (grade, lowest score, highest score); 10 is grade 0
ICE_GRADES = ((0, 10, 10), (1, 7, 9), (2, 3, 6), (3, 0, 2))
CONSCIOUSNESS_GRADE = {
    "alert": 0,
    "awakens_spontaneously": 1,
    "awakens_to_voice": 2,
    "awakens_to_tactile": 3,
    "unarousable_or_vigorous_stimuli": 4,
}
SEIZURE_GRADE = {
    "none": 0,
    "clinical_resolves_rapidly": 3,
    "eeg_nonconvulsive_resolves_with_intervention": 3,
    "prolonged_gt_5min_or_repetitive_without_return_to_baseline": 4,
}
MOTOR_GRADE = {"none": 0, "deep_focal_weakness": 4}
ICP_GRADE = {
    "none": 0,
    "focal_edema": 3,
    "diffuse_edema": 4,
    "posturing": 4,
    "cn6_palsy": 4,
    "papilledema": 4,
    "cushings_triad": 4,
}

# clinical-rules.md section 9 (Hines 2023): grade implied by each finding; no finding is grade 1
IEC_HS_FINDING_GRADE = {
    "iec_hs_directed_therapy": 2,
    "hospitalisation_or_prolongation": 3,
    "blood_product_support": 3,
    "new_organ_dysfunction": 3,
    "vasopressors": 4,
    "mechanical_ventilation": 4,
    "dialysis": 4,
    "major_bleeding": 4,
    "death": 5,
}


def temperature_celsius(inputs) -> Decimal:
    """``temperature_c`` or ``temperature_f`` as °C rounded half-up to 0.1."""
    if "temperature_c" in inputs and "temperature_f" in inputs:
        raise CalculatorInputError("temperature_f", "give temperature_c or temperature_f, not both")
    if "temperature_f" in inputs:
        low, high = BODY_TEMPERATURE_F
        fahrenheit = number(inputs, "temperature_f", minimum=low, maximum=high)
        celsius = convert("temperature", fahrenheit, "F", "C")
    elif "temperature_c" in inputs:
        low, high = BODY_TEMPERATURE_C
        celsius = number(inputs, "temperature_c", minimum=low, maximum=high)
    else:
        raise CalculatorInputError("temperature_c", "is required (or temperature_f)")
    return round_half_up(celsius, "0.1")


def _hypotension_grade(inputs) -> int:
    hypotension = choice(inputs, "hypotension", HYPOTENSION_GRADE)
    agents = set(string_list(inputs, "vasopressors", allowed=VASOPRESSORS))
    if hypotension == "vasopressor" and not agents:
        raise CalculatorInputError(
            "vasopressors", "must name at least one agent when hypotension is vasopressor"
        )
    if hypotension != "vasopressor" and agents:
        raise CalculatorInputError("vasopressors", f"must be empty when hypotension is {hypotension}")
    if len(agents - {"vasopressin"}) >= 2:
        return MULTIPLE_VASOPRESSORS_GRADE
    return HYPOTENSION_GRADE[hypotension]


def _hypoxia_grade(inputs) -> int:
    device = choice(inputs, "oxygen_device", OXYGEN_DEVICE_GRADE)
    flow = number(inputs, "oxygen_flow_l_min", optional=True, allow_none=True, maximum=100)
    if device == "nasal_cannula" and flow is None:
        raise CalculatorInputError("oxygen_flow_l_min", "is required for nasal_cannula")
    if device == "none" and flow:
        raise CalculatorInputError("oxygen_flow_l_min", "must be empty or 0 when oxygen_device is none")
    if OXYGEN_DEVICE_GRADE[device] is not None:
        return OXYGEN_DEVICE_GRADE[device]
    return 2 if flow is not None and flow <= LOW_FLOW_MAX_L_MIN else 3


@calculator(
    "astct_crs",
    rule_version="astct_crs/1",
    source="Lee DW et al., Biol Blood Marrow Transplant 2019;25:625-38 (CRS grading); project decision 10",
    title="ASTCT cytokine release syndrome grade",
)
def astct_crs(inputs):
    """ASTCT cytokine release syndrome grade."""
    temperature = temperature_celsius(inputs)
    masked = boolean(inputs, "fever_masked_by_antipyretic_or_anticytokine")
    hypotension_grade = _hypotension_grade(inputs)
    hypoxia_grade = _hypoxia_grade(inputs)
    fever = temperature >= FEVER_C
    if fever:
        grade = max(1, hypotension_grade, hypoxia_grade)
    elif masked:
        grade = max(hypotension_grade, hypoxia_grade)
    else:
        grade = 0
    return {
        "crs_grade": grade,
        "temperature_c": float(temperature),
        "fever": fever,
        "hypotension_grade": hypotension_grade,
        "hypoxia_grade": hypoxia_grade,
    }


def ice_domain_grade(score: int) -> int:
    return next(grade for grade, low, high in ICE_GRADES if low <= score <= high)


@calculator(
    "ice_score",
    rule_version="ice_score/1",
    source="Lee DW et al., Biol Blood Marrow Transplant 2019;25:625-38 (ICE)",
    title="Immune effector cell-associated encephalopathy (ICE) score",
)
def ice_score(inputs):
    """Immune effector cell-associated encephalopathy (ICE) score."""
    score = sum(integer(inputs, key, maximum=points) for key, points in ICE_ITEMS)
    score += sum(boolean(inputs, key) for key in ICE_YES_NO_ITEMS)
    return {"ice_score": score, "ice_domain_grade": ice_domain_grade(score)}


@calculator(
    "astct_icans_adult",
    rule_version="astct_icans_adult/1",
    source="Lee DW et al., Biol Blood Marrow Transplant 2019;25:625-38 (adult ICANS grading); "
    "project decision 11",
    title="ASTCT ICANS grade (adults)",
)
def astct_icans_adult(inputs):
    """ASTCT ICANS grade (adults)."""
    consciousness = choice(inputs, "consciousness", CONSCIOUSNESS_GRADE)
    score = integer(inputs, "ice_score", allow_none=True, maximum=10)
    unarousable = consciousness == "unarousable_or_vigorous_stimuli"
    string_list(inputs, "other_findings", optional=True)
    if unarousable and not score:
        ice = 4  # untestable (or 0) while unarousable
    elif score is None:
        ice = None  # untestable for another cause (sedated, intubated): not an ICANS finding
    else:
        # Roused only by vigorous stimuli, a patient may complete part of the test: that score counts.
        ice = ice_domain_grade(score)
    domains = {
        "ice": ice,
        "consciousness": CONSCIOUSNESS_GRADE[consciousness],
        "seizure": SEIZURE_GRADE[choice(inputs, "seizure", SEIZURE_GRADE)],
        "motor": MOTOR_GRADE[choice(inputs, "motor", MOTOR_GRADE)],
        "icp_cerebral_edema": ICP_GRADE[choice(inputs, "icp_cerebral_edema", ICP_GRADE)],
    }
    return {"icans_grade": max(g for g in domains.values() if g is not None), "domain_grades": domains}


@calculator(
    "iec_hs",
    rule_version="iec_hs/1",
    source="Hines MR et al., Transplant Cell Ther 2023;29:438.e1-16, as paraphrased in clinical-rules.md "
    "section 9 [VERIFY]",
    title="IEC-HS grade",
)
def iec_hs(inputs):
    """IEC-HS grade."""
    findings = string_list(inputs, "findings", allowed=IEC_HS_FINDING_GRADE)
    return {"iec_hs_grade": max([1, *(IEC_HS_FINDING_GRADE[finding] for finding in findings)])}
