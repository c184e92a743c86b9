"""Safety workflows: record and grade adverse events, the SAE report and its clock, DLT adjudication,
IEC-HS events. One transaction each, audited, raising ``DomainError`` with the field at fault.

Marking an event serious starts the SAE clock from the site's awareness time (``SaeReport``); the
sponsor's safety contacts hear of it through the reminder kinds in ``notifications.kinds`` (exactly
once per step), and the scan is asked to run as soon as the report is committed rather than at the next
hourly beat.
"""

import logging
from datetime import date, datetime

import redis
from django.conf import settings
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Action, require
from accounts.services import confirm_password
from edc.audit import audited
from edc.errors import DomainError
from edc.localtime import site_time, site_today
from monitoring.locks import refuse_if_locked
from signatures.services import break_signatures
from trials.models import Participant
from trials.protocol import setting

from . import ctcae_terms
from .models import (
    SERIOUSNESS_FIELDS,
    AdverseEvent,
    AdverseEventGrade,
    DltAdjudication,
    IecHsEvent,
    LabAdverseEventPrompt,
    LabPromptAnswer,
    Outcome,
    Relationship,
    SaeFollowUp,
    SaeReport,
)

log = logging.getLogger(__name__)

AE_FIELDS = (
    "term",
    "term_other",
    "verbatim",
    "onset_date",
    "onset_time",
    "resolution_date",
    "resolution_time",
    *SERIOUSNESS_FIELDS,
    "relationship_car_t",
    "relationship_lymphodepletion",
    "expected",
    "action_taken",
    "treatment",
    "outcome",
    "aesi_category",
    "infection_pathogen",
    "infection_site",
    "viral_reactivation",
    "during_neutropenia",
    "malignancy_biopsy_done",
    "car_transgene_tested",
    "car_transgene_result",
)


# Adverse events -----------------------------------------------------------------------------------


def record_adverse_event(
    *, user, participant: Participant, data: dict, grade: int, awareness_at: datetime | None = None
) -> AdverseEvent:
    """A new adverse event with its grade at onset; a serious one starts the SAE clock."""
    require(user, Action.ENTER_DATA, participant.site)
    with audited(user=user, action="record_adverse_event"):
        participant = Participant.objects.select_for_update().select_related("site").get(pk=participant.pk)
        if participant.entered_in_error:
            raise DomainError(_("This record was entered in error and can no longer change."))
        refuse_if_locked(participant)
        if participant.consent_date is None:
            raise DomainError(
                _("Adverse events are recorded from informed consent; record the consent first.")
            )
        last = participant.adverse_events.aggregate(n=Max("number"))["n"] or 0
        event = AdverseEvent(participant=participant, number=last + 1, recorded_by=user)
        _assign(event, data)
        if not event.aesi_category:
            event.aesi_category = ctcae_terms.AESI_BY_TERM.get(event.term, "")
        _validate(event, grades=[grade])
        event.save()
        AdverseEventGrade.objects.create(
            adverse_event=event, grade_on=event.onset_date, grade=grade, recorded_by=user
        )
        _sync_sae_report(event, user=user, awareness_at=awareness_at)
        break_signatures(record=event, user=user, reason=_("new adverse event"))
    return event


# Laboratory adverse-event prompts -----------------------------------------------------------------


def lab_prompt_min_grade(study) -> int:
    """The CTCAE grade from which a laboratory result prompts "record as adverse event?" (default 3)."""
    return int(setting(study, "lab_ae_prompt_min_grade"))


def sync_lab_prompt(result, *, participant: Participant) -> LabAdverseEventPrompt | None:
    """Prompt for ``result`` when its grade reaches the study's threshold (in the caller's transaction).

    Called by ``labs.services.save_panel`` after each result it (re)derives. One prompt per result: a
    pending prompt follows the result's grade; an answered one keeps its answer. A pending prompt whose
    result falls below the threshold is kept and no longer shown (``selectors.lab_prompts_of``).
    """
    grade = result.ctcae_grade
    if grade is None or grade < lab_prompt_min_grade(participant.site.study):
        return None
    prompt = LabAdverseEventPrompt.objects.select_for_update().filter(lab_result=result).first()
    if prompt is None:
        return LabAdverseEventPrompt.objects.create(lab_result=result, participant=participant, grade=grade)
    if prompt.pending and prompt.grade != grade:
        prompt.grade = grade
        prompt.save(update_fields=["grade"])
    return prompt


