"""De-identification: what an export without identifiable data drops, shifts or converts.

- initials and screen-failure or other free-text fields are removed;
- year of birth becomes age (in whole years, from the year only: the day of birth is never held);
- dates move by a random offset stored per participant (``DateShift``), the same in every export,
  so intervals between a participant's dates are kept and repeated exports stay consistent;
  or, in "study day" mode, dates are dropped and only study days remain.
"""

import secrets
from datetime import date, datetime, timedelta

from django.db import models

# Largest shift, in days, either way; never zero (a zero shift would leave real dates).
MAX_SHIFT_DAYS = 30

# Columns dropped from every de-identified file whatever their type.
# (the year of birth is replaced by the age, see ``age_at``)
IDENTIFYING_FIELDS = {"initials", "year_of_birth"}

# Character fields without choices that hold codes or versions, not free text.
_CODE_SUFFIXES = ("code", "version", "unit", "units", "_id", "number", "status")
# Character fields without choices that hold controlled or analysable values (an analyte code, a
# categorical lab result, a drug name, a dose as written, a product lot, the ICE test language).
KEPT_FIELDS = {"analyte", "result", "agent", "dose", "product_lot", "language"}


def random_offset() -> int:
    days = secrets.randbelow(MAX_SHIFT_DAYS * 2) + 1  # 1 … 60
    return days - MAX_SHIFT_DAYS - 1 if days <= MAX_SHIFT_DAYS else days - MAX_SHIFT_DAYS


def ensure_date_shifts(participant_ids) -> None:
    """Create the missing stored offsets of ``participant_ids`` (an iterable or a queryset of ids)."""
    from trials.models import Participant

    from .models import DateShift

    missing = Participant.objects.filter(pk__in=participant_ids, date_shift__isnull=True).values_list(
        "pk", flat=True
    )
    batch = []
    for pk in missing.iterator(chunk_size=2000):
        batch.append(DateShift(participant_id=pk, days=random_offset()))
        if len(batch) >= 2000:
            DateShift.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    if batch:
        DateShift.objects.bulk_create(batch, ignore_conflicts=True)


def offset_for(participant_id: int) -> int:
    """The participant's stored offset, created on first use."""
    from .models import DateShift

    shift_row, _ = DateShift.objects.get_or_create(
        participant_id=participant_id, defaults={"days": random_offset()}
    )
    return shift_row.days


def shift(participant_id: int, value: date | datetime | None, days: int | None = None):
    """``value`` moved by the participant's stored offset (``days`` when already known)."""
    if value is None:
        return None
    if days is None:
        days = offset_for(participant_id)
    return value + timedelta(days=days)


def age_at(year_of_birth: int | None, on: date | None) -> int | None:
    """Age in whole years on ``on`` from the year of birth alone (the birthday is unknown)."""
    if year_of_birth is None or on is None:
        return None
    return on.year - year_of_birth


def is_free_text(field) -> bool:
    """A TextField, or a CharField without choices that is not a code, unit, version or number."""
    if isinstance(field, models.TextField):
        return True
    if isinstance(field, models.CharField) and not field.choices:
        return field.name not in KEPT_FIELDS and not field.name.endswith(_CODE_SUFFIXES)
    return False


def dropped_fields(model) -> set[str]:
    """Names of the concrete fields of ``model`` a de-identified export leaves out."""
    return {f.name for f in model._meta.concrete_fields if f.name in IDENTIFYING_FIELDS or is_free_text(f)}


def is_date(field) -> bool:
    return isinstance(field, (models.DateField, models.DateTimeField))
