"""Saving a panel: conversion beside the entered value, reference-range flags, CTCAE grades, workflow."""

from datetime import timedelta
from decimal import Decimal

import pytest

from edc.clinical import compute
from edc.errors import DomainError
from labs.models import LabPanel, LabResult
from tests.conftest import make_participant, today_at
from tests.labs.conftest import entry, result, save
from trials.models import Participant


def test_the_entered_value_is_stored_beside_its_standard_unit_conversion(coordinator, baseline):
    panel = save(coordinator, baseline, [entry("hb", "9.5", "g/dL")])
    hb = result(panel, "hb")
    assert (hb.value, hb.unit) == (Decimal("9.5"), "g/dL")
    assert (hb.standard_value, hb.standard_unit) == (Decimal("95"), "g/L")


def test_cell_counts_per_microlitre_are_stored_in_10_9_per_litre(coordinator, baseline):
    panel = save(coordinator, baseline, [entry("anc", 1500, "cells/uL")])
    anc = result(panel, "anc")
    assert (anc.standard_value, anc.standard_unit) == (Decimal("1.5"), "10^9/L")
    assert (anc.lln, anc.uln) == (Decimal("1800"), Decimal("6300"))  # the range in the entered unit


@pytest.mark.parametrize(
    ("value", "flag"),
    [("114.9", "L"), ("115", ""), ("132", ""), ("150", ""), ("150.1", "H")],
)
def test_values_at_the_lln_and_uln_are_normal_and_beyond_them_flagged(coordinator, baseline, value, flag):
    panel = save(coordinator, baseline, [entry("hb", value, "g/L")])
    assert result(panel, "hb").flag == flag


@pytest.mark.parametrize(("value", "flag"), [("11.49", "L"), ("11.5", ""), ("15.0", ""), ("15.01", "H")])
def test_the_range_edges_hold_exactly_in_another_unit(coordinator, baseline, value, flag):
    # The women's range is 115–150 g/L; 11.5 and 15.0 g/dL are its limits exactly.
    panel = save(coordinator, baseline, [entry("hb", value, "g/dL")])
    assert result(panel, "hb").flag == flag


def test_a_tiny_excess_over_the_uln_in_another_unit_is_flagged(coordinator, baseline):
    # 0.8258 mg/dL × 88.4 = 73.00072 µmol/L, just above the ULN of 73 µmol/L.
    panel = save(coordinator, baseline, [entry("creatinine", "0.8258", "mg/dL")], panel="chemistry")
    creatinine = result(panel, "creatinine")
    assert (creatinine.standard_value, creatinine.flag) == (Decimal("73.000720"), "H")


def test_men_and_women_get_their_own_haemoglobin_range(coordinator, baseline):
    woman = save(coordinator, baseline, [entry("hb", 125, "g/L")])
    assert result(woman, "hb").flag == ""
    Participant.objects.filter(pk=baseline.participant_id).update(sex="M")
    baseline.participant.refresh_from_db()
    man_visit = baseline.participant.visits.get(code="SCR")
    man = save(coordinator, man_visit, [entry("hb", 125, "g/L")], collected_at=None)
    hb = result(man, "hb")
    assert hb.flag == "L" and (hb.lln, hb.uln) == (Decimal(130), Decimal(175))


@pytest.mark.parametrize(("born", "uln", "flag"), [(1985, Decimal(73), "H"), (1950, Decimal(81), "")])
def test_the_age_at_collection_selects_the_creatinine_band(coordinator, baseline, born, uln, flag):
    Participant.objects.filter(pk=baseline.participant_id).update(year_of_birth=born)
    baseline.participant.refresh_from_db()
    panel = save(coordinator, baseline, [entry("creatinine", 80, "umol/L")], panel="chemistry")
    creatinine = result(panel, "creatinine")
    assert (creatinine.uln, creatinine.flag) == (uln, flag)


