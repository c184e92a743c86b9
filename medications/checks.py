"""Edit checks of the medication log (see crfs.checks for the mechanism)."""

from datetime import date
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from crfs.checks import HARD, SOFT, EditCheck
from edc.localtime import site_today

# Above this the dose is a query, not a refusal: pulses (e.g. methylprednisolone 1 g for ICANS) exist.
HIGH_PREDNISONE_EQUIVALENT_MG_DAY = Decimal(100)
# Above this no regimen exists: a unit or decimal error (and more than the column can hold).
IMPOSSIBLE_PREDNISONE_EQUIVALENT_MG_DAY = Decimal(100_000)


def _stop_before_start(obj):
    return (
        isinstance(obj.start_date, date)
        and isinstance(obj.stop_date, date)
        and obj.stop_date < obj.start_date
    )


def _negative_dose(obj):
    return obj.dose is not None and Decimal(obj.dose).is_finite() and obj.dose < 0


def _in_future(field):
    def fires(obj):
        value = getattr(obj, field)
        return isinstance(value, date) and value > site_today(obj.participant.site.timezone)

    return fires


def _stopped_but_ongoing(obj):
    return obj.ongoing and obj.stop_date is not None


def _prior_but_ongoing(obj):
    return obj.period == "prior" and obj.ongoing


def _prior_but_stopped_after_consent(obj):
    consent = obj.participant.consent_date
    return obj.period == "prior" and isinstance(obj.stop_date, date) and consent and obj.stop_date >= consent


def _prednisone_equivalent_above(limit):
    def fires(obj):
        value = obj.prednisone_equivalent_mg_day
        return value is not None and value > limit

    return fires


CHECKS: list[EditCheck] = [
    EditCheck(
        "MED-STOP-BEFORE-START",
        "medications",
        "stop_date",
        HARD,
        _("The stop date cannot be before the start date."),
        _stop_before_start,
    ),
    EditCheck(
        "MED-DOSE-NEGATIVE", "medications", "dose", HARD, _("The dose cannot be negative."), _negative_dose
    ),
    EditCheck(
        "MED-START-FUTURE",
        "medications",
        "start_date",
        HARD,
        _("The start date cannot be in the future."),
        _in_future("start_date"),
    ),
    EditCheck(
        "MED-STOP-FUTURE",
        "medications",
        "stop_date",
        HARD,
        _("The stop date cannot be in the future; leave it empty and tick ongoing."),
        _in_future("stop_date"),
    ),
    EditCheck(
        "MED-ONGOING-STOPPED",
        "medications",
        "ongoing",
        HARD,
        _("A medication with a stop date is not ongoing."),
        _stopped_but_ongoing,
    ),
    # "Prior" means stopped before consent: an entry still taken at consent is concomitant, and baseline
    # doses (DORIS, LLDAS) are read from the concomitant entries.
    EditCheck(
        "MED-PRIOR-ONGOING",
        "medications",
        "period",
        HARD,
        _(
            "A prior medication was stopped before consent, so it cannot be ongoing: record it as "
            "concomitant, or give its stop date."
        ),
        _prior_but_ongoing,
    ),
    EditCheck(
        "MED-PRIOR-STOPPED-AFTER-CONSENT",
        "medications",
        "period",
        HARD,
        _(
            "A prior medication was stopped before consent, but this stop date is on or after the consent "
            "date: record it as concomitant, or correct the stop date."
        ),
        _prior_but_stopped_after_consent,
    ),
    EditCheck(
        "MED-GC-IMPOSSIBLE",
        "medications",
        "dose",
        HARD,
        _("This glucocorticoid dose is above 100 000 mg/day prednisone equivalent: check the dose and unit."),
        _prednisone_equivalent_above(IMPOSSIBLE_PREDNISONE_EQUIVALENT_MG_DAY),
    ),
    EditCheck(
        "MED-GC-HIGH",
        "medications",
        "dose",
        SOFT,
        _("Glucocorticoid dose above 100 mg/day prednisone equivalent: please confirm."),
        _prednisone_equivalent_above(HIGH_PREDNISONE_EQUIVALENT_MG_DAY),
    ),
]
