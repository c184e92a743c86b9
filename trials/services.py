"""Participant workflows: screening, consent, eligibility, enrollment, dosing and the status machine.

Each function is one transaction with an audit context, checks the caller's permission at the
participant's site, and raises DomainError with a message the user can act on.
"""

from datetime import date

from django.db.models import F, Func, IntegerField, Max, Value
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from accounts.permissions import Action, require
from edc.audit import audited
from edc.errors import DomainError
from edc.integrity import before_change
from edc.localtime import site_today
from visits.services import create_schedule, create_screening_visit, date_day0_visit, reanchor_schedule

from . import eligibility
from .models import Participant, ParticipantStatus, Site

S = ParticipantStatus

# The status machine: from each status, the statuses a service may move to.
TRANSITIONS: dict[str, set[str]] = {
    S.SCREENING: {S.SCREEN_FAILED, S.ENROLLED},
    S.ENROLLED: {S.LYMPHODEPLETED, S.INFUSED, S.WITHDRAWN, S.DIED},
    S.LYMPHODEPLETED: {S.INFUSED, S.WITHDRAWN, S.DIED},
    S.INFUSED: {S.IN_FOLLOW_UP, S.WITHDRAWN, S.DIED},
    S.IN_FOLLOW_UP: {S.COMPLETED, S.WITHDRAWN, S.DIED},
    S.SCREEN_FAILED: set(),
    S.COMPLETED: set(),
    S.WITHDRAWN: set(),
    S.DIED: set(),
}


def _move(participant, target: str):
    if target not in TRANSITIONS[participant.status]:
        raise DomainError(
            _("A participant who is %(current)s cannot become %(target)s.")
            % {"current": participant.get_status_display().lower(), "target": S(target).label.lower()}
        )
    participant.status = target


def _lock(participant, expected_version=None) -> Participant:
    current = Participant.objects.select_for_update().select_related("site__study").get(pk=participant.pk)
    if current.entered_in_error:
        raise DomainError(_("This participant was entered in error and can no longer change."))
    current.bump_version(expected_version)
    before_change(current)  # refused while a lock covers it
    return current


def _not_future(site, day: date, field: str, label: str):
    if day > site_today(site.timezone):
        raise DomainError(_("%(label)s cannot be in the future.") % {"label": label}, field=field)


def screen_participant(
    *, user, site: Site, initials: str, year_of_birth: int, sex: str, screening_date: date
) -> Participant:
    """Register a new screening; the screening number is ``<site>-S<nnn>``."""
    require(user, Action.ENTER_DATA, site)
    initials = (initials or "").strip().upper()
    if not (2 <= len(initials) <= 4 and initials.isalpha()):
        raise DomainError(_("Initials are 2 to 4 letters (no names)."), field="initials")
    _not_future(site, screening_date, "screening_date", _("The screening date"))
    age = screening_date.year - year_of_birth
    if not 17 <= age <= 76:
        raise DomainError(
            _("Year of birth %(year)s gives an age outside 18–75 at screening.") % {"year": year_of_birth},
            field="year_of_birth",
        )
    protocol = site.study.current_protocol
    if protocol is None:
        raise DomainError(_("No protocol is loaded for this study."))
    with audited(user=user, action="screen", reason=_("new screening")):
        Site.objects.select_for_update().get(pk=site.pk)  # serialise numbering per site
        count = Participant.objects.filter(site=site).count()
        participant = Participant.objects.create(
            site=site,
            protocol_version=protocol,
            screening_number=f"{site.code}-S{count + 1:03d}",
            initials=initials,
            year_of_birth=year_of_birth,
            sex=sex,
            screening_date=screening_date,
        )
        create_screening_visit(participant)  # the screening forms are entered before enrollment
        return participant


def record_consent(
    *, user, participant, consent_date: date, consent_version: str, reason: str = "", expected_version=None
) -> Participant:
    require(user, Action.ENTER_DATA, participant.site)
    _not_future(participant.site, consent_date, "consent_date", _("The consent date"))
    if not consent_version.strip():
        raise DomainError(_("Give the version of the consent form that was signed."), field="consent_version")
    if participant.consent_date and not reason.strip():
        raise DomainError(_("Consent is already recorded: give a reason for the change."), field="reason")
    if participant.status != S.SCREENING and not reason.strip():
        raise DomainError(_("Consent can be recorded during screening only."))
    with audited(user=user, action="record_consent", reason=reason or _("consent recorded")):
        p = _lock(participant, expected_version)
        p.consent_date, p.consent_version, p.consent_obtained_by = consent_date, consent_version.strip(), user
        p.save()
    return p


def _require_checklist(participant, *, on: date | None = None):
    """When the protocol has an eligibility checklist, every criterion on it must be met.

    The checklist is a case report form (``crfs``); its rule lives beside it in ``crfs.eligibility``
    and is registered with ``trials.eligibility``, because ``crfs`` builds on this app.
    """
    problems = eligibility.enrollment_blockers(participant, on=on)
    if problems:
        raise DomainError(" ".join([_("The eligibility checklist does not allow this yet."), *problems]))


