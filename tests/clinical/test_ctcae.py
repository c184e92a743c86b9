"""CTCAE v5.0 laboratory grades: every band edge on both sides."""

from decimal import Decimal

import pytest

from edc.clinical import CalculatorInputError, compute
from edc.clinical.ctcae import ABSOLUTE, BASELINE, LLN, TERMS, ULN, Bound


def grade(parameter, value, unit, **references):
    inputs = {"parameter": parameter, "value": value, "unit": unit, **references}
    return compute("ctcae_v5_labs", inputs)["ctcae_grade"]


# --- decreased counts (10^9/L; the lower number of each band is inclusive) ------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2.0, 0),
        (1.8, 0),
        (1.79, 1),
        (1.51, 1),
        (1.5, 1),
        (1.49, 2),
        (1.0, 2),
        (0.99, 3),
        (0.5, 3),
        (0.49, 4),
        (0, 4),
    ],
)
def test_neutrophil_count_bands(value, expected):
    assert grade("neutrophil_count_decreased", value, "10^9/L", lln=1.8) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(150, 0), (149.9, 1), (75.1, 1), (75, 1), (74.9, 2), (50, 2), (49.9, 3), (25, 3), (24.9, 4)],
)
def test_platelet_count_bands(value, expected):
    assert grade("platelet_count_decreased", value, "10^9/L", lln=150) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1.0, 0), (0.99, 1), (0.8, 1), (0.79, 2), (0.5, 2), (0.49, 3), (0.2, 3), (0.19, 4)],
)
def test_lymphocyte_count_bands(value, expected):
    assert grade("lymphocyte_count_decreased", value, "10^9/L", lln=1.0) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(4.0, 0), (3.99, 1), (3.0, 1), (2.99, 2), (2.0, 2), (1.99, 3), (1.0, 3), (0.99, 4)],
)
def test_white_blood_cell_bands(value, expected):
    assert grade("wbc_decreased", value, "10^9/L", lln=4.0) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(600, 0), (599, 1), (500, 1), (499, 2), (200, 2), (199, 3), (100, 3), (99, 4)],
)
def test_cd4_lymphocyte_bands_in_cells_per_microlitre(value, expected):
    assert grade("cd4_lymphocytes_decreased", value, "cells/uL", lln=600) == expected


def test_counts_in_cells_per_microlitre_use_the_same_bands():
    assert [grade("neutrophil_count_decreased", v, "cells/uL", lln=1800) for v in (1500, 1499, 500, 499)] == [
        1,
        2,
        3,
        4,
    ]


def test_cd4_in_10_9_per_litre_is_converted_to_cells_per_microlitre():
    assert grade("cd4_lymphocytes_decreased", 0.2, "10^9/L", lln=0.6) == 2


def test_a_value_at_or_above_a_low_lln_is_normal_even_inside_a_grade_band():
    assert grade("neutrophil_count_decreased", 1.45, "10^9/L", lln=1.4) == 0


def test_a_value_below_a_low_lln_takes_the_absolute_band():
    assert grade("neutrophil_count_decreased", 1.39, "10^9/L", lln=1.4) == 2


# --- anaemia ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(120, 0), (119, 1), (100.1, 1), (100, 1), (99.9, 2), (80, 2), (79.9, 3), (40, 3)],
)
def test_anaemia_bands_in_grams_per_litre(value, expected):
    assert grade("anemia", value, "g/L", lln=120) == expected


@pytest.mark.parametrize(("value", "expected"), [(10.0, 1), (9.99, 2), (8.0, 2), (7.99, 3)])
def test_anaemia_bands_in_grams_per_decilitre(value, expected):
    assert grade("anemia", value, "g/dL", lln=12.0) == expected


def test_anaemia_in_mmol_per_litre_is_rejected_because_its_bands_differ():
    with pytest.raises(CalculatorInputError, match="unit"):
        grade("anemia", 6.2, "mmol/L", lln=7.4)


# --- ALT / AST ------------------------------------------------------------------------------------


