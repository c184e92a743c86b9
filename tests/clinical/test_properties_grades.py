"""Properties of the toxicity grades and conversions: worse findings never lower a grade."""

from decimal import Decimal
from itertools import product

from hypothesis import assume, given
from hypothesis import strategies as st

from edc.clinical import compute
from edc.clinical.ctcae import TERMS
from edc.clinical.gvhd import overall_grade
from edc.clinical.units import CONVERSIONS, convert

# --- CRS -----------------------------------------------------------------------------------------

OXYGEN_LADDER = (
    "none",
    "blow_by",
    "nasal_cannula",
    "high_flow_nasal_cannula",
    "facemask",
    "non_rebreather",
    "venturi_mask",
    "cpap",
    "bipap",
    "mechanical_ventilation",
)
HYPOTENSION_LADDER = ("none", "fluids_only", "vasopressor")
AGENTS = ("norepinephrine", "epinephrine", "phenylephrine", "dopamine", "vasopressin")

temperatures = st.decimals(min_value=35, max_value=41, places=2)
flows = st.decimals(min_value=0, max_value=50, places=1)


def crs_grade(temperature, masked, hypotension, agents, device, flow):
    return compute(
        "astct_crs",
        {
            "temperature_c": temperature,
            "fever_masked_by_antipyretic_or_anticytokine": masked,
            "hypotension": hypotension,
            "vasopressors": sorted(agents) if hypotension == "vasopressor" else [],
            "oxygen_device": device,
            "oxygen_flow_l_min": None if device == "none" else flow,
        },
    )["crs_grade"]


@given(
    temperature=temperatures,
    masked=st.booleans(),
    devices=st.lists(st.integers(0, len(OXYGEN_LADDER) - 1), min_size=2, max_size=2).map(sorted),
    flow=flows,
    more_flow=flows,
)
def test_more_oxygen_support_never_lowers_the_crs_grade(temperature, masked, devices, flow, more_flow):
    less = crs_grade(temperature, masked, "none", [], OXYGEN_LADDER[devices[0]], flow)
    more = crs_grade(temperature, masked, "none", [], OXYGEN_LADDER[devices[1]], flow + more_flow)
    assert more >= less


@given(
    temperature=temperatures,
    masked=st.booleans(),
    levels=st.lists(st.integers(0, 2), min_size=2, max_size=2).map(sorted),
    agents=st.sets(st.sampled_from(AGENTS)),
    extra_agents=st.sets(st.sampled_from(AGENTS)),
)
def test_more_vasopressor_support_never_lowers_the_crs_grade(
    temperature, masked, levels, agents, extra_agents
):
    less_level, more_level = (HYPOTENSION_LADDER[level] for level in levels)
    assume(less_level != "vasopressor" or agents)
    assume(more_level != "vasopressor" or agents | extra_agents)
    less = crs_grade(temperature, masked, less_level, agents, "none", None)
    more = crs_grade(temperature, masked, more_level, agents | extra_agents, "none", None)
    assert more >= less


@given(temperatures=st.lists(temperatures, min_size=2, max_size=2).map(sorted), masked=st.booleans())
def test_a_higher_temperature_never_lowers_the_crs_grade(temperatures, masked):
    low, high = (crs_grade(t, masked, "fluids_only", [], "blow_by", None) for t in temperatures)
    assert high >= low


# --- ICANS ---------------------------------------------------------------------------------------


@given(
    scores=st.lists(st.integers(0, 10), min_size=2, max_size=2).map(sorted),
    consciousness=st.sampled_from(
        ["alert", "awakens_spontaneously", "awakens_to_voice", "awakens_to_tactile"]
    ),
    seizure=st.sampled_from(["none", "clinical_resolves_rapidly"]),
    icp=st.sampled_from(["none", "focal_edema"]),
)
def test_a_lower_ice_score_never_lowers_the_icans_grade(scores, consciousness, seizure, icp):
    def grade(score):
        inputs = {
            "ice_score": score,
            "consciousness": consciousness,
            "seizure": seizure,
            "motor": "none",
            "icp_cerebral_edema": icp,
        }
        return compute("astct_icans_adult", inputs)["icans_grade"]

    lower, higher = scores
    assert grade(lower) >= grade(higher)


# --- CTCAE ---------------------------------------------------------------------------------------

