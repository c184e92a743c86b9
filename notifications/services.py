"""Reminder workflows: the scan that decides what is due, the delivery of what was decided, and the
reader's side (opening a notification, choosing immediate email or a daily digest).

Exactly once, step by step:

- ``scan_reminders`` inserts one ``Reminder`` row per kind, object and recipient. The unique constraint
  makes a second decision (a second scan, a beat that fired twice) a no-op.
- ``send_due_reminders`` locks a recipient's pending rows with SKIP LOCKED (a second worker passes over
  them), hands each email to Django's backend and marks its rows sent in that same transaction. A worker
  killed before the commit leaves the rows pending, and the next scan enqueues them again.
- The broker only rings the bell: with Redis down the rows wait in PostgreSQL.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import kombu.exceptions
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Profile, ReminderDelivery
from edc.errors import DomainError
from trials.models import Site, Study

from .delivery import DEFAULT_DIGEST_HOUR, due_for_sending
from .kinds import REMINDER_KINDS, kind_named
from .models import Reminder, ReminderScan, ReminderStatus

log = logging.getLogger(__name__)

BROKER_ERRORS = (kombu.exceptions.OperationalError, redis.exceptions.RedisError, OSError)


class DeliveryFailed(Exception):
    """The email backend refused a message; its rows stay pending with the error recorded."""


@dataclass(frozen=True)
class Preference:
    delivery: str
    digest_hour: int
    language: str


@dataclass(frozen=True)
class PlannedReminder:
    """A line of the dry run: a reminder a scan would decide (``new``) or has decided (``pending``)."""

    reminder: Reminder
    decision: str
    delivery: str
    sends_now: bool


# Deciding -----------------------------------------------------------------------------------------


def decide_reminders(*, now: datetime) -> list[Reminder]:
    """Unsaved rows for every reminder due at ``now``: per study and kind, one due query and one
    recipients query."""
    rows = []
    for study in Study.objects.order_by("pk"):
        for kind in REMINDER_KINDS:
            dues = [kind.describe(obj) for obj in kind.find_due(study, now)]
            if not dues:
                continue
            rows.extend(
                Reminder(
                    kind=kind.name,
                    object_key=due.object_key,
                    recipient_id=user_id,
                    site_id=due.site_id,
                    due_on=due.due_on,
                    context=due.context,
                    created_at=now,
                )
                for due, user_id in kind.recipients(dues)
            )
    return rows


def _not_yet_decided(rows: list[Reminder]) -> list[Reminder]:
    if not rows:
        return []
    decided = set(
        Reminder.objects.filter(
            kind__in={row.kind for row in rows}, object_key__in={row.object_key for row in rows}
        ).values_list("kind", "object_key", "recipient_id")
    )
    return [row for row in rows if (row.kind, row.object_key, row.recipient_id) not in decided]


def scan_reminders(*, now: datetime | None = None) -> ReminderScan:
    """Decide every reminder due now, then ask the workers to send what is due for sending."""
    started_at = timezone.now()
    now = now or started_at
    new_rows = _not_yet_decided(decide_reminders(now=now))
    with transaction.atomic():
        # A concurrent scan may have inserted some of them since: the constraint keeps the first.
        Reminder.objects.bulk_create(new_rows, ignore_conflicts=True, batch_size=1000)
    enqueued, failed = enqueue_sending(recipients_due_for_sending(now=now))
    return ReminderScan.objects.create(
        started_at=started_at,
        finished_at=timezone.now(),
        created=len(new_rows),
        recipients_enqueued=enqueued,
        enqueue_failed=failed,
    )


def plan_reminders(*, now: datetime) -> list[PlannedReminder]:
    """What a scan at ``now`` would decide and send, writing nothing (the dry run and the benchmark)."""
    new_rows = _not_yet_decided(decide_reminders(now=now))
    pending = list(Reminder.objects.filter(status=ReminderStatus.PENDING).order_by("created_at", "pk"))
    rows = [(row, "new") for row in new_rows] + [(row, "pending") for row in pending]
    preferences = _preferences({row.recipient_id for row, _decision in rows})
    zones = _site_timezones()
    return [
        PlannedReminder(
            reminder=row,
            decision=decision,
            delivery=preferences[row.recipient_id].delivery,
            sends_now=_sendable(row, preferences[row.recipient_id], zones, now),
        )
        for row, decision in rows
    ]


# Delivery -----------------------------------------------------------------------------------------


def _preference(profile: Profile | None) -> Preference:
    if profile is None:
        return Preference(ReminderDelivery.DIGEST, DEFAULT_DIGEST_HOUR, settings.LANGUAGE_CODE)
    return Preference(profile.reminder_delivery, profile.digest_hour, profile.language)


def _preferences(user_ids) -> dict[int, Preference]:
    profiles = {p.user_id: p for p in Profile.objects.filter(user_id__in=user_ids)}
    return {user_id: _preference(profiles.get(user_id)) for user_id in user_ids}


def _site_timezones() -> dict[int, str]:
    return dict(Site.objects.values_list("pk", "timezone"))


def _immediate(kind_name: str) -> bool:
    try:
        return kind_named(kind_name).immediate
    except KeyError:  # a retired kind
        return False


def _sendable(row: Reminder, preference: Preference, zones: dict[int, str], now: datetime) -> bool:
    if _immediate(row.kind):
        return True
    return due_for_sending(
        delivery=preference.delivery,
        digest_hour=preference.digest_hour,
        tz_name=zones.get(row.site_id, "UTC"),
        decided_at=row.created_at,
        now=now,
    )


def recipients_due_for_sending(*, now: datetime) -> list[int]:
    """Recipients with a pending reminder to send now (immediate, or their digest hour has come)."""
    pending = list(
        Reminder.objects.filter(status=ReminderStatus.PENDING).only("recipient", "site", "created_at")
    )
    preferences = _preferences({row.recipient_id for row in pending})
    zones = _site_timezones()
    return sorted(
        {row.recipient_id for row in pending if _sendable(row, preferences[row.recipient_id], zones, now)}
    )


def enqueue_sending(recipient_ids: list[int]) -> tuple[int, bool]:
    """One send task per recipient. With the broker down, log it and leave the rows for the next scan."""
    from .tasks import send_reminders

    enqueued = 0
    if not recipient_ids:
        return enqueued, False
    try:
        # A refused connection fails here at once; Celery's own connection attempts take seconds.
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
        for recipient_id in recipient_ids:
            send_reminders.apply_async((recipient_id,), retry=False)
            enqueued += 1
    except BROKER_ERRORS as exc:
        log.warning(
            "Reminders not enqueued, the broker is unavailable (%s); they wait for the next scan.",
            exc,
        )
        return enqueued, True
    return enqueued, False


def send_due_reminders(*, recipient_id: int, now: datetime | None = None) -> int:
    """Send the recipient's pending reminders that are due for sending; return how many were emailed.

    Idempotent: rows another worker holds are skipped, rows already sent are not pending any more.
    """
    now = now or timezone.now()
    user = get_user_model().objects.filter(pk=recipient_id).select_related("profile").first()
    if user is None:
        return 0
    preference = _preference(getattr(user, "profile", None))
    zones = _site_timezones()
    failure, emailed = None, 0
    with transaction.atomic():
        locked = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(recipient_id=recipient_id, status=ReminderStatus.PENDING)
            .order_by("created_at", "pk")
        )
        due = [row for row in locked if _sendable(row, preference, zones, now)]
        if not due:
            return 0
        if not (user.is_active and user.email):
            Reminder.objects.filter(pk__in=[row.pk for row in due]).update(
                status=ReminderStatus.NOT_EMAILED, sent_at=now
            )
            return 0
        connection = get_connection()
        try:
            for message, batch in _compose(user, preference, due):
                ids = [row.pk for row in batch]
                try:
                    connection.open()  # once; inside the try, so an unreachable server is recorded too
                    connection.send_messages([message])
                except Exception as exc:  # whatever the backend raises is recorded, then retried
                    Reminder.objects.filter(pk__in=ids).update(
                        attempts=F("attempts") + 1, last_error=f"{exc.__class__.__name__}: {exc}"[:2000]
                    )
                    failure = exc
                    break
                Reminder.objects.filter(pk__in=ids).update(
                    status=ReminderStatus.SENT, sent_at=now, attempts=F("attempts") + 1, last_error=""
                )
                emailed += len(batch)
        finally:
            connection.close()
    if failure is not None:
        raise DeliveryFailed(f"reminder email to user {recipient_id} failed: {failure}") from failure
    return emailed


def absolute_url(path: str) -> str:
    return settings.EDC_BASE_URL.rstrip("/") + path


def localised(context: dict) -> dict:
    """A reminder's stored context in the active language: the visit's name from the protocol in
    Simplified Chinese, the missing forms by their translated titles (stored in English)."""
    from visits.catalogue import FORMS

    context = dict(context)
    if translation.get_language() == "zh-hans" and context.get("visit_name_zh_hans"):
        context["visit_name"] = context["visit_name_zh_hans"]
    codes = context.get("missing_form_codes")
    if codes:
        context["missing_forms"] = ", ".join(str(FORMS[code].title) for code in codes if code in FORMS)
    return context


def render_reminder(reminder: Reminder) -> tuple[str, str]:
    """Subject and plain-text body of one reminder, in the active language."""
    kind = kind_named(reminder.kind)
    context = localised(reminder.context)
    body = render_to_string(kind.template, {**context, "link": absolute_url(reminder.path)})
    return kind.subject_for(context), body.strip()


def _compose(user, preference: Preference, reminders: list[Reminder]):
    """(message, the reminders it carries) pairs: one per reminder, or one digest for them all."""
    with translation.override(preference.language):
        prefix = f"[{reminders[0].context.get('study_code', 'EDC')}] "
        # Reminders of an immediate kind (a regulatory clock) always travel alone.
        alone = [r for r in reminders if preference.delivery != ReminderDelivery.DIGEST or _immediate(r.kind)]
        reminders = [r for r in reminders if r not in alone]
        pairs = []
        for reminder in alone:
            subject, body = render_reminder(reminder)
            pairs.append((_message(user, prefix + subject, body, [reminder]), [reminder]))
        if reminders:
            items = [dict(zip(("subject", "body"), render_reminder(r), strict=True)) for r in reminders]
            subject = ngettext(
                "%(count)s reminder from the EDC", "%(count)s reminders from the EDC", len(items)
            ) % {"count": len(items)}
            body = render_to_string(
                "notifications/email/digest.txt",
                {"items": items, "preferences_link": absolute_url(reverse("notification_preferences"))},
            )
            pairs.append((_message(user, prefix + subject, body, reminders), reminders))
        return pairs


def _message(user, subject: str, body: str, reminders: list[Reminder]) -> EmailMessage:
    ids = ",".join(str(r.pk) for r in reminders)
    # The same reminders always get the same Message-ID, so a mail system can drop the copy that a
    # crash between the SMTP hand-over and our commit would send again.
    digest = hashlib.sha256(ids.encode()).hexdigest()[:32]
    host = urlsplit(settings.EDC_BASE_URL).hostname or "edc.localhost"
    return EmailMessage(
        subject=subject,
        body=body.strip() + "\n",
        to=[user.email],
        headers={"X-EDC-Reminders": ids, "Message-ID": f"<edc-reminders-{digest}@{host}>"},
    )


# The reader's side --------------------------------------------------------------------------------


def open_notification(*, user, reminder: Reminder) -> Reminder:
    """Mark the user's own notification read the first time it is opened."""
    if reminder.recipient_id != user.pk:
        raise DomainError(_("This notification is not yours."))
    if reminder.read_at is None:
        reminder.read_at = timezone.now()
        Reminder.objects.filter(pk=reminder.pk, read_at__isnull=True).update(read_at=reminder.read_at)
    return reminder


def mark_all_read(*, user) -> int:
    return Reminder.objects.filter(recipient=user, read_at__isnull=True).update(read_at=timezone.now())


def set_reminder_delivery(*, user, delivery: str, digest_hour: int) -> Profile:
    """Immediate email or one daily digest at ``digest_hour`` (site time)."""
    if delivery not in ReminderDelivery.values:
        raise DomainError(_("Choose immediate email or a daily digest."), field="reminder_delivery")
    if not 0 <= digest_hour <= 23:
        raise DomainError(_("The digest hour is between 0 and 23."), field="digest_hour")
    with transaction.atomic():
        profile, _created = Profile.objects.select_for_update().get_or_create(user=user)
        profile.reminder_delivery, profile.digest_hour = delivery, digest_hour
        profile.save(update_fields=["reminder_delivery", "digest_hour"])
    return profile
