"""Reminder kinds, one declaration each: what is due (a query over stored dates), who hears about it,
how it reads, and which protocol setting gives its lead time.

A new kind is one more ``ReminderKind`` in ``REMINDER_KINDS`` and a template
``templates/notifications/email/<name>.txt``; the scan, the send task, the digest, the in-app list and
the dry run need no change. ``due`` returns a queryset of the objects due at ``now`` (one indexed query),
``describe`` turns one into a ``Due`` (its key says what makes it due, e.g. a query's escalation step),
and ``recipients`` is any function of the due objects (``site_staff(...)``, a query's opener, the data
managers), one query for the whole batch.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import QuerySet, Value
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Role
from adverse_events import reminders as sae_reminders
from trials.models import ParticipantStatus, Study
from trials.protocol import DEFAULT_SETTINGS
from visits.models import Visit

# A visit reminder missed for longer than this (an outage) is stale; the worklists still show the visit.
OVERDUE_CATCH_UP_DAYS = 7

# Participants whose pending visits still matter; the schedule of someone withdrawn is not chased.
ACTIVE_PARTICIPANT_STATUSES = [
    ParticipantStatus.ENROLLED,
    ParticipantStatus.LYMPHODEPLETED,
    ParticipantStatus.INFUSED,
    ParticipantStatus.IN_FOLLOW_UP,
]


@dataclass(frozen=True)
class Due:
    """One object a kind found due: its key in the log, its site, and the details the reminder shows."""

    object_key: str
    site_id: int | None
    due_on: date
    context: dict
    obj: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ReminderKind:
    name: str
    label: Promise
    subject: Promise  # %-formatted with the Due's context
    due: Callable[[Study, datetime, int | None], QuerySet]  # (study, now, lead days) -> due objects
    describe: Callable[[Any], Due]
    recipients: Callable[[Sequence[Due]], Iterable[tuple[Due, int]]]  # -> (due, user id) pairs
    lead_days_setting: str | None = None  # key in study.settings["reminders"]
    # Sent at once whatever the recipient's digest preference (a regulatory clock is running).
    immediate: bool = False

    @property
    def template(self) -> str:
        return f"notifications/email/{self.name}.txt"

    def lead_days(self, study: Study) -> int | None:
        if self.lead_days_setting is None:
            return None
        configured = (study.settings.get("reminders") or {}).get(self.lead_days_setting)
        if configured is None:
            configured = DEFAULT_SETTINGS["reminders"][self.lead_days_setting]
        return int(configured)

    def find_due(self, study: Study, now: datetime) -> QuerySet:
        return self.due(study, now, self.lead_days(study))

    def subject_for(self, context: dict) -> str:
        return str(self.subject) % context


# Recipients ---------------------------------------------------------------------------------------


def site_staff(*roles: Role) -> Callable[[Sequence[Due]], list[tuple[Due, int]]]:
    """Recipients: the active members of the due object's site with one of ``roles`` (one query)."""

    def recipients(dues: Sequence[Due]) -> list[tuple[Due, int]]:
        members = defaultdict(list)
        rows = (
            Membership.objects.filter(
                site_id__in={due.site_id for due in dues}, role__in=roles, active=True, user__is_active=True
            )
            .order_by("user_id")
            .values_list("site_id", "user_id")
            .distinct()
        )
        for site_id, user_id in rows:
            members[site_id].append(user_id)
        return [(due, user_id) for due in dues for user_id in members[due.site_id]]

    return recipients


# Visits -------------------------------------------------------------------------------------------


def visits_by_days(study: Study, now: datetime, date_field: str, first: int, last: int) -> QuerySet:
    """Pending visits of active participants whose ``date_field`` is ``first``..``last`` days from today
    at their site (negative: in the past), with the computed status of ``with_status``.

    The UTC-date range is the same condition widened by a day each way (every site's date is within a
    day of UTC's), so PostgreSQL answers it from the partial index on pending visits before the exact
    per-site comparison.
    """
    days = {"window_start": "days_to_open", "window_end": "days_to_close"}[date_field]
    utc_today = now.astimezone(UTC).date()
    return (
        Visit.objects.pending()
        .filter(
            **{
                f"{date_field}__gte": utc_today + timedelta(days=first - 1),
                f"{date_field}__lte": utc_today + timedelta(days=last + 1),
            },
            participant__site__study=study,
            participant__site__active=True,
            participant__status__in=ACTIVE_PARTICIPANT_STATUSES,
            participant__entered_in_error=False,
        )
        .with_status(now)
        .filter(**{f"{days}__gte": first, f"{days}__lte": last})
        .select_related("participant__site__study")
        .order_by(date_field, "pk")
    )