def lab_prompt_initial(prompt: LabAdverseEventPrompt) -> dict:
    """The adverse-event form's initial values for a prompt: term, grade, onset and verbatim."""
    from labs.analytes import unit_label

    result = prompt.lab_result
    spec = result.spec
    collected = result.collected_at or result.panel.collected_at
    if result.value is not None:
        value = f"{result.value.normalize():f} {unit_label(result.unit)}".strip()
    else:
        value = str(result.result)
    return {
        "term": ctcae_terms.term_of_lab_parameter(spec.ctcae if spec else None),
        "grade": prompt.grade,
        "onset_date": site_time(collected, prompt.participant.site.timezone).date() if collected else None,
        "verbatim": f"{result.label} {value}".strip(),
    }


def _pending_prompt(prompt) -> LabAdverseEventPrompt:
    obj = LabAdverseEventPrompt.objects.select_for_update().select_related("participant").get(pk=prompt.pk)
    if not obj.pending:
        raise DomainError(_("This laboratory result has already been answered."))
    return obj


def decline_lab_prompt(*, user, prompt: LabAdverseEventPrompt, reason: str) -> LabAdverseEventPrompt:
    """Answer "no": the result is not recorded as an adverse event, for the reason given."""
    require(user, Action.ENTER_DATA, prompt.participant.site)
    if not reason.strip():
        raise DomainError(_("Say why this result is not an adverse event."), field="reason")
    with audited(user=user, action="decline_lab_ae_prompt", reason=reason):
        obj = _pending_prompt(prompt)
        obj.answer, obj.reason = LabPromptAnswer.DECLINED, reason.strip()
        obj.answered_by, obj.answered_at = user, timezone.now()
        obj.save()
    return obj


def record_lab_adverse_event(
    *, user, prompt: LabAdverseEventPrompt, data: dict, grade: int, awareness_at: datetime | None = None
) -> AdverseEvent:
    """Answer "yes": record the adverse event (from the pre-filled form) and link it to the prompt."""
    require(user, Action.ENTER_DATA, prompt.participant.site)
    with audited(user=user, action="record_lab_adverse_event"):
        obj = _pending_prompt(prompt)
        event = record_adverse_event(
            user=user, participant=obj.participant, data=data, grade=grade, awareness_at=awareness_at
        )
        obj.answer, obj.adverse_event = LabPromptAnswer.RECORDED, event
        obj.answered_by, obj.answered_at = user, timezone.now()
        obj.save()
    return event


def update_adverse_event(
    *,
    user,
    event: AdverseEvent,
    data: dict,
    reason: str,
    expected_version=None,
    awareness_at: datetime | None = None,
) -> AdverseEvent:
    """Correct or complete an event (resolution, outcome, seriousness…); every change needs a reason."""
    require(user, Action.ENTER_DATA, event.participant.site)
    with audited(user=user, action="update_adverse_event", reason=reason):
        obj = AdverseEvent.objects.select_for_update().select_related("participant__site").get(pk=event.pk)
        _refuse_retired(obj)
        refuse_if_locked(obj)
        obj.bump_version(expected_version)
        changed = [name for name, value in data.items() if name in AE_FIELDS and getattr(obj, name) != value]
        if changed and not reason.strip():
            raise DomainError(_("Give a reason for the change."), field="reason")
        _assign(obj, data)
        _validate(obj, grades=list(_live_grades(obj).values_list("grade", flat=True)))
        obj.save()
        _sync_sae_report(obj, user=user, awareness_at=awareness_at)
        break_signatures(record=obj, user=user, reason=reason, changes=changed)
    return obj


def add_grade(*, user, event: AdverseEvent, grade_on: date, grade: int, note: str = "") -> AdverseEventGrade:
    """A change of grade over the event's course, dated."""
    require(user, Action.ENTER_DATA, event.participant.site)
    with audited(user=user, action="add_adverse_event_grade", reason=note):
        obj = AdverseEvent.objects.select_for_update().select_related("participant__site").get(pk=event.pk)
        _refuse_retired(obj)
        refuse_if_locked(obj)
        _check_grade(obj, grade)
        if grade_on < obj.onset_date:
            raise DomainError(_("A grade cannot be dated before the onset."), field="grade_on")
        if obj.resolution_date and grade_on > obj.resolution_date:
            raise DomainError(_("A grade cannot be dated after the resolution."), field="grade_on")
        if grade_on > site_today(obj.participant.site.timezone):
            raise DomainError(_("The date cannot be in the future."), field="grade_on")
        if grade == 5 and obj.outcome != Outcome.FATAL:
            raise DomainError(_("Grade 5 is death: record the outcome as fatal first."), field="grade")
        entry = AdverseEventGrade.objects.create(
            adverse_event=obj, grade_on=grade_on, grade=grade, note=note, recorded_by=user
        )
        obj.bump_version(None)
        obj.save(update_fields=["version", "updated_at"])
        break_signatures(record=obj, user=user, reason=note, changes=[_("grade")])
    return entry


