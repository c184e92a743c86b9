"""De-identification: what an export without identifiable data drops, shifts or converts.

- initials, screening numbers and every free-text field are removed: a character field is free
  text unless it has choices, is set by the system (not editable), or is one of the few fields
  listed in ``CODED_TEXT`` (each with the reason it holds a code, not a person's words);
- JSON fields are removed unless listed in ``CODED_JSON`` (lists of codes): a stored calculation
  such as the eligibility checklist's ``automatic_results`` reads "born 1990, consent 2026-10-19";
- a participant never enrolled is keyed by a stored random pseudonym and records by their number
  within the participant (``subject_key``, ``record_numbers``): no screening number or database id;
- year of birth becomes age (in whole years, from the year only: the day of birth is never held);
- dates move *back* by a random offset stored per participant (``DateShift``), the same in every
  export, so intervals between a participant's dates are kept and repeated exports stay consistent,
  and no date on or before the export's day lands after it;
  or, in "study day" mode, dates are dropped and only study days remain.
"""

import secrets
from datetime import date, datetime, timedelta

from django.db import models
from django.db.models import Func

# Largest shift, in days; dates always move back (1 … 60 days), never by zero (that would leave real
# dates) and never forward (a recent date would land after the export date, which shows the shift).
MAX_SHIFT_DAYS = 60

# Columns dropped from every de-identified file whatever their type.
# (the year of birth is replaced by the age, see ``age_at``)
IDENTIFYING_FIELDS = {"initials", "year_of_birth", "screening_number"}

# Character fields without choices that a de-identified export keeps: each holds a code or a value
# checked against a list, never a person's words.
CODED_TEXT = {
    "study_id": "the participant's pseudonymous study identifier (the export's key)",
    "code": "protocol codes (visits, sites, dose levels)",
    "term": "the CTCAE term, chosen from the shipped term list",
    "analyte": "the analyte code of the laboratory table",
    "unit": "a unit of the laboratory table",
    "standard_unit": "the standard unit of the laboratory table",
    "result": "a categorical laboratory result, chosen from the analyte's results",
    "product_lot": "the CAR-T product lot, shared by every participant treated from it",
}
# JSON fields a de-identified export keeps: lists of codes chosen on the form, or set by the system.
CODED_JSON = {"findings", "vasopressors", "unmet_criteria", "rule_versions"}


def random_offset() -> int:
    """A new participant's offset: −1 … −MAX_SHIFT_DAYS days."""
    return -(secrets.randbelow(MAX_SHIFT_DAYS) + 1)


def effective_days(days: int) -> int:
    """The offset applied for a stored one. Offsets stored before dates only moved back were
    ±1 … 30 days; a forward one is applied as ``days − (MAX_SHIFT_DAYS + 1)`` (1 … 30 → −60 … −31),
    so a date never lands after the export date (stored offsets are immutable)."""
    return days - (MAX_SHIFT_DAYS + 1) if days > 0 else days


class EffectiveOffset(Func):
    """SQL of :func:`effective_days` over a stored offset column."""

    template = (
        f"(CASE WHEN %(expressions)s > 0 THEN %(expressions)s - {MAX_SHIFT_DAYS + 1} "
        "ELSE %(expressions)s END)"
    )
    output_field = models.IntegerField()


def offsets(participant_ids) -> dict[int, int]:
    """The effective offsets of ``participant_ids`` (created when missing), by participant id."""
    from .models import DateShift

    ensure_date_shifts(participant_ids)
    return {
        pk: effective_days(days)
        for pk, days in DateShift.objects.filter(participant_id__in=participant_ids).values_list(
            "participant_id", "days"
        )
    }


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
    ensure_pseudonyms(participant_ids)


def offset_for(participant_id: int) -> int:
    """The participant's effective offset, stored on first use."""
    from .models import DateShift

    shift_row, _ = DateShift.objects.get_or_create(
        participant_id=participant_id, defaults={"days": random_offset()}
    )
    return effective_days(shift_row.days)


