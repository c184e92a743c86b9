"""Immune effector cell-associated haematotoxicity (ICAHT), Rejeski K et al., Blood 2023;142:865-77.

ICAHT thresholds are "at or below" (CTCAE uses "below"), hence no code shared with ``ctcae``.

``icaht`` grades from values already derived: for ``early`` the longest episodes of ANC <= 500/µL and
<= 100/µL in days 0-30 with short recoveries already bridged; for ``late`` the ANC values after day 30
(one per occasion). Late ICAHT needs the threshold met on at least two occasions and is graded by the
second-lowest value (decision 12), so a single low value is grade 0.

``icaht_from_anc_series`` derives both from dated ANC results ``{"study_day", "anc"}`` (the lowest
value of a day counts):

- Early (days 0-30): a run of days without a result is filled when it is at most
  ``max_interpolation_gap_days`` long, linearly between the results around it, or with the nearest
  result at either end of the window (as in E. Liang's open implementation: zoo ``na.approx(maxgap=7,
  rule=2)`` over days 0-30). Longer runs stay unknown. A recovery above the threshold lasting fewer
  than ``stable_recovery_days`` consecutive days between two neutropenic days does not end the
  episode: those days are bridged and counted (decision 12). The grade is reported only when unknown
  days cannot change it; ``early_icaht_grade_min`` and ``..._max`` bound it otherwise.
- Late: results after day 30 up to ``late_last_day``, one occasion per day.

Settings (optional keys) of ``icaht_from_anc_series``: ``max_interpolation_gap_days`` (default 7),
``stable_recovery_days`` (default 3), ``late_last_day`` (default: no limit; set it to the day before
relapse or new therapy). Both calculators take ``unit`` (``10^9/L``, the default, or ``cells/uL``).
"""

from decimal import Decimal

from .errors import CalculatorInputError
from .inputs import boolean, choice, integer, mapping, number
from .registry import calculator
from .units import convert

SEVERE = Decimal("0.5")  # ANC <= 500/µL, in 10^9/L
PROFOUND = Decimal("0.1")  # ANC <= 100/µL
EARLY_LAST_DAY = 30
EARLY_DAYS = EARLY_LAST_DAY + 1

# Rejeski 2023 grading table, early ICAHT (day 0-30): (grade, ANC at or below, minimum days of the episode).
# Grade 4 also when the ANC is never above 500/µL in days 0-30.
EARLY_BANDS = (
    (4, PROFOUND, 14),
    (3, PROFOUND, 7),
    (3, SEVERE, 14),
    (2, SEVERE, 7),
    (1, SEVERE, 1),
)
# Rejeski 2023 grading table, late ICAHT (after day 30): (grade, ANC at or below, in 10^9/L) on >= 2 occasions
LATE_BANDS = ((4, Decimal("0.1")), (3, Decimal("0.5")), (2, Decimal("1.0")), (1, Decimal("1.5")))

UNITS = ("10^9/L", "cells/uL")


def early_grade(days_le_500: int, days_le_100: int, never_above_500: bool) -> int:
    if never_above_500:
        return 4
    days = {SEVERE: days_le_500, PROFOUND: days_le_100}
    return next((grade for grade, threshold, minimum in EARLY_BANDS if days[threshold] >= minimum), 0)


def late_grade(values: list[Decimal]) -> tuple[int, Decimal | None]:
    """Grade and the value graded (the second lowest), or ``(0, None)`` with fewer than 2 values."""
    if len(values) < 2:
        return 0, None
    second_lowest = sorted(values)[1]
    return next((grade for grade, threshold in LATE_BANDS if second_lowest <= threshold), 0), second_lowest


def _anc(key, value, unit) -> Decimal:
    return convert("neutrophils", number({key: value}, key), unit, "10^9/L")


@calculator(
    "icaht",
    rule_version="icaht/1",
    source="Rejeski K et al., Blood 2023;142:865-77 (ICAHT grading); project decision 12",
    title="ICAHT grade",
)
def icaht(inputs):
    """ICAHT grade."""
    phase = choice(inputs, "phase", ("early", "late"))
    unit = choice(inputs, "unit", UNITS, optional=True, default="10^9/L")
    if phase == "early":
        days_le_500 = integer(inputs, "days_anc_le_500", maximum=EARLY_DAYS)
        days_le_100 = integer(inputs, "days_anc_le_100", maximum=EARLY_DAYS)
        if days_le_100 > days_le_500:
            raise CalculatorInputError("days_anc_le_100", "cannot exceed days_anc_le_500")
        never_above = boolean(inputs, "anc_never_above_500_day0_30")
        return {"icaht_grade": early_grade(days_le_500, days_le_100, never_above), "phase": phase}
    key = "anc_values_after_day30"
    raw = inputs.get(key)
    if key not in inputs or not isinstance(raw, list):
        raise CalculatorInputError(key, "must be a list of numbers")
    values = [_anc(f"{key}[{index}]", value, unit) for index, value in enumerate(raw)]
    grade, graded = late_grade(values)
    return {
        "icaht_grade": grade,
        "phase": phase,
        "occasions_anc_le_1500": sum(value <= LATE_BANDS[-1][1] for value in values),
        "grading_anc": None if graded is None else float(graded),
    }


