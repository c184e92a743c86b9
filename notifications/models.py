"""The reminder log: one row per reminder kind, object and recipient, which is also the in-app notification.

The unique constraint is what makes a reminder exactly-once: the scan that decides a reminder is due
inserts its row (a conflict means it was decided before), and the send task marks it sent in the same
transaction that hands the email to the backend.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ReminderStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent by email")
    NOT_EMAILED = "not_emailed", _("In-app only (no email address or inactive user)")


class Reminder(models.Model):
    kind = models.CharField(_("kind"), max_length=60)
    object_key = models.CharField(_("about"), max_length=120)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="reminders", verbose_name=_("recipient")
    )
    site = models.ForeignKey(
        "trials.Site", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("site")
    )
    due_on = models.DateField(_("due on (site date)"))
    context = models.JSONField(_("details as decided"), default=dict)
    status = models.CharField(
        _("status"), max_length=20, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    created_at = models.DateTimeField(_("decided"))
    attempts = models.PositiveSmallIntegerField(_("send attempts"), default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.TextField(_("last sending error"), blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_key", "recipient"], name="reminder_once"),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="reminder_recipient_recent"),
            models.Index(
                fields=["recipient"], condition=Q(status=ReminderStatus.PENDING), name="reminder_pending"
            ),
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="reminder_unread"),
        ]

    def __str__(self):
        return f"{self.kind} · {self.object_key} · {self.recipient_id}"

    @property
    def subject(self) -> str:
        """The one-line text, in the active language."""
        from .kinds import kind_named

        try:
            return kind_named(self.kind).subject_for(self.context)
        except (KeyError, ValueError, TypeError):  # a retired kind, or details it no longer has
            return self.object_key

    @property
    def path(self) -> str:
        return self.context.get("path", "")


class ReminderScan(models.Model):
    """One run of the scan: when it ran and what it decided (shown on /health/)."""

    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    created = models.PositiveIntegerField(_("reminders decided"), default=0)
    recipients_enqueued = models.PositiveIntegerField(_("send tasks enqueued"), default=0)
    enqueue_failed = models.BooleanField(_("broker unavailable"), default=False)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        verbose_name = _("reminder scan")

    def __str__(self):
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} · {self.created}"
