"""Visit workflows: build the schedule, re-anchor it to Day 0, record what happened."""

from datetime import date, timedelta

from django.utils.translation import gettext as _

from accounts.permissions import Action, require
from edc.audit import audited
from edc.errors import DomainError
from edc.integrity import after_change, before_change
from edc.localtime import site_today
from trials.models import Participant

from .models import Visit
from .schedule import window


def provisional_day0(participant) -> date:
    """Planned infusion date, else enrollment + the protocol's provisional offset."""
    if participant.day0:
        return participant.day0
    offset = participant.site.study.settings.get("provisional_day0_after_enrollment", 7)
    return (participant.enrollment_date or participant.screening_date) + timedelta(days=offset)


def is_screening(definition) -> bool:
    """Whether the protocol's first visit is a screening visit (code SCR, before Day 0)."""
    return definition.code == "SCR" and definition.target_day is not None and definition.target_day < 0


def create_screening_visit(participant) -> Visit | None:
    """The screening visit, done on the screening date (called when the participant is screened).

    It exists before enrollment so that the screening forms (eligibility checklist, demographics,
    screening labs) can be entered; its window is centred on the screening date, not on Day 0.
    """
    definition = participant.protocol_version.visit_definitions.order_by("order").first()
    if definition is None or not is_screening(definition):
        return None
    w = window(participant.screening_date, 0, definition.window_before, definition.window_after)
    return Visit.objects.create(
        participant=participant,
        definition=definition,
        code=definition.code,
        name=definition.name,
        sequence=10,
        target_day=definition.target_day,
        target_date=w.target,
        window_start=w.start,
        window_end=w.end,
        provisional=True,  # like every visit until Day 0 is recorded
        visit_date=participant.screening_date,
    )


def create_schedule(participant) -> list[Visit]:
    """All scheduled visits of the participant's protocol version (called inside enrollment); a
    screening visit created at screening is kept as it is."""
    day0 = provisional_day0(participant)
    existing = set(
        participant.visits.filter(definition__isnull=False).values_list("definition_id", flat=True)
    )
    visits = []
    for seq, definition in enumerate(
        participant.protocol_version.visit_definitions.order_by("order"), start=1
    ):
        if definition.pk in existing:
            continue
        w = window(day0, definition.target_day, definition.window_before, definition.window_after)
        visits.append(
            Visit(
                participant=participant,
                definition=definition,
                code=definition.code,
                name=definition.name,
                sequence=seq * 10,
                target_day=definition.target_day,
                target_date=w.target,
                window_start=w.start,
                window_end=w.end,
                provisional=participant.infusion_date is None,
            )
        )
    # Screening happened on the screening date: record it as done.
    if visits and visits[0].sequence == 10 and is_screening(visits[0]):
        visits[0].visit_date = participant.screening_date
    return Visit.objects.bulk_create(visits)


def reanchor_schedule(participant) -> int:
    """Move every visit not yet done to the participant's Day 0; done visits never move."""
    day0 = provisional_day0(participant)
    final = participant.infusion_date is not None
    pending = list(
        participant.visits.select_related("definition").filter(
            definition__isnull=False, visit_date__isnull=True, missed=False, not_applicable=False
        )
    )
    for visit in pending:
        d = visit.definition
        w = window(day0, d.target_day, d.window_before, d.window_after)
        visit.target_date, visit.window_start, visit.window_end = w.target, w.start, w.end
        visit.provisional = not final
        visit.version += 1
    Visit.objects.bulk_update(
        pending, ["target_date", "window_start", "window_end", "provisional", "version"]
    )
    if final:
        participant.visits.filter(provisional=True).update(provisional=False)
    return len(pending)


def date_day0_visit(participant, *, was: date | None, infusion_date: date) -> int:
    """The Day 0 visit took place on the infusion date: recorded with it (and corrected with it), so
    the date is entered once. Called inside ``record_infusion``'s transaction."""
    from django.db.models import F, Q

    return (
        participant.visits.filter(
            definition__target_day=0, unscheduled=False, entered_in_error=False, missed=False
        )
        .filter(Q(visit_date__isnull=True) | Q(visit_date=was))
        .exclude(visit_date=infusion_date)
        .update(visit_date=infusion_date, not_applicable=False, version=F("version") + 1)
    )


def _locked_visit(visit, expected_version):
    current = Visit.objects.select_for_update().select_related("participant__site").get(pk=visit.pk)
    current.bump_version(expected_version)
    before_change(current)  # refused while a lock covers it
    return current


