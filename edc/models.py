"""Abstract bases shared by every clinical record."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .errors import ConflictError

# Columns that are bookkeeping, not collected data: those of ``ClinicalRecord`` itself, and with the
# keys and workflow columns of a case report form. Saving, SDV, signatures and exports start from these.
RECORD_BOOKKEEPING = frozenset(
    {"version", "created_at", "updated_at", "entered_in_error", "entered_in_error_reason"}
)
FORM_BOOKKEEPING = RECORD_BOOKKEEPING | {
    "id",
    "participant",
    "visit",
    "status",
    "completed_at",
    "completed_by",
}


class ClinicalRecord(models.Model):
    """Base of every participant-level record.

    ``version`` implements optimistic locking: a save based on an older version is refused.
    Records are never deleted; ``entered_in_error`` (with a reason) retires them.
    """

    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    entered_in_error = models.BooleanField(_("entered in error"), default=False)
    entered_in_error_reason = models.TextField(_("reason entered in error"), blank=True)

    class Meta:
        abstract = True

    def bump_version(self, expected: int | None):
        """Refuse a save based on a stale copy; otherwise move to the next version."""
        if expected is not None and int(expected) != self.version:
            raise ConflictError(
                _(
                    "This record was changed by someone else after you opened it. Review the current "
                    "values and submit again."
                ),
                current=self,
            )
        self.version += 1


class SubmissionKey(models.Model):
    """A one-time key of a rendered form page, claimed by the first POST that carries it.

    The unique key makes a second POST with the same key wait for the first one's transaction and then
    find its result (``edc.idempotency``): a double click, a retried request or two tabs submitting the
    same page create one record. Bookkeeping, not clinical data (the writes themselves are audited).
    """

    key = models.UUIDField(_("submission key"), unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True)
    path = models.CharField(_("page"), max_length=300)
    result_url = models.CharField(_("result"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("submitted"), auto_now_add=True)

    class Meta:
        verbose_name = _("submission key")
        verbose_name_plural = _("submission keys")

    def __str__(self):
        return f"{self.key} → {self.result_url}"
