"""ICAHT grading (Rejeski 2023) from derived counts and from dated ANC results."""

import pytest

from edc.clinical import CalculatorInputError, compute


def early(days_le_500, days_le_100=0, never_above=False):
    inputs = {
        "phase": "early",
        "days_anc_le_500": days_le_500,
        "days_anc_le_100": days_le_100,
        "anc_never_above_500_day0_30": never_above,
    }
    return compute("icaht", inputs)["icaht_grade"]


def late(values, **extra):
    return compute("icaht", {"phase": "late", "anc_values_after_day30": values, **extra})


# --- icaht, early ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "grade"), [(0, 0), (1, 1), (6, 1), (7, 2), (13, 2), (14, 3), (30, 3), (31, 3)]
)
def test_early_grade_follows_days_at_or_below_500(days, grade):
    assert early(days) == grade


@pytest.mark.parametrize(("days", "grade"), [(6, 1), (7, 3), (13, 3), (14, 4)])
def test_early_grade_follows_days_at_or_below_100(days, grade):
    assert early(days, days) == grade


def test_anc_never_above_500_is_early_grade_4():
    assert early(31, 0, never_above=True) == 4


def test_more_days_at_or_below_100_than_at_or_below_500_is_rejected():
    with pytest.raises(CalculatorInputError, match="days_anc_le_100"):
        early(3, 4)


@pytest.mark.parametrize(
    ("inputs", "key"),
    [
        ({"phase": "early", "days_anc_le_500": 32}, "days_anc_le_500"),
        ({"phase": "early", "days_anc_le_500": -1}, "days_anc_le_500"),
        ({"phase": "early", "days_anc_le_500": 3}, "days_anc_le_100"),
        ({"phase": "early", "days_anc_le_500": 3, "days_anc_le_100": 0}, "anc_never_above_500_day0_30"),
        ({"phase": "mid"}, "phase"),
        ({}, "phase"),
        ({"phase": "late"}, "anc_values_after_day30"),
        ({"phase": "late", "anc_values_after_day30": 0.4}, "anc_values_after_day30"),
        ({"phase": "late", "anc_values_after_day30": [0.4, -1]}, "anc_values_after_day30[1]"),
        ({"phase": "late", "anc_values_after_day30": [0.4, "x"]}, "anc_values_after_day30[1]"),
        ({"phase": "late", "anc_values_after_day30": [], "unit": "g/L"}, "unit"),
    ],
)
def test_bad_icaht_input_is_rejected_naming_the_key(inputs, key):
    with pytest.raises(CalculatorInputError) as error:
        compute("icaht", inputs)
    assert error.value.key == key


# --- icaht, late ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("second_lowest", "grade"),
    [
        (2.0, 0),
        (1.51, 0),
        (1.5, 1),
        (1.01, 1),
        (1.0, 2),
        (0.51, 2),
        (0.5, 3),
        (0.11, 3),
        (0.1, 4),
        (0, 4),
    ],
)
def test_late_grade_follows_the_second_lowest_value(second_lowest, grade):
    assert late([0, second_lowest, 3.0])["icaht_grade"] == grade


@pytest.mark.parametrize(("values", "occasions"), [([1.5, 1.6], 1), ([1.51, 1.6], 0), ([1.0, 1.5], 2)])
def test_an_anc_of_exactly_1500_is_an_occasion(values, occasions):
    assert late(values)["occasions_anc_le_1500"] == occasions


def test_a_single_low_value_after_day_30_is_not_late_icaht():
    assert late([0.05])["icaht_grade"] == 0


def test_late_icaht_is_not_graded_by_the_nadir():
    result = late([0.05, 1.2, 3.0])
    assert (result["icaht_grade"], result["grading_anc"], result["occasions_anc_le_1500"]) == (1, 1.2, 2)


def test_no_values_after_day_30_is_late_grade_0():
    result = late([])
    assert (result["icaht_grade"], result["grading_anc"]) == (0, None)


def test_late_values_may_be_given_in_cells_per_microlitre():
    assert late([400, 450], unit="cells/uL")["icaht_grade"] == 3


# --- icaht_from_anc_series ------------------------------------------------------------------------


def series(values_by_day, **settings):
    anc_series = [{"study_day": day, "anc": anc} for day, anc in values_by_day.items()]
    return compute("icaht_from_anc_series", {"anc_series": anc_series, **settings})