def _move_screening(visit, visit_date: date):
    """The screening visit is the screening date: a corrected date moves the participant's screening
    date and re-centres the screening window on it (same audit context and reason)."""
    participant = Participant.objects.select_for_update().get(pk=visit.participant_id)
    participant.screening_date = visit_date
    participant.version += 1
    participant.save(update_fields=["screening_date", "version", "updated_at"])
    d = visit.definition
    w = window(visit_date, 0, d.window_before, d.window_after)
    visit.target_date, visit.window_start, visit.window_end = w.target, w.start, w.end


def record_visit(*, user, visit, visit_date: date, reason: str = "", expected_version=None) -> Visit:
    """Record the date a visit took place; changing a recorded date needs a reason."""
    require(user, Action.ENTER_DATA, visit.participant.site)
    participant = visit.participant
    if visit_date > site_today(participant.site.timezone):
        raise DomainError(_("The visit date cannot be in the future."), field="visit_date")
    if participant.consent_date and visit_date < participant.consent_date:
        raise DomainError(_("The visit date cannot be before consent."), field="visit_date")
    if visit.visit_date and visit.visit_date != visit_date and not reason.strip():
        raise DomainError(
            _("A reason for change is required to change a recorded visit date."), field="reason"
        )
    screening = visit.definition is not None and is_screening(visit.definition)
    if screening and participant.enrollment_date and visit_date > participant.enrollment_date:
        raise DomainError(_("The screening visit cannot be after enrollment."), field="visit_date")
    with audited(user=user, action="record_visit", reason=reason or _("visit recorded")):
        current = _locked_visit(visit, expected_version)
        changes = {"visit_date": (current.visit_date, visit_date)}
        current.visit_date, current.missed, current.not_applicable = visit_date, False, False
        if screening and participant.screening_date != visit_date:
            _move_screening(current, visit_date)
        current.save()
        after_change(record=current, user=user, reason=reason, changes=changes)  # signatures, SDV
    return current


def take_date_from_form(*, user, visit, visit_date: date | None) -> Visit | None:
    """A visit without a date takes the day its first dated form was done, so the date is entered once.

    Nothing happens when the visit has a date, was marked missed or not applicable, or when the day
    could not be a visit date (in the future, before consent): the form's own checks speak to those.
    Called inside the form's save (its transaction and audit context, whose action names the form).
    Returns the visit when its date was recorded.
    """
    participant = visit.participant
    if visit_date is None or visit.missed or visit.not_applicable:
        return None
    if visit_date > site_today(participant.site.timezone) or (
        participant.consent_date and visit_date < participant.consent_date
    ):
        return None
    current = Visit.objects.select_for_update().get(pk=visit.pk)
    if current.visit_date is not None or current.missed or current.not_applicable:
        return None
    before_change(current)
    current.version += 1
    current.visit_date = visit_date
    current.save()
    after_change(record=current, user=user, reason="", changes={"visit_date": (None, visit_date)})
    visit.visit_date, visit.version = current.visit_date, current.version
    return current


def mark_visit(*, user, visit, outcome: str, reason: str, expected_version=None) -> Visit:
    """Mark a visit missed or not applicable, with the reason."""
    require(user, Action.ENTER_DATA, visit.participant.site)
    if outcome not in ("missed", "not_applicable"):
        raise DomainError(_("Unknown visit outcome."))
    if not reason.strip():
        raise DomainError(_("Say why the visit is missed or not applicable."), field="reason")
    if visit.visit_date:
        raise DomainError(_("This visit has a visit date; correct the date instead."))
    with audited(user=user, action=f"visit_{outcome}", reason=reason):
        current = _locked_visit(visit, expected_version)
        current.missed = outcome == "missed"
        current.not_applicable = outcome == "not_applicable"
        current.status_reason = reason
        current.save()
    return current


def add_unscheduled_visit(*, user, participant, visit_date: date, reason: str) -> Visit:
    require(user, Action.ENTER_DATA, participant.site)
    if not reason.strip():
        raise DomainError(_("Say why the unscheduled visit took place."), field="reason")
    if participant.enrollment_date is None:
        raise DomainError(_("Unscheduled visits can be added after enrollment."))
    if visit_date > site_today(participant.site.timezone):
        raise DomainError(_("The visit date cannot be in the future."), field="visit_date")
    with audited(user=user, action="add_unscheduled_visit", reason=reason):
        last = participant.visits.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        number = participant.visits.filter(unscheduled=True).count() + 1
        visit = Visit.objects.create(
            participant=participant,
            code=f"UNS{number}",
            name=_("Unscheduled visit %(n)s") % {"n": number},
            sequence=last + 1,
            target_day=participant.study_day(visit_date),
            target_date=visit_date,
            window_start=visit_date,
            window_end=visit_date,
            provisional=False,
            visit_date=visit_date,
            unscheduled=True,
            status_reason=reason,
        )
        # A new visit changes the casebook's content (its signature breaks).
        after_change(record=visit, user=user, reason=reason, changes={"visit_date": (None, visit_date)})
        return visit
