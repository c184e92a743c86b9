"""Edit checks: every check of every form, declared here with an id, a message and a severity.

*Hard* checks reject the save with a message on the field (impossible values, dates before consent or
in the future). *Soft* checks let the save through and open an automatic query on the field; the query
closes by itself when a later save no longer fires the check.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from edc.localtime import site_today

HARD, SOFT = "hard", "soft"


@dataclass(frozen=True)
class EditCheck:
    id: str
    form: str  # form code, or "*" for every form
    field: str
    severity: str
    message: object
    fires: Callable[[object], bool]  # (form instance) -> bool


def _date_in_future(field):
    def fires(obj):
        value = getattr(obj, field, None)
        return isinstance(value, date) and value > site_today(obj.participant.site.timezone)

    return fires


def _date_before_consent(field):
    def fires(obj):
        value = getattr(obj, field, None)
        consent = obj.participant.consent_date
        return isinstance(value, date) and consent is not None and value < consent

    return fires


def _outside_window(field):
    def fires(obj):
        value = getattr(obj, field, None)
        visit = obj.visit
        return (
            isinstance(value, date)
            and not visit.unscheduled
            and not (visit.window_start <= value <= visit.window_end)
        )

    return fires


def _between(field, low, high):
    low, high = Decimal(str(low)), Decimal(str(high))

    def fires(obj):
        value = getattr(obj, field, None)
        return value is not None and not (low <= value <= high)

    return fires


CHECKS: list[EditCheck] = [
    # Every dated form: the assessment date.
    EditCheck(
        "DATE-FUTURE",
        "*",
        "assessed_on",
        HARD,
        _("The date cannot be in the future."),
        _date_in_future("assessed_on"),
    ),
    EditCheck(
        "DATE-CONSENT",
        "*",
        "assessed_on",
        HARD,
        _("The date cannot be before informed consent."),
        _date_before_consent("assessed_on"),
    ),
    EditCheck(
        "VISIT-WINDOW",
        "*",
        "assessed_on",
        SOFT,
        _("The assessment date is outside the visit window; confirm or correct it."),
        _outside_window("assessed_on"),
    ),
    # Vital signs: physiologically impossible (hard) and out-of-range but possible (soft).
    EditCheck(
        "VS-TEMP-IMPOSSIBLE",
        "vital_signs",
        "temperature_c",
        HARD,
        _("Temperature must be between 30 and 45 °C."),
        _between("temperature_c", 30, 45),
    ),
    EditCheck(
        "VS-TEMP-RANGE",
        "vital_signs",
        "temperature_c",
        SOFT,
        _("Temperature outside 35.0–39.5 °C: please confirm."),
        _between("temperature_c", 35, 39.5),
    ),
    EditCheck(
        "VS-HR-IMPOSSIBLE",
        "vital_signs",
        "heart_rate",
        HARD,
        _("Heart rate must be between 20 and 250 /min."),
        _between("heart_rate", 20, 250),
    ),
    EditCheck(
        "VS-SBP-IMPOSSIBLE",
        "vital_signs",
        "systolic_bp",
        HARD,
        _("Systolic blood pressure must be between 40 and 300 mmHg."),
        _between("systolic_bp", 40, 300),
    ),
    EditCheck(
        "VS-SBP-RANGE",
        "vital_signs",
        "systolic_bp",
        SOFT,
        _("Systolic blood pressure below 90 or above 180 mmHg: please confirm."),
        _between("systolic_bp", 90, 180),
    ),
    EditCheck(
        "VS-DBP-IMPOSSIBLE",
        "vital_signs",
        "diastolic_bp",
        HARD,
        _("Diastolic blood pressure must be between 20 and 200 mmHg."),
        _between("diastolic_bp", 20, 200),
    ),
    EditCheck(
        "VS-WEIGHT-IMPOSSIBLE",
        "vital_signs",
        "weight_kg",
        HARD,
        _("Weight must be between 20 and 300 kg."),
        _between("weight_kg", 20, 300),
    ),
    EditCheck(
        "VS-HEIGHT-IMPOSSIBLE",
        "vital_signs",
        "height_cm",
        HARD,
        _("Height must be between 100 and 250 cm."),
        _between("height_cm", 100, 250),
    ),
    EditCheck(
        "VS-SPO2-IMPOSSIBLE",
        "vital_signs",
        "spo2_pct",
        HARD,
        _("SpO₂ must be between 50 and 100 %."),
        _between("spo2_pct", 50, 100),
    ),
]


# Modules whose ``CHECKS`` list declares further edit checks; each app that adds CRFs adds its module here.
CHECK_MODULES: list[str] = [
    "crfs.form_checks",
    "disease_activity.checks",
    "medications.checks",
    "labs.checks",
    "adverse_events.checks",
]


def all_checks() -> list[EditCheck]:
    from django.utils.module_loading import import_string

    return CHECKS + [check for module in CHECK_MODULES for check in import_string(f"{module}.CHECKS")]


def checks_for(code: str, obj) -> tuple[EditCheck, ...]:
    """The checks that apply to a form: its own and the generic ones for fields it has."""
    return _checks_for(code, type(obj))


@functools.cache
def _checks_for(code: str, model) -> tuple[EditCheck, ...]:
    # The checks are declared once, at import: computed once per form and model (a lab import runs
    # them on every one of thousands of results).
    field_names = {f.name for f in model._meta.get_fields()}
    return tuple(c for c in all_checks() if c.form in (code, "*") and c.field in field_names)


def run_checks(code: str, obj) -> tuple[list[EditCheck], list[EditCheck], list[EditCheck]]:
    """(hard checks firing, soft checks firing, soft checks not firing) for the instance."""
    hard, soft, quiet = [], [], []
    for check in checks_for(code, obj):
        if check.fires(obj):
            (hard if check.severity == HARD else soft).append(check)
        elif check.severity == SOFT:
            quiet.append(check)
    return hard, soft, quiet
