"""The SAE reminder kinds, registered with ``notifications.kinds`` (``AdverseEventsConfig.ready``): what
they find due, and who hears about it.

The sponsor's safety contacts are the study's sponsor admins and data managers (study-wide roles); the
investigators of the participant's site hear too, since their signature submits the report. Each step
of a report's clock has its own key, so the reminder log sends each step exactly once:

- ``sae_reported``: at once, when the report is created (the service asks for a scan on commit);
- ``sae_report_due_soon``: ``DUE_SOON_HOURS`` before the 24-hour deadline, if not yet submitted;
- ``sae_report_overdue``: once the deadline has passed without a submission.

A corrected awareness time moves the deadline and so makes the deadline steps due again.
"""

from collections import defaultdict
from datetime import timedelta

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Role
from notifications.kinds import ReminderKind

from .models import SAE_INITIAL_REPORT_HOURS, SaeReport

DUE_SOON_HOURS = 8  # with the hourly scan, the reminder goes out 8 to 7 hours before the deadline
CATCH_UP = timedelta(days=7)  # a step missed for longer (an outage) is stale; the pages still show it
SAFETY_CONTACT_ROLES = (Role.SPONSOR_ADMIN, Role.DATA_MANAGER)
DEADLINE = timedelta(hours=SAE_INITIAL_REPORT_HOURS)


def _live(study):
    return SaeReport.objects.filter(
        participant__site__study=study,
        participant__entered_in_error=False,
        entered_in_error=False,
        adverse_event__entered_in_error=False,
    ).select_related("adverse_event", "participant__site__study")


def new_reports(study, now, _lead_days):
    return _live(study).filter(created_at__gt=now - CATCH_UP, created_at__lte=now).order_by("pk")


def reports_due_soon(study, now, _lead_days):
    # awareness + 24 h - 8 h <= now < awareness + 24 h
    return (
        _live(study)
        .filter(
            signed_at__isnull=True,
            awareness_at__lte=now - DEADLINE + timedelta(hours=DUE_SOON_HOURS),
            awareness_at__gt=now - DEADLINE,
        )
        .order_by("awareness_at", "pk")
    )


def reports_overdue(study, now, _lead_days):
    return (
        _live(study)
        .filter(
            signed_at__isnull=True,
            awareness_at__lte=now - DEADLINE,
            awareness_at__gt=now - DEADLINE - CATCH_UP,
        )
        .order_by("awareness_at", "pk")
    )


def _describe(report, step: str):
    from edc.localtime import site_time
    from notifications.kinds import Due

    event, participant = report.adverse_event, report.participant
    site = participant.site
    due_local = site_time(report.due_at, site.timezone)
    # The deadline steps carry the deadline: a corrected awareness time makes them due again.
    key = f"sae:{report.pk}:{step}"
    if step != "reported":
        key += f":{report.due_at:%Y%m%dT%H%M}"
    return Due(
        object_key=key,
        site_id=site.pk,
        due_on=due_local.date(),
        context={
            "study_code": site.study.code,
            "study_id": participant.study_id or participant.screening_number,
            "site_code": site.code,
            "site_name": site.name,
            "timezone": site.timezone,
            "ae_number": event.number,
            "term": event.term_label,
            "onset_date": event.onset_date.isoformat(),
            "seriousness": ", ".join(event.seriousness),
            "awareness_at": site_time(report.awareness_at, site.timezone).strftime("%Y-%m-%d %H:%M"),
            "due_at": due_local.strftime("%Y-%m-%d %H:%M"),
            "path": reverse("adverse_event_detail", args=[event.pk]),
        },
        obj=report,
    )


def describe_reported(report):
    return _describe(report, "reported")


def describe_due_soon(report):
    return _describe(report, "due_soon")


def describe_overdue(report):
    return _describe(report, "overdue")


def safety_contacts(dues):
    """The study's sponsor admins and data managers, and the investigators of the due report's site."""
    site_ids = {due.site_id for due in dues}
    study_ids = {due.obj.participant.site.study_id for due in dues}
    rows = (
        Membership.objects.filter(active=True, user__is_active=True)
        .filter(
            Q(site_id__in=site_ids, role=Role.INVESTIGATOR)
            | Q(site__isnull=True, study_id__in=study_ids, role__in=SAFETY_CONTACT_ROLES)
        )
        .order_by("user_id")
        .values_list("site_id", "study_id", "user_id")
        .distinct()
    )
    by_site, by_study = defaultdict(set), defaultdict(set)
    for site_id, study_id, user_id in rows:
        (by_site[site_id] if site_id else by_study[study_id]).add(user_id)
    pairs = []
    for due in dues:
        users = by_site[due.site_id] | by_study[due.obj.participant.site.study_id]
        pairs.extend((due, user_id) for user_id in sorted(users))
    return pairs


# The kinds ------------------------------------------------------------------------------------------

SAE_REPORTED = ReminderKind(
    name="sae_reported",
    label=_("Serious adverse event reported"),
    subject=_("SAE · %(study_id)s · AE %(ae_number)s %(term)s: initial report due %(due_at)s"),
    due=new_reports,
    describe=describe_reported,
    recipients=safety_contacts,
    immediate=True,
)

SAE_REPORT_DUE_SOON = ReminderKind(
    name="sae_report_due_soon",
    label=_("SAE initial report due soon, not submitted"),
    subject=_("SAE · %(study_id)s · AE %(ae_number)s: initial report not submitted, due %(due_at)s"),
    due=reports_due_soon,
    describe=describe_due_soon,
    recipients=safety_contacts,
    immediate=True,
)

SAE_REPORT_OVERDUE = ReminderKind(
    name="sae_report_overdue",
    label=_("SAE initial report overdue"),
    subject=_("SAE · %(study_id)s · AE %(ae_number)s: initial report OVERDUE since %(due_at)s"),
    due=reports_overdue,
    describe=describe_overdue,
    recipients=safety_contacts,
    immediate=True,
)