def mark_adverse_event_entered_in_error(*, user, event: AdverseEvent, reason: str) -> AdverseEvent:
    require(user, Action.ENTER_DATA, event.participant.site)
    if not reason.strip():
        raise DomainError(_("Say why the event was entered in error."), field="reason")
    with audited(user=user, action="adverse_event_entered_in_error", reason=reason):
        obj = AdverseEvent.objects.select_for_update().get(pk=event.pk)
        refuse_if_locked(obj)
        obj.entered_in_error, obj.entered_in_error_reason = True, reason
        obj.bump_version(None)
        obj.save()
        SaeReport.objects.filter(adverse_event=obj, signed_at__isnull=True, entered_in_error=False).update(
            entered_in_error=True, entered_in_error_reason=reason
        )
        break_signatures(record=obj, user=user, reason=reason, changes=["entered_in_error"])
    return obj


def _assign(event, data):
    for name, value in data.items():
        if name in AE_FIELDS:
            setattr(event, name, "" if value is None and name in _TEXT_FIELDS else value)


_TEXT_FIELDS = {
    f.name for f in AdverseEvent._meta.concrete_fields if isinstance(f, (models.CharField, models.TextField))
}


def _live_grades(event):
    return AdverseEventGrade.objects.filter(adverse_event=event, entered_in_error=False)


def _refuse_retired(event):
    if event.entered_in_error or event.participant.entered_in_error:
        raise DomainError(_("This record was entered in error and can no longer change."))


def _check_grade(event, grade):
    term = ctcae_terms.term(event.term)
    if term is not None and not term.allows(grade):
        allowed = ", ".join(str(g) for g in term.allowed_grades)
        raise DomainError(
            _("%(term)s has no grade %(grade)s in %(scale)s (grades: %(allowed)s).")
            % {"term": term.name, "grade": grade, "scale": term.scale, "allowed": allowed},
            field="grade",
        )


def _validate(event, *, grades):
    """Hard checks: the event must make sense before it is stored."""
    term = ctcae_terms.term(event.term)
    if term is None:
        raise DomainError(_("Choose a term from the CTCAE list."), field="term")
    if term.other_specify and not event.term_other.strip():
        raise DomainError(_("Specify the term."), field="term_other")
    if not event.verbatim.strip():
        raise DomainError(_("Enter the event as reported."), field="verbatim")
    for name in ("relationship_car_t", "relationship_lymphodepletion"):
        if getattr(event, name) not in Relationship.values:
            raise DomainError(_("Assess the relationship."), field=name)
    participant = event.participant
    today = site_today(participant.site.timezone)
    if event.onset_date > today:
        raise DomainError(_("The date cannot be in the future."), field="onset_date")
    if participant.consent_date and event.onset_date < participant.consent_date:
        raise DomainError(
            _("Onset before informed consent: record it as medical history, not as an adverse event."),
            field="onset_date",
        )
    if event.resolution_date is not None:
        if event.resolution_date < event.onset_date:
            raise DomainError(_("The event cannot resolve before its onset."), field="resolution_date")
        if event.resolution_date > today:
            raise DomainError(_("The date cannot be in the future."), field="resolution_date")
    if event.resolution_date and event.outcome in (Outcome.RECOVERING, Outcome.NOT_RECOVERED):
        raise DomainError(_("A resolved event cannot be 'not recovered'."), field="outcome")
    for grade in grades:
        _check_grade(event, grade)
    if 5 in grades and event.outcome != Outcome.FATAL:
        raise DomainError(_("Grade 5 is death: the outcome must be fatal."), field="outcome")
    if event.outcome == Outcome.FATAL and not event.serious_death:
        raise DomainError(_("A fatal event is serious (results in death)."), field="serious_death")


