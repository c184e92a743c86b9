"""Response and remission: SRI-4, DORIS, LLDAS, maintenance runs and the eligibility activity rule.

Sections 2-6 of ``clinical-rules.md`` and decisions 1-5 and 8 of section 14. PGA values compare in tenths
(rounded half-up first, calculators.md). Optional settings (⚙), with the defaults of section 14:

``sri_4``
    ``sledai_baseline``, ``sledai_followup``, ``bilag_baseline``, ``bilag_followup`` (the 9 BILAG-2004
    systems -> ``A``-``E``), ``pga_baseline``, ``pga_followup``
    -> ``responder``, ``sledai_reduction_ge4``, ``new_bilag_a``, ``new_bilag_b``, ``pga_worsening_lt_0_3``.
    ⚙ ``sledai_version``: ``sledai_2k`` (default, decision 6) or ``selena_sledai``; echoed.

``prednisone_equivalent``
    ``drug``, ``dose_mg_day`` (daily average; alternate-day regimens: two-day total / 2)
    -> ``prednisone_equivalent_mg_day`` (0.01 mg).

``doris``
    ``present``, ``pga``, ``glucocorticoid`` (``drug``, ``dose_mg_day``), ``antimalarial``,
    ``immunosuppressant`` and ``biologic`` (``on``, ``agent``, ``stable``; ``weeks_on_current_dose`` may
    replace or confirm ``stable``)
    -> ``doris_2021_remission``, ``drug_free_doris_antimalarial_allowed``, ``drug_free_doris_strict``,
    ``prednisone_equivalent_mg_day``, ``clinical_sledai``, ``serology_negative``, ``failed_criteria``.
    ⚙ ``glucocorticoid_max_mg_day`` (default 5) and ``glucocorticoid_max_inclusive`` (default true):
    decision 1.
    ⚙ ``stable_weeks`` (default 12): decision 2.
    ⚙ ``drug_free_definition`` (``antimalarial_allowed`` or ``strict``, no default): adds ``drug_free_doris``,
    decision 3.

``lldas``
    ``present``, ``present_previous_assessment``, ``pga``, ``prednisone_equivalent_mg_day``,
    ``haemolytic_anaemia``, ``gi_activity``, ``immunosuppression_at_standard_maintenance_dose`` (true when
    on none), ``investigational_drug_other_than_study_car_t``; optional ``new_non_sledai_activity``
    -> ``lldas``, ``sledai_2k``, ``failed_criteria``, ``major_organ_items``, ``new_items``.

``state_maintenance``
    ``visits`` (``visit``, ``study_day``, ``state_met`` true/false/null; increasing study days)
    -> ``first_attainment_day``, ``longest_run_days``, ``longest_run_visits`` (visit codes),
    ``max_consecutive_visits``, ``cumulative_days``, ``met_at_last_visit`` (null when the last visit is not
    evaluable), ``final_run_start_day``, ``bridged_visits``.
    ⚙ ``missing_visit_rule``: ``break`` (default, decision 4) or ``bridge_one`` (a single null visit between
    two visits that meet the state joins their run).

``eligibility_disease_activity``
    ``selena_sledai``, ``n_bilag_a``, ``n_bilag_b`` -> ``activity_criterion_met``.
"""

from collections.abc import Mapping
from decimal import Decimal

from .errors import CalculatorInputError
from .inputs import boolean, choice, integer, mapping, number, round_half_up
from .registry import calculator
from .sledai import MAX_SLEDAI_2K, SEROLOGY, clinical_sledai_score, in_table_order, read_present, sledai_score

# Yee CS et al., Rheumatology 2010;49:1665-69: the nine BILAG-2004 systems.
BILAG_SYSTEMS = (
    "constitutional",
    "mucocutaneous",
    "neuropsychiatric",
    "musculoskeletal",
    "cardiorespiratory",
    "gastrointestinal",
    "ophthalmic",
    "renal",
    "haematological",
)
BILAG_GRADES = ("A", "B", "C", "D", "E")

