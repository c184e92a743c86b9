"""Reads of the medication log."""

from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum

from .models import Frequency, Medication, MedicationClass


def medication_log(participant):
    """The participant's log, oldest start first (entries entered in error left out)."""
    return Medication.objects.filter(participant=participant, entered_in_error=False).select_related(
        "visit__definition"
    )


def active_on(participant, on_date: date):
    """Entries taken on ``on_date``: started by then and not stopped before (a single dose: that day)."""
    single = Q(frequency=Frequency.ONCE, stop_date__isnull=True)
    return (
        medication_log(participant)
        .filter(start_date__lte=on_date)
        .filter(Q(stop_date__gte=on_date) | Q(stop_date__isnull=True))
        .exclude(single & Q(start_date__lt=on_date))
    )


def maintenance_prednisone_equivalent(participant, on_date: date) -> Decimal:
    """Daily prednisone-equivalent dose (mg) of the glucocorticoids taken on ``on_date`` for SLE: CRS or
    ICANS treatment and premedication are excluded (clinical-rules.md section 5). DORIS and LLDAS use it.
    Draft entries count (the log as entered); entries marked entered in error do not.
    """
    total = (
        active_on(participant, on_date)
        .filter(
            drug_class=MedicationClass.GLUCOCORTICOID,
            for_crs_or_icans=False,
            premedication=False,
            prednisone_equivalent_mg_day__isnull=False,
        )
        .aggregate(total=Sum("prednisone_equivalent_mg_day"))["total"]
    )
    return total or Decimal(0)