@pytest.mark.parametrize("parameter", ["alt_increased", "ast_increased"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [(40, 0), (40.1, 1), (120, 1), (120.1, 2), (200, 2), (200.1, 3), (800, 3), (800.1, 4)],
)
def test_transaminase_bands_with_a_normal_baseline(parameter, value, expected):
    assert grade(parameter, value, "U/L", uln=40) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(40, 0), (89.9, 0), (90, 1), (180, 1), (180.1, 2), (300, 2), (300.1, 3), (1200, 3), (1200.1, 4)],
)
def test_transaminase_bands_with_an_abnormal_baseline(value, expected):
    assert grade("alt_increased", value, "U/L", uln=40, baseline=60) == expected


@pytest.mark.parametrize(
    ("value", "baseline", "expected", "basis"),
    [
        # baseline == ULN is normal: the ULN bands apply (the baseline bands would give 0 at 50 / 40)
        (50, 40, 1, "uln"),
        (60, 40, 1, "uln"),
        # just above the ULN it is abnormal: the baseline bands apply (60 / 41 < 1.5 x baseline)
        (60, 41, 0, "baseline"),
    ],
)
def test_a_baseline_at_the_uln_is_a_normal_baseline(value, baseline, expected, basis):
    result = compute(
        "ctcae_v5_labs",
        {"parameter": "alt_increased", "value": value, "unit": "U/L", "uln": 40, "baseline": baseline},
    )
    assert (result["ctcae_grade"], result["grading_basis"]) == (expected, basis)


def test_the_grading_basis_shows_which_rule_was_applied():
    result = compute(
        "ctcae_v5_labs", {"parameter": "ast_increased", "value": 90, "unit": "U/L", "uln": 40, "baseline": 60}
    )
    assert (result["ctcae_grade"], result["grading_basis"]) == (1, "baseline")


# --- bilirubin ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(20, 0), (20.1, 1), (30, 1), (30.1, 2), (60, 2), (60.1, 3), (200, 3), (200.1, 4)],
)
def test_bilirubin_bands_with_a_normal_baseline(value, expected):
    assert grade("blood_bilirubin_increased", value, "umol/L", uln=20) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(30, 0), (30.1, 1), (45, 1), (45.1, 2), (90, 2), (90.1, 3), (300, 3), (300.1, 4)],
)
def test_bilirubin_bands_with_an_abnormal_baseline(value, expected):
    assert grade("blood_bilirubin_increased", value, "umol/L", uln=20, baseline=30) == expected


# --- creatinine (decision 13) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1.0, 0), (1.01, 1), (1.5, 1), (1.51, 2), (3.0, 2), (3.01, 3), (6.0, 3), (6.01, 4)],
)
def test_creatinine_bands_by_uln(value, expected):
    assert grade("creatinine_increased", value, "mg/dL", uln=1.0) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1.1, 1), (1.2, 1), (1.21, 2), (2.4, 2), (2.41, 3)],
)
def test_creatinine_baseline_rule_raises_the_grade_above_the_uln(value, expected):
    assert grade("creatinine_increased", value, "mg/dL", uln=1.0, baseline=0.8) == expected


@pytest.mark.parametrize(
    ("value", "baseline", "expected"),
    [
        # grade 2 by baseline is >1.5-3.0 x baseline: 3.0 x is still grade 2, just above is grade 3
        (1.2, 0.4, 2),
        (1.21, 0.4, 3),
        (1.2, 0.8, 1),  # exactly 1.5 x baseline is not yet grade 2: the ULN grade (1) stands
        (1.21, 0.8, 2),
    ],
)
def test_creatinine_baseline_band_edges(value, baseline, expected):
    assert grade("creatinine_increased", value, "mg/dL", uln=1.0, baseline=baseline) == expected


def test_creatinine_at_or_below_the_uln_is_grade_0_whatever_the_baseline():
    assert grade("creatinine_increased", 1.0, "mg/dL", uln=1.0, baseline=0.3) == 0


def test_creatinine_grade_is_the_higher_of_the_uln_and_baseline_rules():
    assert grade("creatinine_increased", 4.0, "mg/dL", uln=1.0, baseline=2.0) == 3


def test_creatinine_in_micromoles_uses_references_in_the_same_unit():
    assert grade("creatinine_increased", 160, "umol/L", uln=100, baseline=50) == 3


# --- bad input -------------------------------------------------------------------------------------

