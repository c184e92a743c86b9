"""Reminder kinds, one declaration each: what is due (a query over stored dates), who hears about it,
how it reads, and which protocol setting gives its lead time.

A new kind is one more ``ReminderKind`` in ``REMINDER_KINDS`` (``register_kind`` from another app's
``AppConfig.ready()``) and a template
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

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Role
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
        .select_related("participant__site__study", "definition")
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
            # The protocol's Chinese name, for a recipient who reads Simplified Chinese (``localised``).
            "visit_name_zh_hans": visit.definition.name_zh_hans if visit.definition_id else "",
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


def study_data_managers(study_of: Callable[[Any], int]) -> Callable[[Sequence[Due]], list[tuple[Due, int]]]:
    """Recipients: the active data managers of the study ``study_of(due.obj)`` names (one query)."""

    def recipients(dues: Sequence[Due]) -> list[tuple[Due, int]]:
        study_ids = {study_of(due.obj) for due in dues}
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
        return [(due, user_id) for due in dues for user_id in sorted(by_study[study_of(due.obj)])]

    return recipients


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
    from visits.catalogue import FORMS

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
    from visits.catalogue import FORMS

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
            "missing_form_codes": [
                code
                for code in visit.definition.forms
                if code in FORMS and getattr(visit, f"complete_{code}", True) is False
            ],
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


# The kinds of the base apps; the workflow apps register theirs from ``AppConfig.ready()`` with
# ``register_kind`` (``adverse_events.reminders``: the SAE clock; ``monitoring.reminders``: ageing queries),
# in the order of ``INSTALLED_APPS``. One list, extended in place, so every importer sees them all.
REMINDER_KINDS: list[ReminderKind] = [
    VISIT_WINDOW_OPENS_SOON,
    VISIT_WINDOW_OPENS_TODAY,
    VISIT_WINDOW_CLOSES_SOON,
    VISIT_OVERDUE,
    FORMS_MISSING,
]

_BY_NAME = {kind.name: kind for kind in REMINDER_KINDS}


def register_kind(kind: ReminderKind) -> None:
    """Add a reminder kind that the scan, the send task, the digest and the in-app list then handle."""
    if _BY_NAME.get(kind.name) is kind:
        return
    if kind.name in _BY_NAME:
        raise ValueError(f"reminder kind {kind.name!r} registered twice")
    REMINDER_KINDS.append(kind)
    _BY_NAME[kind.name] = kind


def kind_named(name: str) -> ReminderKind:
    return _BY_NAME[name]
