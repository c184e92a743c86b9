"""CRS, ICANS, baseline ICE and GvHD forms store the grade ``edc.clinical.compute`` gives on the stored
inputs, with the rule version; an investigator's own grade that disagrees opens a query."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from adverse_events.grading import episodes
from adverse_events.models import BaselineIce, CrsAssessment, GvhdAssessment, IcansAssessment
from edc.clinical import compute
from edc.errors import DomainError
from monitoring.models import Query, QueryStatus
from tests.adverse_events.factories import infused, save_crf
from tests.conftest import make_participant, today_at


@pytest.fixture
def patient(coordinator, site_yc):
    return infused(coordinator, site_yc, days_ago=30)


def crs(visit_date, **values):
    return {
        "assessed_on": visit_date,
        "temperature_c": Decimal("38.6"),
        "fever_masked": False,
        "hypotension": "none",
        "vasopressors": [],
        "oxygen_device": "none",
        "oxygen_flow_l_min": None,
        **values,
    }


CRS_CASES = [
    ({"temperature_c": Decimal("37.2")}, 0),
    ({}, 1),
    ({"hypotension": "fluids_only"}, 2),
    ({"oxygen_device": "nasal_cannula", "oxygen_flow_l_min": Decimal("6")}, 2),
    ({"oxygen_device": "nasal_cannula", "oxygen_flow_l_min": Decimal("6.5")}, 3),
    ({"hypotension": "vasopressor", "vasopressors": ["vasopressin", "norepinephrine"]}, 3),
    ({"hypotension": "vasopressor", "vasopressors": ["norepinephrine", "epinephrine"]}, 4),
    ({"temperature_c": Decimal("37.0"), "fever_masked": True, "oxygen_device": "bipap"}, 4),
]


@pytest.mark.parametrize(("values", "expected"), CRS_CASES)
def test_stored_crs_grade_equals_compute_on_the_stored_inputs(coordinator, patient, values, expected):
    visit = patient.visits.get(code="D1")
    saved = save_crf(coordinator, patient, "crs", "D1", crs(visit.target_date, **values), complete=True)
    stored = CrsAssessment.objects.get(pk=saved.pk)
    result = compute("astct_crs", stored.grade_inputs())
    assert stored.crs_grade == result["crs_grade"] == expected
    assert stored.grade_rule_version == result["rule_version"] == "astct_crs/1"


def test_a_crs_draft_without_the_inputs_has_no_grade(coordinator, patient):
    saved = save_crf(coordinator, patient, "crs", "D1", {"temperature_c": Decimal("39.0")})
    assert saved.crs_grade is None and saved.grade_rule_version == ""


def test_values_the_calculator_refuses_are_refused_on_their_field(coordinator, patient):
    visit = patient.visits.get(code="D1")
    with pytest.raises(DomainError) as error:
        save_crf(coordinator, patient, "crs", "D1", crs(visit.target_date, hypotension="vasopressor"))
    assert error.value.field == "vasopressors"
    assert not CrsAssessment.objects.exists()


def test_an_investigator_grade_that_disagrees_opens_a_query_that_closes_once_they_agree(coordinator, patient):
    visit = patient.visits.get(code="D2")
    saved = save_crf(coordinator, patient, "crs", "D2", crs(visit.target_date, investigator_grade=2))
    query = Query.objects.get(check_id="CRS-INVESTIGATOR-GRADE")
    assert (query.field_name, query.status, query.object_id) == (
        "investigator_grade",
        QueryStatus.OPEN,
        saved.pk,
    )
    save_crf(coordinator, patient, "crs", "D2", crs(visit.target_date, hypotension="fluids_only",
                                                    investigator_grade=2), instance=saved)  # fmt: skip
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED


def test_an_agreeing_investigator_grade_opens_no_query(coordinator, patient):
    visit = patient.visits.get(code="D2")
    save_crf(coordinator, patient, "crs", "D2", crs(visit.target_date, investigator_grade=1))
    assert not Query.objects.filter(check_id="CRS-INVESTIGATOR-GRADE").exists()


def icans(visit_date, **values):
    return {
        "assessed_on": visit_date,
        "orientation_correct": 4,
        "naming_correct": 3,
        "follows_commands": True,
        "writes_sentence": True,
        "counts_back_by_10": True,
        "consciousness": "alert",
        "seizure": "none",
        "motor": "none",
        "icp_cerebral_edema": "none",
        **values,
    }


ICANS_CASES = [
    ({}, 10, 0),
    ({"counts_back_by_10": False}, 9, 1),
    ({"orientation_correct": 1, "naming_correct": 1}, 5, 2),
    ({"orientation_correct": 0, "naming_correct": 0, "writes_sentence": False, "counts_back_by_10": False,
      "follows_commands": False}, 0, 3),
    ({"seizure": "clinical_resolves_rapidly"}, 10, 3),
    ({"consciousness": "unarousable_or_vigorous_stimuli", "orientation_correct": None, "naming_correct": None,
      "follows_commands": False, "writes_sentence": False, "counts_back_by_10": False}, None, 4),
    # Roused by vigorous stimuli, then part of the ICE test done: the score is kept, the grade stays 4.
    ({"consciousness": "unarousable_or_vigorous_stimuli", "orientation_correct": 1,
      "naming_correct": 1}, 5, 4),
    ({"icp_cerebral_edema": "diffuse_edema"}, 10, 4),
]  # fmt: skip


@pytest.mark.parametrize(("values", "ice", "expected"), ICANS_CASES)
def test_stored_icans_grade_equals_compute_on_the_stored_inputs(coordinator, patient, values, ice, expected):
    visit = patient.visits.get(code="D3")
    saved = save_crf(coordinator, patient, "icans", "D3", icans(visit.target_date, **values), complete=True)
    stored = IcansAssessment.objects.get(pk=saved.pk)
    assert stored.ice_score == ice
    if ice is not None:
        assert compute("ice_score", stored.ice_inputs())["ice_score"] == ice
        assert stored.ice_rule_version == "ice_score/1"
    result = compute("astct_icans_adult", stored.grade_inputs())
    assert stored.icans_grade == result["icans_grade"] == expected
    assert stored.grade_rule_version == result["rule_version"] == "astct_icans_adult/1"


def test_an_icans_disagreement_opens_a_query(coordinator, patient):
    visit = patient.visits.get(code="D3")
    save_crf(coordinator, patient, "icans", "D3", icans(visit.target_date, investigator_grade=1))
    assert Query.objects.get().check_id == "ICANS-INVESTIGATOR-GRADE"


def test_baseline_ice_before_lymphodepletion_stores_its_score(coordinator, site_yc):
    today = today_at(site_yc)
    p = make_participant(
        coordinator, site_yc, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    visit = p.visits.get(code="BL")
    items = {"orientation_correct": 3, "naming_correct": 3, "follows_commands": True}
    items |= {"writes_sentence": False, "counts_back_by_10": True}
    data = {"assessed_on": visit.target_date, "language": "zh", **items}
    saved = save_crf(coordinator, p, "ice", "BL", data, complete=True)
    stored = BaselineIce.objects.get(pk=saved.pk)
    assert stored.ice_score == compute("ice_score", stored.ice_inputs())["ice_score"] == 8


GVHD_CASES = [
    ({}, 0),
    ({"skin_rash_bsa_pct": Decimal("20")}, 1),
    ({"skin_rash_bsa_pct": Decimal("60")}, 2),
    ({"persistent_nausea": True}, 2),
    ({"total_bilirubin_mg_dl": Decimal("4.0")}, 3),
    ({"stool_volume_ml_day": 1200}, 3),
    ({"skin_rash_bsa_pct": Decimal("80"), "erythroderma_bullae": True}, 4),
]


@pytest.mark.parametrize(("values", "expected"), GVHD_CASES)
def test_stored_gvhd_grade_equals_compute_on_the_stored_inputs(coordinator, patient, values, expected):
    visit = patient.visits.get(code="D14")
    data = {"assessed_on": visit.target_date, "skin_rash_bsa_pct": Decimal("0"), "total_bilirubin_mg_dl":
            Decimal("0.8"), "stool_volume_ml_day": 200, **values}  # fmt: skip
    saved = save_crf(coordinator, patient, "gvhd", "D14", data, complete=True)
    stored = GvhdAssessment.objects.get(pk=saved.pk)
    result = compute("magic_agvhd", stored.grade_inputs())
    assert stored.overall_grade == result["overall_grade"] == expected
    assert (stored.skin_stage, stored.liver_stage, stored.upper_gi_stage, stored.lower_gi_stage) == (
        result["skin"], result["liver"], result["upper_gi"], result["lower_gi"])  # fmt: skip
    assert stored.grade_rule_version == result["rule_version"] == "magic_agvhd/1"


def test_crs_cannot_be_assessed_before_day_0(coordinator, patient):
    with pytest.raises(DomainError) as error:
        save_crf(coordinator, patient, "crs", "D1", crs(patient.infusion_date - timedelta(days=1)))
    assert error.value.field == "assessed_on"


D = date(2027, 1, 1)


def day(n):
    return D + timedelta(days=n)


def test_an_episode_runs_from_the_first_graded_day_to_the_next_grade_0():
    found = episodes([(day(1), 0), (day(2), 1), (day(3), 3), (day(5), 2), (day(6), 0), (day(9), 1)], D)
    assert [(e.onset_day, e.max_grade, e.duration_days, e.resolved_on) for e in found] == [
        (2, 3, 4, day(6)),
        (9, 1, 1, None),
    ]
    assert found[1].ongoing


def test_ungraded_drafts_do_not_split_or_end_an_episode():
    found = episodes([(day(1), 2), (day(2), None), (day(3), 1)], D)
    assert len(found) == 1 and found[0].duration_days == 3