# Furie RA et al., Arthritis Rheum 2009;61:1143-51.
SRI_MIN_SLEDAI_REDUCTION = 4
SRI_PGA_WORSENING = Decimal("0.3")  # an increase of exactly 0.3 fails (decision 8)

# van Vollenhoven RF et al., Lupus Sci Med 2021;8:e000538 (DORIS 2021).
DORIS_PGA_BELOW = Decimal("0.5")
DORIS_GLUCOCORTICOID_MAX_MG_DAY = Decimal(5)  # abstract: "5 mg/day or less" (decision 1)
DORIS_STABLE_WEEKS = 12  # [PROPOSAL] DORIS does not define "stable" (decision 2)

# Franklyn K et al., Ann Rheum Dis 2016;75:1615-21 (LLDAS).
LLDAS_MAX_SLEDAI_2K = 4
LLDAS_MAX_PGA = Decimal("1.0")
LLDAS_MAX_PREDNISONE_MG_DAY = Decimal("7.5")
# Criterion 1 "no activity in major organ systems", mapped to SLEDAI-2K items (section 6.2, decision 5:
# pleurisy and pericarditis are the cardiopulmonary items, myositis is not major).
LLDAS_MAJOR_ORGAN_ITEMS = {
    "renal": ("urinary_casts", "haematuria", "proteinuria", "pyuria"),
    "cns": (
        "seizure",
        "psychosis",
        "organic_brain_syndrome",
        "visual_disturbance",
        "cranial_nerve_disorder",
        "lupus_headache",
        "cva",
    ),
    "vasculitis": ("vasculitis",),
    "fever": ("fever",),
    "cardiopulmonary": ("pleurisy", "pericarditis"),
}
LLDAS_CRITERIA = (
    "sledai_gt_4",
    "major_organ_activity",
    "haemolytic_anaemia",
    "gi_activity",
    "new_activity",
    "pga_gt_1",
    "glucocorticoid_gt_7_5",
    "non_maintenance_immunosuppression",
    "investigational_drug",
)

# Dose equal to prednisone 5 mg (standard anti-inflammatory equivalences, clinical-rules.md section 5).
PREDNISONE_5_MG_EQUIVALENT = {
    "prednisone": Decimal(5),
    "prednisolone": Decimal(5),
    "methylprednisolone": Decimal(4),
    "triamcinolone": Decimal(4),
    "hydrocortisone": Decimal(20),
    "cortisone": Decimal(25),
    "dexamethasone": Decimal("0.75"),
    "betamethasone": Decimal("0.6"),
    "deflazacort": Decimal(6),
}
GLUCOCORTICOIDS = ("none", *PREDNISONE_5_MG_EQUIVALENT)

# Protocol eligibility (section 3): (SELENA-SLEDAI >= 6 and (>= 1 A or >= 2 B)) or SELENA-SLEDAI >= 8.
ELIGIBILITY_SELENA_WITH_BILAG = 6
ELIGIBILITY_BILAG_B = 2
ELIGIBILITY_SELENA_ALONE = 8


def _fields(prefix: str, obj: Mapping) -> dict:
    """Nested fields keyed ``prefix.field`` so a reader's error names the full path."""
    return {f"{prefix}.{key}": value for key, value in obj.items()}


def _pga(inputs, key: str) -> Decimal:
    return round_half_up(number(inputs, key, maximum=3), "0.1")


def _sledai(inputs, key: str) -> int:
    return integer(inputs, key, maximum=MAX_SLEDAI_2K)


def _bilag(inputs, key: str) -> dict[str, str]:
    grades = _fields(key, mapping(inputs, key))
    for field in grades:
        if field.removeprefix(f"{key}.") not in BILAG_SYSTEMS:
            raise CalculatorInputError(field, "is not a BILAG-2004 system")
    return {system: choice(grades, f"{key}.{system}", BILAG_GRADES) for system in BILAG_SYSTEMS}