def test_each_site_uses_its_own_ranges(coordinator_cd, site_cd, ranges):
    today = today_at(site_cd)
    p = make_participant(
        coordinator_cd, site_cd, screened=today - timedelta(days=10), planned=today + timedelta(days=5)
    )
    panel = save(
        coordinator_cd, p.visits.get(code="BL"), [entry("creatinine", 80, "umol/L")], panel="chemistry"
    )
    assert (result(panel, "creatinine").uln, result(panel, "creatinine").flag) == (Decimal(84), "")


@pytest.mark.parametrize(
    ("code", "value", "unit", "inputs"),
    [
        ("anc", "0.8", "10^9/L", {"parameter": "neutrophil_count_decreased", "unit": "10^9/L", "lln": "1.8"}),
        ("hb", "9.5", "g/dL", {"parameter": "anemia", "unit": "g/L", "lln": "115"}),
        (
            "platelets",
            "40000",
            "cells/uL",
            {"parameter": "platelet_count_decreased", "unit": "10^9/L", "lln": "125"},
        ),
        ("alt", "130", "U/L", {"parameter": "alt_increased", "unit": "U/L", "uln": "40"}),
        (
            "bilirubin",
            "2.0",
            "mg/dL",
            {"parameter": "blood_bilirubin_increased", "unit": "umol/L", "uln": "20.5"},
        ),
    ],
)
def test_the_ctcae_grade_and_rule_version_stored_equal_compute(
    coordinator, baseline, code, value, unit, inputs
):
    panel_code = "haematology" if code in ("anc", "hb", "platelets") else "chemistry"
    row = result(save(coordinator, baseline, [entry(code, value, unit)], panel=panel_code), code)
    expected = compute("ctcae_v5_labs", {**inputs, "value": str(row.standard_value)})
    assert row.ctcae_grade == expected["ctcae_grade"] > 0
    assert row.rule_version == expected["rule_version"] == "ctcae_v5_labs/1"


def test_a_normal_value_is_grade_0(coordinator, baseline):
    row = result(save(coordinator, baseline, [entry("anc", "3.0", "10^9/L")]), "anc")
    assert (row.flag, row.ctcae_grade) == ("", 0)


def test_without_an_applicable_range_there_is_no_flag_and_no_grade(coordinator, baseline):
    # The creatinine bands start at 18 years: a participant aged 17 at collection has none.
    Participant.objects.filter(pk=baseline.participant_id).update(
        year_of_birth=today_at(baseline.participant.site).year - 17
    )
    baseline.participant.refresh_from_db()
    row = result(
        save(coordinator, baseline, [entry("creatinine", 300, "umol/L")], panel="chemistry"), "creatinine"
    )
    assert (row.reference_range, row.flag, row.ctcae_grade, row.rule_version) == (None, "", None, "")
    assert row.standard_value == Decimal(300)


def test_qualitative_results_are_stored_without_a_number(coordinator, baseline):
    panel = save(
        coordinator,
        baseline,
        [
            entry("hbsag", result="negative"),
            entry("hbv_dna", result="not_detected"),
            entry("cmv_pcr", 350, "IU/mL"),
        ],
        panel="virology",
    )
    assert (result(panel, "hbsag").result, result(panel, "hbsag").value) == ("negative", None)
    assert result(panel, "hbv_dna").result == "not_detected"
    assert result(panel, "cmv_pcr").standard_value == Decimal(350)


def test_a_number_for_a_qualitative_test_is_refused(coordinator, baseline):
    with pytest.raises(DomainError) as error:
        save(coordinator, baseline, [entry("hbsag", 1, "IU/mL")], panel="virology")
    assert [p.row for p in error.value.problems] == ["hbsag"]


def test_a_unit_the_test_does_not_accept_is_refused(coordinator, baseline):
    with pytest.raises(DomainError) as error:
        save(coordinator, baseline, [entry("hb", 95, "mg/dL")])
    assert [(p.row, p.field) for p in error.value.problems] == [("hb", "unit")]