def describe_visit(visit: Visit) -> Due:
    participant = visit.participant
    site = participant.site
    return Due(
        # The window is part of the key: a re-anchored schedule is a new window, worth a new reminder.
        object_key=f"visit:{visit.pk}:{visit.window_start.isoformat()}:{visit.window_end.isoformat()}",
        site_id=site.pk,
        due_on=visit.local_today,
        context={
            "study_code": site.study.code,
            "study_id": participant.study_id or participant.screening_number,
            "visit_code": visit.code,
            "visit_name": visit.name,
            "target_date": visit.target_date.isoformat(),
            "window_start": visit.window_start.isoformat(),
            "window_end": visit.window_end.isoformat(),
            "timezone": site.timezone,
            "site_code": site.code,
            "site_name": site.name,
            "path": reverse("participant_detail", args=[participant.pk]),
        },
        obj=visit,
    )


SITE_VISIT_STAFF = site_staff(Role.COORDINATOR, Role.INVESTIGATOR)


VISIT_WINDOW_OPENS_SOON = ReminderKind(
    name="visit_window_opens_soon",
    label=_("Visit window opens soon"),
    subject=_("%(study_id)s · %(visit_name)s: the visit window opens on %(window_start)s"),
    lead_days_setting="window_opens_lead_days",
    due=lambda study, now, lead_days: visits_by_days(study, now, "window_start", 1, lead_days),
    describe=describe_visit,
    recipients=SITE_VISIT_STAFF,
)

VISIT_WINDOW_OPENS_TODAY = ReminderKind(
    name="visit_window_opens_today",
    label=_("Visit window opens today"),
    subject=_("%(study_id)s · %(visit_name)s: the visit window opened on %(window_start)s"),
    due=lambda study, now, lead_days: visits_by_days(study, now, "window_start", 0, 0),
    describe=describe_visit,
    recipients=SITE_VISIT_STAFF,
)

# Optional visits (lymphodepletion days, extra safety labs) are announced but never chased.
VISIT_WINDOW_CLOSES_SOON = ReminderKind(
    name="visit_window_closes_soon",
    label=_("Visit window closes soon, visit not done"),
    subject=_("%(study_id)s · %(visit_name)s: not recorded, the visit window closes on %(window_end)s"),
    lead_days_setting="window_closes_lead_days",
    # Opened before today: on its first day the "opens today" reminder already speaks for the window.
    due=lambda study, now, lead_days: visits_by_days(study, now, "window_end", 0, lead_days).filter(
        days_to_open__lt=0, definition__optional=False
    ),
    describe=describe_visit,
    recipients=SITE_VISIT_STAFF,
)

VISIT_OVERDUE = ReminderKind(
    name="visit_overdue",
    label=_("Visit overdue"),
    subject=_("%(study_id)s · %(visit_name)s: overdue, the visit window closed on %(window_end)s"),
    due=lambda study, now, lead_days: visits_by_days(
        study, now, "window_end", -OVERDUE_CATCH_UP_DAYS, -1
    ).filter(definition__optional=False),
    describe=describe_visit,
    recipients=SITE_VISIT_STAFF,
)


# Expected forms ---------------------------------------------------------------------------------


def _single_instance_form_specs():
    from crfs.registry import FORMS

    # Repeating forms (lab panels, medication log) have no fixed count per visit to chase.
    return [spec for spec in FORMS.values() if not spec.repeating]


def with_missing_forms(visits: QuerySet) -> QuerySet:
    """The ``visits`` whose protocol-expected single-instance forms are not all complete, each annotated
    ``complete_<code>`` (an EXISTS per form model): the one definition of "forms missing", shared by
    this reminder and the coordinators' worklist."""
    from django.db.models import Exists, OuterRef, Q

    complete = {
        spec.code: Exists(
            spec.model.objects.filter(visit=OuterRef("pk"), status="complete", entered_in_error=False)
        )
        for spec in _single_instance_form_specs()
    }
    missing = Q()
    for code in complete:
        missing |= Q(definition__forms__contains=[code], **{f"complete_{code}": False})
    return visits.annotate(**{f"complete_{code}": expr for code, expr in complete.items()}).filter(missing)