@calculator(
    "sri_4",
    rule_version="sri_4/1",
    source="Furie RA et al., Arthritis Rheum 2009;61:1143-51",
    title="SLE Responder Index 4 at a follow-up visit against baseline",
)
def sri_4(inputs):
    reduction = _sledai(inputs, "sledai_baseline") - _sledai(inputs, "sledai_followup")
    baseline, followup = _bilag(inputs, "bilag_baseline"), _bilag(inputs, "bilag_followup")
    # B->A is a new A; a new B was C, D or E at baseline (A->B is an improvement).
    new_a = sum(1 for s in BILAG_SYSTEMS if followup[s] == "A" and baseline[s] != "A")
    new_b = sum(1 for s in BILAG_SYSTEMS if followup[s] == "B" and baseline[s] in ("C", "D", "E"))
    pga_change = _pga(inputs, "pga_followup") - _pga(inputs, "pga_baseline")
    sledai_met = reduction >= SRI_MIN_SLEDAI_REDUCTION
    bilag_met = new_a == 0 and new_b <= 1
    pga_met = pga_change < SRI_PGA_WORSENING
    return {
        "responder": sledai_met and bilag_met and pga_met,
        "sledai_reduction_ge4": sledai_met,
        "new_bilag_a": new_a,
        "new_bilag_b": new_b,
        "no_bilag_worsening": bilag_met,
        "pga_worsening_lt_0_3": pga_met,
        "sledai_reduction": reduction,
        "pga_change": float(pga_change),
        "sledai_version": choice(
            inputs, "sledai_version", ("sledai_2k", "selena_sledai"), optional=True, default="sledai_2k"
        ),
    }


def _prednisone_equivalent(inputs, prefix: str = "") -> Decimal:
    drug = choice(inputs, f"{prefix}drug", GLUCOCORTICOIDS)
    dose = number(inputs, f"{prefix}dose_mg_day", optional=drug == "none", default=Decimal(0))
    if drug == "none":
        if dose:
            raise CalculatorInputError(f"{prefix}dose_mg_day", "must be 0 when drug is none")
        return Decimal(0)
    return round_half_up(dose * 5 / PREDNISONE_5_MG_EQUIVALENT[drug], "0.01")


@calculator(
    "prednisone_equivalent",
    rule_version="prednisone_equivalent/1",
    source="Standard anti-inflammatory glucocorticoid equivalences (clinical-rules.md section 5)",
    title="Prednisone-equivalent daily dose of a glucocorticoid",
)
def prednisone_equivalent(inputs):
    return {"prednisone_equivalent_mg_day": float(_prednisone_equivalent(inputs))}


def _agent_on_and_stable(inputs, key: str, stable_weeks: int) -> tuple[bool, bool]:
    agent = _fields(key, mapping(inputs, key))
    on = boolean(agent, f"{key}.on")
    if not on:
        return False, True
    if f"{key}.agent" in agent and not isinstance(agent[f"{key}.agent"], str):
        raise CalculatorInputError(f"{key}.agent", "must be a string")
    stable = boolean(agent, f"{key}.stable", optional=True, allow_none=True)
    weeks = number(agent, f"{key}.weeks_on_current_dose", optional=True, allow_none=True)
    if weeks is not None:
        derived = weeks >= stable_weeks
        if stable is not None and stable != derived:
            raise CalculatorInputError(
                f"{key}.stable", f"disagrees with weeks_on_current_dose under stable_weeks={stable_weeks}"
            )
        return True, derived
    if stable is None:
        raise CalculatorInputError(f"{key}.stable", "is required when on is true")
    return True, stable


