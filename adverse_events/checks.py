"""Edit checks of the graded safety CRFs (registered in ``crfs.checks.CHECK_MODULES``).

The investigator may record their own CRS or ICANS grade; when it differs from the ASTCT grade computed
from the entered values, a query opens on the investigator's grade and closes by itself once the two
agree (or the values are corrected).
"""

from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from crfs.checks import HARD, SOFT, EditCheck


def _disagrees(computed_field):
    def fires(obj):
        computed = getattr(obj, computed_field)
        return (
            obj.investigator_grade is not None and computed is not None and obj.investigator_grade != computed
        )

    return fires


def _before_day0(obj):
    day0 = obj.participant.infusion_date
    return isinstance(obj.assessed_on, date) and day0 is not None and obj.assessed_on < day0


def _outside(field, low, high):
    low, high = Decimal(str(low)), Decimal(str(high))

    def fires(obj):
        value = getattr(obj, field)
        return value is not None and not low <= Decimal(value) <= high

    return fires


CHECKS = [
    EditCheck(
        "CRS-INVESTIGATOR-GRADE",
        "crs",
        "investigator_grade",
        SOFT,
        _(
            "The investigator's CRS grade differs from the ASTCT grade computed from the values: "
            "please review."
        ),
        _disagrees("crs_grade"),
    ),
    EditCheck(
        "ICANS-INVESTIGATOR-GRADE",
        "icans",
        "investigator_grade",
        SOFT,
        _(
            "The investigator's ICANS grade differs from the ASTCT grade computed from the values: "
            "please review."
        ),
        _disagrees("icans_grade"),
    ),
    EditCheck(
        "CRS-BEFORE-DAY0",
        "crs",
        "assessed_on",
        HARD,
        _("CRS is assessed from the CAR-T infusion (Day 0) on."),
        _before_day0,
    ),
    EditCheck(
        "ICANS-BEFORE-DAY0",
        "icans",
        "assessed_on",
        HARD,
        _("ICANS is assessed from the CAR-T infusion (Day 0) on; the baseline ICE has its own form."),
        _before_day0,
    ),
    EditCheck(
        "CRS-TEMP-IMPOSSIBLE",
        "crs",
        "temperature_c",
        HARD,
        _("Tmax must be between 30 and 45 °C."),
        _outside("temperature_c", 30, 45),
    ),
    EditCheck(
        "CRS-FLOW-IMPOSSIBLE",
        "crs",
        "oxygen_flow_l_min",
        HARD,
        _("Oxygen flow must be between 0 and 80 L/min."),
        _outside("oxygen_flow_l_min", 0, 80),
    ),
    EditCheck(
        "GVHD-BSA-IMPOSSIBLE",
        "gvhd",
        "skin_rash_bsa_pct",
        HARD,
        # xgettext:no-python-format
        _("The rash covers between 0 and 100 % of the body surface."),
        _outside("skin_rash_bsa_pct", 0, 100),
    ),
    EditCheck(
        "GVHD-BILIRUBIN-IMPOSSIBLE",
        "gvhd",
        "total_bilirubin_mg_dl",
        HARD,
        _("Total bilirubin must be between 0 and 60 mg/dL."),
        _outside("total_bilirubin_mg_dl", 0, 60),
    ),
    EditCheck(
        "GVHD-STOOL-IMPOSSIBLE",
        "gvhd",
        "stool_volume_ml_day",
        HARD,
        _("Stool volume must be between 0 and 10,000 mL/day."),
        _outside("stool_volume_ml_day", 0, 10000),
    ),
]
