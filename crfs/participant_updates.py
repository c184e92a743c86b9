"""Forms whose saving moves the participant along the status machine, through ``trials.services``.

``save_form`` calls the function its ``FormSpec.updates_participant`` names inside the same
transaction, after the form is saved: if the participant's service refuses (a date before enrollment,
a transition the status machine does not allow), the form is not saved either, and the user sees the
service's message.
"""

from django.utils.translation import gettext as _

from edc.errors import DomainError
from trials import services as trial_services
from trials.models import ParticipantStatus

from .models import EndOfStudyReason, FormStatus

S = ParticipantStatus
ENDED = {S.COMPLETED, S.WITHDRAWN, S.DIED}


def _participant(form):
    from trials.models import Participant

    return Participant.objects.select_related("site__study").get(pk=form.participant_id)


def lymphodepletion_given(*, user, form, reason: str) -> None:
    """The first day given starts lymphodepletion (enrolled → lymphodepleted)."""
    participant = _participant(form)
    if form.assessed_on is None or participant.lymphodepletion_start_date is not None:
        return
    if not (form.fludarabine_given_mg or form.cyclophosphamide_given_mg):
        return
    if participant.status == S.ENROLLED:
        trial_services.record_lymphodepletion(user=user, participant=participant, start_date=form.assessed_on)


def infusion_given(*, user, form, reason: str) -> None:
    """The infusion date is Day 0: record it (or correct it, with the form's reason); re-anchors visits."""
    participant = _participant(form)
    if form.infusion_date is None or participant.infusion_date == form.infusion_date:
        return
    trial_services.record_infusion(
        user=user, participant=participant, infusion_date=form.infusion_date, reason=reason
    )


def study_ended(*, user, form, reason: str) -> None:
    """A complete end-of-study form ends the participation (completed, withdrawn or died)."""
    if form.status != FormStatus.COMPLETE:
        return
    participant = _participant(form)
    outcome = {EndOfStudyReason.COMPLETED: S.COMPLETED, EndOfStudyReason.DIED: S.DIED}.get(
        form.reason, S.WITHDRAWN
    )
    if participant.status in ENDED:
        if participant.status != outcome:
            raise DomainError(
                _("The participant's participation already ended as %(status)s.")
                % {"status": participant.get_status_display().lower()},
                field="reason",
            )
        return
    text = str(EndOfStudyReason(form.reason).label)
    if form.details.strip():
        text = f"{text}: {form.details.strip()}"
    trial_services.end_participation(
        user=user, participant=participant, outcome=outcome, end_date=form.end_date, reason=text
    )


def death_recorded(*, user, form, reason: str) -> None:
    """A complete death report records the death on the participant."""
    if form.status != FormStatus.COMPLETE:
        return
    participant = _participant(form)
    if participant.status == S.DIED:
        return
    if participant.status in ENDED:
        raise DomainError(
            _("The participant's participation already ended as %(status)s; ask the data manager.")
            % {"status": participant.get_status_display().lower()}
        )
    trial_services.end_participation(
        user=user,
        participant=participant,
        outcome=S.DIED,
        end_date=form.death_date,
        reason=form.cause_description.strip() or str(form.get_primary_cause_display()),
    )
