"""Reads for the disease-activity forms: lab-driven SLEDAI descriptors proposed from the data already
entered (labs, vital signs) within the look-back window. The investigator confirms; nothing here
changes a form.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.apps import apps

from edc.clinical import CalculatorInputError, compute
from edc.clinical.sledai import DEFAULT_LOOK_BACK_DAYS, LAB_THRESHOLDS, SEROLOGY

from .models import SUPPORTING_FIELDS, study_setting

# Analyte codes of the labs app that support each lab-driven descriptor (clinical-rules.md 1.2).
LAB_ANALYTES = {
    "urinary_casts": ("casts",),
    "haematuria": ("urine_rbc",),
    "proteinuria": ("protein_24h", "upcr"),
    "pyuria": ("urine_wbc",),
    "low_complement": ("c3", "c4"),
    "increased_dna_binding": ("anti_dsdna",),
    "thrombocytopenia": ("platelets",),
    "leukopenia": ("wbc",),
}
# "Heme-granular or red-cell casts" (Gladman 2002); urinalysis reports the cast type.
SLEDAI_CASTS = ("red_cell", "granular")
LOWER_IS_WORSE = frozenset({"thrombocytopenia", "leukopenia", "low_complement"})


@dataclass(frozen=True)
class Evidence:
    source: str  # analyte code, or "temperature_c" (vital signs)
    value: object  # Decimal, or a categorical result
    unit: str
    collected_on: date
    limit: Decimal | None = None  # the lab's LLN (complement) or ULN (anti-dsDNA), same unit


@dataclass(frozen=True)
class Proposal:
    descriptor: str
    evidence: tuple[Evidence, ...]  # the worst qualifying value of each source


def labs_installed() -> bool:
    return apps.is_installed("labs")


def reference_date(visit, on: date | None = None) -> date:
    return on or visit.visit_date or visit.target_date


def look_back_for(participant, look_back_days: int | None = None) -> int:
    if look_back_days is not None:
        return look_back_days
    return study_setting(participant, "sledai_lookback_days", DEFAULT_LOOK_BACK_DAYS)


def _window(participant, on: date, look_back_days: int) -> tuple[datetime, datetime]:
    """[start of (on − look-back), start of (on + 1)) in the site's time zone."""
    tz = zoneinfo.ZoneInfo(participant.site.timezone)
    start = datetime.combine(on - timedelta(days=look_back_days), time.min, tz)
    return start, datetime.combine(on + timedelta(days=1), time.min, tz)


def lab_results_in_window(participant, on: date, look_back_days: int, analytes):
    """The participant's lab results of ``analytes`` collected within the look-back window."""
    from labs.models import LabResult

    start, end = _window(participant, on, look_back_days)
    return LabResult.objects.filter(
        panel__participant=participant,
        panel__entered_in_error=False,
        analyte__in=analytes,
        collected_at__gte=start,
        collected_at__lt=end,
        not_done=False,
    ).exclude(value__isnull=True, result="")


def has_supporting_lab(assessment, key: str) -> bool:
    """A lab result of the descriptor's analytes within the assessment's look-back window.

    Without the labs app, the supporting value entered on the form stands in for the lab.
    """
    if key not in LAB_ANALYTES:
        return True
    if not labs_installed() or assessment.assessed_on is None:
        measured = [
            name
            for name in SUPPORTING_FIELDS.get(key, ())
            if not name.endswith(("_unit", "_lln", "_uln", "_previous_value"))
        ]
        return not measured or any(getattr(assessment, name) is not None for name in measured)
    look_back = look_back_for(assessment.participant, assessment.look_back_days)
    return lab_results_in_window(
        assessment.participant, assessment.assessed_on, look_back, LAB_ANALYTES[key]
    ).exists()


def _qualifies(descriptor, value, unit, lln, uln, days_before, look_back) -> bool:
    inputs = {
        "descriptor": descriptor,
        "value": value,
        "unit": unit,
        "attributable_to_sle": True,
        "days_before_visit": days_before,
        "look_back_days": look_back,
    }
    if descriptor == "low_complement":
        inputs["lln"] = lln
    elif descriptor == "increased_dna_binding":
        inputs["uln"] = uln
    try:
        return compute("sledai_2k_lab_thresholds", inputs)["scored"]
    except CalculatorInputError:
        return False  # a unit the rule does not take, or a missing limit: nothing to propose


def _worst(descriptor, evidence: list[Evidence]) -> tuple[Evidence, ...]:
    by_source: dict[str, Evidence] = {}
    for item in evidence:
        best = by_source.get(item.source)
        if best is None or (
            isinstance(item.value, Decimal)
            and (item.value < best.value if descriptor in LOWER_IS_WORSE else item.value > best.value)
        ):
            by_source[item.source] = item
    return tuple(by_source.values())


