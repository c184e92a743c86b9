"""The query reminder kinds, registered with ``notifications.kinds`` (``MonitoringConfig.ready``): the
site's open queries age (the site and the query's opener hear of them), and a data manager hears of
those left unresolved.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db.models import QuerySet, Value
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from notifications.kinds import SITE_VISIT_STAFF, Due, ReminderKind, study_data_managers
from trials.models import Study

from .models import Query


def queries_open_for(study: Study, now: datetime, days: int, statuses) -> QuerySet:
    """Released queries in ``statuses`` that reached the site ``days`` or more days before ``now``."""
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


# The study's data managers hear of the queries left unresolved.
data_managers = study_data_managers(lambda query: query.participant.site.study_id)


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
