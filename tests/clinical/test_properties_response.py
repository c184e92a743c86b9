"""Properties of SRI-4, DORIS, LLDAS, maintenance runs and eligibility over generated inputs."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from edc.clinical import compute
from edc.clinical.response import BILAG_SYSTEMS
from edc.clinical.sledai import KEYS

grades = st.fixed_dictionaries({system: st.sampled_from("ABCDE") for system in BILAG_SYSTEMS})
sledai = st.integers(min_value=0, max_value=105)
pga = st.decimals(min_value=0, max_value=3, places=2).map(str)
descriptors = st.lists(st.sampled_from(KEYS), max_size=10)


def sri(baseline, followup, bilag_baseline, bilag_followup, pga_baseline, pga_followup):
    inputs = {
        "sledai_baseline": baseline,
        "sledai_followup": followup,
        "bilag_baseline": bilag_baseline,
        "bilag_followup": bilag_followup,
        "pga_baseline": pga_baseline,
        "pga_followup": pga_followup,
    }
    return compute("sri_4", inputs)


@given(sledai, sledai, grades, grades, pga, pga)
def test_sri_response_is_exactly_the_three_criteria_together(s0, s1, b0, b1, p0, p1):
    result = sri(s0, s1, b0, b1, p0, p1)
    criteria = (
        result["sledai_reduction_ge4"],
        result["new_bilag_a"] == 0 and result["new_bilag_b"] <= 1,
        result["pga_worsening_lt_0_3"],
    )
    assert result["responder"] is all(criteria)
    assert result["sledai_reduction_ge4"] is (s0 - s1 >= 4)


@given(sledai, grades, pga)
def test_an_unchanged_assessment_has_no_new_bilag_grades_and_is_not_a_response(score, bilag, global_):
    result = sri(score, score, bilag, bilag, global_, global_)
    assert (result["new_bilag_a"], result["new_bilag_b"], result["responder"]) == (0, 0, False)


@given(grades, grades)
def test_a_followup_no_more_active_in_any_system_has_no_new_a_or_b(baseline, other):
    followup = {system: max(baseline[system], other[system]) for system in BILAG_SYSTEMS}  # "E" is least
    result = sri(10, 0, baseline, followup, "1", "1")
    assert (result["new_bilag_a"], result["new_bilag_b"]) == (0, 0)


def eligible(selena, n_a, n_b):
    inputs = {"selena_sledai": selena, "n_bilag_a": n_a, "n_bilag_b": n_b}
    return compute("eligibility_disease_activity", inputs)["activity_criterion_met"]


@given(sledai, st.integers(min_value=0, max_value=105), st.integers(0, 4), st.integers(0, 4))
def test_more_activity_never_makes_an_eligible_participant_ineligible(score, more, n_a, n_b):
    if eligible(score, n_a, n_b):
        assert eligible(min(score + more, 105), n_a, n_b)
        assert eligible(score, n_a + 1, n_b)
        assert eligible(score, n_a, n_b + 1)


doris_inputs = st.fixed_dictionaries(
    {
        "present": descriptors,
        "pga": pga,
        "glucocorticoid": st.fixed_dictionaries(
            {
                "drug": st.sampled_from(["none", "prednisone", "dexamethasone"]),
                "dose_mg_day": st.sampled_from([0, 0.5, 5, 10]),
            }
        ).map(lambda gc: {"drug": "none"} if gc["drug"] == "none" else gc),
        "antimalarial": st.booleans(),
        "immunosuppressant": st.fixed_dictionaries({"on": st.booleans(), "stable": st.booleans()}),
        "biologic": st.fixed_dictionaries({"on": st.booleans(), "stable": st.booleans()}),
    }
)


@given(doris_inputs)
def test_strict_drug_free_implies_lenient_drug_free_implies_doris_remission(inputs):
    result = compute("doris", inputs)
    if result["drug_free_doris_strict"]:
        assert result["drug_free_doris_antimalarial_allowed"]
    if result["drug_free_doris_antimalarial_allowed"]:
        assert result["doris_2021_remission"]
    assert result["doris_2021_remission"] is (result["failed_criteria"] == [])


lldas_inputs = st.fixed_dictionaries(
    {
        "present": descriptors,
        "present_previous_assessment": descriptors,
        "pga": pga,
        "prednisone_equivalent_mg_day": st.decimals(min_value=0, max_value=20, places=2).map(str),
        "haemolytic_anaemia": st.booleans(),
        "gi_activity": st.booleans(),
        "immunosuppression_at_standard_maintenance_dose": st.booleans(),
        "investigational_drug_other_than_study_car_t": st.booleans(),
    }
)


@given(lldas_inputs, st.sampled_from(KEYS))
def test_an_extra_descriptor_never_turns_a_visit_into_lldas(inputs, extra):
    before = compute("lldas", inputs)["lldas"]
    after = compute("lldas", {**inputs, "present": [*inputs["present"], extra]})["lldas"]
    assert not (after and not before)


@given(lldas_inputs, st.decimals(min_value=0, max_value=3, places=1))
def test_a_higher_pga_or_steroid_dose_never_turns_a_visit_into_lldas(inputs, step):
    before = compute("lldas", inputs)["lldas"]
    pga_up = str(min(Decimal(inputs["pga"]) + step, 3))
    dose_up = str(Decimal(inputs["prednisone_equivalent_mg_day"]) + step)
    for change in ({"pga": pga_up}, {"prednisone_equivalent_mg_day": dose_up}):
        assert not (compute("lldas", {**inputs, **change})["lldas"] and not before)


@given(lldas_inputs)
def test_lldas_holds_exactly_when_no_criterion_failed(inputs):
    result = compute("lldas", inputs)
    assert result["lldas"] is (result["failed_criteria"] == [])


visit_series = st.lists(
    st.tuples(st.integers(min_value=1, max_value=60), st.sampled_from([True, False, None])), max_size=12
)


def maintenance(series, rule="break"):
    day, visits = 0, []
    for index, (gap, state) in enumerate(series):
        day += gap
        visits.append({"visit": f"V{index}", "study_day": day, "state_met": state})
    return compute("state_maintenance", {"visits": visits, "missing_visit_rule": rule})


@given(visit_series)
def test_run_summaries_are_consistent(series):
    result = maintenance(series)
    if result["longest_run_days"] is None:
        assert result["cumulative_days"] == 0 and result["first_attainment_day"] is None
    else:
        assert result["cumulative_days"] >= result["longest_run_days"] >= 0
        assert 1 <= len(result["longest_run_visits"]) <= result["max_consecutive_visits"]
    assert (result["final_run_start_day"] is not None) is (result["met_at_last_visit"] is True)


@given(visit_series)
def test_bridging_never_shortens_a_run(series):
    plain, bridged = maintenance(series), maintenance(series, "bridge_one")
    assert bridged["cumulative_days"] >= plain["cumulative_days"]
    assert bridged["max_consecutive_visits"] >= plain["max_consecutive_visits"]
    assert (bridged["longest_run_days"] or 0) >= (plain["longest_run_days"] or 0)


@given(st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=12))
def test_a_state_met_at_every_visit_is_one_run_from_first_to_last_visit(gaps):
    result = maintenance([(gap, True) for gap in gaps])
    assert result["longest_run_days"] == sum(gaps) - gaps[0]
    assert result["max_consecutive_visits"] == len(gaps)
    assert result["final_run_start_day"] == result["first_attainment_day"] == gaps[0]
