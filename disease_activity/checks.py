"""Edit checks of the SLEDAI, PGA and BILAG-2004 forms (see crfs.checks for the mechanism).

The generic checks of crfs.checks already cover ``assessed_on`` (future, before consent, outside the
visit window). A check about one SLEDAI descriptor names that descriptor's column, so its automatic
query sits on the assessment, on the row the investigator has to look at.
"""

from datetime import date
from decimal import Decimal

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from crfs.checks import HARD, SOFT, EditCheck
from edc.clinical.response import BILAG_GRADES, BILAG_SYSTEMS

from .models import DESCRIPTOR_LABELS, SUPPORTING_FIELDS
from .selectors import LAB_ANALYTES, has_supporting_lab

# Decision 7: fever and cytopenias soon after lymphodepletion or CAR-T are usually CRS, infection or
# therapy, not lupus; scoring them needs a second look.
CAR_T_CONFOUNDED = ("fever", "leukopenia", "thrombocytopenia")
CAR_T_WINDOW_DAYS = 30


def _id(name: str) -> str:
    return name.upper().replace("_", "-")


def _outside(field, low, high):
    low, high = Decimal(str(low)), Decimal(str(high))

    def fires(obj):
        value = getattr(obj, field, None)
        if value is None:
            return False
        value = Decimal(value)
        return not value.is_finite() or not (low <= value <= high)

    return fires


def _not_a_grade(field):
    def fires(obj):
        return getattr(obj, field, None) not in (None, "", *BILAG_GRADES)

    return fires


def _scored_soon_after_car_t(key):
    def fires(obj):
        if not obj.is_scored(key) or not isinstance(obj.assessed_on, date):
            return False
        participant = obj.participant
        for start in (participant.lymphodepletion_start_date, participant.infusion_date):
            if start is not None and 0 <= (obj.assessed_on - start).days <= CAR_T_WINDOW_DAYS:
                return True
        return False

    return fires


def _scored_without_lab(key):
    def fires(obj):
        return obj.is_scored(key) and not has_supporting_lab(obj, key)

    return fires


def _value_below_definition(key):
    def fires(obj):
        return obj.is_present(key) and obj.threshold_met(key) is False

    return fires


CHECKS: list[EditCheck] = [
    # PGA (clinical-rules.md section 2)
    EditCheck("PGA-RANGE", "pga", "pga", HARD, _("The PGA must be between 0 and 3."), _outside("pga", 0, 3)),
    EditCheck(
        "PGA-VAS-RANGE",
        "pga",
        "vas_mm",
        HARD,
        _("The mark must be between 0 and 100 mm on the line."),
        _outside("vas_mm", 0, 100),
    ),
    # BILAG-2004 (section 3): letters only.
    *[
        EditCheck(
            f"BILAG-GRADE-{system.upper()}",
            "bilag",
            system,
            HARD,
            _("A BILAG-2004 grade is one of A, B, C, D or E."),
            _not_a_grade(system),
        )
        for system in BILAG_SYSTEMS
    ],
    # SLEDAI: impossible values (hard).
    EditCheck(
        "SLEDAI-LOOK-BACK",
        "sledai",
        "look_back_days",
        HARD,
        _("The look-back must be between 1 and 30 days."),
        _outside("look_back_days", 1, 30),
    ),
    EditCheck(
        "SLEDAI-TEMPERATURE",
        "sledai",
        "temperature_c",
        HARD,
        _("Temperature must be between 30 and 45 °C."),
        _outside("temperature_c", 30, 45),
    ),
    EditCheck(
        "SLEDAI-PLATELETS",
        "sledai",
        "platelets",
        HARD,
        _("Platelets must be between 0 and 5000 ×10⁹/L."),
        _outside("platelets", 0, 5000),
    ),
    EditCheck(
        "SLEDAI-WBC",
        "sledai",
        "wbc",
        HARD,
        _("White cells must be between 0 and 500 ×10⁹/L."),
        _outside("wbc", 0, 500),
    ),
    EditCheck(
        "SLEDAI-JOINTS",
        "sledai",
        "arthritis_joints",
        HARD,
        _("The number of inflamed joints must be between 0 and 70."),
        _outside("arthritis_joints", 0, 70),
    ),
    *[
        EditCheck(
            f"SLEDAI-NEG-{_id(field)}",
            "sledai",
            field,
            HARD,
            _("The value cannot be negative."),
            _outside(field, 0, 10**9),
        )
        for field in (
            "proteinuria_value",
            "proteinuria_previous_value",
            "c3",
            "c3_lln",
            "c4",
            "c4_lln",
            "anti_dsdna",
            "anti_dsdna_uln",
        )
    ],
    # SLEDAI: scored soon after lymphodepletion or infusion (soft, decision 7).
    *[
        EditCheck(
            f"SLEDAI-{_id(key)}-AFTER-CAR-T",
            "sledai",
            f"{key}_attributable",
            SOFT,
            format_lazy(
                _(
                    "{descriptor} is scored as lupus activity within 30 days of lymphodepletion or CAR-T "
                    "infusion: confirm it is not due to CRS, infection or the therapy."
                ),
                descriptor=DESCRIPTOR_LABELS[key],
            ),
            _scored_soon_after_car_t(key),
        )
        for key in CAR_T_CONFOUNDED
    ],
    # SLEDAI: a lab-driven descriptor scored without a lab in the look-back window (soft).
    *[
        EditCheck(
            f"SLEDAI-{_id(key)}-NO-LAB",
            "sledai",
            f"{key}_present",
            SOFT,
            format_lazy(
                _(
                    "{descriptor} is scored but no supporting laboratory result lies within the look-back "
                    "window: enter the lab or correct the descriptor."
                ),
                descriptor=DESCRIPTOR_LABELS[key],
            ),
            _scored_without_lab(key),
        )
        for key in LAB_ANALYTES
    ],
    # SLEDAI: a descriptor marked present whose recorded value does not meet its definition (soft).
    *[
        EditCheck(
            f"SLEDAI-{_id(key)}-DEFINITION",
            "sledai",
            SUPPORTING_FIELDS[key][0],
            SOFT,
            format_lazy(
                _(
                    "{descriptor} is marked present but the value recorded does not meet its SLEDAI-2K "
                    "definition: check the value or the descriptor."
                ),
                descriptor=DESCRIPTOR_LABELS[key],
            ),
            _value_below_definition(key),
        )
        for key in SUPPORTING_FIELDS
    ],
]