def test_a_test_of_another_panel_is_refused(coordinator, baseline):
    with pytest.raises(DomainError, match="not part of this panel"):
        save(coordinator, baseline, [entry("alt", 30, "U/L")])


def test_not_done_with_a_value_is_refused(coordinator, baseline):
    with pytest.raises(DomainError, match="not done cannot have a result"):
        save(coordinator, baseline, [entry("hb", 120, "g/L", not_done=True)])


def test_results_need_a_collection_time(coordinator, baseline):
    from labs.services import save_panel

    with pytest.raises(DomainError) as error:
        save_panel(
            user=coordinator, visit=baseline, panel="haematology", data={}, results=[entry("hb", 120, "g/L")]
        )
    assert error.value.field == "collected_at"
    assert not LabPanel.objects.exists()


def full_haematology(**overrides):
    values = {"wbc": "5.0", "anc": "3.0", "alc": "1.5", "hb": "130", "platelets": "200"}
    units = {"hb": "g/L"}
    rows = [entry(code, value, units.get(code, "10^9/L")) for code, value in {**values, **overrides}.items()]
    return [r for r in rows if r.value is not None]


def test_marking_complete_needs_every_test_entered_or_not_done(coordinator, baseline):
    with pytest.raises(DomainError, match="Platelets"):
        save(coordinator, baseline, full_haematology()[:4], complete=True)
    assert not LabPanel.objects.exists()
    panel = save(
        coordinator, baseline, [*full_haematology()[:4], entry("platelets", not_done=True)], complete=True
    )
    assert panel.status == "complete" and result(panel, "platelets").not_done


def test_a_change_to_a_complete_panel_needs_a_reason(coordinator, baseline):
    panel = save(coordinator, baseline, full_haematology(), complete=True)
    with pytest.raises(DomainError) as error:
        save(
            coordinator, baseline, full_haematology(hb="128"), instance=panel, collected_at=panel.collected_at
        )
    assert error.value.field == "reason"
    assert result(panel, "hb").value == Decimal(130)
    save(
        coordinator,
        baseline,
        full_haematology(hb="128"),
        instance=panel,
        collected_at=panel.collected_at,
        reason="Transcription error",
    )
    assert result(panel, "hb").value == Decimal(128)


def test_one_panel_of_each_kind_per_visit(coordinator, baseline):
    save(coordinator, baseline, [entry("hb", 120, "g/L")])
    with pytest.raises(DomainError, match="already exists for this visit"):
        save(coordinator, baseline, [entry("hb", 121, "g/L")])
    save(coordinator, baseline, [entry("alt", 20, "U/L")], panel="chemistry")
    assert LabPanel.objects.count() == 2


def test_labs_are_refused_at_a_visit_that_does_not_expect_them(coordinator, baseline):
    ld4 = baseline.participant.visits.get(code="LD-4")
    with pytest.raises(DomainError, match="does not expect laboratory results at this visit"):
        save(coordinator, ld4, [entry("hb", 120, "g/L")])


def test_a_cleared_value_keeps_its_row_and_history(coordinator, baseline):
    panel = save(coordinator, baseline, [entry("hb", 120, "g/L")])
    save(coordinator, baseline, [entry("hb")], instance=panel, collected_at=panel.collected_at)
    hb = result(panel, "hb")
    assert (hb.value, hb.standard_value, hb.flag) == (None, None, "")
    assert LabResult.objects.count() == 1


def test_a_new_collection_time_reinterprets_every_stored_result(coordinator, baseline):
    panel = save(coordinator, baseline, [entry("hb", 120, "g/L"), entry("anc", 2, "10^9/L")])
    later = panel.collected_at + timedelta(minutes=30)
    save(coordinator, baseline, [], instance=panel, collected_at=later)
    assert set(LabResult.objects.values_list("collected_at", flat=True)) == {later}