@calculator(
    "doris",
    rule_version="doris_2021/1",
    source="van Vollenhoven RF et al., Lupus Sci Med 2021;8:e000538; Ann Rheum Dis 2017;76:554-61",
    title="DORIS 2021 remission and the drug-free variants",
)
def doris(inputs):
    present = read_present(inputs)
    pga = _pga(inputs, "pga")
    prednisone = _prednisone_equivalent(
        _fields("glucocorticoid", mapping(inputs, "glucocorticoid")), "glucocorticoid."
    )
    antimalarial = boolean(inputs, "antimalarial")
    stable_weeks = integer(inputs, "stable_weeks", optional=True, minimum=1, default=DORIS_STABLE_WEEKS)
    immunosuppressant, immunosuppressant_stable = _agent_on_and_stable(
        inputs, "immunosuppressant", stable_weeks
    )
    biologic, biologic_stable = _agent_on_and_stable(inputs, "biologic", stable_weeks)
    gc_max = number(
        inputs, "glucocorticoid_max_mg_day", optional=True, default=DORIS_GLUCOCORTICOID_MAX_MG_DAY
    )
    gc_inclusive = boolean(inputs, "glucocorticoid_max_inclusive", optional=True, default=True)
    drug_free_definition = choice(
        inputs, "drug_free_definition", ("antimalarial_allowed", "strict"), optional=True
    )

    clinical = clinical_sledai_score(present)
    failed = {
        "clinical_sledai_gt_0": clinical > 0,
        "pga_ge_0_5": pga >= DORIS_PGA_BELOW,
        "glucocorticoid_above_limit": prednisone > gc_max if gc_inclusive else prednisone >= gc_max,
        "immunosuppressant_not_stable": not immunosuppressant_stable,
        "biologic_not_stable": not biologic_stable,
    }
    inactive = not failed["clinical_sledai_gt_0"] and not failed["pga_ge_0_5"]
    # 2017 DORIS "remission off treatment": no glucocorticoid, immunosuppressant or biologic.
    drug_free = inactive and prednisone == 0 and not immunosuppressant and not biologic
    result = {
        "doris_2021_remission": not any(failed.values()),
        "drug_free_doris_antimalarial_allowed": drug_free,
        "drug_free_doris_strict": drug_free and not antimalarial,
        "prednisone_equivalent_mg_day": float(prednisone),
        "clinical_sledai": clinical,
        "serology_negative": not present & SEROLOGY,
        "failed_criteria": [name for name, is_failed in failed.items() if is_failed],
    }
    if drug_free_definition is not None:
        result["drug_free_definition"] = drug_free_definition
        result["drug_free_doris"] = result[f"drug_free_doris_{drug_free_definition}"]
    return result


@calculator(
    "lldas",
    rule_version="lldas_2016/1",
    source="Franklyn K et al., Ann Rheum Dis 2016;75:1615-21",
    title="Lupus Low Disease Activity State at a visit",
)
def lldas(inputs):
    present = read_present(inputs)
    previous = read_present(inputs, "present_previous_assessment")
    sledai = sledai_score(present)
    major = [key for keys in LLDAS_MAJOR_ORGAN_ITEMS.values() for key in keys if key in present]
    new_items = in_table_order(present - previous)  # serology included (decision 5)
    new_other = boolean(inputs, "new_non_sledai_activity", optional=True, default=False)
    failed = {
        "sledai_gt_4": sledai > LLDAS_MAX_SLEDAI_2K,
        "major_organ_activity": bool(major),
        "haemolytic_anaemia": boolean(inputs, "haemolytic_anaemia"),
        "gi_activity": boolean(inputs, "gi_activity"),
        "new_activity": bool(new_items) or new_other,
        "pga_gt_1": _pga(inputs, "pga") > LLDAS_MAX_PGA,
        "glucocorticoid_gt_7_5": number(inputs, "prednisone_equivalent_mg_day") > LLDAS_MAX_PREDNISONE_MG_DAY,
        "non_maintenance_immunosuppression": not boolean(
            inputs, "immunosuppression_at_standard_maintenance_dose"
        ),
        "investigational_drug": boolean(inputs, "investigational_drug_other_than_study_car_t"),
    }
    failed_criteria = [name for name in LLDAS_CRITERIA if failed[name]]
    return {
        "lldas": not failed_criteria,
        "sledai_2k": sledai,
        "failed_criteria": failed_criteria,
        "major_organ_items": major,
        "new_items": new_items,
    }


