"""Which participants and records one export covers: the only place its scope is decided.

Every format (CSV, ODM, SDTM, audit trail) reads through these querysets, so the options mean the
same thing in every file: the study's sites chosen, records of visits on or before the cut-off, no
record entered in error, and (``locked_only``) only locked data.
"""

from django.db.models import Exists, OuterRef, QuerySet

from crfs.registry import FORMS, FormSpec
from trials.models import Participant, Study

from .options import ExportOptions


def study_of(options: ExportOptions) -> Study:
    return Study.objects.get(pk=options.study_id)


def participants(study, options: ExportOptions) -> QuerySet:
    """Participants of ``study`` in scope, in a stable order (site, then screening number).

    With ``locked_only``, only participants a study or participant lock covers.
    """
    qs = participant_scope(study, options)
    if options.locked_only:
        qs = is_locked_filter(qs, participant=None, visit=None)
    return qs


def participant_scope(study, options: ExportOptions) -> QuerySet:
    """Participants whose records may be exported (sites, cut-off), locked or not."""
    qs = Participant.objects.filter(site__study=study, entered_in_error=False)
    if options.site_ids is not None:
        qs = qs.filter(site_id__in=options.site_ids)
    if options.cutoff is not None:
        qs = qs.filter(screening_date__lte=options.cutoff)
    return qs.order_by("site__code", "screening_number", "pk")


def form_specs(options: ExportOptions) -> list[FormSpec]:
    """The form specs in scope, in registry order."""
    if options.form_codes is None:
        return list(FORMS.values())
    return [spec for code, spec in FORMS.items() if code in options.form_codes]


def records(spec: FormSpec, options: ExportOptions, study=None) -> QuerySet:
    """Live records of one form in scope, ordered by participant, visit and entry.

    The cut-off applies to the visit date: a form of a visit not yet done (no visit date) is left
    out of a cut-off export, as its data may still change before that date is reached.
    """
    study = study or study_of(options)
    qs = spec.model.objects.filter(
        participant__in=participant_scope(study, options).values("pk"), entered_in_error=False
    )
    if options.cutoff is not None:
        qs = qs.filter(visit__visit_date__lte=options.cutoff)
    if options.locked_only:
        qs = is_locked_filter(qs)
    return qs.order_by("participant__site__code", "participant__screening_number", "visit__sequence", "pk")


def adverse_events(study, options: ExportOptions) -> QuerySet:
    """Live adverse events in scope (the cut-off applies to the onset), ordered by participant and AE
    number."""
    from adverse_events.models import AdverseEvent

    qs = AdverseEvent.objects.filter(
        participant__in=participant_scope(study, options).values("pk"), entered_in_error=False
    )
    if options.cutoff is not None:
        qs = qs.filter(onset_date__lte=options.cutoff)
    if options.locked_only:
        qs = is_locked_filter(qs, visit=None)
    return qs.order_by("participant__site__code", "participant__screening_number", "number", "pk")


def is_locked_filter(
    queryset: QuerySet, *, participant: str | None = "participant", visit: str | None = "visit"
):
    """Keep the records of ``queryset`` an active lock covers (``monitoring.Lock``).

    A record is locked by a study lock, a lock of its participant, of its visit, or of the record
    itself. ``participant`` and ``visit`` are the paths from the record to them (``None`` for the
    participant table itself, or for records without a visit).
    """
    from monitoring.models import Lock, LockScope

    active = Lock.objects.filter(unlocked_at=None)
    own = "pk" if participant is None else participant
    study = "site__study" if participant is None else f"{participant}__site__study"
    covered = Exists(active.filter(scope=LockScope.STUDY, study=OuterRef(study))) | Exists(
        active.filter(scope=LockScope.PARTICIPANT, participant=OuterRef(own))
    )
    if visit is not None:
        covered |= Exists(active.filter(scope=LockScope.VISIT, visit=OuterRef(visit)))
    if participant is not None:
        covered |= Exists(
            active.filter(
                scope=LockScope.FORM, form_table=queryset.model._meta.db_table, object_id=OuterRef("pk")
            )
        )
    return queryset.filter(covered)
