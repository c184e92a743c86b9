"""Derived values of the lymphodepletion and infusion forms, through ``edc.clinical.compute``.

Each function fills the form's derived fields from its entered values and the participant's other
records; a value that cannot be computed (missing or impossible input) is left empty, never guessed.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from edc.clinical import CalculatorInputError, compute

from .models import VitalSigns


def _decimal(value, places: str | None = None) -> Decimal | None:
    if value is None:
        return None
    number = Decimal(str(value))
    return number.quantize(Decimal(places), ROUND_HALF_UP) if places else number


def latest_height_and_weight(participant, on=None):
    """(height cm, weight kg, weight date) from the vital signs forms, the weight on or before ``on``."""
    vitals = VitalSigns.objects.filter(participant=participant, entered_in_error=False)
    weights = vitals.filter(weight_kg__isnull=False)
    if on is not None:
        weights = weights.filter(assessed_on__lte=on)
    weight = weights.order_by("-assessed_on", "-pk").values_list("weight_kg", "assessed_on").first()
    height = (
        vitals.filter(height_cm__isnull=False)
        .order_by("-assessed_on", "-pk")
        .values_list("height_cm", flat=True)
        .first()
    )
    return height, (weight[0] if weight else None), (weight[1] if weight else None)


def derive_lymphodepletion(form) -> None:
    participant = form.participant
    settings = participant.site.study.settings or {}
    form.height_cm, form.weight_kg, form.weight_measured_on = latest_height_and_weight(
        participant, form.assessed_on
    )
    versions = {}
    form.bsa_m2 = form.dosing_bsa_m2 = None
    form.fludarabine_planned_mg = form.cyclophosphamide_planned_mg = None
    form.fludarabine_given_mg_m2 = form.cyclophosphamide_given_mg_m2 = None
    if form.height_cm and form.weight_kg:
        try:
            result = compute(
                "bsa_lymphodepletion",
                {
                    "height_cm": str(form.height_cm),
                    "weight_kg": str(form.weight_kg),
                    "fludarabine_mg_m2": str(form.fludarabine_planned_mg_m2 or 0),
                    "cyclophosphamide_mg_m2": str(form.cyclophosphamide_planned_mg_m2 or 0),
                    "bsa_cap_m2": settings.get("lymphodepletion_dose_cap_bsa_m2"),
                },
            )
        except CalculatorInputError:
            result = None
        if result is not None:
            versions["bsa"] = result["rule_version"]
            form.bsa_m2 = _decimal(result["bsa_m2"], "0.01")
            form.dosing_bsa_m2 = _decimal(result["dosing_bsa_m2"], "0.01")
            if form.fludarabine_planned_mg_m2 is not None:
                form.fludarabine_planned_mg = _decimal(result["fludarabine_mg_per_day"], "0.1")
            if form.cyclophosphamide_planned_mg_m2 is not None:
                form.cyclophosphamide_planned_mg = _decimal(result["cyclophosphamide_mg_per_day"], "0.1")
            if form.dosing_bsa_m2:
                if form.fludarabine_given_mg is not None:
                    form.fludarabine_given_mg_m2 = _decimal(
                        form.fludarabine_given_mg / form.dosing_bsa_m2, "0.1"
                    )
                if form.cyclophosphamide_given_mg is not None:
                    form.cyclophosphamide_given_mg_m2 = _decimal(
                        form.cyclophosphamide_given_mg / form.dosing_bsa_m2, "0.1"
                    )
    form.crcl_ml_min = None
    on = form.assessed_on
    if form.creatinine and form.creatinine_unit and form.weight_kg and on is not None:
        try:
            result = compute(
                "cockcroft_gault",
                {
                    # only the year of birth is known: the older possible age (lower, conservative CrCl)
                    "age_years": on.year - participant.year_of_birth,
                    "weight_kg": str(form.weight_kg),
                    "sex": participant.sex,
                    "serum_creatinine": str(form.creatinine),
                    "creatinine_unit": form.creatinine_unit,
                },
            )
        except CalculatorInputError:
            result = None
        if result is not None:
            versions["crcl"] = result["rule_version"]
            form.crcl_ml_min = _decimal(result["crcl_ml_min"], "0.1")
    form.rule_versions = versions


def derive_car_t_dose(form) -> None:
    participant = form.participant
    settings = participant.site.study.settings or {}
    level = participant.dose_level
    form.planned_dose_per_kg = level.cells_per_kg if level is not None else None
    form.car_positive_viable_cells = form.dose_per_kg = form.deviation_pct = form.dose_deviation = None
    form.dose_rule_version = ""
    entered = (form.total_nucleated_cells, form.viability_pct, form.car_positive_pct, form.dosing_weight_kg)
    if any(value is None for value in entered):
        return
    inputs = {
        "total_nucleated_cells": str(form.total_nucleated_cells),
        "viability_pct": str(form.viability_pct),
        "car_positive_pct": str(form.car_positive_pct),
        "dosing_weight_kg": str(form.dosing_weight_kg),
        "dose_tolerance_pct": settings.get("dose_tolerance_pct", 20),
    }
    if form.planned_dose_per_kg:
        inputs["planned_dose_per_kg"] = str(form.planned_dose_per_kg)
    try:
        result = compute("car_t_dose", inputs)
    except (CalculatorInputError, InvalidOperation, ZeroDivisionError):
        return
    form.dose_rule_version = result["rule_version"]
    form.car_positive_viable_cells = _decimal(result["car_positive_viable_cells"])
    form.dose_per_kg = _decimal(result["dose_per_kg"])
    form.deviation_pct = _decimal(result["deviation_pct"], "0.1")
    form.dose_deviation = result["dose_deviation"]


def lymphodepletion_prefill(participant, visit=None) -> dict:
    """The latest creatinine (from ``labs`` when installed) and the planned doses of the previous day."""
    from django.apps import apps

    from .models import Lymphodepletion

    values = {}
    previous = (
        Lymphodepletion.objects.filter(participant=participant, entered_in_error=False)
        .exclude(visit=visit)
        .order_by("-assessed_on", "-pk")
        .first()
    )
    if previous is not None:
        for name in (
            "fludarabine_planned_mg_m2",
            "cyclophosphamide_planned_mg_m2",
            "fludarabine_renal_decision",
        ):
            if getattr(previous, name) not in (None, ""):
                values[name] = getattr(previous, name)
    if apps.is_installed("labs"):
        LabResult = apps.get_model("labs", "LabResult")
        row = (
            LabResult.objects.filter(
                panel__participant=participant,
                panel__entered_in_error=False,
                analyte="creatinine",
                value__isnull=False,
                unit__in=["mg/dL", "umol/L"],
            )
            .order_by("-collected_at", "-pk")
            .first()
        )
        if row is not None:
            values["creatinine"], values["creatinine_unit"] = row.value, row.unit
    return values


def infusion_prefill(participant, visit=None) -> dict:
    """The dosing weight: the latest weight on the vital signs forms, with its date."""
    _height, weight, measured_on = latest_height_and_weight(participant)
    return {"dosing_weight_kg": weight, "dosing_weight_on": measured_on} if weight else {}