def record_eligibility(
    *,
    user,
    participant,
    met: bool,
    assessed_on: date,
    screen_failure_reason: str = "",
    reason: str = "",
    expected_version=None,
) -> Participant:
    """Record the eligibility outcome; not met makes the participant a screen failure. Changing an
    outcome or date already recorded needs a reason, as for consent."""
    require(user, Action.ENTER_DATA, participant.site)
    recorded = participant.eligibility_date is not None
    changed = (participant.eligibility_date, participant.eligibility_met) != (assessed_on, met)
    if recorded and changed and not reason.strip():
        raise DomainError(_("Eligibility is already recorded: give a reason for the change."), field="reason")
    if participant.status != S.SCREENING:
        raise DomainError(_("Eligibility is decided during screening only."))
    if participant.consent_date is None:
        raise DomainError(_("Record consent before assessing eligibility."))
    _not_future(participant.site, assessed_on, "assessed_on", _("The assessment date"))
    if assessed_on < participant.consent_date:
        raise DomainError(_("Eligibility cannot be assessed before consent."), field="assessed_on")
    if not met and not screen_failure_reason.strip():
        raise DomainError(_("Give the screen-failure reason."), field="screen_failure_reason")
    if met:
        _require_checklist(participant)
    why = reason.strip() or screen_failure_reason or _("eligible")
    with audited(user=user, action="record_eligibility", reason=why):
        p = _lock(participant, expected_version)
        p.eligibility_met, p.eligibility_date = met, assessed_on
        p.screen_failure_reason = "" if met else screen_failure_reason.strip()
        if not met:
            _move(p, S.SCREEN_FAILED)
            p.end_date, p.end_reason = assessed_on, screen_failure_reason.strip()
        p.save()
    return p


def enroll_participant(
    *,
    user,
    participant,
    enrollment_date: date,
    dose_level=None,
    planned_infusion_date: date | None = None,
    expected_version=None,
) -> Participant:
    """Enroll: needs consent and met eligibility; assigns ``<site>-<nnn>`` and builds the schedule."""
    require(user, Action.ENTER_DATA, participant.site)
    if participant.consent_date is None:
        raise DomainError(_("Consent must be recorded before enrollment."))
    if participant.eligibility_met is not True:
        raise DomainError(_("Eligibility must be assessed as met before enrollment."))
    _require_checklist(participant, on=enrollment_date)
    _not_future(participant.site, enrollment_date, "enrollment_date", _("The enrollment date"))
    if enrollment_date < participant.consent_date:
        raise DomainError(_("Enrollment cannot be before consent."), field="enrollment_date")
    if dose_level is not None and dose_level.study_id != participant.site.study_id:
        raise DomainError(_("That dose level belongs to another study."), field="dose_level")
    if planned_infusion_date and planned_infusion_date < enrollment_date:
        raise DomainError(
            _("The planned infusion cannot be before enrollment."), field="planned_infusion_date"
        )
    with audited(user=user, action="enroll", reason=_("enrollment")):
        Site.objects.select_for_update().get(pk=participant.site_id)  # serialise study ids per site
        p = _lock(participant, expected_version)
        _move(p, S.ENROLLED)
        # Compare the numbers, not the text: "YC-1000" sorts before "YC-999".
        number_part = Cast(
            Func(F("study_id"), Value("^.*-"), Value(""), function="regexp_replace"), IntegerField()
        )
        last = Participant.objects.filter(site=p.site, study_id__isnull=False).aggregate(n=Max(number_part))[
            "n"
        ]
        number = (last or 0) + 1
        p.study_id = f"{p.site.code}-{number:03d}"
        p.enrollment_date, p.dose_level, p.planned_infusion_date = (
            enrollment_date,
            dose_level,
            planned_infusion_date,
        )
        p.save()
        create_schedule(p)
    return p


def assign_dose_level(
    *, user, participant, dose_level, reason: str = "", expected_version=None
) -> Participant:
    require(user, Action.ENTER_DATA, participant.site)
    if dose_level.study_id != participant.site.study_id:
        raise DomainError(_("That dose level belongs to another study."), field="dose_level")
    if participant.infusion_date:
        raise DomainError(_("The dose level cannot change after infusion."))
    if participant.dose_level_id and participant.dose_level_id != dose_level.pk and not reason.strip():
        raise DomainError(
            _("A dose level is already assigned: give a reason for the change."), field="reason"
        )
    with audited(user=user, action="assign_dose_level", reason=reason or _("dose level assigned")):
        p = _lock(participant, expected_version)
        p.dose_level = dose_level
        p.save()
    return p


