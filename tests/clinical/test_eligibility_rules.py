"""Automatic eligibility items (edc.clinical.eligibility), a test at every threshold."""

from datetime import date

import pytest

from edc.clinical import CalculatorInputError, compute
from edc.clinical.eligibility import add_months

# --- Age from the year of birth ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "year", "met"),
    [
        (2000, 2019, True),  # 18 or 19
        (2001, 2019, None),  # 17 or 18: the year alone cannot decide
        (2002, 2019, False),  # 16 or 17
        (1944, 2019, True),  # 74 or 75
        (1943, 2019, None),  # 75 or 76
        (1942, 2019, False),  # 76 or 77
    ],
)
def test_age_from_the_year_of_birth(born, year, met):
    assert (
        compute("eligibility_age", {"year_of_birth": born, "reference_year": year})["age_criterion_met"]
        is met
    )


@pytest.mark.parametrize(("age", "met"), [(17, False), (18, True)])
def test_the_exact_age_decides_at_the_boundary(age, met):
    result = compute("eligibility_age", {"year_of_birth": 2001, "reference_year": 2019, "age_years": age})
    assert result["age_criterion_met"] is met


@pytest.mark.parametrize(
    ("born", "year", "ages"),
    [
        (2019, 2019, (0, 0)),  # born in the year of consent: 0, never -1
        (2018, 2019, (0, 1)),
        (2017, 2019, (1, 2)),
    ],
)
def test_the_possible_ages_never_go_below_zero(born, year, ages):
    result = compute("eligibility_age", {"year_of_birth": born, "reference_year": year})
    assert (result["age_min"], result["age_max"], result["age_criterion_met"]) == (*ages, False)


def test_an_exact_age_the_year_of_birth_does_not_allow_is_refused():
    with pytest.raises(CalculatorInputError, match="age_years"):
        compute("eligibility_age", {"year_of_birth": 2000, "reference_year": 2019, "age_years": 30})


# --- Organ function ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "key", "met"),
    [
        ({"anc_10e9_l": "1.0"}, "anc_met", True),
        ({"anc_10e9_l": "0.99"}, "anc_met", False),
        ({"haemoglobin_g_l": 60}, "haemoglobin_met", True),
        ({"haemoglobin_g_l": "59.9"}, "haemoglobin_met", False),
        ({"alt": 120, "alt_uln": 40}, "alt_met", True),
        ({"alt": "120.1", "alt_uln": 40}, "alt_met", False),
        ({"ast": 120, "ast_uln": 40}, "ast_met", True),
        ({"ast": "120.1", "ast_uln": 40}, "ast_met", False),
        ({"bilirubin": "31.5", "bilirubin_uln": 21}, "bilirubin_met", True),
        ({"bilirubin": "31.51", "bilirubin_uln": 21}, "bilirubin_met", False),
        ({"inr": "1.5"}, "inr_met", True),
        ({"inr": "1.51"}, "inr_met", False),
        ({"pt_s": "20.25", "pt_uln_s": "13.5"}, "pt_met", True),
        ({"pt_s": "20.26", "pt_uln_s": "13.5"}, "pt_met", False),
        ({"alt": 50}, "alt_met", None),  # no ULN: undecided
        ({}, "anc_met", None),
    ],
)
def test_organ_function_limits_are_inclusive(inputs, key, met):
    assert compute("eligibility_organ_function", inputs)[key] is met


def test_a_zero_uln_is_refused():
    with pytest.raises(CalculatorInputError, match="alt_uln"):
        compute("eligibility_organ_function", {"alt": 10, "alt_uln": 0})


# --- Refractoriness ---------------------------------------------------------------------------------


def treatment(agent, start, stop=None, reason="inefficacy"):
    return {"agent": agent, "start": start, "stop": stop, "reason_stopped": reason}


def refractory(*treatments, on="2026-01-01"):
    return compute("eligibility_refractoriness", {"reference_date": on, "treatments": list(treatments)})


def test_two_agents_failed_after_3_months_are_refractory():
    result = refractory(
        treatment("MMF", "2024-01-10", "2024-04-10"), treatment("AZA", "2024-05-01", "2024-08-01")
    )
    assert (result["refractory"], result["qualifying_agents"]) == (True, ["MMF", "AZA"])


def test_a_day_short_of_3_months_does_not_count():
    result = refractory(
        treatment("MMF", "2024-01-10", "2024-04-09"), treatment("AZA", "2024-05-01", "2024-08-01")
    )
    assert (result["refractory"], result["n_qualifying"]) == (False, 1)


def test_3_calendar_months_from_30_november_end_on_the_last_day_of_february():
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)
    result = refractory(
        treatment("MMF", "2024-11-30", "2025-02-28"), treatment("AZA", "2024-05-01", "2024-08-01")
    )
    assert result["refractory"] is True


@pytest.mark.parametrize("reason", ["intolerance", "other", "ongoing"])
def test_agents_not_failed_for_inefficacy_do_not_count(reason):
    stop = None if reason == "ongoing" else "2025-01-01"
    result = refractory(
        treatment("MMF", "2024-01-01", stop, reason), treatment("AZA", "2024-01-01", "2025-01-01")
    )
    assert result["refractory"] is False