def _lowest_per_day(inputs, unit) -> dict[int, Decimal]:
    key = "anc_series"
    series = inputs.get(key)
    if key not in inputs or not isinstance(series, list):
        raise CalculatorInputError(key, "must be a list of {study_day, anc}")
    by_day: dict[int, Decimal] = {}
    for index, item in enumerate(series):
        path = f"{key}[{index}]"
        entry = mapping({path: item}, path)
        for field in ("study_day", "anc"):
            if field not in entry:
                raise CalculatorInputError(f"{path}.{field}", "is required")
        day = integer({f"{path}.study_day": entry["study_day"]}, f"{path}.study_day", minimum=None)
        anc = _anc(f"{path}.anc", entry["anc"], unit)
        by_day[day] = min(anc, by_day.get(day, anc))
    return by_day


def _early_daily_values(by_day, max_gap) -> tuple[list[Decimal | None], list[int]]:
    """ANC for each of days 0-30 (None when unknown) and the days that were filled in."""
    values = [by_day.get(day) for day in range(EARLY_DAYS)]
    filled = []
    start = 0
    while start < EARLY_DAYS:
        if values[start] is not None:
            start += 1
            continue
        end = start
        while end + 1 < EARLY_DAYS and values[end + 1] is None:
            end += 1
        before = values[start - 1] if start > 0 else None
        after = values[end + 1] if end + 1 < EARLY_DAYS else None
        if end - start + 1 <= max_gap and (before is not None or after is not None):
            for day in range(start, end + 1):
                if before is not None and after is not None:
                    values[day] = before + (after - before) * (day - start + 1) / (end - start + 2)
                else:
                    values[day] = before if before is not None else after
                filled.append(day)
        start = end + 1
    return values, filled


def longest_episode(below: list[bool], stable_recovery_days: int) -> int:
    """Days in the longest run of ``below``, bridging recoveries shorter than ``stable_recovery_days``."""
    longest = current = gap = 0
    for is_below in below:
        if is_below:
            current += gap + 1
            gap = 0
            longest = max(longest, current)
        elif current:
            gap += 1
            if gap >= stable_recovery_days:
                current = gap = 0
    return longest


def _early_scenario(values, unknown_is_below: bool, stable_days: int) -> tuple[int, int, bool, int]:
    def below(threshold):
        return [unknown_is_below if value is None else value <= threshold for value in values]

    severe = below(SEVERE)
    days_le_500 = longest_episode(severe, stable_days)
    days_le_100 = longest_episode(below(PROFOUND), stable_days)
    never_above = all(severe)
    return days_le_500, days_le_100, never_above, early_grade(days_le_500, days_le_100, never_above)


@calculator(
    "icaht_from_anc_series",
    rule_version="icaht_from_anc_series/1",
    source="Rejeski K et al., Blood 2023;142:865-77; gap filling as in E. Liang, automatedicahtgrading; "
    "project decision 12",
    title="ICAHT (early and late) from dated ANC results",
)
def icaht_from_anc_series(inputs):
    """ICAHT (early and late) from dated ANC results."""
    unit = choice(inputs, "unit", UNITS, optional=True, default="10^9/L")
    max_gap = integer(inputs, "max_interpolation_gap_days", optional=True, default=7, maximum=EARLY_DAYS)
    stable_days = integer(inputs, "stable_recovery_days", optional=True, default=3, minimum=1)
    late_last_day = integer(
        inputs, "late_last_day", optional=True, allow_none=True, minimum=EARLY_LAST_DAY + 1
    )
    by_day = _lowest_per_day(inputs, unit)

    values, filled = _early_daily_values(by_day, max_gap)
    days_le_500, days_le_100, never_above, lowest_grade = _early_scenario(values, False, stable_days)
    highest_grade = _early_scenario(values, True, stable_days)[3]

    late_values = [
        anc
        for day, anc in by_day.items()
        if day > EARLY_LAST_DAY and (late_last_day is None or day <= late_last_day)
    ]
    late, graded = late_grade(late_values)
    return {
        "early_icaht_grade": lowest_grade if lowest_grade == highest_grade else None,
        "early_icaht_grade_min": lowest_grade,
        "early_icaht_grade_max": highest_grade,
        "early_days_anc_le_500": days_le_500,
        "early_days_anc_le_100": days_le_100,
        "early_anc_never_above_500_day0_30": never_above,
        "early_unknown_days": [day for day, value in enumerate(values) if value is None],
        "early_filled_days": filled,
        "late_icaht_grade": late,
        "late_occasions_anc_le_1500": sum(value <= LATE_BANDS[-1][1] for value in late_values),
        "late_grading_anc": None if graded is None else float(graded),
    }