def _visits(inputs) -> list[tuple[str, int, bool | None]]:
    if "visits" not in inputs:
        raise CalculatorInputError("visits", "is required")
    raw = inputs["visits"]
    if not isinstance(raw, (list, tuple)):
        raise CalculatorInputError("visits", f"must be a list, not {type(raw).__name__}")
    visits, codes = [], set()
    for index, item in enumerate(raw):
        prefix = f"visits[{index}]"
        if not isinstance(item, Mapping):
            raise CalculatorInputError(prefix, f"must be an object, not {type(item).__name__}")
        fields = _fields(prefix, item)
        code = fields.get(f"{prefix}.visit")
        if not isinstance(code, str) or not code:
            raise CalculatorInputError(f"{prefix}.visit", "must be a non-empty visit code")
        if code in codes:
            raise CalculatorInputError(f"{prefix}.visit", f"duplicate visit {code!r}")
        day = integer(fields, f"{prefix}.study_day")
        if visits and day <= visits[-1][1]:
            raise CalculatorInputError(f"{prefix}.study_day", "must be later than the previous visit's day")
        visits.append((code, day, boolean(fields, f"{prefix}.state_met", allow_none=True)))
        codes.add(code)
    return visits


@calculator(
    "state_maintenance",
    rule_version="state_maintenance/1",
    source="clinical-rules.md section 6.3 [PROPOSAL]",
    title="Runs of a per-visit state (LLDAS, DORIS, drug-free DORIS) over the scheduled visits",
)
def state_maintenance(inputs):
    visits = _visits(inputs)
    rule = choice(inputs, "missing_visit_rule", ("break", "bridge_one"), optional=True, default="break")
    states = [state for _, _, state in visits]
    bridged = []
    if rule == "bridge_one":
        bridged = [
            i
            for i in range(1, len(states) - 1)
            if states[i] is None and states[i - 1] is True and states[i + 1] is True
        ]
    met = [state is True or i in bridged for i, state in enumerate(states)]

    runs, current = [], []
    for i, ok in enumerate(met):
        if ok:
            current.append(i)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)

    def days(run):
        return visits[run[-1]][1] - visits[run[0]][1]

    # Ties: more visits, then the earlier run (section 6.3).
    longest = max(runs, key=lambda run: (days(run), len(run), -run[0]), default=None)
    first = next((day for _, day, state in visits if state is True), None)
    return {
        "first_attainment_day": first,
        "longest_run_days": None if longest is None else days(longest),
        "longest_run_visits": [] if longest is None else [visits[i][0] for i in longest],
        "max_consecutive_visits": max((len(run) for run in runs), default=0),
        "cumulative_days": sum(days(run) for run in runs),
        "met_at_last_visit": states[-1] if states else None,
        "final_run_start_day": visits[runs[-1][0]][1] if runs and met[-1] else None,
        "bridged_visits": [visits[i][0] for i in bridged],
        "missing_visit_rule": rule,
    }


@calculator(
    "eligibility_disease_activity",
    rule_version="eligibility_disease_activity/1",
    source="UDCAR-SLE protocol (NCT07274059), clinical-rules.md section 3",
    title="Disease-activity inclusion criterion (SELENA-SLEDAI with BILAG-2004)",
)
def eligibility_disease_activity(inputs):
    selena = integer(inputs, "selena_sledai", maximum=MAX_SLEDAI_2K)
    n_a = integer(inputs, "n_bilag_a", maximum=len(BILAG_SYSTEMS))
    n_b = integer(inputs, "n_bilag_b", maximum=len(BILAG_SYSTEMS))
    if n_a + n_b > len(BILAG_SYSTEMS):
        raise CalculatorInputError("n_bilag_b", "n_bilag_a + n_bilag_b exceeds the 9 BILAG-2004 systems")
    with_bilag = selena >= ELIGIBILITY_SELENA_WITH_BILAG and (n_a >= 1 or n_b >= ELIGIBILITY_BILAG_B)
    return {"activity_criterion_met": with_bilag or selena >= ELIGIBILITY_SELENA_ALONE}
