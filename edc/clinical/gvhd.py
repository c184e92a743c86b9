"""MAGIC acute GvHD staging and overall grade (Harris AC et al., Biol Blood Marrow Transplant
2016;22:4-10: target-organ staging and overall grade), adults.

The published stage ranges leave gaps (bilirubin "2-3" then "3.1-6"; stool "500-999" then
"1000-1500"); the bands below close them so that every value has one stage: bilirubin > 3 is stage 2,
stool volume >= 1000 mL is stage 2. Lower GI uses the stool volume, the number of episodes, or both
(the higher stage). Skin stage 4 needs generalised erythroderma (> 50 % BSA) with bullae and
desquamation, so the flag with a rash of 50 % BSA or less is rejected. No settings.
"""

from dataclasses import dataclass
from decimal import Decimal

from .errors import CalculatorInputError
from .inputs import boolean, integer, number
from .registry import calculator


@dataclass(frozen=True)
class Stage:
    stage: int
    low: Decimal
    low_inclusive: bool
    high: Decimal | None  # None: no upper bound
    high_inclusive: bool

    def contains(self, value) -> bool:
        above_low = value >= self.low if self.low_inclusive else value > self.low
        below_high = self.high is None or (value <= self.high if self.high_inclusive else value < self.high)
        return above_low and below_high


def _stage_of(stages, value) -> int:
    return next(row.stage for row in stages if row.contains(value))


D = Decimal
# MAGIC target-organ staging, skin: % BSA of active rash (stage 4 by the erythroderma/bullae flag)
SKIN_STAGES = (
    Stage(0, D(0), True, D(0), True),
    Stage(1, D(0), False, D(25), False),
    Stage(2, D(25), True, D(50), True),
    Stage(3, D(50), False, D(100), True),
)
# MAGIC target-organ staging, liver: total bilirubin (mg/dL) <2; 2-3; 3.1-6; 6.1-15; >15
LIVER_STAGES = (
    Stage(0, D(0), True, D(2), False),
    Stage(1, D(2), True, D(3), True),
    Stage(2, D(3), False, D(6), True),
    Stage(3, D(6), False, D(15), True),
    Stage(4, D(15), False, None, False),
)
# MAGIC target-organ staging, lower GI, adult stool volume (mL/day): <500; 500-999; 1000-1500; >1500
# (stage 4, severe pain with or without ileus or grossly bloody stool, by its flag)
STOOL_VOLUME_STAGES = (
    Stage(0, D(0), True, D(500), False),
    Stage(1, D(500), True, D(1000), False),
    Stage(2, D(1000), True, D(1500), True),
    Stage(3, D(1500), False, None, False),
)
# MAGIC target-organ staging, lower GI, adult stool episodes/day: <3; 3-4; 5-7; >7
STOOL_EPISODE_STAGES = (
    Stage(0, D(0), True, D(3), False),
    Stage(1, D(3), True, D(4), True),
    Stage(2, D(5), True, D(7), True),
    Stage(3, D(7), False, None, False),
)
ROMAN = ("0", "I", "II", "III", "IV")


def overall_grade(skin: int, liver: int, upper_gi: int, lower_gi: int) -> int:
    # MAGIC overall clinical grade
    if 4 in (skin, liver, lower_gi):
        return 4
    if liver in (2, 3) or lower_gi in (2, 3):
        return 3
    if skin == 3 or 1 in (liver, upper_gi, lower_gi):
        return 2
    return 1 if skin in (1, 2) else 0


def _lower_gi_stage(inputs) -> int:
    volume = number(inputs, "stool_volume_ml_day", optional=True, allow_none=True, maximum=20000)
    episodes = integer(inputs, "stool_episodes_day", optional=True, allow_none=True, maximum=100)
    if volume is None and episodes is None:
        raise CalculatorInputError("stool_volume_ml_day", "is required (or stool_episodes_day)")
    stages = [0]
    if volume is not None:
        stages.append(_stage_of(STOOL_VOLUME_STAGES, volume))
    if episodes is not None:
        stages.append(_stage_of(STOOL_EPISODE_STAGES, episodes))
    return 4 if boolean(inputs, "severe_abdominal_pain_ileus_or_gross_blood") else max(stages)


@calculator(
    "magic_agvhd",
    rule_version="magic_agvhd/1",
    source="Harris AC et al., Biol Blood Marrow Transplant 2016;22:4-10 (MAGIC staging and grading)",
    title="MAGIC acute GvHD stage and grade",
)
def magic_agvhd(inputs):
    """MAGIC acute GvHD stage and grade."""
    rash = number(inputs, "skin_rash_bsa_pct", maximum=100)
    bullae = boolean(inputs, "generalized_erythroderma_with_bullae_desquamation")
    if bullae and rash <= 50:
        raise CalculatorInputError(
            "generalized_erythroderma_with_bullae_desquamation", "needs skin_rash_bsa_pct above 50"
        )
    stages = {
        "skin": 4 if bullae else _stage_of(SKIN_STAGES, rash),
        "liver": _stage_of(LIVER_STAGES, number(inputs, "total_bilirubin_mg_dl", maximum=100)),
        "upper_gi": 1 if boolean(inputs, "persistent_nausea_vomiting_anorexia") else 0,
        "lower_gi": _lower_gi_stage(inputs),
    }
    grade = overall_grade(**stages)
    return {**stages, "overall_grade": grade, "overall_grade_roman": ROMAN[grade]}
