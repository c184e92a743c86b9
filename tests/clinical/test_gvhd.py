"""MAGIC acute GvHD organ stages and overall grade."""

from decimal import Decimal

import pytest

from edc.clinical import CalculatorInputError, compute, gvhd

NO_GVHD = {
    "skin_rash_bsa_pct": 0,
    "generalized_erythroderma_with_bullae_desquamation": False,
    "total_bilirubin_mg_dl": 0.8,
    "persistent_nausea_vomiting_anorexia": False,
    "stool_volume_ml_day": 200,
    "severe_abdominal_pain_ileus_or_gross_blood": False,
}


def magic(**changes):
    inputs = {**NO_GVHD, **changes}
    return compute("magic_agvhd", {key: value for key, value in inputs.items() if value is not ...})


def test_no_organ_involvement_is_grade_0():
    result = magic()
    assert (result["overall_grade"], result["overall_grade_roman"]) == (0, "0")


@pytest.mark.parametrize(
    ("bsa", "stage"),
    [(0, 0), (0.1, 1), (24.9, 1), (25, 2), (50, 2), (50.1, 3), (100, 3)],
)
def test_skin_stage_follows_rash_bsa(bsa, stage):
    assert magic(skin_rash_bsa_pct=bsa)["skin"] == stage


def test_generalised_erythroderma_with_bullae_is_skin_stage_4():
    assert magic(skin_rash_bsa_pct=80, generalized_erythroderma_with_bullae_desquamation=True)["skin"] == 4


def test_bullae_flag_with_a_rash_of_50_percent_or_less_is_rejected():
    with pytest.raises(CalculatorInputError, match="generalized_erythroderma_with_bullae_desquamation"):
        magic(skin_rash_bsa_pct=50, generalized_erythroderma_with_bullae_desquamation=True)


@pytest.mark.parametrize(
    ("bilirubin", "stage"),
    [(1.9, 0), (2.0, 1), (3.0, 1), (3.05, 2), (3.1, 2), (6.0, 2), (6.1, 3), (15.0, 3), (15.1, 4)],
)
def test_liver_stage_follows_total_bilirubin(bilirubin, stage):
    assert magic(total_bilirubin_mg_dl=bilirubin)["liver"] == stage


@pytest.mark.parametrize(("nausea", "stage"), [(False, 0), (True, 1)])
def test_upper_gi_stage_follows_persistent_nausea(nausea, stage):
    assert magic(persistent_nausea_vomiting_anorexia=nausea)["upper_gi"] == stage


@pytest.mark.parametrize(
    ("volume", "stage"),
    [(499, 0), (500, 1), (999, 1), (999.5, 1), (1000, 2), (1500, 2), (1501, 3)],
)
def test_lower_gi_stage_follows_stool_volume(volume, stage):
    assert magic(stool_volume_ml_day=volume)["lower_gi"] == stage


@pytest.mark.parametrize(("episodes", "stage"), [(2, 0), (3, 1), (4, 1), (5, 2), (7, 2), (8, 3)])
def test_lower_gi_stage_follows_stool_episodes(episodes, stage):
    assert magic(stool_volume_ml_day=..., stool_episodes_day=episodes)["lower_gi"] == stage


def test_lower_gi_takes_the_higher_stage_of_volume_and_episodes():
    assert magic(stool_volume_ml_day=600, stool_episodes_day=6)["lower_gi"] == 2


def test_severe_pain_ileus_or_gross_blood_is_lower_gi_stage_4():
    assert magic(severe_abdominal_pain_ileus_or_gross_blood=True)["lower_gi"] == 4