lab_values = st.decimals(min_value=0, max_value=2000, places=2)
references = st.decimals(min_value="0.01", max_value=500, places=2)


@given(
    parameter=st.sampled_from(sorted(TERMS)),
    values=st.lists(lab_values, min_size=2, max_size=2).map(sorted),
    reference=references,
    baseline=st.none() | references,
)
def test_a_worse_lab_value_never_lowers_the_ctcae_grade(parameter, values, reference, baseline):
    term = TERMS[parameter]
    inputs = {"parameter": parameter, "unit": term.units[0], term.normal.reference: reference}
    if baseline is not None and term.baseline_rule:
        inputs["baseline"] = baseline
    low, high = (compute("ctcae_v5_labs", {**inputs, "value": value})["ctcae_grade"] for value in values)
    decreased = term.normal.operator == ">="
    assert (low >= high) if decreased else (high >= low)


# --- ICAHT ---------------------------------------------------------------------------------------


@given(
    results=st.dictionaries(
        st.integers(-5, 90),
        st.tuples(
            st.decimals(min_value=0, max_value=5, places=2), st.decimals(min_value=0, max_value=1, places=2)
        ),
        max_size=40,
    )
)
def test_lower_anc_results_never_lower_an_icaht_grade(results):
    def grades(pick):
        anc_series = [{"study_day": day, "anc": pick(anc, factor)} for day, (anc, factor) in results.items()]
        result = compute("icaht_from_anc_series", {"anc_series": anc_series})
        return result["early_icaht_grade_min"], result["early_icaht_grade_max"], result["late_icaht_grade"]

    as_given = grades(lambda anc, factor: anc)
    lowered = grades(lambda anc, factor: anc * factor)
    assert all(low >= given for low, given in zip(lowered, as_given, strict=True))


# --- MAGIC ---------------------------------------------------------------------------------------


def test_a_higher_organ_stage_never_lowers_the_magic_grade():
    stages = list(product(range(5), range(5), range(2), range(5)))
    for stage in stages:
        for organ, limit in enumerate((4, 4, 1, 4)):
            if stage[organ] < limit:
                worse = list(stage)
                worse[organ] += 1
                assert overall_grade(*worse) >= overall_grade(*stage)


# --- Cockcroft-Gault -----------------------------------------------------------------------------


@given(
    creatinine=st.lists(st.decimals(min_value="0.2", max_value=15, places=2), min_size=2, max_size=2).map(
        sorted
    ),
    age=st.integers(18, 120),
    weight=st.decimals(min_value=30, max_value=200, places=1),
    sex=st.sampled_from(["M", "F"]),
)
def test_higher_creatinine_never_raises_creatinine_clearance(creatinine, age, weight, sex):
    def crcl(value, unit):
        inputs = {
            "age_years": age,
            "weight_kg": weight,
            "sex": sex,
            "serum_creatinine": value,
            "creatinine_unit": unit,
        }
        return compute("cockcroft_gault", inputs)["crcl_ml_min"]

    low, high = creatinine
    assert crcl(high, "mg/dL") <= crcl(low, "mg/dL")
    assert crcl(low * Decimal("88.4"), "umol/L") == crcl(low, "mg/dL")


# --- conversions ---------------------------------------------------------------------------------

unit_pairs = st.sampled_from(sorted(CONVERSIONS)).flatmap(
    lambda analyte: st.tuples(
        st.just(analyte),
        st.sampled_from(sorted(CONVERSIONS[analyte])),
        st.sampled_from(sorted(CONVERSIONS[analyte])),
    )
)


@given(pair=unit_pairs, value=st.decimals(min_value=0, max_value=100000, places=4))
def test_conversions_round_trip_to_the_precision_of_the_value(pair, value):
    analyte, from_unit, to_unit = pair
    there = convert(analyte, value, from_unit, to_unit)
    back = convert(analyte, there, to_unit, from_unit)
    assert back.quantize(value) == value


@given(
    pair=unit_pairs.filter(lambda pair: pair[0] != "temperature"),
    values=st.lists(st.decimals(min_value=0, max_value=100000, places=4), min_size=2, max_size=2).map(sorted),
)
def test_conversions_preserve_order(pair, values):
    analyte, from_unit, to_unit = pair
    low, high = (convert(analyte, value, from_unit, to_unit) for value in values)
    assert low <= high