def daily(low_days, low=0.3, high=2.0, days=range(31)):
    return {day: (low if day in low_days else high) for day in days}


def test_a_single_neutropenic_episode_of_10_days_is_early_grade_2():
    result = series(daily(range(10)))
    assert (result["early_icaht_grade"], result["early_days_anc_le_500"], result["early_unknown_days"]) == (
        2,
        10,
        [],
    )


def test_anc_of_exactly_500_counts_as_neutropenic():
    assert series(daily(range(7), low=0.5))["early_days_anc_le_500"] == 7


def test_anc_just_above_500_does_not_count():
    assert series(daily(range(7), low=0.51))["early_icaht_grade"] == 0


def test_a_two_day_recovery_is_bridged_and_its_days_counted():
    result = series(daily([*range(6), *range(8, 13)]))
    assert (result["early_days_anc_le_500"], result["early_icaht_grade"]) == (13, 2)


def test_a_three_day_recovery_ends_the_episode():
    result = series(daily([*range(6), *range(9, 13)]))
    assert (result["early_days_anc_le_500"], result["early_icaht_grade"]) == (6, 1)


def test_the_longest_episode_sets_the_grade():
    assert series(daily([*range(3), *range(10, 24)]))["early_days_anc_le_500"] == 14


def test_anc_never_above_500_in_days_0_to_30_is_early_grade_4():
    result = series(daily(range(31)))
    assert (result["early_icaht_grade"], result["early_anc_never_above_500_day0_30"]) == (4, True)


def test_a_bridged_recovery_above_500_is_not_never_above_500():
    result = series(daily([*range(15), *range(17, 31)]))
    assert (result["early_icaht_grade"], result["early_days_anc_le_500"]) == (3, 31)


@pytest.mark.parametrize(("days", "grade"), [(6, 1), (7, 3), (13, 3), (14, 4)])
def test_profound_neutropenia_at_or_below_100_sets_grades_3_and_4(days, grade):
    assert series(daily(range(days), low=0.1))["early_icaht_grade"] == grade


@pytest.mark.parametrize(
    ("low", "grade", "days_le_100"),
    [(0.1, 3, 9), (0.15, 2, 0), (0.11, 2, 0)],
)
def test_profound_means_at_or_below_100_not_just_above(low, grade, days_le_100):
    result = series(daily(range(9), low=low))
    assert (result["early_icaht_grade"], result["early_days_anc_le_100"]) == (grade, days_le_100)


def test_a_gap_right_after_day_0_is_interpolated_from_day_0():
    result = series({0: 0.2, 2: 0.7, **dict.fromkeys(range(3, 31), 2.0)})
    # day 1 is (0.2 + 0.7) / 2 = 0.45, at or below 500/uL: days 0 and 1 form the episode
    assert (result["early_days_anc_le_500"], result["early_filled_days"]) == (2, [1])


def test_a_gap_of_up_to_7_days_is_interpolated_linearly():
    result = series({**dict.fromkeys(range(8), 0.3), 15: 0.3, **dict.fromkeys(range(16, 31), 2.0)})
    assert (result["early_icaht_grade"], result["early_days_anc_le_500"], result["early_filled_days"]) == (
        3,
        16,
        list(range(8, 15)),
    )


def test_interpolated_values_are_compared_with_the_threshold():
    # 0.3 on day 10 and 0.9 on day 13: day 11 is 0.5 (counted), day 12 is 0.7 (not)
    values = {**daily(range(11)), 11: ..., 12: ..., 13: 0.9}
    result = series({day: anc for day, anc in values.items() if anc is not ...})
    assert result["early_days_anc_le_500"] == 12


def test_a_longer_gap_leaves_the_grade_open_between_its_bounds():
    result = series({**dict.fromkeys(range(8), 0.3), **dict.fromkeys(range(16, 31), 2.0)})
    assert (
        result["early_icaht_grade"],
        result["early_icaht_grade_min"],
        result["early_icaht_grade_max"],
        result["early_unknown_days"],
    ) == (None, 2, 3, list(range(8, 16)))


def test_an_unknown_gap_that_cannot_change_the_grade_still_gives_the_grade():
    result = series({**dict.fromkeys(range(15), 0.3), **dict.fromkeys(range(15, 21), 2.0)})
    assert (result["early_icaht_grade"], result["early_unknown_days"]) == (3, list(range(21, 31)))