def proposed_descriptors(visit, *, on: date | None = None, look_back_days: int | None = None):
    """Lab-driven descriptors whose definition the participant's data meet within the look-back window
    ending on ``on`` (default: the visit date, else its target date): ``{descriptor: Proposal}``.

    Sources: lab results (when the labs app is installed) and the vital signs' temperature for fever.
    Attribution is the investigator's: every proposal assumes "attributable to SLE" for the threshold.
    """
    participant = visit.participant
    on = reference_date(visit, on)
    look_back = look_back_for(participant, look_back_days)
    tz = zoneinfo.ZoneInfo(participant.site.timezone)
    found: dict[str, list[Evidence]] = {}

    if labs_installed():
        analytes = {code: key for key, codes in LAB_ANALYTES.items() for code in codes}
        results = lab_results_in_window(participant, on, look_back, analytes).only(
            "analyte",
            "value",
            "unit",
            "standard_value",
            "standard_unit",
            "result",
            "lln",
            "uln",
            "collected_at",
        )
        for row in results:
            key = analytes[row.analyte]
            collected_on = row.collected_at.astimezone(tz).date()
            days_before = (on - collected_on).days
            if key == "urinary_casts":
                if row.result in SLEDAI_CASTS:
                    found.setdefault(key, []).append(Evidence(row.analyte, row.result, "", collected_on))
                continue
            # Serology is judged against the reporting lab's limits, stored in the unit entered.
            value, unit = (
                (row.value, row.unit) if key in SEROLOGY else (row.standard_value, row.standard_unit)
            )
            if value is None:
                continue
            if _qualifies(key, value, unit, row.lln, row.uln, days_before, look_back):
                limit = (
                    row.lln
                    if key == "low_complement"
                    else row.uln
                    if key == "increased_dna_binding"
                    else None
                )
                found.setdefault(key, []).append(
                    Evidence(row.analyte, Decimal(value), unit, collected_on, limit)
                )

    from crfs.models import VitalSigns

    temperatures = VitalSigns.objects.filter(
        participant=participant,
        entered_in_error=False,
        assessed_on__gte=on - timedelta(days=look_back),
        assessed_on__lte=on,
        temperature_c__gt=LAB_THRESHOLDS["fever"].limit,
    ).values_list("temperature_c", "assessed_on")
    for value, assessed_on in temperatures:
        if _qualifies("fever", value, "C", None, None, (on - assessed_on).days, look_back):
            found.setdefault("fever", []).append(Evidence("temperature_c", value, "C", assessed_on))

    return {key: Proposal(key, _worst(key, evidence)) for key, evidence in found.items()}


# Form columns filled from each source of evidence: (value column, limit column, unit column).
PREFILL_COLUMNS = {
    "platelets": ("platelets", None, None),
    "wbc": ("wbc", None, None),
    "urine_rbc": ("urine_rbc_hpf", None, None),
    "urine_wbc": ("urine_wbc_hpf", None, None),
    "protein_24h": ("proteinuria_value", None, "proteinuria_unit"),
    "upcr": ("proteinuria_value", None, "proteinuria_unit"),
    "c3": ("c3", "c3_lln", "complement_unit"),
    "c4": ("c4", "c4_lln", "complement_unit"),
    "anti_dsdna": ("anti_dsdna", "anti_dsdna_uln", "anti_dsdna_unit"),
    "temperature_c": ("temperature_c", None, None),
}


def _as_column(name: str, value):
    """``value`` at the precision of the form column (lab values are stored with six decimals)."""
    from .models import SledaiAssessment

    field = SledaiAssessment._meta.get_field(name)
    places = getattr(field, "decimal_places", None)
    if places is None:
        return int(value)
    return Decimal(value).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def supporting_values_from_data(participant, visit) -> dict:
    """Initial supporting values of a SLEDAI form: the evidence behind each proposal (the
    "fill from this participant's data" button of the form page). Descriptors stay unticked: the
    investigator judges presence and attribution."""
    values: dict = {}
    for proposal in proposed_descriptors(visit).values():
        for item in proposal.evidence:
            columns = PREFILL_COLUMNS.get(item.source)
            if columns is None:
                continue
            value_column, limit_column, unit_column = columns
            if value_column in values or (unit_column and values.get(unit_column, item.unit) != item.unit):
                continue  # one value per column; complement values share one unit
            values[value_column] = _as_column(value_column, item.value)
            if limit_column and item.limit is not None:
                values[limit_column] = _as_column(limit_column, item.limit)
            if unit_column:
                values[unit_column] = item.unit
    return values
