"""Field-level queries. Automatic queries come from soft edit checks; monitors' manual queries, the
site/monitor workflow, SDV, signatures and locks build on this model."""

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class QueryType(models.TextChoices):
    MANUAL = "manual", _("Manual")
    AUTOMATIC = "automatic", _("Automatic (edit check)")
    REASON_FOR_CHANGE = "reason_for_change", _("Reason for change")


class QueryPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")


class QueryStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


@pghistory.track(pghistory.InsertEvent("created"), pghistory.UpdateEvent("updated"))
class Query(models.Model):
    participant = models.ForeignKey("trials.Participant", models.PROTECT, related_name="queries")
    content_type = models.ForeignKey(ContentType, models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    field_name = models.CharField(_("field"), max_length=64)
    query_type = models.CharField(_("type"), max_length=20, choices=QueryType.choices)
    check_id = models.CharField(_("edit check"), max_length=40, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=QueryStatus.choices, default=QueryStatus.OPEN
    )
    text = models.TextField(_("query"))
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("opened by"),
    )
    # The role the opener raised it in (monitor or data manager): that role closes and re-opens it.
    opened_by_role = models.CharField(_("opener's role"), max_length=20, blank=True)
    priority = models.CharField(
        _("priority"), max_length=10, choices=QueryPriority.choices, default=QueryPriority.NORMAL
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    released_at = models.DateTimeField(_("released to the site"), null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("released by"),
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )
    resolution = models.TextField(_("resolution"), blank=True)

    class Meta:
        verbose_name_plural = _("queries")
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="query_record"),
            models.Index(fields=["participant", "status"], name="query_participant_status"),
        ]
        constraints = [
            # One live automatic query per check and field: re-saving does not pile them up.
            models.UniqueConstraint(
                fields=["content_type", "object_id", "field_name", "check_id"],
                condition=Q(query_type="automatic") & ~Q(status="closed"),
                name="one_live_automatic_query_per_check",
            )
        ]
        triggers = [pgtrigger.Protect(name="query_no_delete", operation=pgtrigger.Delete)]

    def __str__(self):
        return f"{self.get_status_display()}: {self.text[:60]}"


class QueryAction(models.TextChoices):
    RAISED = "raised", _("Raised")
    RELEASED = "released", _("Released to the site")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Re-opened")


@pghistory.track(pghistory.InsertEvent("created"))
class QueryMessage(models.Model):
    """One message of a query's thread; written once, never changed or deleted."""

    query = models.ForeignKey(Query, models.PROTECT, related_name="messages")
    action = models.CharField(_("action"), max_length=10, choices=QueryAction.choices)
    text = models.TextField(_("message"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("author")
    )
    author_role = models.CharField(_("role"), max_length=20, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        triggers = [
            pgtrigger.Protect(name="query_message_no_delete", operation=pgtrigger.Delete),
            pgtrigger.Protect(name="query_message_no_update", operation=pgtrigger.Update),
        ]

    def __str__(self):
        return f"{self.get_action_display()}: {self.text[:60]}"
