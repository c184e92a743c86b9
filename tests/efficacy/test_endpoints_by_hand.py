"""Every derived value of the hand-written participant (tests/efficacy/conftest.py), worked out by hand
from clinical-rules.md, not by calling the code under test."""

import pytest

from efficacy.endpoints import for_participants

# Baseline (BL, the lymphodepletion day): SLEDAI-2K 14, PGA 2.0, BILAG B in three systems.
# Prednisone-equivalent on each date: 10 mg to day 40, 5 mg from day 41 to 150, then none; the
# methylprednisolone for CRS (days 2-30) and the dexamethasone premedication (day 90) do not count.
# Hydroxychloroquine throughout; mycophenolate stopped before lymphodepletion.
EXPECTED = {
    #       SLEDAI cSLEDAI PGA   pred  SRI-4  DORIS  DF(AM) DF(strict) LLDAS
    "D28": (4, 0, "0.4", "10.00", True, False, False, False, False),  # prednisone 10 > 5 and > 7.5
    "M3": (2, 0, "0.3", "5.00", True, True, False, False, True),  # 5 ≤ 5; dsDNA not new (at D28)
    "M6": (0, 0, "0.2", "0", True, True, True, False, True),  # off steroids; on hydroxychloroquine
}


@pytest.fixture
def endpoints(hand_participant):
    (result,) = for_participants([hand_participant])
    return result


def rows(endpoints):
    return {row.code: row for row in endpoints.follow_up}


def test_the_baseline_is_the_last_assessment_before_lymphodepletion(endpoints):
    assert endpoints.baseline["sledai_2k"].value == 14
    assert endpoints.baseline["sledai_2k"].details["visit"] == "BL"
    assert str(endpoints.baseline["pga"].value) == "2.0"
    assert endpoints.baseline["bilag"].details == {"n_a": 0, "n_b": 3, "visit": "BL"}
    baseline_row = endpoints.rows[0]
    assert baseline_row.baseline and baseline_row.code == "BL"
    assert baseline_row.values["clinical_sledai"].value == 10


def test_only_due_visits_with_a_sledai_form_in_the_protocol_are_evaluated(endpoints):
    # D14 has no SLEDAI in the protocol; Month 12 is not due yet.
    assert [row.code for row in endpoints.follow_up] == ["D28", "M3", "M6", "M9"]


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_every_value_at_every_visit_equals_the_hand_calculation(endpoints, code):
    sledai, clinical, pga, pred, sri, doris, df_am, df_strict, lldas = EXPECTED[code]
    row = rows(endpoints)[code]
    values = row.values
    assert values["sledai_2k"].value == sledai
    assert values["clinical_sledai"].value == clinical
    assert values["selena_sledai"].value == sledai  # no proteinuria: the same as SLEDAI-2K here
    assert str(values["pga"].value) == pga
    assert str(values["prednisone"].value) == pred
    assert values["sri_4"].value is sri
    assert values["doris"].value is doris
    assert values["drug_free_doris_antimalarial_allowed"].value is df_am
    assert values["drug_free_doris_strict"].value is df_strict
    assert values["lldas"].value is lldas
    assert all(v.evaluable for v in values.values())


def test_each_value_carries_its_inputs_and_rule_version(endpoints):
    m3 = rows(endpoints)["M3"].values
    assert m3["sri_4"].rule_version == "sri_4/1"
    assert m3["sri_4"].inputs["sledai_baseline"] == 14 and m3["sri_4"].inputs["sledai_followup"] == 2
    assert m3["doris"].rule_version == "doris_2021/1"
    assert m3["doris"].inputs["glucocorticoid"] == {"drug": "prednisone", "dose_mg_day": 5.0}
    assert m3["doris"].inputs["antimalarial"] is True
    assert m3["lldas"].rule_version == "lldas_2016/1"
    assert m3["lldas"].inputs["present_previous_assessment"] == ["low_complement", "increased_dna_binding"]
    assert m3["sledai_2k"].rule_version == "sledai_2k/1"


def test_the_failed_criteria_explain_a_no(endpoints):
    d28 = rows(endpoints)["D28"].values
    assert d28["doris"].details["failed_criteria"] == ["glucocorticoid_above_limit"]
    assert d28["lldas"].details["failed_criteria"] == ["glucocorticoid_gt_7_5"]


def test_a_visit_with_a_draft_pga_is_not_evaluable_and_says_why(endpoints):
    m9 = rows(endpoints)["M9"].values
    assert m9["sledai_2k"].value == 0 and m9["sledai_2k"].evaluable
    for key in ("pga", "sri_4", "doris", "drug_free_doris_antimalarial_allowed", "lldas"):
        assert m9[key].evaluable is False, key
        assert m9[key].value is None
        assert "PGA form not complete" in m9[key].why
        assert m9[key].shown == "not evaluable"


def test_maintenance_runs_are_broken_by_the_not_evaluable_visit(endpoints):
    # States at D28 (day 28), M3 (90), M6 (180), M9 (270, not evaluable):
    # LLDAS and DORIS no, yes, yes, ? -> first day 90, longest run M3-M6 = 90 days.
    for state in ("lldas", "doris"):
        overall = endpoints.maintenance[state].details
        assert overall["first_attainment_day"] == 90
        assert overall["longest_run_days"] == 90 and overall["longest_run_visits"] == ["M3", "M6"]
        assert overall["met_at_last_visit"] is None and overall["final_run_start_day"] is None
    # Drug-free DORIS (antimalarial allowed): only at M6 -> a run of one visit, 0 days.
    df = endpoints.maintenance["drug_free_doris_antimalarial_allowed"].details
    assert (df["first_attainment_day"], df["longest_run_days"], df["longest_run_visits"]) == (180, 0, ["M6"])
    strict = endpoints.maintenance["drug_free_doris_strict"].details
    assert strict["first_attainment_day"] is None and strict["longest_run_days"] is None


def test_the_run_to_each_visit_is_kept_per_visit(endpoints):
    by_code = rows(endpoints)
    assert by_code["M3"].maintenance["lldas"]["final_run_start_day"] == 90
    assert by_code["M6"].maintenance["lldas"]["final_run_start_day"] == 90
    assert by_code["M6"].maintenance["lldas"]["longest_run_days"] == 90
    assert by_code["D28"].maintenance["lldas"]["first_attainment_day"] is None
