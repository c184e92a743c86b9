"""Field-level queries. Automatic queries come from soft edit checks; monitors' manual queries, the
site/monitor workflow, SDV, signatures and locks build on this model."""

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext
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

    @property
    def shown_text(self) -> str:
        """The query in the reader's language: an automatic query's text is its edit check's message,
        stored in English (the catalog's message id) and translated when shown."""
        if self.query_type == QueryType.AUTOMATIC and self.text:
            return gettext(self.text)
        return self.text

    @property
    def shown_resolution(self) -> str:
        """The resolution in the reader's language: the system's closing text of an automatic query is
        stored in English (``AUTOMATIC_CLOSE``) and translated when shown; people's answers as written."""
        if self.query_type == QueryType.AUTOMATIC and self.resolution:
            with translation.override("en"):
                closed_by_the_system = self.resolution == str(AUTOMATIC_CLOSE)
            if closed_by_the_system:
                return str(AUTOMATIC_CLOSE)
        return self.resolution


# What the system writes when it closes an automatic query whose check no longer fires.
AUTOMATIC_CLOSE = _("Closed automatically: the data no longer fire the check.")


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


# Source-data verification ------------------------------------------------------------------------------


@pghistory.track(pghistory.InsertEvent("verified"), pghistory.UpdateEvent("updated"))
class SourceVerification(models.Model):
    """A monitor checked a form (``field_name`` empty) or one of its fields against the source documents.

    Rows are never deleted: a later change to the verified value clears the verification (``cleared_at``
    with the change and its reason), and verifying again adds a new row.
    """

    participant = models.ForeignKey("trials.Participant", models.PROTECT, related_name="verifications")
    content_type = models.ForeignKey(ContentType, models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    field_name = models.CharField(_("field"), max_length=64, blank=True)
    # The value as verified (as text); for a whole form, a digest of every value it held.
    value = models.TextField(_("value verified"), blank=True)
    record_version = models.PositiveIntegerField(_("form version verified"))
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("verified by")
    )
    verified_at = models.DateTimeField(_("verified"), auto_now_add=True)
    cleared_at = models.DateTimeField(_("verification cleared"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cleared by"),
    )
    cleared_reason = models.TextField(_("why the verification was cleared"), blank=True)

    class Meta:
        verbose_name = _("source-data verification")
        indexes = [
            models.Index(
                fields=["content_type", "object_id"], condition=Q(cleared_at=None), name="sdv_live_record"
            ),
            models.Index(fields=["participant"], condition=Q(cleared_at=None), name="sdv_live_participant"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "field_name"],
                condition=Q(cleared_at=None),
                name="one_live_verification_per_field",
            )
        ]
        triggers = [pgtrigger.Protect(name="sdv_no_delete", operation=pgtrigger.Delete)]

    def __str__(self):
        return f"SDV · {self.field_name or _('whole form')}"

    @property
    def whole_form(self) -> bool:
        return not self.field_name


# Locks -------------------------------------------------------------------------------------------------


class LockScope(models.TextChoices):
    FORM = "form", _("Form")
    VISIT = "visit", _("Visit")
    PARTICIPANT = "participant", _("Participant")
    STUDY = "study", _("Study (database lock)")


ACTIVE = Q(unlocked_at=None)


@pghistory.track(pghistory.InsertEvent("locked"), pghistory.UpdateEvent("updated"))
class Lock(models.Model):
    """A data manager's lock on a form, a visit, a participant or the whole study.

    While ``unlocked_at`` is empty, the services refuse any change to the data it covers and so does
    the database (``edc.integrity.RefuseWhenLocked`` on every clinical table). The form's table
    and id are stored beside its generic key so the trigger's lookup is one indexed comparison.
    """

    scope = models.CharField(_("scope"), max_length=12, choices=LockScope.choices)
    study = models.ForeignKey("trials.Study", models.PROTECT, related_name="+")
    participant = models.ForeignKey(
        "trials.Participant", models.PROTECT, null=True, blank=True, related_name="locks"
    )
    visit = models.ForeignKey("visits.Visit", models.PROTECT, null=True, blank=True, related_name="+")
    content_type = models.ForeignKey(ContentType, models.PROTECT, null=True, blank=True)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    record = GenericForeignKey("content_type", "object_id")
    form_table = models.CharField(_("form table"), max_length=63, blank=True)
    reason = models.TextField(_("reason"))
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("locked by")
    )
    locked_at = models.DateTimeField(_("locked"), auto_now_add=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unlocked by"),
    )
    unlocked_at = models.DateTimeField(_("unlocked"), null=True, blank=True)
    unlock_reason = models.TextField(_("reason for unlocking"), blank=True)

    class Meta:
        ordering = ["-locked_at", "-pk"]
        indexes = [
            # The trigger's lookups: one partial index per scope, over active locks only.
            models.Index(fields=["locked_at"], condition=ACTIVE, name="lock_active"),
            models.Index(fields=["form_table", "object_id"], condition=ACTIVE, name="lock_active_form"),
            models.Index(fields=["visit"], condition=ACTIVE, name="lock_active_visit"),
            models.Index(fields=["participant"], condition=ACTIVE, name="lock_active_participant"),
            models.Index(fields=["study"], condition=ACTIVE & Q(scope="study"), name="lock_active_study"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "study", "participant", "visit", "form_table", "object_id"],
                condition=ACTIVE,
                nulls_distinct=False,
                name="one_active_lock_per_target",
            ),
            models.CheckConstraint(
                condition=Q(unlocked_at=None) | ~Q(unlock_reason=""), name="unlock_needs_reason"
            ),
        ]
        triggers = [pgtrigger.Protect(name="lock_no_delete", operation=pgtrigger.Delete)]

    def __str__(self):
        return f"{self.get_scope_display()} lock: {self.reason[:60]}"

    @property
    def active(self) -> bool:
        return self.unlocked_at is None