VALID = {"parameter": "platelet_count_decreased", "value": 100, "unit": "10^9/L", "lln": 150}


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"parameter": "platelets"}, "parameter"),
        ({"unit": "U/L"}, "unit"),
        ({"value": -1}, "value"),
        ({"value": "low"}, "value"),
        ({"value": None}, "value"),
        ({"lln": 0}, "lln"),
        ({"lln": None}, "lln"),
        ({"parameter": "creatinine_increased", "unit": "mg/dL"}, "uln"),
        ({"parameter": "alt_increased", "unit": "U/L", "uln": 40, "baseline": 0}, "baseline"),
        ({"parameter": "alt_increased", "unit": "U/L", "uln": -40}, "uln"),
    ],
)
def test_bad_ctcae_input_is_rejected_naming_the_key(changes, key):
    with pytest.raises(CalculatorInputError) as error:
        compute("ctcae_v5_labs", {**VALID, **changes})
    assert error.value.key == key


@pytest.mark.parametrize("key", ["parameter", "value", "unit", "lln"])
def test_each_required_ctcae_key_is_named_when_missing(key):
    inputs = {name: value for name, value in VALID.items() if name != key}
    with pytest.raises(CalculatorInputError) as error:
        compute("ctcae_v5_labs", inputs)
    assert error.value.key == key


# --- the tables themselves ---------------------------------------------------------------------------

COMPLEMENT = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def meets(first, second):
    """Two bounds at the same limit, one including it and the other excluding it."""
    return (
        first.factor == second.factor
        and first.reference == second.reference
        and COMPLEMENT[first.operator] == second.operator
    )


@pytest.mark.parametrize("parameter", sorted(TERMS))
def test_the_grade_bands_meet_without_gap_or_overlap(parameter):
    # A band's bound is written twice (its upper is the next band's lower, band 1 meets the normal
    # range): grading takes the first band that holds, so only a test of the table sees one side drift.
    term = TERMS[parameter]
    decreased = term.normal.operator == ">="
    for bands in (term.bands, term.baseline_bands):
        ordered = sorted(bands, key=lambda band: band.grade)
        grades = [band.grade for band in ordered]
        assert grades == list(range(grades[0], grades[0] + len(grades))) if grades else True
        for lower_grade, higher_grade in zip(ordered, ordered[1:], strict=False):
            if decreased:
                assert meets(lower_grade.lower, higher_grade.upper)
            else:
                assert meets(lower_grade.upper, higher_grade.lower)
        for top in ordered[-1:]:  # the highest grade is open-ended
            assert (top.lower if decreased else top.upper) is None
    first = term.bands[0]
    assert meets(term.normal, first.upper if decreased else first.lower)


@pytest.mark.parametrize(
    ("operator", "below_limit", "at_limit", "above_limit"),
    [
        ("<", True, False, False),
        ("<=", True, True, False),
        (">", False, False, True),
        (">=", False, True, True),
    ],
)
def test_a_bound_includes_its_limit_only_when_it_says_so(operator, below_limit, at_limit, above_limit):
    for reference, references in ((ABSOLUTE, {}), (ULN, {ULN: Decimal(40)})):
        bound = Bound(operator, Decimal("1.5"), reference)
        limit = Decimal("1.5") * references.get(reference, 1)
        values = (limit - Decimal("0.01"), limit, limit + Decimal("0.01"))
        assert [bound.holds(v, references) for v in values] == [below_limit, at_limit, above_limit]


@pytest.mark.parametrize("parameter", sorted(TERMS))
def test_every_band_edge_lies_in_exactly_one_grade(parameter):
    # Grading takes the first band that holds, so a band reaching over its neighbour's edge would only
    # show once the order changed: at each limit (and 0.01 either side), exactly one of the normal range
    # and the grade bands holds; of the baseline bands, at most one.
    term = TERMS[parameter]
    references = {LLN: Decimal(1000), ULN: Decimal(1), BASELINE: Decimal(1)}  # LLN above every cut-off
    for bands, normal in ((term.bands, [term.normal]), (term.baseline_bands, [])):
        bounds = [b for band in bands for b in (band.lower, band.upper) if b is not None] + normal
        limits = {b.factor * references.get(b.reference, 1) for b in bounds}
        for value in sorted({v + d for v in limits for d in (Decimal("-0.01"), 0, Decimal("0.01"))}):
            holding = [band.grade for band in bands if band.contains(value, references)]
            holding += ["normal" for bound in normal if bound.holds(value, references)]
            assert len(holding) == 1 if normal else len(holding) <= 1, (value, holding)