def test_an_agent_continued_despite_inefficacy_counts_up_to_the_reference_date():
    result = refractory(
        treatment("MMF", "2025-10-01", reason="ongoing_inefficacy"),
        treatment("AZA", "2024-01-01", "2025-01-01"),
    )
    assert result["refractory"] is True
    too_short = refractory(
        treatment("MMF", "2025-10-02", reason="ongoing_inefficacy"),
        treatment("AZA", "2024-01-01", "2025-01-01"),
    )
    assert too_short["refractory"] is False


def test_the_same_agent_twice_counts_once():
    result = refractory(
        treatment("MMF", "2020-01-01", "2021-01-01"), treatment("mmf", "2022-01-01", "2023-01-01")
    )
    assert (result["refractory"], result["n_qualifying"]) == (False, 1)


def test_a_row_without_a_start_date_is_refused_naming_it():
    with pytest.raises(CalculatorInputError, match=r"treatments\[0\]"):
        compute(
            "eligibility_refractoriness", {"reference_date": "2026-01-01", "treatments": [{"agent": "MMF"}]}
        )


def test_an_agent_stopped_for_inefficacy_without_a_stop_date_does_not_count():
    result = refractory(treatment("MMF", "2020-01-01"), treatment("AZA", "2024-01-01", "2025-01-01"))
    assert (result["refractory"], result["qualifying_agents"]) == (False, ["AZA"])


@pytest.mark.parametrize("agent", ["", "   ", None, 5])
def test_a_row_without_an_agent_name_is_refused_naming_it(agent):
    row = {**treatment("MMF", "2020-01-01", "2021-01-01"), "agent": agent}
    with pytest.raises(CalculatorInputError, match=r"^treatments\[0\]\.agent: is required$"):
        refractory(row)


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("2020-13-01", "must be a date (YYYY-MM-DD), not '2020-13-01'"),
        ("2020: 01: 01", "must be a date (YYYY-MM-DD), not '2020: 01: 01'"),  # ": " inside the value
    ],
)
def test_a_bad_date_in_a_row_is_refused_with_the_whole_message_once(start, message):
    with pytest.raises(CalculatorInputError) as caught:
        refractory(treatment("MMF", start, "2021-01-01"))
    assert (caught.value.key, str(caught.value)) == ("treatments[0].start", f"treatments[0].start: {message}")


@pytest.mark.parametrize(
    ("start", "three_months_on"),
    [
        (date(9999, 9, 30), date(9999, 12, 30)),  # the last start whose 3 months end in year 9999
        (date(9999, 10, 1), None),  # 3 months later is past the last date Python can hold
        (date(9998, 12, 31), date(9999, 3, 31)),
    ],
)
def test_three_months_on_is_computed_up_to_the_year_9999(start, three_months_on):
    assert add_months(start, 3) == three_months_on


@pytest.mark.parametrize(("start", "counted"), [("9999-09-30", True), ("9999-10-01", False)])
def test_an_agent_started_in_the_year_9999_counts_only_when_3_months_fit_in_the_calendar(start, counted):
    result = refractory(treatment("MMF", start, "9999-12-31"), on="9999-12-31")
    assert result["qualifying_agents"] == (["MMF"] if counted else [])


# --- Serology ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "key", "excluded"),
    [
        ({"hbsag": "negative", "hbcab": "negative"}, "hbv_excluded", False),
        ({"hbsag": "positive", "hbcab": "positive", "hbv_dna": "positive"}, "hbv_excluded", True),
        ({"hbsag": "negative", "hbcab": "positive", "hbv_dna": "negative"}, "hbv_excluded", False),
        ({"hbsag": "negative", "hbcab": "positive"}, "hbv_excluded", None),
        ({"hbsag": "negative"}, "hbv_excluded", None),
        ({"hcv_ab": "negative"}, "hcv_excluded", False),
        ({"hcv_ab": "positive", "hcv_rna": "positive"}, "hcv_excluded", True),
        ({"hcv_ab": "positive", "hcv_rna": "negative"}, "hcv_excluded", False),
        ({"hcv_ab": "positive", "hcv_rna": "not_done"}, "hcv_excluded", None),
        ({"hiv_ab": "positive"}, "hiv_excluded", True),
        ({"hiv_ab": "not_done"}, "hiv_excluded", None),
        ({"syphilis": "negative"}, "syphilis_excluded", False),
    ],
)
def test_serology_exclusions(inputs, key, excluded):
    assert compute("eligibility_serology", inputs)[key] is excluded


# --- Pregnancy test ---------------------------------------------------------------------------------


def pregnancy(**inputs):
    base = {"sex": "F", "childbearing_potential": "yes", "reference_date": "2026-01-08"}
    return compute("eligibility_pregnancy_test", {**base, **inputs})["pregnancy_test_met"]


@pytest.mark.parametrize(
    ("test_date", "result", "met"),
    [
        ("2026-01-01", "negative", True),  # 7 days before
        ("2025-12-31", "negative", False),  # 8 days before
        ("2026-01-08", "negative", True),  # the same day
        ("2026-01-09", "negative", False),  # after the reference date
        ("2026-01-05", "positive", False),
        (None, None, None),
    ],
)
def test_a_negative_test_within_7_days(test_date, result, met):
    assert pregnancy(test_date=test_date, test_result=result) is met


def test_men_and_women_without_childbearing_potential_need_no_test():
    assert pregnancy(sex="M") is True
    assert pregnancy(childbearing_potential="no") is True
    assert pregnancy(childbearing_potential="unknown", test_date="2026-01-08", test_result="negative") is None