def visits_with_missing_forms(study: Study, now: datetime, lead_days: int) -> QuerySet:
    """Visits done ``lead_days``..``lead_days + catch-up`` days ago (site date) whose protocol-expected
    single-instance forms are not all complete: one query, an EXISTS per form model."""
    from django.db.models import F

    from visits.models import DaysBetween

    utc_today = now.astimezone(UTC).date()
    visits = with_missing_forms(
        Visit.objects.filter(
            visit_date__isnull=False,
            visit_date__lte=utc_today - timedelta(days=lead_days - 1),
            visit_date__gte=utc_today - timedelta(days=lead_days + OVERDUE_CATCH_UP_DAYS + 1),
            entered_in_error=False,
            participant__site__study=study,
            participant__status__in=ACTIVE_PARTICIPANT_STATUSES,
            participant__entered_in_error=False,
        )
    )
    visits = (
        visits.with_status(now)
        # Exact count in site days (the UTC range above is widened by a day for the time zones).
        .annotate(days_since_visit=DaysBetween(F("local_today"), F("visit_date")))
        .filter(days_since_visit__gte=lead_days, days_since_visit__lte=lead_days + OVERDUE_CATCH_UP_DAYS)
        .select_related("participant__site__study", "definition")
        .order_by("visit_date", "pk")
    )
    return visits


def describe_missing_forms(visit: Visit) -> Due:
    from crfs.registry import FORMS

    due = describe_visit(visit)
    missing = [
        str(FORMS[code].title)
        for code in visit.definition.forms
        if code in FORMS and getattr(visit, f"complete_{code}", True) is False
    ]
    return Due(
        object_key=f"forms_missing:{visit.pk}",
        site_id=due.site_id,
        due_on=due.due_on,
        context={
            **due.context,
            "visit_date": visit.visit_date.isoformat(),
            "missing_forms": ", ".join(missing),
        },
        obj=visit,
    )


FORMS_MISSING = ReminderKind(
    name="forms_missing",
    label=_("Expected forms still missing after the visit"),
    subject=_("%(study_id)s · %(visit_name)s: forms still missing (%(missing_forms)s)"),
    lead_days_setting="forms_missing_after_days",
    due=visits_with_missing_forms,
    describe=describe_missing_forms,
    recipients=SITE_VISIT_STAFF,
)


# Serious adverse events (clock and recipients in adverse_events.reminders) ------------------------

SAE_REPORTED = ReminderKind(
    name="sae_reported",
    label=_("Serious adverse event reported"),
    subject=_("SAE · %(study_id)s · AE %(ae_number)s %(term)s: initial report due %(due_at)s"),
    due=sae_reminders.new_reports,
    describe=sae_reminders.describe_reported,
    recipients=sae_reminders.safety_contacts,
    immediate=True,
)

SAE_REPORT_DUE_SOON = ReminderKind(
    name="sae_report_due_soon",
    label=_("SAE initial report due soon, not submitted"),
    subject=_("SAE · %(study_id)s · AE %(ae_number)s: initial report not submitted, due %(due_at)s"),
    due=sae_reminders.reports_due_soon,
    describe=sae_reminders.describe_due_soon,
    recipients=sae_reminders.safety_contacts,
    immediate=True,
)

SAE_REPORT_OVERDUE = ReminderKind(
    name="sae_report_overdue",
    label=_("SAE initial report overdue"),
    subject=_("SAE · %(study_id)s · AE %(ae_number)s: initial report OVERDUE since %(due_at)s"),
    due=sae_reminders.reports_overdue,
    describe=sae_reminders.describe_overdue,
    recipients=sae_reminders.safety_contacts,
    immediate=True,
)


# Queries (the site's open queries age; a data manager hears of those left unresolved) ----------------


def queries_open_for(study: Study, now: datetime, days: int, statuses) -> QuerySet:
    """Released queries in ``statuses`` that reached the site ``days`` or more days before ``now``."""
    from monitoring.models import Query

    return (
        Query.objects.filter(
            participant__site__study=study,
            participant__entered_in_error=False,
            status__in=statuses,
            released_at__isnull=False,
            released_at__lte=now - timedelta(days=days),
        )
        .annotate(reminder_days=Value(days))
        .select_related("participant__site__study")
        .order_by("released_at", "pk")
    )


def describe_query(query, step: str) -> Due:
    from zoneinfo import ZoneInfo

    days = query.reminder_days
    participant = query.participant
    site = participant.site
    return Due(
        object_key=f"query_{step}:{query.pk}",
        site_id=site.pk,
        due_on=(query.released_at + timedelta(days=days)).astimezone(ZoneInfo(site.timezone)).date(),
        context={
            "study_code": site.study.code,
            "study_id": participant.study_id or participant.screening_number,
            "query_id": query.pk,
            "field_name": query.field_name,
            "query_text": query.text,
            "status": str(query.get_status_display()),
            "priority": str(query.get_priority_display()),
            "released_on": query.released_at.astimezone(ZoneInfo(site.timezone)).date().isoformat(),
            "days": days,
            "site_code": site.code,
            "site_name": site.name,
            "path": reverse("query_detail", args=[query.pk]),
        },
        obj=query,
    )