# SAE report and its clock ----------------------------------------------------------------------------


def _sync_sae_report(event, *, user, awareness_at):
    report = SaeReport.objects.filter(adverse_event=event, entered_in_error=False).first()
    if event.serious:
        if awareness_at is not None:
            if awareness_at > timezone.now():
                raise DomainError(_("The awareness time cannot be in the future."), field="awareness_at")
            local = site_time(awareness_at, event.participant.site.timezone).date()
            if local < event.onset_date:
                raise DomainError(_("The site cannot be aware before the onset."), field="awareness_at")
        if report is None:
            if awareness_at is None:
                raise DomainError(
                    _("A serious event needs the date and time the site became aware of it."),
                    field="awareness_at",
                )
            SaeReport.objects.create(
                adverse_event=event, participant=event.participant, awareness_at=awareness_at
            )
            transaction.on_commit(request_reminder_scan)
        elif awareness_at is not None and awareness_at != report.awareness_at:
            if report.signed_at is not None:
                raise DomainError(
                    _("The SAE report is already submitted: report new information as a follow-up."),
                    field="awareness_at",
                )
            report.awareness_at = awareness_at
            report.bump_version(None)
            report.save()
    elif report is not None and report.signed_at is None:
        # No longer serious before anything was submitted: the clock stops, the record stays.
        report.entered_in_error = True
        report.entered_in_error_reason = _("The event is no longer serious.")
        report.bump_version(None)
        report.save()


def request_reminder_scan():
    """Ask a worker to scan for due reminders now (the hourly beat catches up if the broker is down)."""
    from notifications.services import BROKER_ERRORS
    from notifications.tasks import scan_reminders

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
        scan_reminders.apply_async(retry=False)
    except BROKER_ERRORS as exc:
        log.warning("SAE reminder scan not enqueued (%s); the hourly scan will send it.", exc)


def update_sae_narrative(*, user, report: SaeReport, narrative: str, expected_version=None) -> SaeReport:
    require(user, Action.ENTER_DATA, report.participant.site)
    with audited(user=user, action="update_sae_narrative"):
        obj = SaeReport.objects.select_for_update().get(pk=report.pk)
        refuse_if_locked(obj)
        if obj.signed_at is not None:
            raise DomainError(
                _("The SAE report is already submitted: report new information as a follow-up.")
            )
        obj.bump_version(expected_version)
        obj.narrative = narrative
        obj.save()
    return obj


def sign_sae_report(*, user, report: SaeReport, password: str, request) -> SaeReport:
    """The investigator signs and so submits the report, after re-entering the password.

    ``authenticate`` goes through django-axes: a wrong password counts towards the lockout.
    """
    require(user, Action.SIGN, report.participant.site)
    report = SaeReport.objects.select_related("adverse_event").get(pk=report.pk)
    if report.entered_in_error or report.adverse_event.entered_in_error:
        raise DomainError(_("This record was entered in error and can no longer change."))
    if report.signed_at is not None:
        raise DomainError(_("This SAE report is already signed and submitted."))
    if not report.narrative.strip():
        raise DomainError(_("Write the narrative before signing."), field="narrative")
    confirm_password(user=user, password=password, request=request)
    with audited(user=user, action="sign_sae_report", reason=_("Investigator's signature")):
        obj = SaeReport.objects.select_for_update().get(pk=report.pk)
        refuse_if_locked(obj)
        if obj.signed_at is not None:
            raise DomainError(_("This SAE report is already signed and submitted."))
        obj.signed_by, obj.signed_at = user, timezone.now()
        obj.bump_version(None)
        obj.save()
    return obj


def add_sae_follow_up(*, user, report: SaeReport, information: str) -> SaeFollowUp:
    require(user, Action.ENTER_DATA, report.participant.site)
    if not information.strip():
        raise DomainError(_("Describe the new information."), field="information")
    with audited(user=user, action="add_sae_follow_up"):
        obj = SaeReport.objects.select_for_update().get(pk=report.pk)
        refuse_if_locked(obj)
        if obj.signed_at is None:
            raise DomainError(_("Submit the initial report first; until then, edit its narrative."))
        number = (obj.follow_ups.aggregate(n=Max("number"))["n"] or 0) + 1
        return SaeFollowUp.objects.create(
            report=obj, number=number, information=information, reported_at=timezone.now(), reported_by=user
        )


# DLT adjudication ---------------------------------------------------------------------------------------