def shift(participant_id: int, value: date | datetime | None, days: int | None = None):
    """``value`` moved by the participant's offset (``days``: the effective offset, when known)."""
    if value is None:
        return None
    if days is None:
        days = offset_for(participant_id)
    return value + timedelta(days=days)


def subject_key(participant, *, deidentify: bool) -> str:
    """The participant's key in every file of an export (CSV ``study_id``, ODM ``SubjectKey``, SDTM
    ``SUBJID``): the study id; a participant never enrolled is keyed by the screening number, or in a
    de-identified export (which holds no screening number, and no database id) by its stored
    pseudonym ``NOT-ENROLLED-<random>`` (``Pseudonym``)."""
    if participant.study_id or not deidentify:
        return participant.label
    return pseudonym_of(participant)


PSEUDONYM_PREFIX = "NOT-ENROLLED-"
# Letters and digits that cannot be mistaken for one another (no 0/O, 1/I/L).
_PSEUDONYM_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_pseudonym() -> str:
    return PSEUDONYM_PREFIX + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(8))


def ensure_pseudonyms(participant_ids) -> None:
    """Create the missing pseudonyms of the never-enrolled participants among ``participant_ids``."""
    from trials.models import Participant

    from .models import Pseudonym

    for _attempt in range(5):  # a random key that collides with a stored one is drawn again
        missing = Participant.objects.filter(
            pk__in=participant_ids, study_id__isnull=True, pseudonym__isnull=True
        ).values_list("pk", flat=True)
        batch, created = [], 0
        for pk in missing.iterator(chunk_size=2000):
            batch.append(Pseudonym(participant_id=pk, key=new_pseudonym()))
            if len(batch) >= 2000:
                Pseudonym.objects.bulk_create(batch, ignore_conflicts=True)
                created, batch = created + len(batch), []
        if batch:
            Pseudonym.objects.bulk_create(batch, ignore_conflicts=True)
            created += len(batch)
        if not created:
            return


def pseudonym_of(participant) -> str:
    """The stored pseudonym of ``participant`` (created on first use)."""
    from django.core.exceptions import ObjectDoesNotExist

    from .models import Pseudonym

    try:
        return participant.pseudonym.key
    except ObjectDoesNotExist:
        ensure_pseudonyms([participant.pk])
        return Pseudonym.objects.get(participant_id=participant.pk).key


def record_numbers(record_models, participant_ids) -> dict[tuple[type, int], int]:
    """{(model, id): n}: each record is the participant's n-th of its model, in the order they were
    entered (records entered in error keep their number, so numbers never change). A de-identified
    export keys records by these numbers (CSV ``record_id`` ``<subject key>.<n>``, ODM ``FormRepeatKey``),
    never by their database ids."""
    numbers = {}
    for model in record_models:
        rows = (
            model.objects.filter(participant_id__in=participant_ids)
            .order_by("participant_id", "pk")
            .values_list("participant_id", "pk")
        )
        previous, n = None, 0
        for participant_id, pk in rows.iterator(chunk_size=5000):
            n = n + 1 if participant_id == previous else 1
            previous = participant_id
            numbers[(model, pk)] = n
    return numbers


def age_at(year_of_birth: int | None, on: date | None) -> int | None:
    """Age in whole years on ``on`` from the year of birth alone (the birthday is unknown)."""
    if year_of_birth is None or on is None:
        return None
    return on.year - year_of_birth


def is_free_text(field) -> bool:
    """A TextField, or a CharField without choices that the user types (see ``CODED_TEXT``)."""
    if isinstance(field, models.TextField):
        return True
    if isinstance(field, models.CharField) and not field.choices:
        return field.editable and field.name not in CODED_TEXT and not field.name.endswith("rule_version")
    return False


def is_uncoded_json(field) -> bool:
    return isinstance(field, models.JSONField) and field.name not in CODED_JSON


def dropped_fields(model) -> set[str]:
    """Names of the concrete fields of ``model`` a de-identified export leaves out."""
    return {
        f.name
        for f in model._meta.concrete_fields
        if f.name in IDENTIFYING_FIELDS or is_free_text(f) or is_uncoded_json(f)
    }


def is_date(field) -> bool:
    return isinstance(field, (models.DateField, models.DateTimeField))