def test_days_after_the_last_result_are_filled_with_it_up_to_the_gap_limit():
    result = series(dict.fromkeys(range(29), 2.0))
    assert (result["early_icaht_grade"], result["early_filled_days"]) == (0, [29, 30])


def test_days_before_the_first_result_are_filled_with_it_up_to_the_gap_limit():
    result = series(dict.fromkeys(range(3, 10), 0.3) | dict.fromkeys(range(10, 31), 2.0))
    assert (result["early_days_anc_le_500"], result["early_filled_days"]) == (10, [0, 1, 2])


def test_no_results_leave_the_early_grade_open():
    result = series({})
    assert (
        result["early_icaht_grade"],
        result["early_icaht_grade_min"],
        result["early_icaht_grade_max"],
    ) == (
        None,
        0,
        4,
    )


def test_results_outside_days_0_to_30_do_not_count_for_early_icaht():
    assert series({-3: 0.05, **daily([])})["early_icaht_grade"] == 0


def test_the_lowest_result_of_a_day_counts():
    anc_series = [{"study_day": day, "anc": 2.0} for day in range(31)] + [{"study_day": 4, "anc": 0.4}]
    result = compute("icaht_from_anc_series", {"anc_series": anc_series})
    assert result["early_days_anc_le_500"] == 1


def test_series_in_cells_per_microlitre():
    assert series(daily(range(7), low=500, high=2000), unit="cells/uL")["early_icaht_grade"] == 2


def test_interpolation_can_be_switched_off():
    result = series({0: 0.3, 2: 0.3, **dict.fromkeys(range(3, 31), 2.0)}, max_interpolation_gap_days=0)
    assert (result["early_unknown_days"], result["early_icaht_grade_max"]) == ([1], 1)


def test_bridging_can_be_shortened():
    result = series(daily([*range(6), *range(8, 13)]), stable_recovery_days=2)
    assert result["early_days_anc_le_500"] == 6


def test_late_icaht_from_the_series_uses_results_after_day_30():
    result = series({**daily([]), 30: 0.05, 45: 0.8, 60: 0.9, 90: 3.0})
    assert (result["late_icaht_grade"], result["late_grading_anc"], result["late_occasions_anc_le_1500"]) == (
        2,
        0.9,
        2,
    )


@pytest.mark.parametrize(
    ("last_result_day", "grade"),
    [(99, 2), (100, 2), (101, 0), (200, 0)],
)
def test_late_icaht_ignores_results_after_the_last_late_day(last_result_day, grade):
    result = series({**daily([]), 45: 0.8, last_result_day: 0.9}, late_last_day=100)
    assert result["late_icaht_grade"] == grade


@pytest.mark.parametrize(("anc", "occasions"), [(1.5, 1), (1.51, 0)])
def test_a_late_anc_of_exactly_1500_in_the_series_is_an_occasion(anc, occasions):
    assert series({**daily([]), 45: anc, 60: 1.6})["late_occasions_anc_le_1500"] == occasions


def test_two_results_on_the_same_day_are_one_occasion():
    anc_series = [{"study_day": 45, "anc": 0.4}, {"study_day": 45, "anc": 0.3}]
    assert compute("icaht_from_anc_series", {"anc_series": anc_series})["late_icaht_grade"] == 0


@pytest.mark.parametrize(
    ("inputs", "key"),
    [
        ({}, "anc_series"),
        ({"anc_series": {"study_day": 1}}, "anc_series"),
        ({"anc_series": [3]}, "anc_series[0]"),
        ({"anc_series": [{"anc": 0.3}]}, "anc_series[0].study_day"),
        ({"anc_series": [{"study_day": 1}]}, "anc_series[0].anc"),
        ({"anc_series": [{"study_day": 1.5, "anc": 0.3}]}, "anc_series[0].study_day"),
        ({"anc_series": [{"study_day": 1, "anc": 0.3}, {"study_day": 2, "anc": -0.1}]}, "anc_series[1].anc"),
        ({"anc_series": [], "unit": "mg/dL"}, "unit"),
        ({"anc_series": [], "late_last_day": 30}, "late_last_day"),
        ({"anc_series": [], "max_interpolation_gap_days": -1}, "max_interpolation_gap_days"),
        ({"anc_series": [], "stable_recovery_days": 0}, "stable_recovery_days"),
    ],
)
def test_bad_series_input_is_rejected_naming_the_key(inputs, key):
    with pytest.raises(CalculatorInputError) as error:
        compute("icaht_from_anc_series", inputs)
    assert error.value.key == key