def record_planned_infusion(
    *, user, participant, planned_date: date, reason: str = "", expected_version=None
) -> Participant:
    """Set the planned Day 0; the provisional schedule follows it."""
    require(user, Action.ENTER_DATA, participant.site)
    if participant.status not in (S.ENROLLED, S.LYMPHODEPLETED):
        raise DomainError(_("The infusion can be planned between enrollment and infusion only."))
    if planned_date < participant.enrollment_date:
        raise DomainError(_("The planned infusion cannot be before enrollment."), field="planned_date")
    if participant.planned_infusion_date and not reason.strip():
        raise DomainError(
            _("An infusion date is already planned: give a reason for the change."), field="reason"
        )
    with audited(user=user, action="plan_infusion", reason=reason or _("infusion planned")):
        p = _lock(participant, expected_version)
        p.planned_infusion_date = planned_date
        p.save()
        reanchor_schedule(p)
    return p


def record_lymphodepletion(*, user, participant, start_date: date, expected_version=None) -> Participant:
    require(user, Action.ENTER_DATA, participant.site)
    _not_future(participant.site, start_date, "start_date", _("The lymphodepletion start"))
    if participant.enrollment_date and start_date < participant.enrollment_date:
        raise DomainError(_("Lymphodepletion cannot start before enrollment."), field="start_date")
    with audited(user=user, action="lymphodepletion", reason=_("lymphodepletion started")):
        p = _lock(participant, expected_version)
        _move(p, S.LYMPHODEPLETED)
        p.lymphodepletion_start_date = start_date
        p.save()
    return p


def record_infusion(
    *, user, participant, infusion_date: date, reason: str = "", expected_version=None
) -> Participant:
    """The actual CAR-T infusion: Day 0. Re-anchors every pending visit in the same transaction."""
    require(user, Action.ENTER_DATA, participant.site)
    _not_future(participant.site, infusion_date, "infusion_date", _("The infusion date"))
    if participant.enrollment_date and infusion_date < participant.enrollment_date:
        raise DomainError(_("The infusion cannot be before enrollment."), field="infusion_date")
    if participant.lymphodepletion_start_date and infusion_date <= participant.lymphodepletion_start_date:
        raise DomainError(_("The infusion must follow lymphodepletion."), field="infusion_date")
    correcting, was = participant.infusion_date is not None, participant.infusion_date
    if correcting and not reason.strip():
        raise DomainError(_("Day 0 is already recorded: give a reason for the change."), field="reason")
    with audited(user=user, action="record_infusion", reason=reason or _("infusion given")):
        p = _lock(participant, expected_version)
        if not correcting:
            _move(p, S.INFUSED)
        p.infusion_date = infusion_date
        p.save()
        reanchor_schedule(p)
        date_day0_visit(p, was=was, infusion_date=infusion_date)
    return p


def start_follow_up(*, user, participant, expected_version=None) -> Participant:
    require(user, Action.ENTER_DATA, participant.site)
    with audited(user=user, action="start_follow_up", reason=_("post-infusion follow-up")):
        p = _lock(participant, expected_version)
        _move(p, S.IN_FOLLOW_UP)
        p.save()
    return p


def end_participation(
    *, user, participant, outcome: str, end_date: date, reason: str = "", expected_version=None
) -> Participant:
    """Complete, withdraw (reason required) or record the death of a participant."""
    require(user, Action.ENTER_DATA, participant.site)
    if outcome not in (S.COMPLETED, S.WITHDRAWN, S.DIED):
        raise DomainError(_("Unknown end of participation."))
    if outcome == S.WITHDRAWN and not reason.strip():
        raise DomainError(_("Give the reason for withdrawal."), field="reason")
    _not_future(participant.site, end_date, "end_date", _("The date"))
    if participant.enrollment_date and end_date < participant.enrollment_date:
        raise DomainError(_("The date cannot be before enrollment."), field="end_date")
    with audited(user=user, action=f"end_{outcome}", reason=reason or S(outcome).label):
        p = _lock(participant, expected_version)
        _move(p, outcome)
        p.end_date, p.end_reason = end_date, reason.strip()
        p.save()
    return p


def correct_participant(
    *, user, participant, changes: dict, reason: str, expected_version=None
) -> Participant:
    """Correct screening details (initials, year of birth, sex); always with a reason."""
    require(user, Action.ENTER_DATA, participant.site)
    allowed = {"initials", "year_of_birth", "sex"}
    if set(changes) - allowed:
        raise DomainError(_("Only initials, year of birth and sex can be corrected here."))
    if not reason.strip():
        raise DomainError(_("A reason for change is required."), field="reason")
    with audited(user=user, action="correct_participant", reason=reason):
        p = _lock(participant, expected_version)
        for key, value in changes.items():
            setattr(p, key, value)
        p.save()
    return p


def mark_entered_in_error(*, user, participant, reason: str, expected_version=None) -> Participant:
    """Retire a participant registered by mistake; nothing is deleted."""
    require(user, Action.ENTER_DATA, participant.site)
    if not reason.strip():
        raise DomainError(_("Say why the record was entered in error."), field="reason")
    if participant.status != S.SCREENING:
        raise DomainError(_("Only a participant still in screening can be marked entered in error."))
    with audited(user=user, action="entered_in_error", reason=reason):
        p = _lock(participant, expected_version)
        p.entered_in_error, p.entered_in_error_reason = True, reason
        p.save()
    return p
