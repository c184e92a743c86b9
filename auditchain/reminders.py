"""The reminder kind of the audit trail, registered with ``notifications.kinds``
(``AuditChainConfig.ready``): the daily verification found a break, and the study's data managers hear
of it at once.
"""

from datetime import datetime

from django.db.models import QuerySet, Value
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from notifications.kinds import Due, ReminderKind, study_data_managers
from trials.models import Study

from .models import Verification


def failed_verifications(study: Study, now: datetime, lead_days) -> QuerySet:
    """The latest verification of the audit trail, when it found a break (one row at most)."""
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


AUDIT_TRAIL_BROKEN = ReminderKind(
    name="audit_trail_broken",
    label=_("Audit trail verification found a break"),
    subject=_(
        "Audit trail: %(breaks)s break(s) found on %(verified_at)s (first: %(first_table)s %(first_record)s)"
    ),
    due=failed_verifications,
    describe=describe_verification,
    recipients=study_data_managers(lambda verification: verification.study_id),
    immediate=True,
)