def site_staff_and_opener(dues: Sequence[Due]) -> list[tuple[Due, int]]:
    """The site's coordinators and investigators (one query) and the query's opener."""
    pairs = SITE_VISIT_STAFF(dues)
    seen = {(due.object_key, user_id) for due, user_id in pairs}
    pairs += [
        (due, due.obj.opened_by_id)
        for due in dues
        if due.obj.opened_by_id and (due.object_key, due.obj.opened_by_id) not in seen
    ]
    return pairs


def data_managers(dues: Sequence[Due]) -> list[tuple[Due, int]]:
    """The study's data managers (one query)."""
    study_ids = {due.obj.participant.site.study_id for due in dues}
    rows = (
        Membership.objects.filter(
            study_id__in=study_ids, role=Role.DATA_MANAGER, active=True, user__is_active=True
        )
        .order_by("user_id")
        .values_list("study_id", "user_id")
        .distinct()
    )
    by_study = defaultdict(set)
    for study_id, user_id in rows:
        by_study[study_id].add(user_id)
    return [(due, user_id) for due in dues for user_id in sorted(by_study[due.obj.participant.site.study_id])]


QUERY_AGEING = ReminderKind(
    name="query_ageing",
    label=_("Query open for too long"),
    subject=_("%(study_id)s · query %(query_id)s on %(field_name)s: open since %(released_on)s"),
    lead_days_setting="query_ageing_days",
    due=lambda study, now, days: queries_open_for(study, now, days, ["open"]),
    describe=lambda query: describe_query(query, "ageing"),
    recipients=site_staff_and_opener,
)

QUERY_ESCALATION = ReminderKind(
    name="query_escalation",
    label=_("Query unresolved, escalated to data management"),
    subject=_("%(study_id)s · query %(query_id)s on %(field_name)s: unresolved since %(released_on)s"),
    lead_days_setting="query_escalation_days",
    due=lambda study, now, days: queries_open_for(study, now, days, ["open", "answered"]),
    describe=lambda query: describe_query(query, "escalation"),
    recipients=data_managers,
)


# Audit trail (the daily verification of auditchain found a break) ------------------------------------


def failed_verifications(study: Study, now: datetime, lead_days) -> QuerySet:
    """The latest verification of the audit trail, when it found a break (one row at most)."""
    from auditchain.models import Verification

    latest = Verification.objects.order_by("-started_at").values("pk")[:1]
    return Verification.objects.filter(pk__in=latest, ok=False).annotate(study_id=Value(study.pk))


def describe_verification(verification) -> Due:
    first = verification.breaks[0] if verification.breaks else {}
    return Due(
        object_key=f"audit_verification:{verification.pk}",
        site_id=None,
        due_on=verification.finished_at.date(),
        context={
            "verified_at": verification.finished_at.isoformat(timespec="minutes"),
            "breaks": verification.break_count,
            "first_table": first.get("table", ""),
            "first_record": str(first.get("record", "")),
            "first_kind": first.get("kind", ""),
            "path": reverse("audit_trail"),
        },
        obj=verification,
    )


def study_data_managers(dues: Sequence[Due]) -> list[tuple[Due, int]]:
    """The data managers of the study each due object was found for (one query)."""
    study_ids = {due.obj.study_id for due in dues}
    rows = (
        Membership.objects.filter(
            study_id__in=study_ids, role=Role.DATA_MANAGER, active=True, user__is_active=True
        )
        .order_by("user_id")
        .values_list("study_id", "user_id")
        .distinct()
    )
    by_study = defaultdict(set)
    for study_id, user_id in rows:
        by_study[study_id].add(user_id)
    return [(due, user_id) for due in dues for user_id in sorted(by_study[due.obj.study_id])]


AUDIT_TRAIL_BROKEN = ReminderKind(
    name="audit_trail_broken",
    label=_("Audit trail verification found a break"),
    subject=_(
        "Audit trail: %(breaks)s break(s) found on %(verified_at)s (first: %(first_table)s %(first_record)s)"
    ),
    due=failed_verifications,
    describe=describe_verification,
    recipients=study_data_managers,
    immediate=True,
)


REMINDER_KINDS: tuple[ReminderKind, ...] = (
    VISIT_WINDOW_OPENS_SOON,
    VISIT_WINDOW_OPENS_TODAY,
    VISIT_WINDOW_CLOSES_SOON,
    VISIT_OVERDUE,
    FORMS_MISSING,
    SAE_REPORTED,
    SAE_REPORT_DUE_SOON,
    SAE_REPORT_OVERDUE,
    QUERY_AGEING,
    QUERY_ESCALATION,
    AUDIT_TRAIL_BROKEN,
)

_BY_NAME = {kind.name: kind for kind in REMINDER_KINDS}


def kind_named(name: str) -> ReminderKind:
    return _BY_NAME[name]