@pytest.mark.parametrize(
    ("changes", "grade", "roman"),
    [
        ({"skin_rash_bsa_pct": 20}, 1, "I"),
        ({"skin_rash_bsa_pct": 40}, 1, "I"),
        ({"skin_rash_bsa_pct": 60}, 2, "II"),
        ({"total_bilirubin_mg_dl": 2.5}, 2, "II"),
        ({"persistent_nausea_vomiting_anorexia": True}, 2, "II"),
        ({"stool_volume_ml_day": 700}, 2, "II"),
        ({"skin_rash_bsa_pct": 40, "persistent_nausea_vomiting_anorexia": True}, 2, "II"),
        ({"total_bilirubin_mg_dl": 4}, 3, "III"),
        ({"total_bilirubin_mg_dl": 10}, 3, "III"),
        ({"stool_volume_ml_day": 1200}, 3, "III"),
        ({"stool_volume_ml_day": 2000, "skin_rash_bsa_pct": 60}, 3, "III"),
        ({"skin_rash_bsa_pct": 60, "generalized_erythroderma_with_bullae_desquamation": True}, 4, "IV"),
        ({"total_bilirubin_mg_dl": 16}, 4, "IV"),
        ({"severe_abdominal_pain_ileus_or_gross_blood": True}, 4, "IV"),
    ],
)
def test_overall_grade_follows_the_magic_table(changes, grade, roman):
    result = magic(**changes)
    assert (result["overall_grade"], result["overall_grade_roman"]) == (grade, roman)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"skin_rash_bsa_pct": 101}, "skin_rash_bsa_pct"),
        ({"skin_rash_bsa_pct": -1}, "skin_rash_bsa_pct"),
        ({"skin_rash_bsa_pct": ...}, "skin_rash_bsa_pct"),
        (
            {"generalized_erythroderma_with_bullae_desquamation": "no"},
            "generalized_erythroderma_with_bullae_desquamation",
        ),
        ({"total_bilirubin_mg_dl": -0.1}, "total_bilirubin_mg_dl"),
        ({"total_bilirubin_mg_dl": None}, "total_bilirubin_mg_dl"),
        ({"persistent_nausea_vomiting_anorexia": 0}, "persistent_nausea_vomiting_anorexia"),
        ({"stool_volume_ml_day": ...}, "stool_volume_ml_day"),
        ({"stool_volume_ml_day": -5}, "stool_volume_ml_day"),
        ({"stool_episodes_day": 2.5}, "stool_episodes_day"),
        ({"severe_abdominal_pain_ileus_or_gross_blood": ...}, "severe_abdominal_pain_ileus_or_gross_blood"),
    ],
)
def test_bad_gvhd_input_is_rejected_naming_the_key(changes, key):
    with pytest.raises(CalculatorInputError) as error:
        magic(**changes)
    assert error.value.key == key


def test_the_bullae_flag_is_accepted_just_above_50_percent():
    result = magic(skin_rash_bsa_pct=50.1, generalized_erythroderma_with_bullae_desquamation=True)
    assert (result["skin"], result["overall_grade"]) == (4, 4)


# The tables themselves: each band row must cover its own values only, so that every reachable value
# has exactly one stage (a band that overlaps the next is hidden by first-match and would go unnoticed
# until the order of the rows changed). Probed at every bound, 0.01 either side, and just outside the
# reachable range (rash 0-100 %, bilirubin 0-100 mg/dL, stool 0-20000 mL/day, episodes 0-100 per day).
TABLES = {
    "skin": (gvhd.SKIN_STAGES, Decimal(100), Decimal("0.01")),
    "liver": (gvhd.LIVER_STAGES, Decimal(100), Decimal("0.01")),
    "stool_volume": (gvhd.STOOL_VOLUME_STAGES, Decimal(20000), Decimal("0.01")),
    "stool_episodes": (gvhd.STOOL_EPISODE_STAGES, Decimal(100), Decimal(1)),  # whole episodes only
}


def _probes(rows, top, step):
    bounds = (
        {Decimal(0), top} | {row.low for row in rows} | {row.high for row in rows if row.high is not None}
    )
    return sorted({b + d for b in bounds for d in (-step, 0, step) if 0 <= b + d <= top})


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_reachable_value_falls_in_exactly_one_stage_band(table):
    rows, top, step = TABLES[table]
    for value in _probes(rows, top, step):
        assert [row.stage for row in rows if row.contains(value)] == [gvhd._stage_of(rows, value)], value


@pytest.mark.parametrize("table", sorted(TABLES))
def test_no_stage_band_reaches_below_zero(table):
    rows, _, step = TABLES[table]
    assert not [row.stage for row in rows if row.contains(-step)]


def test_the_skin_bands_end_at_100_percent():
    assert not [row.stage for row in gvhd.SKIN_STAGES if row.contains(Decimal("100.01"))]


@pytest.mark.parametrize(
    ("table", "edges"),
    [
        # (value, stage): each bound and the value just past it, as the MAGIC table reads
        ("skin", [(0, 0), ("0.01", 1), ("24.99", 1), (25, 2), (50, 2), ("50.01", 3), (100, 3)]),
        ("liver", [("1.99", 0), (2, 1), (3, 1), ("3.01", 2), (6, 2), ("6.01", 3), (15, 3), ("15.01", 4)]),
        ("stool_volume", [("499.99", 0), (500, 1), ("999.99", 1), (1000, 2), (1500, 2), ("1500.01", 3)]),
        ("stool_episodes", [(0, 0), (2, 0), (3, 1), (4, 1), (5, 2), (7, 2), (8, 3), (100, 3)]),
    ],
)
def test_each_stage_band_starts_and_ends_where_magic_says(table, edges):
    rows = TABLES[table][0]
    assert [(value, gvhd._stage_of(rows, Decimal(value))) for value, _ in edges] == edges