def dlt_window(participant) -> tuple[date, date] | None:
    """First and last date of the participant's DLT window (protocol ``dlt.window_days``, default 0–28)."""
    if participant.infusion_date is None:
        return None
    from datetime import timedelta

    first, last = (participant.site.study.settings.get("dlt") or {}).get("window_days", [0, 28])
    day0 = participant.infusion_date
    return day0 + timedelta(days=first), day0 + timedelta(days=last)


def dlt_criteria(study) -> list[str]:
    return list((study.settings.get("dlt") or {}).get("criteria", []))


def adjudicate_dlt(
    *,
    user,
    event: AdverseEvent,
    is_dlt: bool,
    criterion: str = "",
    dlt_date: date | None = None,
    comment: str = "",
    reason: str = "",
) -> DltAdjudication:
    """Record (or revise, with a reason) the investigator's DLT decision on one event."""
    participant = event.participant
    require(user, Action.SIGN, participant.site)
    _refuse_retired(event)
    window = dlt_window(participant)
    if window is None:
        raise DomainError(_("The participant has not been infused: there is no DLT window."))
    if is_dlt:
        if criterion not in dlt_criteria(participant.site.study):
            raise DomainError(_("Choose the protocol's DLT criterion that is met."), field="criterion")
        if dlt_date is None:
            raise DomainError(_("Give the date the DLT criterion was met."), field="dlt_date")
        if not window[0] <= dlt_date <= window[1]:
            raise DomainError(
                _("The date is outside the DLT window (%(first)s to %(last)s).")
                % {"first": window[0].isoformat(), "last": window[1].isoformat()},
                field="dlt_date",
            )
    else:
        criterion, dlt_date = "", None
    with audited(user=user, action="adjudicate_dlt", reason=reason):
        existing = DltAdjudication.objects.select_for_update().filter(adverse_event=event).first()
        if existing is not None and not reason.strip():
            raise DomainError(
                _("This event was adjudicated before: give a reason for the change."), field="reason"
            )
        obj = existing or DltAdjudication(adverse_event=event, participant=participant)
        refuse_if_locked(obj)
        obj.is_dlt, obj.criterion, obj.dlt_date, obj.comment = is_dlt, criterion, dlt_date, comment
        obj.adjudicated_by, obj.adjudicated_at = user, timezone.now()
        if existing is not None:
            obj.bump_version(None)
        obj.save()
    return obj


# IEC-HS ----------------------------------------------------------------------------------------------------

IEC_HS_FIELDS = (
    "assessed_on",
    "ferritin_ug_l",
    "ferritin_baseline_ug_l",
    "fibrinogen_g_l",
    "triglycerides_mmol_l",
    "ldh_u_l",
    "alt_u_l",
    "ast_u_l",
    "bilirubin_umol_l",
    "new_or_worsening_cytopenias",
    "haemophagocytosis",
    "splenomegaly",
    "marrow_findings",
    "treatment",
    "findings",
)


def record_iec_hs(
    *, user, event: AdverseEvent, data: dict, reason: str = "", expected_version=None
) -> IecHsEvent:
    """The IEC-HS form of an IEC-HS adverse event; the grade is computed from the findings."""
    require(user, Action.ENTER_DATA, event.participant.site)
    _refuse_retired(event)
    if event.term != "iec_hs":
        raise DomainError(_("The IEC-HS form belongs to an adverse event with the IEC-HS term."))
    with audited(user=user, action="record_iec_hs", reason=reason):
        obj = IecHsEvent.objects.select_for_update().filter(adverse_event=event).first()
        if obj is None:
            obj = IecHsEvent(adverse_event=event, participant=event.participant)
        else:
            obj.bump_version(expected_version)
        refuse_if_locked(obj)
        for name in IEC_HS_FIELDS:
            if name in data:
                setattr(obj, name, data[name] if data[name] is not None or name != "findings" else [])
        if obj.assessed_on is None:
            raise DomainError(_("Enter the date."), field="assessed_on")
        if obj.assessed_on > site_today(event.participant.site.timezone):
            raise DomainError(_("The date cannot be in the future."), field="assessed_on")
        from .grading import grade

        result = grade("iec_hs", obj.grade_inputs(), {"findings": "findings"})
        obj.iec_hs_grade, obj.grade_rule_version = result["iec_hs_grade"], result["rule_version"]
        obj.save()
    return obj
